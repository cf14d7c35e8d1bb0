"""Module 06: right answers written differently from the reference (see __init__.py)."""

from alternates import Alternate

ALTERNATES = [
    Alternate(
        graded=("06-optimizers-test-base",),
        cell="06-optimizers-base",
        region=0,
        code='''
            if isinstance(params, Tensor):
                raise TypeError("pass the parameters as a list, e.g. [w], not a single Tensor")
            try:
                items = list(params)
            except TypeError:
                raise TypeError(f"params must be an iterable of Tensors, not "
                                f"{type(params).__name__}") from None
            if len(items) == 0:
                raise ValueError("params is empty: there is nothing to optimize")
            self.params = []
            for position, item in enumerate(items):
                if not isinstance(item, Tensor):
                    raise TypeError(f"item {position} of params is of type "
                                    f"{type(item).__name__}; expected a Tensor")
                if item.dtype.kind != "f":
                    raise TypeError(f"item {position} of params has dtype {item.dtype}; only "
                                    "float tensors can be trained")
                if not any(item is kept for kept in self.params):
                    self.params.append(item)
            if not _is_number(lr) or lr <= 0:
                raise ValueError(f"the learning rate must be a positive number, got {lr!r}")
            self.lr = float(lr)
            self.state = {}
        ''',
        why="list() inside try, duplicates found by identity, other wording (no 'params[i]', "
            "no 'list' or 'iterable' for a single Tensor)"),
    Alternate(
        graded=("06-optimizers-test-base",),
        cell="06-optimizers-base",
        region=1,
        code='''
            for index in range(len(self.params)):
                self.params[index].grad = None
        ''',
        why="a loop over indices"),
    Alternate(
        graded=("06-optimizers-test-sgd", "06-optimizers-test-sgd-momentum"),
        cell="06-optimizers-sgd",
        region=0,
        code='''
            for p in self.params:
                if p.grad is None:
                    continue
                d_p = self._gradient(p)
                if self.weight_decay:
                    d_p = d_p + self.weight_decay * p.data
                if self.momentum:
                    state = self.state.setdefault(p, {})
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        buf = np.array(d_p, dtype=p.dtype)
                    else:
                        buf = np.asarray(self.momentum * buf + d_p)
                    state["momentum_buffer"] = buf  # a new array each step, stored back
                    d_p = d_p + self.momentum * buf if self.nesterov else buf
                p.data -= self.lr * d_p
        ''',
        why="a new buffer array stored back each step instead of updating it in place"),
    Alternate(
        graded=("06-optimizers-test-adam", "06-optimizers-test-adamw"),
        cell="06-optimizers-adam",
        region=0,
        code='''
            for p in self.params:
                grad = self._gradient(p)
                if grad is not None:
                    if self.weight_decay > 0:
                        grad = self.weight_decay * p.data + grad
                    self._adam_update(p, grad)
        ''',
        why="no continue; the L2 term added on the other side"),
    Alternate(
        graded=("06-optimizers-test-adam", "06-optimizers-test-adamw"),
        cell="06-optimizers-adam",
        region=1,
        code='''
            beta1, beta2 = self.betas
            if p not in self.state:
                self.state[p] = {"step": 0, "exp_avg": np.zeros_like(p.data),
                                 "exp_avg_sq": np.zeros_like(p.data)}
            state = self.state[p]
            t = state["step"] = state["step"] + 1
            m = state["exp_avg"] = np.asarray(beta1 * state["exp_avg"] + (1 - beta1) * g)
            v = state["exp_avg_sq"] = np.asarray(beta2 * state["exp_avg_sq"] + (1 - beta2) * np.square(g))
            m_hat = m / (1 - beta1 ** t)
            v_hat = v / (1 - beta2 ** t)
            p.data -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
        ''',
        why="the textbook m_hat and v_hat as arrays; new state arrays stored back"),
    Alternate(
        graded=("06-optimizers-test-adamw",),
        cell="06-optimizers-adamw",
        region=0,
        code='''
            for p in self.params:
                g = self._gradient(p)
                if g is None:
                    continue
                shrink = 1.0 - self.lr * self.weight_decay
                if shrink != 1.0:
                    p.data *= shrink
                self._adam_update(p, g)
        ''',
        why="computes the shrink factor first and skips it when it is 1"),
]

"""Module 06: right answers written differently from the reference (see __init__.py)."""

from alternates import Alternate

ALTERNATES = [
    Alternate(
        graded=("06-optimizers-test-base",),
        cell="06-optimizers-base",
        region=0,
        code='''
            if type(param_group) is not dict:
                raise TypeError(f"add_param_group takes a dict, not a {type(param_group).__name__}")
            group = dict(param_group)  # a copy: the caller's dict stays as it was
            items = group["params"]  # a KeyError of its own when there is none
            items = [items] if isinstance(items, Tensor) else list(items)
            group["params"] = []
            for position, item in enumerate(items):
                if not isinstance(item, Tensor):
                    raise TypeError(f"item {position} of params is of type "
                                    f"{type(item).__name__}; expected a Tensor")
                if item.dtype.kind != "f":
                    raise TypeError(f"item {position} of params has dtype {item.dtype}; only "
                                    "float tensors can be trained")
                for other in self.param_groups:
                    if any(item is q for q in other["params"]):
                        raise ValueError(f"item {position} is in more than one parameter group")
                if not any(item is kept for kept in group["params"]):
                    group["params"].append(item)
            for name, value in self.defaults.items():
                group.setdefault(name, value)
            self._check_hyperparameters(group)
            self.param_groups.append(group)
        ''',
        why="copies the dict and fills the defaults with setdefault (PyTorch's way), finds "
            "repeats by identity with loops, other wording"),
    Alternate(
        graded=("06-optimizers-test-base",),
        cell="06-optimizers-base",
        region=1,
        code='''
            every_parameter = [p for group in self.param_groups for p in group["params"]]
            for index in range(len(every_parameter)):
                every_parameter[index].grad = None
        ''',
        why="one flat list of the parameters, a loop over indices"),
    Alternate(
        graded=("06-optimizers-test-sgd", "06-optimizers-test-sgd-momentum"),
        cell="06-optimizers-sgd",
        region=0,
        code='''
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    d_p = self._gradient(p)
                    if group["weight_decay"]:
                        d_p = d_p + group["weight_decay"] * p.data
                    if group["momentum"]:
                        state = self.state.setdefault(p, {})
                        buf = state.get("momentum_buffer")
                        if buf is None:
                            buf = np.array(d_p, dtype=p.dtype)
                        else:
                            buf = np.asarray(group["momentum"] * buf + d_p)
                        state["momentum_buffer"] = buf  # a new array each step, stored back
                        d_p = d_p + group["momentum"] * buf if group["nesterov"] else buf
                    p.data -= group["lr"] * d_p
        ''',
        why="a new buffer array stored back each step instead of updating it in place; the "
            "group's values read where they are used"),
    Alternate(
        graded=("06-optimizers-test-adam", "06-optimizers-test-adamw"),
        cell="06-optimizers-adam",
        region=0,
        code='''
            for group in self.param_groups:
                decay = group["weight_decay"]
                for p in group["params"]:
                    grad = self._gradient(p)
                    if grad is not None:
                        if decay > 0:
                            grad = decay * p.data + grad
                        self._adam_update(p, grad, group)
        ''',
        why="no continue; the L2 term added on the other side"),
    Alternate(
        graded=("06-optimizers-test-adam", "06-optimizers-test-adamw"),
        cell="06-optimizers-adam",
        region=1,
        code='''
            beta1, beta2 = group["betas"]
            if p not in self.state:
                self.state[p] = {"step": 0, "exp_avg": np.zeros_like(p.data),
                                 "exp_avg_sq": np.zeros_like(p.data)}
            state = self.state[p]
            t = state["step"] = state["step"] + 1
            m = state["exp_avg"] = np.asarray(beta1 * state["exp_avg"] + (1 - beta1) * g)
            v = state["exp_avg_sq"] = np.asarray(beta2 * state["exp_avg_sq"] + (1 - beta2) * np.square(g))
            m_hat = m / (1 - beta1 ** t)
            v_hat = v / (1 - beta2 ** t)
            p.data -= group["lr"] * m_hat / (np.sqrt(v_hat) + group["eps"])
        ''',
        why="the textbook m_hat and v_hat as arrays; new state arrays stored back"),
    Alternate(
        graded=("06-optimizers-test-adamw",),
        cell="06-optimizers-adamw",
        region=0,
        code='''
            for group in self.param_groups:
                shrink = 1.0 - group["lr"] * group["weight_decay"]
                for p in group["params"]:
                    g = self._gradient(p)
                    if g is None:
                        continue
                    if shrink != 1.0:
                        p.data *= shrink
                    self._adam_update(p, g, group)
        ''',
        why="computes the shrink factor once per group and skips it when it is 1"),
]

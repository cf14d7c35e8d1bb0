"""Module 05: right answers written differently from the reference (see __init__.py).

Together they are a whole engine of their own: every rule, the order, backward() and no_grad(),
so the module written in them runs without any of the reference's autograd code.
"""

from alternates import Alternate

UNBROADCAST = ("05-autograd-test-unbroadcast",)
ELEMENTWISE = ("05-autograd-test-elementwise-rules",)
SHAPES = ("05-autograd-test-shape-rules",)
REDUCTIONS = ("05-autograd-test-reduction-rules",)
ACTIVATIONS = ("05-autograd-test-activation-rules",)
LOSSES = ("05-autograd-test-loss-rules",)

ALTERNATES = [
    Alternate(
        graded=UNBROADCAST,
        cell="05-autograd-unbroadcast",
        region=0,
        code='''
            if grad.shape == shape:
                return grad
            lead = grad.ndim - len(shape)
            if lead < 0 or any(s not in (1, g) for s, g in zip(shape, grad.shape[lead:])):
                raise ValueError(f"cannot reduce a gradient of shape {grad.shape} to the "
                                 f"shape {shape}")
            result = grad
            for _ in range(lead):
                result = result.sum(axis=0)
            for axis, size in enumerate(shape):
                if size == 1 and result.shape[axis] != 1:
                    result = result.sum(axis=axis, keepdims=True)
            return np.asarray(result).reshape(shape)
        ''',
        why="sums one axis at a time in loops; checks the shapes with zip"),
    Alternate(graded=ELEMENTWISE, cell="05-autograd-elementwise-rules", region=0,
              code="return grad, np.negative(grad)", why="np.negative"),
    Alternate(graded=ELEMENTWISE, cell="05-autograd-elementwise-rules", region=1,
              code='''
                  left, right = (_value(v) for v in out.inputs)
                  return np.multiply(grad, right), np.multiply(grad, left)
              ''', why="np.multiply on unpacked values"),
    Alternate(graded=ELEMENTWISE, cell="05-autograd-elementwise-rules", region=2,
              code='''
                  a, b = (_value(v) for v in out.inputs)
                  return grad / b, -grad * a / (b ** 2)
              ''', why="the textbook formula -grad * a / b**2, without out.data"),
    Alternate(graded=ELEMENTWISE, cell="05-autograd-elementwise-rules", region=3,
              code="return (grad * -1,)", why="multiplies by -1"),
    Alternate(
        graded=("05-autograd-test-topological-order",),
        cell="05-autograd-topological-order",
        region=0,
        code='''
            order, visited = [], {root}
            stack = [(root, iter(root.inputs))]  # each tensor with the inputs still to visit
            while stack:
                node, pending = stack[-1]
                for x in pending:
                    if isinstance(x, Tensor) and x.requires_grad and x not in visited:
                        visited.add(x)
                        stack.append((x, iter(x.inputs)))
                        break
                else:  # every input done: the tensor itself is done
                    stack.pop()
                    order.append(node)
            return order
        ''',
        why="a stack of (tensor, iterator over its inputs) with for/else, no done flags"),
    Alternate(
        graded=("05-autograd-test-start-gradient",),
        cell="05-autograd-start-gradient",
        region=0,
        code='''
            if not tensor.requires_grad:
                raise RuntimeError("this tensor does not require grad: create the leaves with "
                                   "requires_grad=True and do not compute it under no_grad()")
            if gradient is not None:
                given = gradient.data if isinstance(gradient, Tensor) else gradient
                seed = np.array(given, dtype=tensor.dtype)
                if seed.shape != tensor.shape:
                    raise ValueError(f"gradient of shape {seed.shape} for a tensor of shape "
                                     f"{tensor.shape}")
                return seed
            if tensor.size == 1:
                return np.ones_like(tensor.data)
            raise RuntimeError(f"a tensor of shape {tensor.shape} needs a gradient argument "
                               "(or call .sum() first)")
        ''',
        why="the given gradient first, np.ones_like, isinstance instead of _value, a copy, "
            "its own error wording"),
    Alternate(
        graded=("05-autograd-test-accumulate-grad",),
        cell="05-autograd-accumulate-grad",
        region=0,
        code='''
            kind = leaf.dtype if leaf.dtype.kind == "f" else grad.dtype
            total = grad if leaf.grad is None else leaf.grad.data + grad
            leaf.grad = Tensor(np.array(total, dtype=kind, copy=True), dtype=kind)
        ''',
        why="one expression for both cases, then always an explicit copy"),
    Alternate(
        graded=("05-autograd-test-backward",),
        cell="05-autograd-backward",
        region=0,
        code='''
            pending = {id(tensor): _start_gradient(tensor, gradient)}
            for node in topological_order(tensor)[::-1]:
                g = pending.pop(id(node), None)
                if g is None:
                    continue
                if node.op is None:
                    _accumulate_grad(node, g)
                    continue
                if node.op not in BACKWARD_RULES:
                    raise RuntimeError(f"backward() does not know the operation {node.op!r}")
                for inp, ig in zip(node.inputs, BACKWARD_RULES[node.op](g, node)):
                    if ig is None or not _wants_grad(inp):
                        continue
                    ig = unbroadcast(np.asarray(ig), inp.shape)
                    key = id(inp)
                    pending[key] = pending[key] + ig if key in pending else ig
        ''',
        why="keys the pending gradients by id(), slices the order backwards, always calls "
            "unbroadcast, its own error wording"),
    Alternate(
        graded=("05-autograd-test-no-grad",),
        cell="05-autograd-no-grad",
        region=0,
        code='''
            saved = AUTOGRAD.enabled
            try:
                AUTOGRAD.enabled = False
                yield
            finally:
                AUTOGRAD.enabled = saved
        ''',
        why="switches recording off inside the try"),
    Alternate(
        graded=SHAPES,
        cell="05-autograd-shape-rules",
        region=0,
        code='''
            A = a_data if a_data.ndim > 1 else a_data.reshape(1, -1)
            B = b_data if b_data.ndim > 1 else b_data.reshape(-1, 1)
            G = grad
            if b_data.ndim == 1:
                G = np.expand_dims(G, -1)
            if a_data.ndim == 1:
                G = np.expand_dims(G, -2)
            ga = gb = None
            if _wants_grad(a):
                ga = np.matmul(G, np.swapaxes(B, -1, -2))
                if a_data.ndim == 1:
                    ga = ga.reshape(ga.shape[:-2] + ga.shape[-1:])
            if _wants_grad(b):
                gb = np.matmul(np.swapaxes(A, -1, -2), G)
                if b_data.ndim == 1:
                    gb = gb.reshape(gb.shape[:-1])
            return ga, gb
        ''',
        why="reshape and np.expand_dims for 1-D operands, np.swapaxes always"),
    Alternate(graded=SHAPES, cell="05-autograd-shape-rules", region=1,
              code="return (np.reshape(grad, np.shape(_value(out.inputs[0]))),)",
              why="np.reshape to np.shape of the input's values"),
    Alternate(
        graded=SHAPES, cell="05-autograd-shape-rules", region=2,
        code='''
            if axes is None:
                return (grad.transpose(),)
            n = grad.ndim
            inverse = [0] * n
            for position, axis in enumerate(axes):
                inverse[axis % n] = position
            return (grad.transpose(inverse),)
        ''',
        why="builds the inverse permutation in a loop instead of np.argsort"),
    Alternate(
        graded=SHAPES, cell="05-autograd-shape-rules", region=3,
        code='''
            full = np.zeros_like(x.data, dtype=grad.dtype)
            if not _is_basic_index(index):
                np.add.at(full, index, grad)
            else:
                full[index] += grad
            return (full,)
        ''',
        why="zeros_like and += for basic indices"),
    Alternate(
        graded=REDUCTIONS, cell="05-autograd-reduction-rules", region=0,
        code="return (_expand_reduced(grad, out) + np.zeros(out.inputs[0].shape, dtype=grad.dtype),)",
        why="broadcasts by adding zeros (a real array, not a view)"),
    Alternate(
        graded=REDUCTIONS, cell="05-autograd-reduction-rules", region=1,
        code='''
            x = out.inputs[0]
            count = x.data.size / max(out.data.size, 1)
            return (np.broadcast_to(_expand_reduced(grad, out), x.shape) / count,)
        ''',
        why="divides after broadcasting, by a float count"),
    Alternate(
        graded=REDUCTIONS, cell="05-autograd-reduction-rules", region=2,
        code='''
            x = out.inputs[0]
            mask = (x.data == _expand_reduced(out.data, out)).astype(grad.dtype)
            count = mask.sum(axis=out.saved["axis"], keepdims=True)
            return (mask * _expand_reduced(grad, out) / count,)
        ''',
        why="a float mask, counted with sum on it"),
    Alternate(graded=ACTIVATIONS, cell="05-autograd-activation-rules", region=0,
              code="return (np.where(out.data > 0, grad, np.zeros_like(grad)),)",
              why="np.where"),
    Alternate(graded=ACTIVATIONS, cell="05-autograd-activation-rules", region=1,
              code="s = out.data\nreturn (grad * (s - s * s),)", why="s - s * s"),
    Alternate(graded=ACTIVATIONS, cell="05-autograd-activation-rules", region=2,
              code="return (grad * (1 - np.square(out.data)),)", why="np.square"),
    Alternate(
        graded=ACTIVATIONS, cell="05-autograd-activation-rules", region=3,
        code='''
            th = np.tanh(_GELU_C * (clipped + 0.044715 * clipped ** 3))
            sech2 = 1 - th ** 2
            derivative = 0.5 * (1 + th) + 0.5 * x * sech2 * _GELU_C * (1 + 0.134145 * clipped ** 2)
            return (grad * derivative,)
        ''',
        why="powers with **, 3 * 0.044715 folded into 0.134145"),
    Alternate(
        graded=ACTIVATIONS, cell="05-autograd-activation-rules", region=4,
        code='''
            y = out.data
            dot = np.sum(grad * y, axis=out.saved["axis"], keepdims=True)
            return (y * grad - y * dot,)
        ''',
        why="expands y * (grad - dot) into two products"),
    Alternate(
        graded=LOSSES, cell="05-autograd-loss-rules", region=0,
        code='''
            g = _term_grad(grad, out, np.size(p - t))
            g_p = np.multiply(2.0 * g, p - t)
            return g_p, np.negative(g_p)
        ''',
        why="np.multiply and np.negative, the count from np.size"),
    Alternate(
        graded=LOSSES, cell="05-autograd-loss-rules", region=1,
        code='''
            onehot = np.zeros_like(probs)
            np.put_along_axis(onehot, np.expand_dims(targets, axis), 1, axis=axis)
            g = _term_grad(grad, out, targets.size)
            if out.saved.get("reduction", "mean") == "none":
                g = np.expand_dims(g, axis)
            return (probs - onehot) * g, None
        ''',
        why="fills the one-hot with np.put_along_axis; expands g only for reduction 'none'"),
    Alternate(
        graded=LOSSES, cell="05-autograd-loss-rules", region=2,
        code='''
            n = p.size
            g = _term_grad(grad, out, n)
            grad_p = (p - t) / np.maximum(p * (1 - p), 1e-12) * g
            if not _wants_grad(target):
                return grad_p, None
            with np.errstate(divide="ignore"):
                log_p = np.maximum(np.log(p), -100)
                log_q = np.maximum(np.log(1 - p), -100)
            return grad_p, g * (log_q - log_p)
        ''',
        why="returns early without the target's gradient; log(1 - p) instead of log1p"),
]

"""Module 02: right answers written differently from the reference (see __init__.py)."""

from alternates import Alternate

ALTERNATES = [
    Alternate(
        graded=("02-activations-test-sigmoid",),
        cell="02-activations-sigmoid",
        region=0,
        code='''
            e = np.exp(-np.abs(x.data))
            result = np.where(x.data >= 0, 1 / (1 + e), e / (1 + e))
            return wrap_result(result, "sigmoid", x)
        ''',
        why="the two rows of the table with np.where, both built from e = exp(-|x|)"),
    Alternate(
        graded=("02-activations-test-gelu",),
        cell="02-activations-gelu",
        region=0,
        code='''
            c = np.clip(x.data, -_GELU_CLIP, _GELU_CLIP)
            u = _GELU_SCALE * c * (1 + _GELU_CUBIC * c * c)
            return wrap_result(x.data * 0.5 * (np.tanh(u) + 1), "gelu", x)
        ''',
        why="factors c out of the tanh's argument: c * (1 + 0.044715 c^2)"),
    Alternate(
        graded=("02-activations-test-softmax",),
        cell="02-activations-softmax",
        region=0,
        code='''
            axis = self.dim
            if axis < -x.ndim or axis >= x.ndim:
                raise IndexError(f"dim {axis} is out of range for a tensor of shape {x.shape}")
            z = x.data - np.max(x.data, axis=axis, keepdims=True)
            e = np.exp(z)
            return wrap_result(e / np.sum(e, axis=axis, keepdims=True), "softmax", x, axis=self.dim)
        ''',
        why="np.max and np.sum functions, a new array for the division, its own error wording"),
    Alternate(
        graded=("02-activations-test-log-softmax",),
        cell="02-activations-log-softmax",
        region=0,
        code='''
            if self.dim >= x.ndim or self.dim < -x.ndim:
                raise IndexError(f"no axis {self.dim} in a tensor of shape {x.shape}")
            m = np.max(x.data, axis=self.dim, keepdims=True)
            lse = m + np.log(np.sum(np.exp(x.data - m), axis=self.dim, keepdims=True))
            return wrap_result(x.data - lse, "log_softmax", x, axis=self.dim)
        ''',
        why="log-sum-exp first (the maximum added back), then x - logsumexp; np functions"),
    Alternate(
        graded=("02-activations-test-slope",),
        cell="02-activations-slope",
        region=0,
        code='''
            if type(h) not in (int, float) or h <= 0:
                raise ValueError(f"h must be a positive step, not {h}")
            base = np.asarray(x.data, dtype=np.float64)
            plus, minus = Tensor(base + h, dtype=np.float64), Tensor(base - h, dtype=np.float64)
            return np.asarray((fn(plus).data - fn(minus).data) / (h + h), dtype=np.float64)
        ''',
        why="np.asarray for the conversion, both Tensors made first, h + h, its own message"),
]

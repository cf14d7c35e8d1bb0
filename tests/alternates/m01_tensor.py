"""Module 01: right answers written differently from the reference (see __init__.py)."""

from alternates import Alternate

CLASS = "01-tensor-tensor-class"
# The solution regions of the Tensor class cell, in order.
(ELEMENTWISE, INIT, REPR, MATMUL, RESHAPE, PERMUTE, GETITEM, MEAN) = range(8)

ALTERNATES = [
    Alternate(
        graded=("01-tensor-test-as-array",),
        cell="01-tensor-as-array",
        region=0,
        code='''
            if dtype is not None and np.dtype(dtype).kind not in ("b", "i", "u", "f"):
                raise TypeError(f"a Tensor cannot have the dtype {np.dtype(dtype).name}")
            try:
                arr = np.asarray(data)
            except ValueError:
                raise ValueError(f"ragged nested lists are not a tensor: {data!r}") from None
            else:
                _check_fits(arr, dtype=dtype)
            kind = arr.dtype.kind
            if kind not in ("b", "i", "u", "f"):
                raise TypeError(f"a Tensor holds numbers, and this data has the dtype {arr.dtype.name}")
            if dtype is None:
                dtype = {"b": np.bool_, "i": np.int64, "u": np.int64, "f": np.float32}[kind]
            return arr.astype(dtype, copy=False)
        ''',
        why="checks an explicit dtype first, calls _check_fits in the else of the try, picks the "
            "default from a dict, names dtypes by .name"),
    Alternate(
        graded=("01-tensor-test-construction", "01-tensor-test-arithmetic"),
        cell=CLASS,
        region=ELEMENTWISE,
        code='''
            left, right = _unwrap(a), _unwrap(b)
            try:
                np.broadcast_shapes(np.shape(left), np.shape(right))
            except ValueError:
                raise ValueError(f"the shapes {np.shape(left)} and {np.shape(right)} do not broadcast") from None
            return wrap_result(fn(left, right), fn.__name__, a, b)
        ''',
        why="checks the shapes with np.broadcast_shapes before computing"),
    Alternate(
        graded=("01-tensor-test-arithmetic",),
        cell=CLASS,
        region=ELEMENTWISE,
        code='''
            values = [_unwrap(a), _unwrap(b)]
            try:
                out = fn(*values)
            except ValueError as error:
                shapes = " and ".join(str(np.shape(v)) for v in values)
                raise ValueError(f"shapes {shapes} do not broadcast") from error
            return wrap_result(out, fn.__name__, a, b)
        ''',
        why="a list of operands, the shapes joined into the message, the error chained"),
    Alternate(
        graded=("01-tensor-test-construction",),
        cell=CLASS,
        region=INIT,
        code='''
            source = data
            if isinstance(data, Tensor):
                source = data.data
                dtype = data.dtype if dtype is None else dtype
            self.data = as_array(source, dtype=dtype)
            self.requires_grad = True if requires_grad else False
            self.grad = None
        ''',
        why="a conditional expression for requires_grad, the Tensor's array read first"),
    Alternate(
        graded=("01-tensor-test-construction",),
        cell=CLASS,
        region=REPR,
        code='''
            parts = [np.array2string(self.data, separator=", ", prefix="Tensor("), f"dtype={self.dtype}"]
            if self.requires_grad:
                parts.append("requires_grad=True")
            return "Tensor(" + ", ".join(parts) + ")"
        ''',
        why="joins a list of parts"),
    Alternate(
        graded=("01-tensor-test-matmul",),
        cell=CLASS,
        region=MATMUL,
        code='''
            b = _unwrap(other)
            sa, sb = self.shape, np.shape(b)
            if not sa or not sb:
                raise ValueError(f"cannot matmul shapes {sa} and {sb}: a 0-d tensor is a number, use *")
            k_b = sb[-2] if len(sb) >= 2 else sb[0]
            if sa[-1] != k_b:
                raise ValueError(f"shapes {sa} and {sb} do not line up for matmul: {sa[-1]} != {k_b}")
            try:
                np.broadcast_shapes(sa[:-2], sb[:-2])
            except ValueError:
                raise ValueError(f"the leading axes of {sa} and {sb} do not broadcast") from None
            return wrap_result(np.matmul(self.data, b), "matmul", self, other)
        ''',
        why="checks with short messages of its own, batch axes always checked"),
    Alternate(
        graded=("01-tensor-test-shape-ops",),
        cell=CLASS,
        region=RESHAPE,
        code='''
            wanted = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (list, tuple)) else shape
            try:
                result = np.reshape(self.data, wanted)
            except ValueError:
                raise ValueError(f"a tensor of shape {self.shape} cannot take the shape {tuple(wanted)}") from None
            return wrap_result(result, "reshape", self)
        ''',
        why="np.reshape with a conditional expression for the shape"),
    Alternate(
        graded=("01-tensor-test-shape-ops",),
        cell=CLASS,
        region=PERMUTE,
        code='''
            n = self.ndim
            if len(dims) == n:
                order = tuple(map(lambda d: _dim(d, n), dims))
                if sorted(order) == list(range(n)):
                    return wrap_result(self.data.transpose(order), "transpose", self, axes=order)
            raise ValueError(f"{dims} is not a permutation of the {n} dimensions of shape {self.shape}")
        ''',
        why="one error at the end for both a wrong count and a repeat, found by sorting"),
    Alternate(
        graded=("01-tensor-test-shape-ops",),
        cell=CLASS,
        region=GETITEM,
        code='''
            def plain(part):
                return part.data if isinstance(part, Tensor) else part

            index = tuple(map(plain, index)) if type(index) is tuple else plain(index)
            return wrap_result(self.data[index], "getitem", self, index=index)
        ''',
        why="a small local function mapped over the parts of the index"),
    Alternate(
        graded=("01-tensor-test-reductions",),
        cell=CLASS,
        region=MEAN,
        code='''
            average = self.data.mean(axis=axis, keepdims=keepdims)
            return wrap_result(average, "mean", self, keepdims=keepdims, axis=axis)
        ''',
        why="the array method; keywords in the other order"),
    Alternate(
        graded=("01-tensor-test-reductions",),
        cell=CLASS,
        region=MEAN,
        code='''
            if axis is None:
                reduced = range(self.ndim)
            else:
                reduced = axis if isinstance(axis, tuple) else (axis,)
            count = 1
            for a in reduced:
                count *= self.shape[a]
            total = self.data.sum(axis=axis, keepdims=keepdims)
            return wrap_result(np.true_divide(total, count), "mean", self, axis=axis, keepdims=keepdims)
        ''',
        why="the count as the product of the reduced axes' lengths, found by a loop"),
    Alternate(
        graded=("01-tensor-test-matmul-loops",),
        cell="01-tensor-matmul-loops",
        region=0,
        code='''
            if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
                raise ValueError(f"matmul_loops cannot multiply shapes {a.shape} and {b.shape}")
            (n, k), m = a.shape, b.shape[1]
            A, B = a.data.tolist(), b.data.tolist()
            rows = [[sum(A[i][p] * B[p][j] for p in range(k)) for j in range(m)] for i in range(n)]
            return wrap_result(np.array(rows).reshape(n, m), None, a, b)
        ''',
        why="one check for every bad shape, nested list comprehensions with sum()"),
]

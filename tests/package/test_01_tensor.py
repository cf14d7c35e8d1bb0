"""Specification of tinytorch.core.tensor (Module 01), tested on the exported package.

Each test states one rule of the Tensor API; numpy is the reference for values and shapes.
"""
import operator

import numpy as np
import pytest

from tinytorch.core.tensor import Tensor, as_array, matmul_loops


def arange(*shape, dtype=np.float32):
    """Distinct, non-zero values of the given shape (safe to divide by)."""
    return (np.arange(int(np.prod(shape)), dtype=dtype).reshape(shape) + 1) / 4


def test_top_level_import_is_the_same_class():
    import tinytorch

    assert tinytorch.Tensor is Tensor


# ----- construction and the dtype policy --------------------------------------------------

@pytest.mark.parametrize(
    "data, dtype",
    [
        ([1.0, 2.5], np.float32),
        (3.5, np.float32),
        (np.float64(-2.5), np.float32),
        (np.zeros((2, 3)), np.float32),  # float64 arrays become float32
        (np.full(3, 0.5, dtype=np.float16), np.float32),
        ([[1, 2], [3, 4]], np.int64),
        (7, np.int64),
        (np.arange(3, dtype=np.int32), np.int64),
        (np.arange(3, dtype=np.uint8), np.int64),  # class labels stay integers
        ([True, False], np.bool_),
        (False, np.bool_),
        (list(), np.float32),  # an empty list
    ],
)
def test_default_dtype_policy(data, dtype):
    t = Tensor(data)
    assert t.dtype == dtype
    assert t.shape == np.shape(data)
    np.testing.assert_array_equal(t.data, np.asarray(data))


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16, np.int32, np.int64, np.bool_, "float64"])
def test_explicit_dtype_wins(dtype):
    assert Tensor([1.0, 0.0], dtype=dtype).dtype == np.dtype(dtype)


def test_tensor_from_tensor_keeps_dtype_and_shares_memory():
    source = Tensor([1.0, 2.0], dtype=np.float64)
    copy = Tensor(source)
    assert copy.dtype == np.float64
    assert np.shares_memory(copy.data, source.data)
    assert Tensor(source, dtype=np.float32).dtype == np.float32


def test_array_of_the_right_dtype_is_wrapped_without_copy():
    a = np.zeros(3, dtype=np.float32)
    assert np.shares_memory(Tensor(a).data, a)
    assert not np.shares_memory(Tensor(np.zeros(3)).data, a)  # float64 input is converted


def test_as_array_is_the_same_policy():
    assert as_array([1, 2]).dtype == np.int64
    assert as_array(np.zeros(2)).dtype == np.float32
    assert as_array([1, 2], dtype=np.float64).dtype == np.float64
    assert isinstance(as_array(3.0), np.ndarray)


def test_list_of_tensors_stacks():
    t = Tensor([Tensor([1.0, 2.0]), Tensor([3.0, 4.0])])
    assert t.shape == (2, 2) and t.dtype == np.float32


@pytest.mark.parametrize("data", [[[1, 2], [3]], [[1, 2], 3], [[[1], [2]], [[3]]]])
def test_ragged_lists_raise_value_error(data):
    with pytest.raises(ValueError, match="ragged"):
        Tensor(data)


@pytest.mark.parametrize(
    "data, dtype_name",
    [(["a", "b"], "<U1"), ([1 + 2j], "complex128"), ([1.0, None], "object"), ([{"x": 1}], "object")],
)
def test_non_numeric_data_raises_type_error_naming_the_dtype(data, dtype_name):
    with pytest.raises(TypeError, match=f"dtype {dtype_name}"):
        Tensor(data)


@pytest.mark.parametrize("dtype", [np.complex64, object, str])
def test_non_numeric_dtype_raises_type_error(dtype):
    with pytest.raises(TypeError, match="unsupported dtype"):
        Tensor([1.0], dtype=dtype)


# ----- properties and conversions ---------------------------------------------------------

def test_properties():
    t = Tensor(np.zeros((2, 3, 4)))
    assert (t.shape, t.size, t.ndim, t.dtype, len(t)) == ((2, 3, 4), 24, 3, np.float32, 2)
    assert isinstance(t.data, np.ndarray)
    assert t.numpy() is t.data


def test_autograd_slots():
    t = Tensor([1.0])
    assert t.requires_grad is False and t.grad is None
    assert Tensor([1.0], requires_grad=1).requires_grad is True


def test_item():
    assert Tensor(3.5).item() == 3.5 and type(Tensor(3.5).item()) is float
    assert Tensor([[7]]).item() == 7 and type(Tensor([[7]]).item()) is int
    with pytest.raises(ValueError, match=r"\(2,\)"):
        Tensor([1.0, 2.0]).item()


def test_len_of_0d_tensor_is_an_error():
    with pytest.raises(TypeError):
        len(Tensor(1.0))


def test_truth_value_is_numpys():
    assert bool(Tensor([1.0]) == 1.0)
    with pytest.raises(ValueError, match="ambiguous"):
        bool(Tensor([1.0, 2.0]) == Tensor([1.0, 2.0]))


def test_numpy_can_read_a_tensor():
    t = Tensor([[1.0, 2.0]])
    np.testing.assert_array_equal(np.asarray(t), t.data)
    assert np.asarray(t, dtype=np.float64).dtype == np.float64


@pytest.mark.parametrize(
    "make, text",
    [
        (lambda: Tensor([1.0, 2.0]), "Tensor([1., 2.], dtype=float32)"),
        (lambda: Tensor([1, 2], requires_grad=True), "Tensor([1, 2], dtype=int64, requires_grad=True)"),
        (lambda: Tensor(2.5), "Tensor(2.5, dtype=float32)"),
        (lambda: Tensor([1.5], dtype=np.float64), "Tensor([1.5], dtype=float64)"),
        (lambda: Tensor([[1.0, 2.0], [3.0, 4.0]]), "Tensor([[1., 2.],\n        [3., 4.]], dtype=float32)"),
    ],
)
def test_repr(make, text):
    tensor = make()  # built in the test: a stub Tensor fails this test, not the file's loading
    assert repr(tensor) == text
    assert str(tensor) == text


# ----- element-wise arithmetic -----------------------------------------------------------

BINARY = [operator.add, operator.sub, operator.mul, operator.truediv]


@pytest.mark.parametrize("op", BINARY, ids=lambda op: op.__name__)
@pytest.mark.parametrize("shape_a, shape_b", [((2, 3), (2, 3)), ((2, 3), (3,)), ((2, 1), (1, 3)), ((4,), ()), ((), (2, 2))])
def test_binary_ops_match_numpy_with_broadcasting(op, shape_a, shape_b):
    a, b = arange(*shape_a), arange(*shape_b) + 1
    for got in (op(Tensor(a), Tensor(b)), op(Tensor(a), b), op(a, Tensor(b))):
        assert isinstance(got, Tensor)
        assert got.dtype == np.float32
        np.testing.assert_allclose(got.data, op(a, b), rtol=1e-6)


@pytest.mark.parametrize("op", BINARY, ids=lambda op: op.__name__)
@pytest.mark.parametrize("number", [2, 0.5])
def test_python_numbers_on_either_side(op, number):
    a = arange(2, 3)
    left, right = op(number, Tensor(a)), op(Tensor(a), number)
    assert left.dtype == right.dtype == np.float32
    np.testing.assert_allclose(left.data, op(number, a), rtol=1e-6)
    np.testing.assert_allclose(right.data, op(a, number), rtol=1e-6)


def test_negation():
    np.testing.assert_array_equal((-Tensor([1.0, -2.0])).data, [-1.0, 2.0])
    assert (-Tensor([1, 2])).dtype == np.int64


@pytest.mark.parametrize(
    "compute, dtype",
    [
        (lambda: Tensor([1, 2]) + Tensor([3, 4]), np.int64),
        (lambda: Tensor([1, 2]) * 3, np.int64),
        (lambda: Tensor([1, 2]) / Tensor([3, 4]), np.float32),  # int / int
        (lambda: Tensor([1, 2]) / 2, np.float32),
        (lambda: Tensor([1, 2]) * 0.5, np.float32),
        (lambda: Tensor([1, 2]) + Tensor([0.5, 0.5]), np.float32),
        (lambda: Tensor([1.0], dtype=np.float64) * 2, np.float64),
        (lambda: 1 / Tensor([2.0], dtype=np.float64), np.float64),
        (lambda: Tensor([1.0], dtype=np.float64) + Tensor([1.0]), np.float64),  # mixing follows numpy
        (lambda: Tensor([1.0]) / np.sqrt(np.float64(2.0)), np.float32),  # numpy scalars are weak too
        (lambda: np.float64(2.0) * Tensor([1.0]), np.float32),
    ],
)
def test_result_dtype_float64_is_opt_in(compute, dtype):
    assert compute().dtype == dtype


def test_numpy_array_on_the_left_gives_a_tensor():
    got = np.ones(3) + Tensor([1.0, 2.0, 3.0])
    assert isinstance(got, Tensor)
    np.testing.assert_array_equal(got.data, [2.0, 3.0, 4.0])


@pytest.mark.parametrize("op", BINARY + [operator.lt, operator.eq], ids=lambda op: op.__name__)
def test_incompatible_shapes_name_both_shapes(op):
    with pytest.raises(ValueError, match=r"cannot broadcast shapes \(2, 3\) and \(4,\)"):
        op(Tensor(np.ones((2, 3))), Tensor(np.ones(4)))


@pytest.mark.parametrize("op", BINARY, ids=lambda op: op.__name__)
def test_reflected_ops_name_the_shapes_in_the_order_written(op):
    with pytest.raises(ValueError, match=r"cannot broadcast shapes \(4,\) and \(2, 3\)"):
        op(np.ones(4), Tensor(np.ones((2, 3))))


# ----- matrix multiplication -------------------------------------------------------------

@pytest.mark.parametrize(
    "shape_a, shape_b",
    [((2, 3), (3, 4)), ((3,), (3, 4)), ((2, 3), (3,)), ((3,), (3,)), ((5, 2, 3), (3, 4)), ((5, 2, 3), (5, 3, 4)), ((2, 1, 2, 3), (4, 3, 2))],
)
def test_matmul_matches_numpy(shape_a, shape_b):
    a, b = arange(*shape_a), arange(*shape_b)
    got = Tensor(a) @ Tensor(b)
    assert isinstance(got, Tensor) and got.dtype == np.float32
    assert got.shape == np.matmul(a, b).shape
    np.testing.assert_allclose(got.data, np.matmul(a, b), rtol=1e-5)
    np.testing.assert_allclose(Tensor(a).matmul(b).data, np.matmul(a, b), rtol=1e-5)
    np.testing.assert_allclose((a @ Tensor(b)).data, np.matmul(a, b), rtol=1e-5)


def test_matmul_keeps_float64_and_int64():
    assert (Tensor(arange(2, 2), dtype=np.float64) @ Tensor(arange(2, 2), dtype=np.float64)).dtype == np.float64
    got = Tensor([[1, 2], [3, 4]]) @ Tensor([[2], [1]])
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got.data, [[4], [10]])


@pytest.mark.parametrize(
    "shape_a, shape_b, message",
    [
        ((2, 3), (4, 5), r"\(2, 3\) @ \(4, 5\).*inner dimensions 3 and 4"),
        ((3,), (4,), r"\(3,\) @ \(4,\).*inner dimensions 3 and 4"),
        ((2, 3), (2,), r"\(2, 3\) @ \(2,\).*inner dimensions 3 and 2"),
        ((2, 2, 3), (3, 3, 4), r"batch dimensions of \(2, 2, 3\) and \(3, 3, 4\)"),
        ((), (3,), r"at least 1 dimension.*\(\) and \(3,\)"),
    ],
)
def test_matmul_errors_name_the_shapes(shape_a, shape_b, message):
    with pytest.raises(ValueError, match=message):
        Tensor(np.ones(shape_a)) @ Tensor(np.ones(shape_b))


def test_matmul_loops_matches_numpy():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((4, 3)).astype(np.float32), rng.standard_normal((3, 5)).astype(np.float32)
    got = matmul_loops(Tensor(a), Tensor(b))
    assert got.shape == (4, 5) and got.dtype == np.float32
    np.testing.assert_allclose(got.data, a @ b, rtol=1e-5, atol=1e-6)
    assert matmul_loops(Tensor([[1, 2]]), Tensor([[3], [4]])).item() == 11
    with pytest.raises(ValueError, match=r"\(2, 3\) @ \(4, 2\)"):
        matmul_loops(Tensor(np.ones((2, 3))), Tensor(np.ones((4, 2))))


# ----- shape operations and indexing -----------------------------------------------------

@pytest.mark.parametrize("args, shape", [((2, 3), (2, 3)), (((3, 2),), (3, 2)), (([6],), (6,)), ((-1, 2), (3, 2)), ((1, -1, 1), (1, 6, 1))])
def test_reshape(args, shape):
    t = Tensor(np.arange(6))
    got = t.reshape(*args)
    assert got.shape == shape and got.dtype == np.int64
    np.testing.assert_array_equal(got.data.ravel(), np.arange(6))


def test_reshape_error_names_both_shapes():
    with pytest.raises(ValueError, match=r"shape \(6,\).*into shape \(4, 2\)"):
        Tensor(np.arange(6)).reshape(4, 2)


def test_transpose():
    x = np.arange(24).reshape(2, 3, 4)
    t = Tensor(x)
    np.testing.assert_array_equal(t.transpose().data, x.transpose())
    np.testing.assert_array_equal(t.T.data, x.T)
    np.testing.assert_array_equal(t.transpose(1, 0, 2).data, x.transpose(1, 0, 2))
    np.testing.assert_array_equal(t.transpose((2, 0, 1)).data, x.transpose(2, 0, 1))
    assert Tensor([1.0, 2.0]).T.shape == (2,)


def test_reshape_and_transpose_are_views():
    t = Tensor(np.arange(6.0).reshape(2, 3))
    assert np.shares_memory(t.T.data, t.data)
    assert np.shares_memory(t.reshape(3, 2).data, t.data)
    assert t.reshape(3, 2).T.dtype == np.float32


X = np.arange(24.0, dtype=np.float32).reshape(2, 3, 4)


@pytest.mark.parametrize(
    "index, np_index",
    [
        (1, 1),
        (slice(1, 3), slice(1, 3)),
        ((0, slice(None), 2), (0, slice(None), 2)),
        ((1, 2, 3), (1, 2, 3)),
        ([1, 0], [1, 0]),
        (lambda: Tensor([1, 0]), [1, 0]),
        (lambda: Tensor(X > 10), X > 10),
        (lambda: (1, slice(None), Tensor([0, 3])), (1, slice(None), [0, 3])),
        ((Ellipsis, None), (Ellipsis, None)),
    ],
)
def test_indexing_matches_numpy(index, np_index):
    index = index() if callable(index) else index  # Tensor indices are built in the test
    got = Tensor(X)[index]
    assert isinstance(got, Tensor) and got.dtype == np.float32
    np.testing.assert_array_equal(got.data, X[np_index])


def test_iterating_gives_rows():
    rows = list(Tensor([[1, 2], [3, 4]]))
    assert len(rows) == 2 and all(isinstance(r, Tensor) for r in rows)
    np.testing.assert_array_equal(rows[1].data, [3, 4])


# ----- reductions ------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["sum", "mean", "max"])
@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 2), (0, 1, 2)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions_match_numpy(name, axis, keepdims):
    x = X - 10
    got = getattr(Tensor(x), name)(axis=axis, keepdims=keepdims)
    expected = getattr(np, name)(x, axis=axis, keepdims=keepdims)
    assert isinstance(got, Tensor) and got.dtype == np.float32
    assert got.shape == np.shape(expected)
    np.testing.assert_allclose(got.data, expected, rtol=1e-6)


@pytest.mark.parametrize(
    "compute, dtype, value",
    [
        (lambda: Tensor([1, 2, 3, 4]).sum(), np.int64, 10),
        (lambda: Tensor([1, 2, 3, 4]).mean(), np.float32, 2.5),
        (lambda: Tensor([True, False, True, True]).mean(), np.float32, 0.75),  # an accuracy
        (lambda: Tensor([3, 9, 4]).max(), np.int64, 9),
        (lambda: Tensor([1.0, 2.0], dtype=np.float64).mean(), np.float64, 1.5),
    ],
)
def test_reduction_dtypes(compute, dtype, value):
    got = compute()
    assert got.shape == () and got.dtype == dtype and got.item() == value


# ----- comparisons and hashing -----------------------------------------------------------

@pytest.mark.parametrize(
    "op", [operator.eq, operator.ne, operator.lt, operator.le, operator.gt, operator.ge], ids=lambda op: op.__name__
)
def test_comparisons_are_elementwise_bool_tensors(op):
    a, b = np.array([1.0, 2.0, 3.0]), np.array([[3.0], [2.0]])
    for got, expected in [
        (op(Tensor(a), Tensor(b)), op(a, b)),
        (op(Tensor(a), 2.0), op(a, 2.0)),
        (op(2.0, Tensor(a)), op(2.0, a)),
    ]:
        assert isinstance(got, Tensor) and got.dtype == np.bool_
        np.testing.assert_array_equal(got.data, expected)


def test_tensors_hash_by_identity():
    a, b = Tensor([1.0]), Tensor([1.0])
    assert len({a, b, a}) == 2
    assert {a: "a", b: "b"}[b] == "b"


def test_mask_from_comparison_selects_elements():
    t = Tensor([-1.0, 2.0, -3.0, 4.0])
    np.testing.assert_array_equal(t[t > 0].data, [2.0, 4.0])


# ----- the graph notes that Module 05's autograd reads -------------------------------------
def test_operations_on_tensors_that_require_grad_record_how_they_were_made():
    x = Tensor([[1.0, 2.0]], requires_grad=True)
    w = Tensor([[3.0], [4.0]])
    y = (x @ w).sum(axis=0, keepdims=True)
    assert y.requires_grad and y.op == "sum" and y.saved == {"axis": 0, "keepdims": True}
    product = y.inputs[0]
    assert product.op == "matmul" and product.inputs[0] is x and product.inputs[1] is w
    scaled = 2 - x
    assert scaled.op == "subtract" and scaled.inputs[0] == 2 and scaled.inputs[1] is x


def test_leaves_comparisons_and_constants_record_nothing():
    x = Tensor([1.0, 2.0], requires_grad=True)
    assert x.op is None and x.inputs == ()
    assert not (x > 1).requires_grad and (x > 1).op is None
    constant = Tensor([1.0, 2.0]) * 3
    assert not constant.requires_grad and constant.op is None
    assert not x.detach().requires_grad and x.detach().data is x.data

"""Specification of tinytorch.core.tensor (Module 01), tested on the exported package.

Each test states one rule of the Tensor API; numpy is the reference for values and shapes.
"""
import operator
import platform
import subprocess
import sys
import warnings

import numpy as np
import pytest

from tinytorch.core.tensor import Tensor, as_array, matmul_loops, reuse_freed_memory


def arange(*shape, dtype=np.float32):
    """Distinct, non-zero values of the given shape (safe to divide by)."""
    return (np.arange(int(np.prod(shape)), dtype=dtype).reshape(shape) + 1) / 4


def check_values(what, got, expected, rtol=1e-6, atol=0.0):
    """Assert that the Tensor `got` holds `expected` (shape and values), saying what was
    expected and what came back, as the notebook's test cells do."""
    expected = np.asarray(expected)
    assert isinstance(got, Tensor), f"{what}: expected a Tensor, got {type(got).__name__}"
    assert got.shape == expected.shape, f"{what}: expected shape {expected.shape}, got {got.shape}"
    assert np.allclose(got.data, expected, rtol=rtol, atol=atol), f"{what}: expected\n{expected}\ngot\n{got.data}"


def names_dtype(message, dtype):
    """Whether an error message names `dtype`, as str(dtype) ('<U1') or dtype.name ('str32')."""
    dtype = np.dtype(dtype)
    return str(dtype) in message or dtype.name in message


def error_message(error_type, what, fn):
    """The message of the `error_type` that fn() raises (a clear failure if it returns)."""
    with pytest.raises(error_type) as error:
        result = fn()
        pytest.fail(f"expected {error_type.__name__} from {what}, but it returned {result!r}")
    return str(error.value)


def check_record(what, out, op, inputs, saved=None):
    """What `out` records for Module 05 (the table above wrap_result in the notebook): its op, its
    inputs (Tensors by identity, numbers by value) and the values of these saved keywords."""
    assert out.requires_grad, f"{what} on a tensor with requires_grad=True: expected a result that requires grad"
    assert out.op == op, f"{what}: expected op {op!r}, got {out.op!r}"
    same = len(out.inputs) == len(inputs) and all(
        got is want if isinstance(want, Tensor) else (not isinstance(got, Tensor) and np.array_equal(got, want))
        for got, want in zip(out.inputs, inputs))
    assert same, f"{what}: expected inputs {inputs!r}, got {out.inputs!r}"
    for key, want in (saved or {}).items():
        assert key in out.saved, f"{what}: expected saved[{key!r}] = {want!r}, but saved is {out.saved!r}"
        assert out.saved[key] == want, f"{what}: expected saved[{key!r}] = {want!r}, got {out.saved[key]!r}"


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
    assert t.dtype == dtype, f"Tensor({data!r}).dtype: expected {np.dtype(dtype)}, got {t.dtype}"
    check_values(f"Tensor({data!r})", t, np.asarray(data), rtol=0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16, np.int32, np.int64, np.bool_, "float64"])
def test_explicit_dtype_wins(dtype):
    got = Tensor([1.0, 0.0], dtype=dtype).dtype
    assert got == np.dtype(dtype), f"Tensor([1.0, 0.0], dtype={dtype!r}).dtype: expected {np.dtype(dtype)}, got {got}"


def test_tensor_from_tensor_keeps_dtype_and_shares_memory():
    source = Tensor([1.0, 2.0], dtype=np.float64)
    copy = Tensor(source)
    assert copy.dtype == np.float64, f"Tensor(t) of a float64 t: expected float64, got {copy.dtype}"
    assert np.shares_memory(copy.data, source.data), "Tensor(t): expected .data to share t's memory (no copy), got a copy"
    assert Tensor(source, dtype=np.float32).dtype == np.float32


def test_array_of_the_right_dtype_is_wrapped_without_copy():
    a = np.zeros(3, dtype=np.float32)
    assert np.shares_memory(Tensor(a).data, a), "Tensor(a float32 array): expected .data to share its memory (no copy), got a copy"
    assert np.shares_memory(Tensor(a, dtype=np.float32).data, a), "Tensor(a float32 array, dtype=float32): expected no copy, got a copy"
    assert not np.shares_memory(Tensor(np.zeros(3)).data, a)  # float64 input is converted


@pytest.mark.parametrize("data, dtype", [
    (np.arange(3, dtype=np.float32), None), (np.arange(3, dtype=np.int64), None), (np.ones(2, dtype=bool), None),
    (np.zeros(2), np.float64), (np.zeros(2, dtype=np.float32), "float32"),
])
def test_as_array_makes_no_copy_when_the_dtype_is_already_right(data, dtype):
    what = f"as_array(a {data.dtype} array, dtype={dtype!r})"
    assert np.shares_memory(as_array(data, dtype=dtype), data), f"{what}: expected the array itself (no copy), got a copy"


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
    message = error_message(ValueError, f"Tensor({data!r})", lambda: Tensor(data))
    assert "ragged" in message, f"the ValueError for {data!r} should contain the word 'ragged'; its message was: {message!r}"


@pytest.mark.parametrize("data", [["a", "b"], [1 + 2j], [1.0, None], [{"x": 1}],
                                  [2**63 - 1, None], [-2**63, None]])  # int64's extremes fit
def test_non_numeric_data_raises_type_error_naming_the_dtype(data):
    found = np.asarray(data).dtype
    message = error_message(TypeError, f"Tensor({data!r})", lambda: Tensor(data))
    assert names_dtype(message, found), f"the TypeError for {data!r} should name the dtype {str(found)!r}; its message was: {message!r}"


@pytest.mark.parametrize("data, dtype", [([1.0, None], np.float32), (["1", "2"], np.float32), ([1 + 2j], np.float64),
                                         (["1", "2"], np.int64), ([1, None], np.int64), ([1 + 2j], np.int64)])
def test_an_explicit_dtype_still_checks_the_data(data, dtype):
    found = np.asarray(data).dtype
    for what, make in [(f"Tensor({data!r}, dtype={dtype.__name__})", lambda: Tensor(data, dtype=dtype)),
                       (f"as_array({data!r}, dtype={dtype.__name__})", lambda: as_array(data, dtype=dtype))]:
        message = error_message(TypeError, what, make)
        assert names_dtype(message, found), f"the TypeError of {what} should name the dtype {str(found)!r}; its message was: {message!r}"


@pytest.mark.parametrize("dtype", [np.complex64, object, str])
def test_non_numeric_dtype_raises_type_error_naming_it(dtype):
    message = error_message(TypeError, f"Tensor([1.0], dtype={dtype!r})", lambda: Tensor([1.0], dtype=dtype))
    assert names_dtype(message, dtype) or dtype.__name__ in message, (
        f"the TypeError for dtype={dtype!r} should name that dtype; its message was: {message!r}")



# Numbers the dtype cannot hold: numpy's astype would store a different number without a word.
NAN, INF = float("nan"), float("inf")
BAD_NUMBERS = [  # (data, dtype, the dtype the message must name), with what astype would store
    (np.array([2**63], dtype=np.uint64), None, np.int64),   # -2**63
    (np.array([0, 2**64 - 1], dtype=np.uint64), None, np.int64),  # -1
    ([2**63], None, np.int64),   # numpy makes it a uint64 array: -2**63
    ([2**70], None, np.int64),   # numpy can only keep it as a Python object
    ([[1, -2**70]], None, np.int64),
    ([1.5, 2**70], np.float64, np.int64),
    ([NAN], np.int64, np.int64),  # NaN and infinity: whatever the processor makes of them
    ([1.0, INF], np.int64, np.int64),
    ([-INF], np.int32, np.int32),
    (np.array([NAN, 1.0], dtype=np.float32), np.int64, np.int64),
    ([1e30], np.int64, np.int64),
    ([2.0**63], np.int64, np.int64),  # the first float beyond int64's largest integer
    ([300], np.int8, np.int8),    # 44
    ([-1], np.uint8, np.uint8),   # 255
    ([2**32], np.int32, np.int32),  # 0
]


@pytest.mark.parametrize("data, dtype, target", BAD_NUMBERS)
def test_numbers_the_dtype_cannot_hold_raise_value_error_naming_it(data, dtype, target):
    shown = f"{data!r}" + ("" if dtype is None else f", dtype={np.dtype(dtype).name}")
    for what, make in [(f"Tensor({shown})", lambda: Tensor(data, dtype=dtype)),
                       (f"as_array({shown})", lambda: as_array(data, dtype=dtype))]:
        message = error_message(ValueError, what, make)
        assert names_dtype(message, target), f"the ValueError of {what} should name the dtype {np.dtype(target)}; its message was: {message!r}"


def test_converting_a_tensor_checks_its_numbers():
    source = Tensor([NAN, 2.0])
    message = error_message(ValueError, "Tensor(Tensor([nan, 2.0]), dtype=int64)", lambda: Tensor(source, dtype=np.int64))
    assert names_dtype(message, np.int64), f"the ValueError should name the dtype int64; its message was: {message!r}"


@pytest.mark.parametrize("data, dtype, expected", [
    ([2**63 - 1, -2**63], None, [2**63 - 1, -2**63]),  # int64's own extremes, exactly
    (np.array([2**63 - 1], dtype=np.uint64), None, [2**63 - 1]),
    ([127.9, -128.9], np.int8, [127, -128]),  # cut toward zero first, then in range
    ([2.7, -2.7], np.int64, [2, -2]),
    ([255, 0], np.uint8, [255, 0]),
    ([NAN, INF, -INF], None, [NAN, INF, -INF]),  # floats keep NaN and infinity
    ([2**63], np.float64, [2.0**63]),  # a float dtype takes any number
    ([NAN, 0.0], bool, [True, False]),
])
def test_numbers_the_dtype_can_hold_are_kept(data, dtype, expected):
    t = Tensor(data, dtype=dtype)
    want = np.asarray(expected, dtype=t.dtype)
    assert np.array_equal(t.data, want, equal_nan=t.dtype.kind == "f"), (
        f"Tensor({data!r}, dtype={dtype!r}): expected {want}, got {t.data}")


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
    message = error_message(ValueError, "Tensor([1.0, 2.0]).item()", lambda: Tensor([1.0, 2.0]).item())
    assert "(2,)" in message, f"the ValueError should name the shape (2,); its message was: {message!r}"


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
    got = tensor.__repr__()
    assert got == text, f"repr: expected {text!r}, got {got!r}"
    assert repr(tensor) == text and str(tensor) == text, f"repr() and str(): expected {text!r}, got {repr(tensor)!r} and {str(tensor)!r}"


# ----- element-wise arithmetic -----------------------------------------------------------

BINARY = [operator.add, operator.sub, operator.mul, operator.truediv]


@pytest.mark.parametrize("op", BINARY, ids=lambda op: op.__name__)
@pytest.mark.parametrize("shape_a, shape_b", [((2, 3), (2, 3)), ((2, 3), (3,)), ((2, 1), (1, 3)), ((4,), ()), ((), (2, 2))])
def test_binary_ops_match_numpy_with_broadcasting(op, shape_a, shape_b):
    a, b = arange(*shape_a), arange(*shape_b) + 1
    name = op.__name__
    for what, got in ((f"{name}(Tensor a, Tensor b)", op(Tensor(a), Tensor(b))), (f"{name}(Tensor a, array b)", op(Tensor(a), b)),
                      (f"{name}(array a, Tensor b)", op(a, Tensor(b)))):
        what += f" for shapes {shape_a} and {shape_b}"
        check_values(what, got, op(a, b))
        assert got.dtype == np.float32, f"{what}: expected float32, got {got.dtype}"


@pytest.mark.parametrize("op", BINARY, ids=lambda op: op.__name__)
@pytest.mark.parametrize("number", [2, 0.5])
def test_python_numbers_on_either_side(op, number):
    a = arange(2, 3)
    left, right = op(number, Tensor(a)), op(Tensor(a), number)
    assert left.dtype == right.dtype == np.float32, f"{op.__name__} with {number!r}: expected float32 both ways, got {left.dtype} and {right.dtype}"
    check_values(f"{op.__name__}({number!r}, Tensor)", left, op(number, a))
    check_values(f"{op.__name__}(Tensor, {number!r})", right, op(a, number))


def test_negation():
    check_values("-Tensor([1.0, -2.0])", -Tensor([1.0, -2.0]), [-1.0, 2.0])
    assert (-Tensor([1, 2])).dtype == np.int64, f"-Tensor([1, 2]): expected int64, got {(-Tensor([1, 2])).dtype}"


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
    got = compute().dtype
    assert got == dtype, f"expected dtype {np.dtype(dtype)}, got {got}"


def test_numpy_array_on_the_left_gives_a_tensor():
    got = np.ones(3) + Tensor([1.0, 2.0, 3.0])
    check_values("np.ones(3) + Tensor([1.0, 2.0, 3.0])", got, [2.0, 3.0, 4.0])


@pytest.mark.parametrize("op", BINARY + [operator.lt, operator.eq], ids=lambda op: op.__name__)
def test_incompatible_shapes_name_both_shapes(op):
    what = f"{op.__name__}(Tensor of shape (2, 3), Tensor of shape (4,))"
    message = error_message(ValueError, what, lambda: op(Tensor(np.ones((2, 3))), Tensor(np.ones(4))))
    assert "(2, 3)" in message and "(4,)" in message, f"the ValueError of {what} should name both shapes; its message was: {message!r}"


@pytest.mark.parametrize("op", BINARY, ids=lambda op: op.__name__)
def test_reflected_ops_name_both_shapes(op):
    what = f"{op.__name__}(array of shape (4,), Tensor of shape (2, 3))"
    message = error_message(ValueError, what, lambda: op(np.ones(4), Tensor(np.ones((2, 3)))))
    assert "(2, 3)" in message and "(4,)" in message, f"the ValueError of {what} should name both shapes; its message was: {message!r}"


# ----- matrix multiplication -------------------------------------------------------------

@pytest.mark.parametrize(
    "shape_a, shape_b",
    [((2, 3), (3, 4)), ((3,), (3, 4)), ((2, 3), (3,)), ((3,), (3,)), ((5, 2, 3), (3, 4)), ((5, 2, 3), (5, 3, 4)), ((2, 1, 2, 3), (4, 3, 2))],
)
def test_matmul_matches_numpy(shape_a, shape_b):
    a, b = arange(*shape_a), arange(*shape_b)
    what = f"{shape_a} @ {shape_b}"
    got = Tensor(a) @ Tensor(b)
    check_values(what, got, np.matmul(a, b), rtol=1e-5)
    assert got.dtype == np.float32, f"{what}: expected float32, got {got.dtype}"
    check_values(f"Tensor.matmul(array) for {what}", Tensor(a).matmul(b), np.matmul(a, b), rtol=1e-5)
    check_values(f"array @ Tensor for {what}", a @ Tensor(b), np.matmul(a, b), rtol=1e-5)


def test_matmul_keeps_float64_and_int64():
    assert (Tensor(arange(2, 2), dtype=np.float64) @ Tensor(arange(2, 2), dtype=np.float64)).dtype == np.float64
    got = Tensor([[1, 2], [3, 4]]) @ Tensor([[2], [1]])
    assert got.dtype == np.int64, f"int64 @ int64: expected int64, got {got.dtype}"
    check_values("Tensor([[1, 2], [3, 4]]) @ Tensor([[2], [1]])", got, [[4], [10]], rtol=0)


@pytest.mark.parametrize(
    "shape_a, shape_b, inner",
    [
        ((2, 3), (4, 5), (3, 4)),         # the inner dimensions differ: name them too
        ((3,), (4,), (3, 4)),
        ((2, 3), (2,), (3, 2)),
        ((2, 7, 3), (3, 3, 4), None),     # the batch axes (2,) and (3,) do not broadcast
        ((), (3,), None),                 # a 0-d operand
        ((3,), (), None),
    ],
)
def test_matmul_errors_name_the_shapes(shape_a, shape_b, inner):
    what = f"Tensor of shape {shape_a} @ Tensor of shape {shape_b}"
    message = error_message(ValueError, what, lambda: Tensor(np.ones(shape_a)) @ Tensor(np.ones(shape_b)))
    assert str(shape_a) in message and str(shape_b) in message, (
        f"the ValueError of {what} should name both shapes; its message was: {message!r}")
    if inner:
        assert all(str(n) in message for n in inner), (
            f"the ValueError of {what} should name the inner dimensions {inner[0]} and {inner[1]}; its message was: {message!r}")


def test_matmul_loops_matches_numpy():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((4, 3)).astype(np.float32), rng.standard_normal((3, 5)).astype(np.float32)
    got = matmul_loops(Tensor(a), Tensor(b))
    check_values("matmul_loops of shapes (4, 3) and (3, 5)", got, a @ b, rtol=1e-5, atol=1e-6)
    assert got.dtype == np.float32, f"matmul_loops of float32 inputs: expected float32, got {got.dtype}"
    got = matmul_loops(Tensor([[1, 2]]), Tensor([[3], [4]]))
    assert got.dtype == np.int64, f"matmul_loops of int64 inputs: expected int64, got {got.dtype}"
    check_values("matmul_loops([[1, 2]], [[3], [4]])", got, [[11]], rtol=0)
    for shape_a, shape_b in [((2, 3), (4, 2)), ((3,), (3, 2))]:
        what = f"matmul_loops of shapes {shape_a} and {shape_b}"
        message = error_message(ValueError, what, lambda: matmul_loops(Tensor(np.ones(shape_a)), Tensor(np.ones(shape_b))))
        assert str(shape_a) in message and str(shape_b) in message, f"the ValueError of {what} should name both shapes; its message was: {message!r}"


# ----- shape operations and indexing -----------------------------------------------------

@pytest.mark.parametrize("args, shape", [((2, 3), (2, 3)), (((3, 2),), (3, 2)), (([6],), (6,)), ((-1, 2), (3, 2)), ((1, -1, 1), (1, 6, 1))])
def test_reshape(args, shape):
    t = Tensor(np.arange(6))
    got = t.reshape(*args)
    check_values(f"Tensor(np.arange(6)).reshape{args}", got, np.arange(6).reshape(shape), rtol=0)
    assert got.dtype == np.int64, f"reshape should keep int64, got {got.dtype}"


def test_reshape_error_names_both_shapes():
    message = error_message(ValueError, "Tensor of shape (6,) .reshape(4, 2)", lambda: Tensor(np.arange(6)).reshape(4, 2))
    assert "(6,)" in message and "(4, 2)" in message, (
        f"the ValueError should name the shape (6,) and the requested (4, 2); its message was: {message!r}")


P = np.arange(24).reshape(2, 3, 4)


@pytest.mark.parametrize("args, order", [
    ((2, 0, 1), (2, 0, 1)),
    (((1, 0, 2),), (1, 0, 2)),  # one tuple
    (([2, 1, 0],), (2, 1, 0)),  # one list
    ((-1, 0, 1), (2, 0, 1)),  # negative dims count from the end
    ((0, -2, -1), (0, 1, 2)),
    ((np.int64(1), 2, 0), (1, 2, 0)),  # numpy integers are dims too
])
def test_permute_reorders_the_dimensions(args, order):
    got = Tensor(P).permute(*args)
    check_values(f"x.permute{args} for x of shape (2, 3, 4)", got, P.transpose(order), rtol=0)
    assert got.dtype == np.int64


def test_permute_of_a_0d_tensor_is_the_empty_permutation():
    check_values("Tensor(5.0).permute(())", Tensor(5.0).permute(()), np.float32(5.0), rtol=0)


@pytest.mark.parametrize("args", [(1, 0), (0, 1, 2, 0), (0, 2, 0), (1, 1, 1), (-1, 2, 0)])
def test_permute_needs_each_dimension_once(args):
    message = error_message(ValueError, f"x.permute{args}", lambda: Tensor(P).permute(*args))
    assert "permutation" in message and "(2, 3, 4)" in message, (
        f"x.permute{args} for x of shape (2, 3, 4): the ValueError should contain 'permutation' "
        f"and name the shape; its message was: {message!r}")


@pytest.mark.parametrize("args", [(0, 1, 3), (-4, 0, 1)])
def test_permute_of_a_dimension_out_of_range_is_an_index_error(args):
    message = error_message(IndexError, f"x.permute{args}", lambda: Tensor(P).permute(*args))
    assert "out of range" in message, message


@pytest.mark.parametrize("args", [(), (0.0, 1.0, 2.0), (True, 0, 1)])
def test_permute_takes_whole_numbers(args):
    error_message(TypeError, f"x.permute{args}", lambda: Tensor(P).permute(*args))


@pytest.mark.parametrize("dim0, dim1, order", [
    (0, 1, (1, 0, 2)), (1, 2, (0, 2, 1)), (-1, 0, (2, 1, 0)), (2, 2, (0, 1, 2)), (-3, -2, (1, 0, 2)),
])
def test_transpose_swaps_two_dimensions(dim0, dim1, order):
    got = Tensor(P).transpose(dim0, dim1)
    check_values(f"x.transpose({dim0}, {dim1}) for x of shape (2, 3, 4)", got, P.transpose(order), rtol=0)
    assert np.shares_memory(got.data, P), "transpose should give a view"


def test_transpose_of_a_matrix_and_of_a_0d_tensor():
    m = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    check_values("m.transpose(0, 1)", Tensor(m).transpose(0, 1), m.T, rtol=0)
    check_values("m.transpose(1, 0)", Tensor(m).transpose(1, 0), m.T, rtol=0)
    for dims in [(0, 0), (-1, 0)]:  # a 0-d tensor takes 0 and -1, as in PyTorch
        check_values(f"Tensor(3.0).transpose{dims}", Tensor(3.0).transpose(*dims), np.float32(3.0), rtol=0)


@pytest.mark.parametrize("call, error", [
    (lambda t: t.transpose(0), TypeError),  # two dims, as in PyTorch
    (lambda t: t.transpose(), TypeError),
    (lambda t: t.transpose(0, 1, 2), TypeError),
    (lambda t: t.transpose((0, 1)), TypeError),
    (lambda t: t.transpose(0.0, 1), TypeError),
    (lambda t: t.transpose(0, 3), IndexError),
    (lambda t: t.transpose(-4, 0), IndexError),
    (lambda t: Tensor(3.0).transpose(0, 1), IndexError),
])
def test_transpose_errors_are_pytorchs(call, error):
    error_message(error, "a bad transpose", lambda: call(Tensor(P)))


def test_T_reverses_the_dimensions_and_mT_swaps_the_last_two():
    check_values("x.T", Tensor(P).T, P.transpose(2, 1, 0), rtol=0)
    check_values("Tensor([1.0, 2.0]).T", Tensor([1.0, 2.0]).T, [1.0, 2.0], rtol=0)
    check_values("x.mT", Tensor(P).mT, P.transpose(0, 2, 1), rtol=0)
    check_values("m.mT", Tensor(P[0]).mT, P[0].T, rtol=0)
    for shape in [(3,), ()]:
        message = error_message(ValueError, f"mT of shape {shape}", lambda: Tensor(np.ones(shape)).mT)
        assert str(shape) in message, message


def test_reshape_permute_and_transpose_are_views():
    t = Tensor(np.arange(6.0).reshape(2, 3))
    assert np.shares_memory(t.T.data, t.data)
    assert np.shares_memory(t.permute(1, 0).data, t.data)
    assert np.shares_memory(t.transpose(0, 1).data, t.data)
    assert np.shares_memory(t.reshape(3, 2).data, t.data)
    assert t.reshape(3, 2).T.dtype == np.float32


# ----- the given shape methods: view, unsqueeze, squeeze, flatten -----------------------------

@pytest.mark.parametrize("args, shape", [((4, 6), (4, 6)), (((4, 6),), (4, 6)), (([24],), (24,)), ((-1,), (24,)),
                                         ((2, -1, 3), (2, 4, 3))])
def test_view_shares_memory(args, shape):
    t = Tensor(P)
    got = t.view(*args)
    check_values(f"x.view{args}", got, P.reshape(shape), rtol=0)
    assert np.shares_memory(got.data, t.data), f"x.view{args} should share x's memory"


def test_view_of_a_transpose_or_a_strided_slice_is_refused():
    t = Tensor(np.arange(24.0).reshape(2, 3, 4))
    for what, source, shape in [("x.transpose(0, 1).view(-1)", t.transpose(0, 1), (-1,)),
                                ("x.transpose(0, 1).view(3, 8)", t.transpose(0, 1), (3, 8)),
                                ("x[:, ::2].view(-1)", t[:, ::2], (-1,))]:
        message = error_message(ValueError, what, lambda: source.view(*shape))
        assert "reshape" in message, f"{what}: the ValueError should say to use reshape; it was {message!r}"
    # Where the numbers are in order after all, a view works (as in PyTorch).
    check_values("x.transpose(0, 1).view(3, 2, 2, 2)", t.transpose(0, 1).view(3, 2, 2, 2),
                 np.arange(24.0).reshape(2, 3, 4).transpose(1, 0, 2).reshape(3, 2, 2, 2), rtol=0)
    check_values("x[:, :, ::2].view(2, 6)", t[:, :, ::2].view(2, 6), np.arange(24.0).reshape(2, 3, 4)[:, :, ::2].reshape(2, 6), rtol=0)
    check_values("an empty view", Tensor(np.zeros((2, 0, 3))).view(-1), np.zeros(0), rtol=0)
    error_message(ValueError, "x.view(5, 5)", lambda: t.view(5, 5))


@pytest.mark.parametrize("shape, dim, expected", [
    ((2, 3), 0, (1, 2, 3)), ((2, 3), 1, (2, 1, 3)), ((2, 3), 2, (2, 3, 1)), ((2, 3), -1, (2, 3, 1)),
    ((2, 3), -3, (1, 2, 3)), ((), 0, (1,)), ((), -1, (1,)),
])
def test_unsqueeze(shape, dim, expected):
    x = np.arange(float(np.prod(shape))).reshape(shape)
    check_values(f"Tensor of shape {shape} .unsqueeze({dim})", Tensor(x).unsqueeze(dim), x.reshape(expected), rtol=0)


@pytest.mark.parametrize("shape, dim", [((2, 3), 3), ((2, 3), -4), ((), 1)])
def test_unsqueeze_out_of_range(shape, dim):
    error_message(IndexError, f"unsqueeze({dim}) of shape {shape}", lambda: Tensor(np.ones(shape)).unsqueeze(dim))


@pytest.mark.parametrize("dim, expected", [
    (None, (3, 2)), (0, (3, 1, 2)), (1, (1, 3, 1, 2)), (-2, (1, 3, 2)), ((0, 2), (3, 2)), ([0, 1, 2], (3, 2)),
    ((), (1, 3, 1, 2)),
])
def test_squeeze_removes_only_dimensions_of_length_1(dim, expected):
    x = np.arange(6.0).reshape(1, 3, 1, 2)
    check_values(f"x.squeeze({dim}) for x of shape (1, 3, 1, 2)", Tensor(x).squeeze(dim), x.reshape(expected), rtol=0)


def test_squeeze_errors_and_0d():
    x = Tensor(np.ones((1, 3, 1, 2)))
    error_message(IndexError, "x.squeeze(4)", lambda: x.squeeze(4))
    error_message(ValueError, "x.squeeze((0, 0))", lambda: x.squeeze((0, 0)))
    for dim in (None, 0, -1):
        check_values(f"Tensor(2.0).squeeze({dim})", Tensor(2.0).squeeze(dim), np.float32(2.0), rtol=0)


@pytest.mark.parametrize("args, expected", [
    ((), (24,)), ((1,), (2, 12)), ((0, 1), (6, 4)), ((-2, -1), (2, 12)), ((1, 1), (2, 3, 4)), ((0, -1), (24,)),
])
def test_flatten(args, expected):
    check_values(f"x.flatten{args}", Tensor(P).flatten(*args), P.reshape(expected), rtol=0)


def test_flatten_of_0d_and_empty_tensors_and_errors():
    check_values("Tensor(2.0).flatten()", Tensor(2.0).flatten(), [2.0], rtol=0)
    check_values("Tensor(2.0).flatten(0, -1)", Tensor(2.0).flatten(0, -1), [2.0], rtol=0)
    check_values("an empty (0, 2, 3) .flatten(1)", Tensor(np.zeros((0, 2, 3))).flatten(1), np.zeros((0, 6)), rtol=0)
    error_message(ValueError, "x.flatten(2, 1)", lambda: Tensor(P).flatten(2, 1))
    error_message(IndexError, "x.flatten(0, 3)", lambda: Tensor(P).flatten(0, 3))


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
    check_values(f"x[{index!r}] for x of shape (2, 3, 4)", got, X[np_index], rtol=0)
    assert got.dtype == np.float32, f"indexing should keep float32, got {got.dtype}"


def test_iterating_gives_rows():
    rows = list(Tensor([[1, 2], [3, 4]]))
    assert len(rows) == 2, f"list(Tensor([[1, 2], [3, 4]])): expected 2 rows, got {len(rows)}"
    check_values("list(Tensor([[1, 2], [3, 4]]))[1]", rows[1], [3, 4], rtol=0)


# ----- reductions ------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["sum", "mean", "max", "min"])
@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 2), (0, 1, 2), [0, 2], [-1]])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions_match_numpy(name, axis, keepdims):
    x = X - 10
    what = f"x.{name}(axis={axis}, keepdims={keepdims}) for x of shape (2, 3, 4)"
    got = getattr(Tensor(x), name)(axis=axis, keepdims=keepdims)
    np_axis = tuple(axis) if isinstance(axis, list) else axis
    check_values(what, got, getattr(np, name)(x, axis=np_axis, keepdims=keepdims))
    assert got.dtype == np.float32, f"{what}: expected float32, got {got.dtype}"


@pytest.mark.parametrize("name", ["sum", "mean", "max", "min"])
def test_reductions_take_pytorchs_dim_and_keepdim(name):
    x = X - 10
    reduce = getattr(Tensor(x), name)
    check_values(f"x.{name}(dim=1)", reduce(dim=1), getattr(np, name)(x, axis=1))
    check_values(f"x.{name}(dim=[0, 2], keepdim=True)", reduce(dim=[0, 2], keepdim=True),
                 getattr(np, name)(x, axis=(0, 2), keepdims=True))
    check_values(f"x.{name}(1, True)", reduce(1, True), getattr(np, name)(x, axis=1, keepdims=True))
    # An empty list of dims reduces them all, as in PyTorch (numpy would reduce none).
    check_values(f"x.{name}(axis=())", reduce(axis=()), getattr(np, name)(x))
    error_message(TypeError, f"x.{name}(axis=0, dim=0)", lambda: reduce(axis=0, dim=0))


@pytest.mark.parametrize("shape, axis", [((2, 0), 0), ((2, 0), None), ((0, 3), 0), ((0,), None)])
def test_mean_of_no_numbers_is_numpys(shape, axis):
    # mean's docstring: a tensor with no numbers gives numpy's nan (or an empty result), no error.
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        got = Tensor(np.zeros(shape)).mean(axis=axis)
        expected = np.zeros(shape).mean(axis=axis)
    what = f"Tensor(np.zeros({shape})).mean(axis={axis})"
    assert got.shape == np.shape(expected), f"{what}: expected shape {np.shape(expected)}, got {got.shape}"
    assert np.array_equal(got.data, expected, equal_nan=True), f"{what}: expected {expected}, got {got.data}"


def test_min_keeps_integers():
    got = Tensor([[3, 1], [0, 5]]).min(axis=0)
    check_values("Tensor([[3, 1], [0, 5]]).min(axis=0)", got, [0, 1], rtol=0)
    assert got.dtype == np.int64


@pytest.mark.parametrize("data, kwargs, expected", [
    ([[3, 1, 2], [0, 5, 5]], {}, 4),  # an index into the flattened tensor
    ([[3, 1, 2], [0, 5, 5]], {"axis": 1}, [0, 1]),  # the first of a tie wins
    ([[3, 1, 2], [0, 5, 5]], {"axis": 0}, [0, 1, 1]),
    ([[3, 1, 2], [0, 5, 5]], {"axis": -1, "keepdims": True}, [[0], [1]]),
    ([[3, 1, 2], [0, 5, 5]], {"dim": 1, "keepdim": True}, [[0], [1]]),
    ([[3, 1, 2], [0, 5, 5]], {"keepdims": True}, [[4]]),
    ([1.0, np.nan, 3.0], {}, 1),  # nan is the largest, as in PyTorch
    (7.0, {}, 0),
    (7.0, {"axis": 0}, 0),
    (7.0, {"axis": -1}, 0),
])
def test_argmax(data, kwargs, expected):
    t = Tensor(data, requires_grad=True) if np.asarray(data).dtype.kind == "f" else Tensor(data)
    got = t.argmax(**kwargs)
    check_values(f"Tensor({data}).argmax({kwargs})", got, expected, rtol=0)
    assert got.dtype == np.int64, f"argmax should give int64, got {got.dtype}"
    assert not got.requires_grad and got.op is None, "an index has no gradient: argmax records nothing"


@pytest.mark.parametrize("call, error", [
    (lambda t: t.argmax(axis=(0, 1)), TypeError),
    (lambda t: t.argmax(axis=2), IndexError),
    (lambda t: Tensor(7.0).argmax(axis=1), IndexError),
])
def test_argmax_errors(call, error):
    error_message(error, "a bad argmax", lambda: call(Tensor([[3, 1, 2], [0, 5, 5]])))


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
    assert got.shape == () and got.dtype == dtype and got.item() == value, (
        f"expected a 0-d {np.dtype(dtype)} tensor holding {value}, got {got!r}")


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
        check_values(f"{op.__name__} of {a} and {b.tolist()} (or 2.0)", got, expected, rtol=0)
        assert got.dtype == np.bool_, f"{op.__name__}: expected dtype bool, got {got.dtype}"


def test_tensors_hash_by_identity():
    a, b = Tensor([1.0]), Tensor([1.0])
    assert len({a, b, a}) == 2
    assert {a: "a", b: "b"}[b] == "b"


def test_mask_from_comparison_selects_elements():
    t = Tensor([-1.0, 2.0, -3.0, 4.0])
    check_values("t[t > 0] for t = [-1, 2, -3, 4]", t[t > 0], [2.0, 4.0], rtol=0)


# ----- the graph notes that Module 05's autograd reads -------------------------------------
def test_operations_on_tensors_that_require_grad_record_how_they_were_made():
    x = Tensor([[1.0, 2.0]], requires_grad=True)
    w = Tensor([[3.0], [4.0]])
    product = x @ w
    check_record("x @ w", product, "matmul", (x, w))
    check_record("(x @ w).sum(axis=0, keepdims=True)", product.sum(axis=0, keepdims=True), "sum", (product,),
                 {"axis": 0, "keepdims": True})
    check_record("2 - x", 2 - x, "subtract", (2, x))


G = np.arange(24.0).reshape(2, 3, 4) + 1  # no zeros: 2 / g stays finite


@pytest.mark.parametrize("what, compute, op, inputs, saved", [
    ("g + 1", lambda g: g + 1, "add", lambda g: (g, 1), {}),
    ("g - 1", lambda g: g - 1, "subtract", lambda g: (g, 1), {}),
    ("1 - g", lambda g: 1 - g, "subtract", lambda g: (1, g), {}),
    ("g * 3", lambda g: g * 3, "multiply", lambda g: (g, 3), {}),
    ("g / 2", lambda g: g / 2, "divide", lambda g: (g, 2), {}),
    ("2 / g", lambda g: 2 / g, "divide", lambda g: (2, g), {}),
    ("-g", lambda g: -g, "negative", lambda g: (g,), {}),
    ("g.reshape(6, 4)", lambda g: g.reshape(6, 4), "reshape", lambda g: (g,), {}),
    ("g.T", lambda g: g.T, "transpose", lambda g: (g,), {"axes": None}),
    ("g.permute(1, 0, 2)", lambda g: g.permute(1, 0, 2), "transpose", lambda g: (g,), {"axes": (1, 0, 2)}),
    ("g.permute(-1, 0, -2)", lambda g: g.permute(-1, 0, -2), "transpose", lambda g: (g,), {"axes": (2, 0, 1)}),
    ("g.transpose(0, 2)", lambda g: g.transpose(0, 2), "transpose", lambda g: (g,), {"axes": (2, 1, 0)}),
    ("g.transpose(-1, 1)", lambda g: g.transpose(-1, 1), "transpose", lambda g: (g,), {"axes": (0, 2, 1)}),
    ("g.mT", lambda g: g.mT, "transpose", lambda g: (g,), {"axes": (0, 2, 1)}),
    ("g.view(4, 6)", lambda g: g.view(4, 6), "reshape", lambda g: (g,), {}),
    ("g.unsqueeze(1)", lambda g: g.unsqueeze(1), "reshape", lambda g: (g,), {}),
    ("g.flatten(1)", lambda g: g.flatten(1), "reshape", lambda g: (g,), {}),
    ("g ** 2", lambda g: g ** 2, "power", lambda g: (g, 2), {}),
    ("2 ** g", lambda g: 2 ** g, "power", lambda g: (2, g), {}),
    ("g.pow(0.5)", lambda g: g.pow(0.5), "power", lambda g: (g, 0.5), {}),
    ("g.abs()", lambda g: g.abs(), "abs", lambda g: (g,), {}),
    ("g.exp()", lambda g: g.exp(), "exp", lambda g: (g,), {}),
    ("g.log()", lambda g: g.log(), "log", lambda g: (g,), {}),
    ("g.sqrt()", lambda g: g.sqrt(), "sqrt", lambda g: (g,), {}),
    ("g.clone()", lambda g: g.clone(), "clone", lambda g: (g,), {}),
    ("g.min(axis=[0, 2])", lambda g: g.min(axis=[0, 2]), "min", lambda g: (g,), {"axis": (0, 2), "keepdims": False}),
    ("g.sum(dim=-1, keepdim=True)", lambda g: g.sum(dim=-1, keepdim=True), "sum", lambda g: (g,),
     {"axis": -1, "keepdims": True}),
    ("g[1]", lambda g: g[1], "getitem", lambda g: (g,), {"index": 1}),
    ("g[1, :, 2]", lambda g: g[1, :, 2], "getitem", lambda g: (g,), {"index": (1, slice(None), 2)}),
    ("g.sum()", lambda g: g.sum(), "sum", lambda g: (g,), {"axis": None, "keepdims": False}),
    ("g.mean(axis=1)", lambda g: g.mean(axis=1), "mean", lambda g: (g,), {"axis": 1, "keepdims": False}),
    ("g.max(axis=(0, 2), keepdims=True)", lambda g: g.max(axis=(0, 2), keepdims=True), "max", lambda g: (g,),
     {"axis": (0, 2), "keepdims": True}),
])
def test_each_method_records_what_module_05_reads(what, compute, op, inputs, saved):
    g = Tensor(G, requires_grad=True)
    check_record(what, compute(g), op, inputs(g), saved)


def test_permute_saves_its_axes_and_getitem_saves_arrays_for_tensor_indices():
    g = Tensor(G, requires_grad=True)
    for what, out, axes in [("g.permute(1, 0, 2)", g.permute(1, 0, 2), (1, 0, 2)),
                            ("g.permute((2, 0, 1))", g.permute((2, 0, 1)), (2, 0, 1)),
                            ("g.permute([2, 0, 1])", g.permute([2, 0, 1]), (2, 0, 1))]:
        got = out.saved.get("axes")
        assert isinstance(got, (tuple, list)) and tuple(got) == axes, f"{what}: expected saved['axes'] = {axes}, got {got!r}"
    squeezed = Tensor(np.ones((1, 3)), requires_grad=True)
    check_record("x.squeeze() for x of shape (1, 3)", squeezed.squeeze(), "reshape", (squeezed,))
    got = g[Tensor([1, 0])].saved.get("index")
    assert not isinstance(got, Tensor) and np.array_equal(got, [1, 0]), (
        f"g[Tensor([1, 0])]: expected saved['index'] to be the array [1, 0], got {got!r}")
    got = g[1, :, Tensor([0, 3])].saved.get("index")
    assert isinstance(got, tuple) and len(got) == 3 and not isinstance(got[2], Tensor) and np.array_equal(got[2], [0, 3]), (
        f"g[1, :, Tensor([0, 3])]: expected saved['index'] = (1, slice(None), array([0, 3])), got {got!r}")


def test_leaves_comparisons_and_constants_record_nothing():
    x = Tensor([1.0, 2.0], requires_grad=True)
    assert x.op is None and x.inputs == ()
    assert not (x > 1).requires_grad and (x > 1).op is None
    constant = Tensor([1.0, 2.0]) * 3
    assert not constant.requires_grad and constant.op is None
    assert not x.detach().requires_grad and x.detach().data is x.data


# ----- the given element-wise methods: powers, abs, exp, log, sqrt, clone ------------------

@pytest.mark.parametrize("compute, expected, dtype", [
    (lambda: Tensor([1.0, 2.0, 3.0]) ** 2, [1.0, 4.0, 9.0], np.float32),
    (lambda: Tensor([1, 2, 3]) ** 2, [1, 4, 9], np.int64),
    (lambda: Tensor([1, 4, 9]) ** 0.5, [1.0, 2.0, 3.0], np.float32),
    (lambda: Tensor([2.0, 4.0]) ** -1, [0.5, 0.25], np.float32),
    (lambda: Tensor([2, 4]) ** -1.0, [0.5, 0.25], np.float32),
    (lambda: Tensor([2, 3]) ** Tensor([3, 2]), [8, 9], np.int64),
    (lambda: Tensor([2.0], dtype=np.float64) ** 3, [8.0], np.float64),
    (lambda: 2 ** Tensor([1, 2, 3]), [2, 4, 8], np.int64),
    (lambda: 2 ** Tensor([-1.0, 1.0]), [0.5, 2.0], np.float32),
    (lambda: 2.0 ** Tensor([1, 2]), [2.0, 4.0], np.float32),
    (lambda: Tensor([1.0, 2.0]).pow(3), [1.0, 8.0], np.float32),
    (lambda: Tensor([[1.0], [2.0]]) ** Tensor([1.0, 2.0]), [[1.0, 1.0], [2.0, 4.0]], np.float32),
    (lambda: Tensor([True, False]) ** 2, [1, 0], np.int64),
    (lambda: Tensor([2, 3]) ** 0, [1, 1], np.int64),
])
def test_powers_match_numpy(compute, expected, dtype):
    got = compute()
    check_values("a power", got, expected)
    assert got.dtype == dtype, f"expected {np.dtype(dtype)}, got {got.dtype}"


@pytest.mark.parametrize("compute", [
    lambda: Tensor([1, 2]) ** -1,
    lambda: Tensor([1, 2]).pow(-2),
    lambda: Tensor([1, 2]) ** np.int64(-1),
    lambda: Tensor([True]) ** -1,
    lambda: Tensor([2, 3]) ** Tensor([1, -1]),
    lambda: 2 ** Tensor([1, -1]),
])
def test_integers_to_negative_integer_powers_are_refused(compute):
    message = error_message(ValueError, "an integer tensor to a negative integer power", compute)
    assert "negative" in message and "float" in message, message


def test_power_shapes_that_do_not_broadcast_name_both():
    message = error_message(ValueError, "(2, 3) ** (4,)", lambda: Tensor(np.ones((2, 3))) ** Tensor(np.ones(4)))
    assert "(2, 3)" in message and "(4,)" in message, message


@pytest.mark.parametrize("name, fn", [("abs", np.abs), ("exp", np.exp), ("log", np.log), ("sqrt", np.sqrt)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_elementwise_functions_match_numpy(name, fn, dtype):
    x = np.array([[0.5, 1.0, 2.0], [3.0, 4.5, 9.0]], dtype=dtype)
    if name == "abs":
        x = x - 2
    got = getattr(Tensor(x, dtype=dtype), name)()
    check_values(f"x.{name}()", got, fn(x))
    assert got.dtype == dtype, f"x.{name}() of {np.dtype(dtype)}: expected {np.dtype(dtype)}, got {got.dtype}"


@pytest.mark.parametrize("name, fn", [("exp", np.exp), ("log", np.log), ("sqrt", np.sqrt)])
@pytest.mark.parametrize("data", [[1, 4, 9], [True, False]])
def test_exp_log_sqrt_of_integers_and_bools_are_float32(name, fn, data):
    with np.errstate(divide="ignore"):  # log(False) is -inf
        got = getattr(Tensor(data), name)()
        expected = fn(np.array(data, dtype=np.float32))
    check_values(f"Tensor({data}).{name}()", got, expected)
    assert got.dtype == np.float32, f"Tensor({data}).{name}(): expected float32, got {got.dtype}"


def test_abs_keeps_integers():
    got = Tensor([-3, 0, 2]).abs()
    check_values("Tensor([-3, 0, 2]).abs()", got, [3, 0, 2], rtol=0)
    assert got.dtype == np.int64


def test_clone_copies_and_detach_shares():
    x = Tensor([1.0, 2.0], requires_grad=True)
    copy = x.clone()
    check_values("x.clone()", copy, [1.0, 2.0], rtol=0)
    assert not np.shares_memory(copy.data, x.data), "clone() must copy the numbers"
    assert copy.requires_grad and copy.dtype == x.dtype, "a clone stays in the graph, with x's dtype"
    detached = x.detach()
    assert detached.data is x.data and not detached.requires_grad and detached.op is None
    assert Tensor([1, 2]).clone().dtype == np.int64


# ----- grad: only a Tensor of the same shape, or None --------------------------------------

def test_grad_accepts_a_tensor_of_the_same_shape_or_none():
    p = Tensor(np.zeros((2, 3)), requires_grad=True)
    g = Tensor(np.ones((2, 3)))
    p.grad = g
    assert p.grad is g
    p.grad = Tensor(np.ones((2, 3)), dtype=np.float64)  # another float dtype: optimizers convert it
    p.grad = None
    assert p.grad is None


@pytest.mark.parametrize("value", [np.zeros((2, 3)), [[0.0] * 3] * 2, 1.0])
def test_grad_refuses_anything_but_a_tensor(value):
    p = Tensor(np.zeros((2, 3)), requires_grad=True)
    message = error_message(TypeError, f"p.grad = {type(value).__name__}", lambda: setattr(p, "grad", value))
    assert "Tensor" in message and type(value).__name__ in message, message
    assert p.grad is None, "a refused gradient must not be stored"


@pytest.mark.parametrize("shape", [(3, 2), (3,), (6,), ()])
def test_grad_refuses_a_tensor_of_another_shape(shape):
    p = Tensor(np.zeros((2, 3)), requires_grad=True)
    message = error_message(ValueError, f"p.grad of shape {shape}", lambda: setattr(p, "grad", Tensor(np.zeros(shape))))
    assert str(shape) in message and "(2, 3)" in message, message
    assert p.grad is None


def test_one_dimension_permutes_and_a_single_number_has_an_argmax_along_dims_0_and_minus_1():
    # As in torch: permute(0) of a 1-D tensor is the tensor; argmax of a 0-d tensor is 0.
    np.testing.assert_array_equal(Tensor([1.0, 2.0]).permute(0).data, [1.0, 2.0])
    for dim in (0, -1):
        assert Tensor(5.0).argmax(dim).data == 0 and Tensor(5.0).argmax(dim=dim).shape == ()


# ----- reuse_freed_memory (given; Systems: fresh memory) ------------------------------------
STEP_IN_A_FRESH_PYTHON = """
import resource, sys
import numpy as np
from tinytorch.core.tensor import reuse_freed_memory
agreed = reuse_freed_memory() if sys.argv[1] == "reuse" else None
x = np.ones((512, 1024), dtype=np.float32)
for repeats in (2, 20):  # a warm-up, then the count
    start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(repeats):
        outputs = [x]
        for _ in range(8):  # a forward pass that keeps eight 2 MiB outputs, then frees them
            outputs.append(outputs[-1] * 0.5 + x)
        del outputs
print(agreed, (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - start) / repeats)
"""


def faults_per_step(mode):
    # -B: the fresh Python imports tinytorch from the course folder and must leave no __pycache__ there
    done = subprocess.run([sys.executable, "-B", "-c", STEP_IN_A_FRESH_PYTHON, mode],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    agreed, faults = done.stdout.split()
    return agreed, float(faults)


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
                    reason="reuse_freed_memory sets glibc's malloc options")
def test_reuse_freed_memory_lets_a_step_make_its_arrays_without_fresh_pages():
    _, before = faults_per_step("defaults")
    agreed, after = faults_per_step("reuse")
    assert agreed == "True", "reuse_freed_memory() should return True where glibc's mallopt exists"
    # 8 arrays of 512 pages: with glibc's defaults the step faulted in `before` pages (about 4,000 here)
    assert after < 100, (f"after reuse_freed_memory() a step still faulted in {after:.0f} pages "
                         f"({before:.0f} without it): freed memory was not reused")


def test_reuse_freed_memory_returns_false_without_mallopt(monkeypatch):
    import ctypes

    def no_c_library(name):
        raise TypeError("no library to open")  # what Windows says to CDLL(None)
    monkeypatch.setattr(ctypes, "CDLL", no_c_library)
    assert reuse_freed_memory() is False

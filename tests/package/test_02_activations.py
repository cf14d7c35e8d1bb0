"""Specification of tinytorch.core.activations (Module 02), tested on the exported package.

numpy formulas (evaluated where they are safe) are the reference for values; PyTorch, when it
is installed, is the reference in float64.
"""
import math

import numpy as np
import pytest

from tinytorch.core.activations import GELU, Activation, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh, log_softmax
from tinytorch.core.tensor import AUTOGRAD, Tensor

ELEMENTWISE = [ReLU, Sigmoid, Tanh, GELU]
ALL = ELEMENTWISE + [Softmax, LogSoftmax]
OP_NAMES = {ReLU: "relu", Sigmoid: "sigmoid", Tanh: "tanh", GELU: "gelu", Softmax: "softmax",
            LogSoftmax: "log_softmax"}


def reference(cls, x, axis=-1):
    """The textbook formula of each activation, in float64 (safe for moderate x)."""
    x = np.asarray(x, dtype=np.float64)
    if cls is ReLU:
        return np.maximum(x, 0)
    if cls is Sigmoid:
        return 1 / (1 + np.exp(-x))
    if cls is Tanh:
        return np.tanh(x)
    if cls is GELU:
        return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    if cls is LogSoftmax:
        shifted = x - x.max(axis=axis, keepdims=True)
        return shifted - np.log(e.sum(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def check_values(what, got, expected, rtol=1e-6, atol=0.0, dtype=None):
    """Assert that the Tensor `got` holds `expected` (shape, values and, if given, dtype), saying
    what was expected and what came back, as the notebook's test cells do."""
    expected = np.asarray(expected)
    assert isinstance(got, Tensor), f"{what}: expected a Tensor, got {type(got).__name__}"
    assert got.shape == expected.shape, f"{what}: expected shape {expected.shape}, got {got.shape}"
    assert dtype is None or got.dtype == dtype, f"{what}: expected dtype {np.dtype(dtype)}, got {got.dtype}"
    assert np.allclose(got.data, expected, rtol=rtol, atol=atol, equal_nan=False), f"{what}: expected\n{expected}\ngot\n{got.data}"


def sample(shape, scale=3.0, dtype=np.float64, seed=0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(dtype)


def test_top_level_names_are_the_same_classes():
    import tinytorch

    for cls in ALL:
        assert getattr(tinytorch, cls.__name__) is cls


# ----- values, shapes and dtypes ---------------------------------------------------------

@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
@pytest.mark.parametrize("dtype, rtol", [(np.float32, 1e-5), (np.float64, 1e-12)])
def test_values_match_the_reference_formula(cls, dtype, rtol):
    x = sample((5, 7), dtype=dtype)
    got = cls()(Tensor(x, dtype=dtype))
    check_values(f"{cls.__name__}()(x) for a {np.dtype(dtype)} x of shape (5, 7)", got, reference(cls, x), rtol=rtol,
                 atol=1e-7 if dtype == np.float32 else 1e-15, dtype=dtype)


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_forward_is_what_calling_does(cls):
    x = Tensor(sample((3, 4)))
    check_values(f"{cls.__name__}().forward(x), which should equal {cls.__name__}()(x)", cls().forward(x), cls()(x).data, rtol=0)


@pytest.mark.parametrize("cls", ELEMENTWISE, ids=lambda c: c.__name__)
@pytest.mark.parametrize("shape", [(), (1,), (6,), (2, 3, 4), (2, 1, 3, 2)])
def test_elementwise_activations_keep_the_shape(cls, shape):
    x = sample(shape, dtype=np.float32)
    got = cls()(Tensor(x))
    check_values(f"{cls.__name__}()(x) for x of shape {shape}", got, reference(cls, x), rtol=1e-5, atol=1e-7, dtype=np.float32)


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_the_input_is_not_modified(cls):
    x = sample((4, 5), dtype=np.float32)
    before = x.copy()
    cls()(Tensor(x))
    assert np.array_equal(x, before), f"{cls.__name__} must not change its input; x.data was modified from\n{before}\nto\n{x}"


@pytest.mark.parametrize("cls", [Sigmoid, Tanh, GELU, Softmax], ids=lambda c: c.__name__)
def test_integer_input_gives_float32(cls):
    got = cls()(Tensor([[-2, 0, 3]]))
    check_values(f"{cls.__name__}()(Tensor([[-2, 0, 3]]))", got, reference(cls, [[-2, 0, 3]]), dtype=np.float32)


def test_relu_of_integers_stays_integer():
    check_values("ReLU()(Tensor([-2, 0, 3]))", ReLU()(Tensor([-2, 0, 3])), [0, 0, 3], rtol=0, dtype=np.int64)


def test_known_values():
    check_values("Sigmoid()(Tensor(0.0))", Sigmoid()(Tensor(0.0)), 0.5, rtol=0)
    check_values("Tanh()(Tensor(0.0))", Tanh()(Tensor(0.0)), 0.0, rtol=0)
    check_values("GELU()(Tensor([1.0, -1.0]))", GELU()(Tensor([1.0, -1.0])), [0.8411920, -0.1588080], atol=1e-6)
    check_values("Softmax()(Tensor([0.0, log(3)]))", Softmax()(Tensor([0.0, math.log(3.0)])), [0.25, 0.75])


# ----- laws ------------------------------------------------------------------------------

def test_laws_of_the_elementwise_activations():
    x = np.arange(-400, 401) / 20  # exactly symmetric around 0, from -20 to 20
    t = Tensor(x, dtype=np.float64)
    relu, sig, tanh = ReLU()(t).data, Sigmoid()(t).data, Tanh()(t).data
    assert (relu >= 0).all()
    assert ((sig >= 0) & (sig <= 1)).all() and np.all(np.diff(sig) >= 0)
    np.testing.assert_allclose(sig[::-1], 1 - sig, atol=1e-15)  # sigmoid(-x) = 1 - sigmoid(x)
    np.testing.assert_allclose(tanh, 2 * Sigmoid()(Tensor(2 * x, dtype=np.float64)).data - 1, atol=1e-15)
    np.testing.assert_array_equal(tanh[::-1], -tanh)
    gelu = GELU()(t).data
    assert gelu.min() > -0.18 and np.all(gelu <= np.maximum(x, 0))


@pytest.mark.parametrize("dim", [0, 1, 2, -1, -2, -3])
def test_softmax_along_any_axis(dim):
    x = sample((2, 3, 4), scale=10)
    got = Softmax(dim=dim)(Tensor(x, dtype=np.float64))
    what = f"Softmax(dim={dim}) of a float64 tensor of shape (2, 3, 4)"
    check_values(what, got, reference(Softmax, x, axis=dim), rtol=1e-12, dtype=np.float64)
    sums = got.data.sum(axis=dim)
    assert np.allclose(sums, 1.0, atol=1e-12), f"{what}: the sums along dim should be 1, got {sums}"
    assert (got.data > 0).all(), f"{what}: every probability should be positive, got {got.data}"


def test_softmax_ignores_a_constant_shift_and_handles_masked_logits():
    x = sample((3, 5), dtype=np.float32)
    check_values("Softmax()(x + 100), which should equal Softmax()(x)", Softmax()(Tensor(x + 100)), Softmax()(Tensor(x)).data, atol=1e-6)
    check_values("Softmax()(Tensor([0.0, -inf, 0.0]))", Softmax()(Tensor([0.0, -np.inf, 0.0])), [0.5, 0.0, 0.5], rtol=0)
    check_values("Softmax()(Tensor([2.5]))", Softmax()(Tensor([2.5])), [1.0])  # one entry: probability 1


def test_softmax_of_two_logits_is_the_sigmoid_of_their_difference():
    z = np.linspace(-10, 10, 41)
    pairs = np.stack([z, np.zeros_like(z)], axis=1)
    np.testing.assert_allclose(Softmax()(Tensor(pairs, dtype=np.float64)).data[:, 0],
                               Sigmoid()(Tensor(z, dtype=np.float64)).data, rtol=1e-12)


# ----- numerical stability ---------------------------------------------------------------

@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_no_floating_point_warnings_at_extreme_inputs(cls, dtype):
    finfo = np.finfo(dtype)
    x = np.array([-finfo.max, -1e30, -1000.0, -100.0, -1.0, -finfo.tiny, 0.0,
                  finfo.tiny, 1.0, 100.0, 1000.0, 1e30, finfo.max], dtype=dtype)
    if cls in (Softmax, LogSoftmax):  # logits 2 * finfo.max apart are out of scope: x - max(x) itself overflows
        x = x[1:-1]
    with np.errstate(all="raise"):  # overflow, nan, division by zero and underflow alike
        got = cls()(Tensor(x, dtype=dtype))
    assert got.dtype == dtype and np.isfinite(got.data).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_reaches_its_limits_exactly_and_keeps_small_values(dtype):
    got = Sigmoid()(Tensor([-1000.0, 0.0, 1000.0], dtype=dtype))
    check_values(f"Sigmoid() at [-1000, 0, 1000] in {np.dtype(dtype)}", got, [0.0, 0.5, 1.0], rtol=0)
    tiny = Sigmoid()(Tensor([-30.0, -80.0], dtype=dtype))
    check_values(f"Sigmoid() at [-30, -80] in {np.dtype(dtype)}", tiny, np.exp([-30.0, -80.0]) / (1 + np.exp([-30.0, -80.0])), rtol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_tanh_and_gelu_limits(dtype):
    x = Tensor([-1e30, -1000.0, 1000.0, 1e30], dtype=dtype)
    check_values(f"Tanh() at [-1e30, -1000, 1000, 1e30] in {np.dtype(dtype)}", Tanh()(x), [-1.0, -1.0, 1.0, 1.0], rtol=0)
    check_values(f"GELU() at [-1e30, -1000, 1000, 1e30] in {np.dtype(dtype)}", GELU()(x),
                 np.array([0.0, 0.0, 1000.0, 1e30], dtype=dtype), rtol=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_of_huge_logits(dtype):
    x = np.array([[1000.0, 1001.0, 1002.0], [-1000.0, -999.0, -998.0], [1e30, 0.0, -1e30]], dtype=dtype)
    with np.errstate(all="raise"):
        got = Softmax()(Tensor(x, dtype=dtype)).data
    expected = reference(Softmax, [[0.0, 1.0, 2.0]])[0]
    np.testing.assert_allclose(got[0], expected, rtol=1e-6)
    np.testing.assert_allclose(got[1], expected, rtol=1e-6)
    np.testing.assert_array_equal(got[2], [1.0, 0.0, 0.0])


# ----- the graph notes that Module 05's autograd reads ----------------------------------------

@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_each_activation_is_one_recorded_operation(cls):
    x = Tensor(sample((2, 3)), requires_grad=True)
    out = cls()(x)
    name = cls.__name__
    assert out.requires_grad, f"{name} of a tensor with requires_grad=True should require grad (use wrap_result)"
    assert out.op == OP_NAMES[cls], f"{name} should record op {OP_NAMES[cls]!r}, got {out.op!r}"
    assert len(out.inputs) == 1 and out.inputs[0] is x, f"{name} should record inputs (x,), got {out.inputs!r}"
    expected = {"axis": -1} if cls in (Softmax, LogSoftmax) else {}
    assert out.saved == expected, f"{name} should save {expected}, got saved={out.saved!r}"


@pytest.mark.parametrize("dim", [0, 1, -2])
def test_softmax_saves_its_axis_as_given(dim):
    out = Softmax(dim=dim)(Tensor(sample((2, 3)), requires_grad=True))
    assert out.saved == {"axis": dim}, f"Softmax(dim={dim}) should save axis={dim}, got saved={out.saved!r}"


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_nothing_is_recorded_without_requires_grad_or_with_recording_off(cls, monkeypatch):
    plain = cls()(Tensor(sample((2, 3))))
    assert not plain.requires_grad and plain.op is None and plain.inputs == ()
    monkeypatch.setattr(AUTOGRAD, "enabled", False)  # what Module 05's no_grad() does
    off = cls()(Tensor(sample((2, 3)), requires_grad=True))
    assert not off.requires_grad and off.op is None


def test_activations_chain_on_a_linear_layer():
    x = Tensor(sample((4, 3)))
    W = Tensor(sample((3, 5), seed=1), requires_grad=True)
    b = Tensor(np.zeros(5), requires_grad=True)
    probs = Softmax()(ReLU()(x @ W + b))
    assert probs.op == "softmax" and probs.inputs[0].op == "relu"
    assert probs.inputs[0].inputs[0].op == "add" and probs.inputs[0].inputs[0].inputs[1] is b
    np.testing.assert_allclose(probs.data.sum(axis=-1), 1.0, rtol=1e-6)


# ----- the PyTorch-like surface: repr, parameters, errors ----------------------------------

@pytest.mark.parametrize("activation, text", [
    (ReLU(), "ReLU()"), (Sigmoid(), "Sigmoid()"), (Tanh(), "Tanh()"),
    (GELU(), "GELU(approximate='tanh')"), (Softmax(), "Softmax(dim=-1)"), (Softmax(dim=0), "Softmax(dim=0)"),
])
def test_repr_is_pytorchs(activation, text):
    assert repr(activation) == text


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_activations_have_no_parameters(cls):
    assert isinstance(cls(), Activation) and cls().parameters() == []


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
@pytest.mark.parametrize("bad, type_name", [
    ([1.0, -1.0], "list"), (np.ones(3), "ndarray"), (2.0, "float"), (None, "NoneType"),
])
def test_non_tensor_input_is_a_type_error_that_says_what_to_do(cls, bad, type_name):
    for call in (cls(), cls().forward):
        with pytest.raises(TypeError, match=type_name) as error:
            call(bad)
        assert "Tensor(" in str(error.value)


def test_softmax_rejects_a_missing_axis_and_a_non_integer_dim():
    with pytest.raises(IndexError, match=r"\(2, 3\)"):
        Softmax(dim=2)(Tensor(np.ones((2, 3))))
    with pytest.raises(IndexError):
        Softmax(dim=-3)(Tensor(np.ones((2, 3))))
    for bad in [(0, 1), 1.0, None, True]:
        with pytest.raises(TypeError, match="integer"):
            Softmax(dim=bad)


def test_gelu_offers_only_the_tanh_approximation():
    assert GELU(approximate="tanh").approximate == "tanh"
    with pytest.raises(ValueError, match="tanh"):
        GELU(approximate="none")


# ----- PyTorch as the reference ------------------------------------------------------------

def torch_function(cls):
    torch = pytest.importorskip("torch", reason="PyTorch is optional: install torch==2.13.0 to cross-check")
    F = torch.nn.functional
    return torch, {
        ReLU: F.relu,
        Sigmoid: torch.sigmoid,
        Tanh: torch.tanh,
        GELU: lambda t: F.gelu(t, approximate="tanh"),
        Softmax: lambda t: F.softmax(t, dim=-1),
        LogSoftmax: lambda t: F.log_softmax(t, dim=-1),
    }[cls]


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_matches_pytorch_in_float64(cls):
    torch, fn = torch_function(cls)
    x = np.concatenate([sample((8, 50), scale=4), np.linspace(-1000, 1000, 400).reshape(8, 50)])
    ours = cls()(Tensor(x, dtype=np.float64))
    theirs = fn(torch.from_numpy(x)).numpy()
    assert ours.dtype == np.float64
    np.testing.assert_allclose(ours.data, theirs, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_matches_pytorch_along_each_axis(dim):
    torch, _ = torch_function(Softmax)
    x = sample((3, 4, 5), scale=5)
    theirs = torch.nn.Softmax(dim=dim)(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(Softmax(dim=dim)(Tensor(x, dtype=np.float64)).data, theirs, rtol=1e-6, atol=1e-12)


# ----- 0-d tensors, LogSoftmax ----------------------------------------------------------------

@pytest.mark.parametrize("dim", [-1, 0])
def test_softmax_and_log_softmax_of_a_0d_tensor_as_pytorch(dim):
    torch, _ = torch_function(Softmax)
    for x in (3.5, -1e30):
        for cls, fn in [(Softmax, torch.nn.Softmax(dim)), (LogSoftmax, torch.nn.LogSoftmax(dim))]:
            got = cls(dim)(Tensor(x, dtype=np.float64))
            expected = fn(torch.tensor(x, dtype=torch.float64))
            assert got.shape == tuple(expected.shape) == () and got.dtype == np.float64
            assert got.item() == expected.item(), f"{cls.__name__}({dim}) of {x}: {got.item()} != {expected.item()}"


@pytest.mark.parametrize("cls", [Softmax, LogSoftmax], ids=lambda c: c.__name__)
def test_a_0d_tensor_has_no_axis_1_as_in_pytorch(cls):
    with pytest.raises(IndexError):
        cls(dim=1)(Tensor(2.0))
    with pytest.raises(IndexError):
        cls(dim=-2)(Tensor(2.0))


@pytest.mark.parametrize("dim", [0, 1, 2, -1, -2])
def test_log_softmax_matches_pytorch_along_each_axis(dim):
    torch, _ = torch_function(LogSoftmax)
    x = sample((3, 4, 5), scale=40)
    theirs = torch.nn.LogSoftmax(dim=dim)(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(LogSoftmax(dim=dim)(Tensor(x, dtype=np.float64)).data, theirs, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(log_softmax(Tensor(x, dtype=np.float64), dim=dim).data, theirs, rtol=1e-12, atol=1e-12)
    if dim == -1:
        np.testing.assert_allclose(log_softmax(Tensor(x, dtype=np.float64)).data, theirs, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_log_softmax_keeps_the_log_where_softmax_rounds_to_zero(dtype):
    x = np.array([[0.0, -200.0, -1e4], [1e4, 0.0, -np.inf]], dtype=dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        got = LogSoftmax()(Tensor(x, dtype=dtype)).data
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, [[0.0, -200.0, -1e4], [0.0, -1e4, -np.inf]])
    with np.errstate(divide="ignore"):
        assert np.log(Softmax()(Tensor(x, dtype=dtype)).data)[0, 2] == -np.inf  # why log(Softmax) will not do


def test_log_softmax_is_the_log_of_softmax_where_that_is_safe():
    x = Tensor(sample((6, 5)), dtype=np.float64)
    np.testing.assert_allclose(LogSoftmax()(x).data, np.log(Softmax()(x).data), rtol=1e-12)


@pytest.mark.parametrize("dim", [0, 1, -2])
def test_log_softmax_saves_its_axis_as_given(dim):
    out = LogSoftmax(dim=dim)(Tensor(sample((2, 3)), requires_grad=True))
    assert out.op == "log_softmax" and out.saved == {"axis": dim}


def test_log_softmax_rejects_a_missing_axis_and_a_non_integer_dim():
    with pytest.raises(IndexError, match=r"\(2, 3\)"):
        LogSoftmax(dim=2)(Tensor(np.ones((2, 3))))
    for bad in [(0, 1), 1.0, None, True]:
        with pytest.raises(TypeError, match="integer"):
            LogSoftmax(dim=bad)
    assert repr(LogSoftmax()) == "LogSoftmax(dim=-1)" and repr(LogSoftmax(1)) == "LogSoftmax(dim=1)"


@pytest.mark.parametrize("cls", [Softmax, LogSoftmax], ids=lambda c: c.__name__)
@pytest.mark.parametrize("dim, shape", [(-1, (3, 4)), (0, (3, 4)), (1, (2, 3, 2)), (-1, ())])
def test_softmax_and_log_softmax_gradients_match_finite_differences(cls, dim, shape):
    if AUTOGRAD.engine is None:
        pytest.skip("autograd (Module 05) is not exported yet")
    from tinytorch.core.autograd import BACKWARD_RULES, grad_check

    if OP_NAMES[cls] not in BACKWARD_RULES:
        pytest.skip(f"Module 05 has no rule for {OP_NAMES[cls]!r} yet")
    x = Tensor(sample(shape), dtype=np.float64, requires_grad=True)
    weights = Tensor(sample(shape, seed=1), dtype=np.float64)  # so the gradient is not zero
    grad_check(lambda t: (cls(dim)(t) * weights).sum(), x, what=f"{cls.__name__}({dim}) on {shape}")

"""Specification of tinytorch.core.losses (Module 04), tested on the exported package.

Each test states one rule of the losses. numpy formulas are the reference for values, and
PyTorch's functional losses (in float64) where PyTorch is installed.
"""
import numpy as np
import pytest

from tinytorch.core.losses import (BinaryCrossEntropyLoss, CrossEntropyLoss, Loss, MSELoss,
                                   logsumexp)
from tinytorch.core.tensor import AUTOGRAD, Tensor

LOSSES = [MSELoss, CrossEntropyLoss, BinaryCrossEntropyLoss]


def torch_or_skip():
    return pytest.importorskip("torch", reason="PyTorch is optional: install torch==2.13.0 to cross-check")


def classification_batch(n=16, c=7, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, c)) * 3).astype(dtype), rng.integers(0, c, size=n)


def probability_batch(shape=(12, 3), seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.01, 0.99, size=shape).astype(dtype)
    y = (rng.uniform(size=shape) > 0.5).astype(dtype)
    return p, y


# ----- references -------------------------------------------------------------------------

def reference_mse(p, y):
    return np.mean((np.asarray(p, np.float64) - np.asarray(y, np.float64)) ** 2)


def reference_cross_entropy(z, t):
    """Written directly from the definition, in float64 (for moderate logits only)."""
    z = np.asarray(z, np.float64)
    probs = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    return -np.mean(np.log(probs[np.arange(len(t)), t])), probs


def reference_bce(p, y):
    p, y = np.asarray(p, np.float64), np.asarray(y, np.float64)
    with np.errstate(divide="ignore"):
        log_p, log_1mp = np.maximum(np.log(p), -100), np.maximum(np.log(1 - p), -100)
    return -np.mean(y * log_p + (1 - y) * log_1mp)


# ----- the calling convention shared by every loss ----------------------------------------

def test_top_level_names_are_the_same_objects():
    import tinytorch

    assert tinytorch.CrossEntropyLoss is CrossEntropyLoss
    assert tinytorch.MSELoss is MSELoss
    assert tinytorch.BinaryCrossEntropyLoss is BinaryCrossEntropyLoss


@pytest.mark.parametrize("cls", LOSSES)
def test_losses_are_loss_subclasses_with_pytorch_like_repr(cls):
    loss_fn = cls()
    assert isinstance(loss_fn, Loss)
    assert repr(loss_fn) == f"{cls.__name__}()"


def test_the_base_class_has_no_forward():
    with pytest.raises(NotImplementedError):
        Loss()(Tensor([1.0]), [1.0])


@pytest.mark.parametrize("cls, prediction, target", [
    (MSELoss, np.zeros(3), np.zeros(3)),
    (MSELoss, [1.0, 2.0], [1.0, 2.0]),
    (CrossEntropyLoss, np.zeros((2, 3)), [0, 1]),
    (BinaryCrossEntropyLoss, np.full(2, 0.5), [0.0, 1.0]),
])
def test_prediction_must_be_a_tensor(cls, prediction, target):
    with pytest.raises(TypeError, match="Tensor"):
        cls()(prediction, target)


@pytest.mark.parametrize("cls, prediction, target", [
    (MSELoss, np.zeros(0), np.zeros(0)),
    (CrossEntropyLoss, np.zeros((0, 3)), np.zeros(0, dtype=np.int64)),
    (BinaryCrossEntropyLoss, np.zeros(0), np.zeros(0)),
])
def test_empty_batch_is_an_error(cls, prediction, target):
    with pytest.raises(ValueError, match="empty"):
        cls()(Tensor(prediction), target)


@pytest.mark.parametrize("make_target", [Tensor, np.asarray, lambda y: np.asarray(y).tolist()],
                         ids=["Tensor", "ndarray", "list"])
def test_targets_may_be_tensors_arrays_or_lists(make_target):
    p, y = probability_batch()
    z, t = classification_batch()
    assert np.isclose(MSELoss()(Tensor(p), make_target(y)).item(), reference_mse(p, y), rtol=1e-5)
    assert np.isclose(BinaryCrossEntropyLoss()(Tensor(p), make_target(y)).item(), reference_bce(p, y), rtol=1e-5)
    assert np.isclose(CrossEntropyLoss()(Tensor(z), make_target(t)).item(), reference_cross_entropy(z, t)[0], rtol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_loss_dtype_follows_the_prediction(dtype):
    p, y = probability_batch(dtype=dtype)
    z, t = classification_batch(dtype=dtype)
    losses = [MSELoss()(Tensor(p, dtype=dtype), Tensor(y, dtype=dtype)),
              BinaryCrossEntropyLoss()(Tensor(p, dtype=dtype), Tensor(y, dtype=dtype)),
              CrossEntropyLoss()(Tensor(z, dtype=dtype), t)]
    for loss in losses:
        assert isinstance(loss, Tensor)
        assert loss.shape == ()
        assert loss.dtype == dtype


def test_numpy_targets_follow_the_tensor_dtype_policy():
    loss = MSELoss()(Tensor(np.ones(3, dtype=np.float32)), np.zeros(3))  # float64 array -> float32
    assert loss.dtype == np.float32
    loss = BinaryCrossEntropyLoss()(Tensor([0.5, 0.5]), np.array([1, 0], dtype=np.int32))
    assert loss.dtype == np.float32
    assert np.isclose(loss.item(), np.log(2))


# ----- MSELoss ----------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(), (1,), (5,), (4, 3), (2, 3, 4)])
def test_mse_matches_the_formula(shape):
    rng = np.random.default_rng(1)
    p = rng.standard_normal(shape).astype(np.float32)
    y = rng.standard_normal(shape).astype(np.float32)
    assert np.isclose(MSELoss()(Tensor(p), Tensor(y)).item(), reference_mse(p, y), rtol=1e-5)


def test_mse_matches_pytorch_in_float64():
    torch = torch_or_skip()
    rng = np.random.default_rng(2)
    p, y = rng.standard_normal((8, 3)), rng.standard_normal((8, 3))
    expected = torch.nn.functional.mse_loss(torch.from_numpy(p), torch.from_numpy(y)).item()
    got = MSELoss()(Tensor(p, dtype=np.float64), Tensor(y, dtype=np.float64)).item()
    assert got == pytest.approx(expected, rel=1e-6, abs=1e-6)


@pytest.mark.parametrize("shape_p, shape_y", [((4, 1), (4,)), ((4,), (4, 1)), ((3,), (2,)), ((2, 3), (3, 2))])
def test_mse_refuses_shapes_that_differ_naming_both(shape_p, shape_y):
    with pytest.raises(ValueError) as error:
        MSELoss()(Tensor(np.zeros(shape_p)), Tensor(np.zeros(shape_y)))
    assert str(shape_p) in str(error.value) and str(shape_y) in str(error.value)


def test_mse_records_its_op():
    p = Tensor([1.0, 2.0], requires_grad=True)
    y = Tensor([0.0, 0.0])
    loss = MSELoss()(p, y)
    assert loss.requires_grad and loss.op == "mse_loss"
    assert loss.inputs[0] is p and loss.inputs[1] is y


def test_mse_converted_target_is_recorded_as_a_tensor():
    loss = MSELoss()(Tensor([1.0, 2.0], requires_grad=True), [0.0, 1.0])
    assert isinstance(loss.inputs[1], Tensor)
    np.testing.assert_array_equal(loss.inputs[1].data, [0.0, 1.0])


# ----- logsumexp --------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_logsumexp_matches_the_direct_formula_and_keeps_dtype(dtype):
    z, _ = classification_batch(dtype=dtype)
    got = logsumexp(z)
    assert got.shape == (z.shape[0], 1) and got.dtype == dtype
    expected = np.log(np.exp(z.astype(np.float64)).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(got, expected, rtol=1e-6 if dtype == np.float32 else 1e-12)


def test_logsumexp_of_a_vector_keeps_one_axis():
    assert logsumexp(np.array([0.0, 0.0])).shape == (1,)
    assert np.isclose(logsumexp(np.array([0.0, 0.0]))[0], np.log(2))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_logsumexp_is_stable_at_extreme_logits(dtype):
    z = np.array([[1e4, 0.0, -1e4], [-1e4, -1e4, -1e4], [1e4, 1e4, 1e4]], dtype=dtype)
    with np.errstate(all="raise"):
        got = logsumexp(z)
    np.testing.assert_allclose(got[:, 0], [1e4, -1e4 + np.log(3), 1e4 + np.log(3)], rtol=1e-6)


# ----- CrossEntropyLoss -------------------------------------------------------------------

@pytest.mark.parametrize("n, c", [(1, 2), (16, 7), (5, 100)])
def test_cross_entropy_matches_the_formula(n, c):
    z, t = classification_batch(n, c, dtype=np.float32)
    assert np.isclose(CrossEntropyLoss()(Tensor(z), t).item(), reference_cross_entropy(z, t)[0], rtol=1e-5)


def test_cross_entropy_of_equal_logits_is_log_c():
    assert np.isclose(CrossEntropyLoss()(Tensor(np.zeros((4, 10))), [1, 2, 3, 4]).item(), np.log(10))


@pytest.mark.parametrize("n, c", [(1, 3), (16, 7), (64, 10)])
def test_cross_entropy_matches_pytorch_in_float64(n, c):
    torch = torch_or_skip()
    z, t = classification_batch(n, c)
    expected = torch.nn.functional.cross_entropy(torch.from_numpy(z), torch.from_numpy(t)).item()
    got = CrossEntropyLoss()(Tensor(z, dtype=np.float64), t).item()
    assert got == pytest.approx(expected, rel=1e-6, abs=1e-6)


def test_cross_entropy_matches_pytorch_at_extreme_logits():
    torch = torch_or_skip()
    z = np.array([[1e4, 0.0, -1e4], [1e4, 0.0, -1e4], [-1e4, -1e4 - 3, 0.0], [500.0, 499.0, -800.0]])
    t = np.array([0, 2, 1, 1])
    expected = torch.nn.functional.cross_entropy(torch.from_numpy(z), torch.from_numpy(t)).item()
    got = CrossEntropyLoss()(Tensor(z, dtype=np.float64), t).item()
    assert got == pytest.approx(expected, rel=1e-6, abs=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_is_stable_at_huge_logits_without_warnings(dtype):
    z = np.array([[1e4, 0.0, -1e4]] * 3, dtype=dtype)
    logits = Tensor(z, dtype=dtype, requires_grad=True)
    with np.errstate(all="raise"):
        loss = CrossEntropyLoss()(logits, [0, 1, 2])
    assert np.isfinite(loss.item())
    assert loss.item() == pytest.approx((0 + 1e4 + 2e4) / 3, rel=1e-6)
    probs = loss.saved["probs"]
    assert np.isfinite(probs).all()
    np.testing.assert_allclose(probs, [[1.0, 0.0, 0.0]] * 3, atol=1e-12)


def test_cross_entropy_of_a_single_sample_as_a_vector():
    z, t = classification_batch(1, 5)
    batch = CrossEntropyLoss()(Tensor(z), t).item()
    vector = Tensor(z[0], requires_grad=True)
    loss = CrossEntropyLoss()(vector, Tensor(t[0]))
    assert loss.shape == () and np.isclose(loss.item(), batch, rtol=1e-6)
    # the batch of one is made with a recorded reshape, so gradients reach the vector
    assert loss.op == "cross_entropy"
    assert loss.inputs[0].op == "reshape" and loss.inputs[0].inputs[0] is vector
    assert loss.inputs[0].shape == (1, 5) and loss.inputs[1].shape == (1,)


def test_cross_entropy_records_its_op_and_saves_the_softmax():
    z, t = classification_batch(dtype=np.float32)
    logits = Tensor(z, requires_grad=True)
    loss = CrossEntropyLoss()(logits, t)
    assert loss.requires_grad and loss.op == "cross_entropy"
    assert loss.inputs[0] is logits
    targets = loss.inputs[1]
    assert isinstance(targets, Tensor) and targets.dtype == np.int64
    np.testing.assert_array_equal(targets.data, t)
    probs = loss.saved["probs"]
    assert isinstance(probs, np.ndarray) and probs.shape == z.shape and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(probs, reference_cross_entropy(z, t)[1], rtol=1e-5, atol=1e-8)


def test_cross_entropy_gradient_from_saved_probs_matches_pytorch():
    """The rule Module 05 will use, (probs - onehot) / N, from what the forward pass saved."""
    torch = torch_or_skip()
    z, t = classification_batch(8, 4)
    loss = CrossEntropyLoss()(Tensor(z, dtype=np.float64, requires_grad=True), t)
    ours = (loss.saved["probs"] - np.eye(4)[t]) / len(t)
    z_torch = torch.from_numpy(z).requires_grad_()
    torch.nn.functional.cross_entropy(z_torch, torch.from_numpy(t)).backward()
    np.testing.assert_allclose(ours, z_torch.grad.numpy(), rtol=1e-6, atol=1e-12)


def test_nothing_is_recorded_without_grad_or_with_recording_off(monkeypatch):
    z, t = classification_batch()
    assert CrossEntropyLoss()(Tensor(z), t).op is None
    monkeypatch.setattr(AUTOGRAD, "enabled", False)  # restored when the test ends
    loss = CrossEntropyLoss()(Tensor(z, requires_grad=True), t)
    assert loss.op is None and not loss.requires_grad and loss.saved == {}


@pytest.mark.parametrize("targets", [
    [0.0, 1.0, 2.0, 1.0],                              # float labels
    np.eye(3)[[0, 1, 2, 0]],                           # one-hot rows
    [True, False, True, False],                        # bools are not class indices
], ids=["float", "one-hot", "bool"])
def test_cross_entropy_needs_integer_class_indices_and_names_the_dtype(targets):
    dtype = Tensor(targets).dtype  # what the loss sees: the Tensor dtype policy applied
    with pytest.raises(TypeError) as error:
        CrossEntropyLoss()(Tensor(np.zeros((4, 3))), targets)
    assert str(dtype) in str(error.value), (
        f"the TypeError should name the targets' dtype {dtype}; its message was: {error.value}")


@pytest.mark.parametrize("bad", [3, 7, -1])
def test_cross_entropy_target_out_of_range_names_value_and_classes(bad):
    with pytest.raises(ValueError) as error:
        CrossEntropyLoss()(Tensor(np.zeros((5, 3))), [0, 1, bad, 2, 0])
    message = str(error.value)
    assert str(bad) in message and "3" in message, (
        f"the ValueError should name the bad target {bad} and the number of classes, 3; "
        f"its message was: {message}")


@pytest.mark.parametrize("targets, shape", [([0, 1, 2], "(3,)"), ([[0], [1], [2], [0]], "(4, 1)"), (1, "()")])
def test_cross_entropy_needs_one_target_per_row(targets, shape):
    with pytest.raises(ValueError) as error:
        CrossEntropyLoss()(Tensor(np.zeros((4, 3))), targets)
    assert "(4, 3)" in str(error.value) and shape in str(error.value)


@pytest.mark.parametrize("logits, targets", [
    (np.zeros((2, 3, 4)), [0, 1]),
    (np.zeros(3), [0]),        # a vector of logits goes with a 0-d target, not a 1-D one
    (np.zeros(()), 0),
])
def test_cross_entropy_needs_2d_logits(logits, targets):
    with pytest.raises(ValueError) as error:
        CrossEntropyLoss()(Tensor(logits), targets)
    assert str(np.shape(logits)) in str(error.value)


# ----- BinaryCrossEntropyLoss -------------------------------------------------------------

@pytest.mark.parametrize("shape", [(1,), (12,), (6, 2)])
def test_bce_matches_the_formula(shape):
    p, y = probability_batch(shape, dtype=np.float32)
    assert np.isclose(BinaryCrossEntropyLoss()(Tensor(p), Tensor(y)).item(), reference_bce(p, y), rtol=1e-5)


def test_bce_with_soft_labels():
    p, y = np.array([0.2, 0.7]), np.array([0.3, 0.9])
    loss = BinaryCrossEntropyLoss()(Tensor(p, dtype=np.float64), Tensor(y, dtype=np.float64))
    assert np.isclose(loss.item(), reference_bce(p, y), rtol=1e-12)


def test_bce_matches_pytorch_in_float64_including_the_clamp():
    torch = torch_or_skip()
    p, y = probability_batch((12,))
    p[:4] = [0.0, 1.0, 0.0, 1.0]
    y[:4] = [1.0, 0.0, 0.0, 1.0]  # two saturated mistakes (clamped at -100), two exact hits
    expected = torch.nn.functional.binary_cross_entropy(torch.from_numpy(p), torch.from_numpy(y)).item()
    got = BinaryCrossEntropyLoss()(Tensor(p, dtype=np.float64), Tensor(y, dtype=np.float64)).item()
    assert got == pytest.approx(expected, rel=1e-6, abs=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_at_exactly_0_and_1_is_finite_without_warnings(dtype):
    p = Tensor([0.0, 1.0, 0.0, 1.0], dtype=dtype)
    with np.errstate(all="raise"):
        hits = BinaryCrossEntropyLoss()(p, Tensor([0.0, 1.0, 0.0, 1.0], dtype=dtype))
        misses = BinaryCrossEntropyLoss()(p, Tensor([1.0, 0.0, 1.0, 0.0], dtype=dtype))
    assert hits.item() == 0.0
    assert misses.item() == pytest.approx(100.0)


def test_bce_records_its_op():
    p = Tensor([0.9, 0.2], requires_grad=True)
    y = Tensor([1.0, 0.0])
    loss = BinaryCrossEntropyLoss()(p, y)
    assert loss.requires_grad and loss.op == "binary_cross_entropy"
    assert loss.inputs[0] is p and loss.inputs[1] is y


@pytest.mark.parametrize("bad", [1.5, -0.1, np.nan, 3.0])
def test_bce_refuses_probabilities_outside_0_1_and_says_sigmoid(bad):
    with pytest.raises(ValueError) as error:
        BinaryCrossEntropyLoss()(Tensor([0.5, bad]), [0.0, 1.0])
    assert "sigmoid" in str(error.value).lower(), (
        f"the ValueError should say to apply Sigmoid first; its message was: {error.value}")


@pytest.mark.parametrize("bad", [-1.0, 2.0, 255.0])
def test_bce_refuses_targets_outside_0_1(bad):
    with pytest.raises(ValueError):
        BinaryCrossEntropyLoss()(Tensor([0.5, 0.5]), [bad, 1.0])


def test_bce_refuses_shapes_that_differ_naming_both():
    with pytest.raises(ValueError) as error:
        BinaryCrossEntropyLoss()(Tensor(np.full((3, 1), 0.5)), [0.0, 1.0, 1.0])
    assert "(3, 1)" in str(error.value) and "(3,)" in str(error.value)


# ----- integration with Module 01 ---------------------------------------------------------

def test_losses_on_a_linear_model():
    rng = np.random.default_rng(3)
    x = Tensor(rng.standard_normal((32, 4)))
    W = Tensor(rng.standard_normal((4, 5)) * 0.01, requires_grad=True)
    b = Tensor(np.zeros(5), requires_grad=True)
    logits = x @ W + b
    loss = CrossEntropyLoss()(logits, rng.integers(0, 5, size=32))
    assert loss.item() == pytest.approx(np.log(5), abs=0.05)
    assert loss.inputs[0] is logits and logits.op == "add" and logits.inputs[0].op == "matmul"


# ----- the base class (given code) --------------------------------------------------------

def test_a_loss_without_forward_raises_not_implemented_error():
    class NoForward(Loss):
        pass

    with pytest.raises(NotImplementedError):
        NoForward()(Tensor([0.5, 0.5]), [0.0, 1.0])


# ----- reduction="mean" | "sum" | "none", cross-entropy over (N, C, d1, ...) --------------------

LOSSES = [MSELoss, CrossEntropyLoss, BinaryCrossEntropyLoss]


def loss_inputs(cls, shape=(6, 4), seed=0):
    """A prediction and a target for `cls`, in float64; for cross-entropy `shape` is the logits'."""
    rng = np.random.default_rng(seed)
    if cls is MSELoss:
        return rng.standard_normal(shape), rng.standard_normal(shape)
    if cls is CrossEntropyLoss:
        return rng.standard_normal(shape) * 3, rng.integers(0, shape[1], size=shape[:1] + shape[2:])
    return rng.uniform(0.01, 0.99, size=shape), (rng.uniform(size=shape) > 0.5).astype(np.float64)


def torch_loss(torch, cls, reduction):
    return {MSELoss: torch.nn.MSELoss, CrossEntropyLoss: torch.nn.CrossEntropyLoss,
            BinaryCrossEntropyLoss: torch.nn.BCELoss}[cls](reduction=reduction)


@pytest.mark.parametrize("cls", LOSSES, ids=lambda c: c.__name__)
@pytest.mark.parametrize("bad", ["bogus", "Mean", None, "elementwise_mean", 1])
def test_an_unknown_reduction_is_a_value_error_as_in_torch(cls, bad):
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        cls(reduction=bad)


@pytest.mark.parametrize("cls", LOSSES, ids=lambda c: c.__name__)
def test_the_default_reduction_is_the_mean_and_the_repr_is_torchs(cls):
    assert cls().reduction == "mean" and cls(reduction="sum").reduction == "sum"
    assert repr(cls(reduction="none")) == f"{cls.__name__}()"  # PyTorch does not show it either


@pytest.mark.parametrize("cls", LOSSES, ids=lambda c: c.__name__)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_reductions_match_torch_and_are_saved(cls, reduction):
    torch = torch_or_skip()
    prediction, target = loss_inputs(cls)
    loss = cls(reduction=reduction)(Tensor(prediction, dtype=np.float64, requires_grad=True),
                                    Tensor(target, dtype=target.dtype))  # float64 targets stay float64
    expected = torch_loss(torch, cls, reduction)(torch.from_numpy(prediction), torch.from_numpy(target))
    assert loss.dtype == np.float64 and loss.shape == tuple(expected.shape)
    np.testing.assert_allclose(loss.data, expected.numpy(), rtol=1e-12, atol=1e-14)
    assert loss.saved["reduction"] == reduction


@pytest.mark.parametrize("cls", LOSSES, ids=lambda c: c.__name__)
def test_mean_and_sum_are_the_mean_and_sum_of_none(cls):
    prediction, target = loss_inputs(cls, seed=3)
    each = cls(reduction="none")(Tensor(prediction, dtype=np.float32), target).data
    assert each.dtype == np.float32
    total = cls(reduction="sum")(Tensor(prediction, dtype=np.float32), target)
    mean = cls()(Tensor(prediction, dtype=np.float32), target)
    assert total.shape == mean.shape == () and total.dtype == mean.dtype == np.float32
    np.testing.assert_allclose(total.item(), each.sum(), rtol=1e-5)
    np.testing.assert_allclose(mean.item(), each.mean(), rtol=1e-5)


@pytest.mark.parametrize("cls, prediction, target", [
    (MSELoss, np.zeros(0), np.zeros(0)),
    (CrossEntropyLoss, np.zeros((0, 3)), np.zeros(0, dtype=np.int64)),
    (BinaryCrossEntropyLoss, np.zeros(0), np.zeros(0)),
])
def test_an_empty_batch_sums_to_zero_as_in_torch(cls, prediction, target):
    assert cls(reduction="sum")(Tensor(prediction), target).item() == 0.0
    assert cls(reduction="none")(Tensor(prediction), target).shape == (0,)


@pytest.mark.parametrize("shape", [(2, 3, 4), (2, 5, 3, 2), (1, 4, 1), (3, 2, 1, 1, 2)])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_over_extra_axes_matches_torch(shape, reduction):
    torch = torch_or_skip()
    z, t = loss_inputs(CrossEntropyLoss, shape, seed=1)
    loss = CrossEntropyLoss(reduction=reduction)(Tensor(z, dtype=np.float64, requires_grad=True), t)
    expected = torch.nn.CrossEntropyLoss(reduction=reduction)(torch.from_numpy(z), torch.from_numpy(t))
    assert loss.shape == tuple(expected.shape)
    np.testing.assert_allclose(loss.data, expected.numpy(), rtol=1e-12, atol=1e-14)
    probs = loss.saved["probs"]
    assert probs.shape == shape
    np.testing.assert_allclose(probs, torch.softmax(torch.from_numpy(z), dim=1).numpy(), rtol=1e-12, atol=1e-15)


def test_cross_entropy_over_extra_axes_is_the_flat_loss_with_classes_last():
    z, t = loss_inputs(CrossEntropyLoss, (3, 4, 5), seed=2)
    flat = CrossEntropyLoss(reduction="none")(Tensor(np.moveaxis(z, 1, -1).reshape(15, 4), dtype=np.float64), t.reshape(15))
    each = CrossEntropyLoss(reduction="none")(Tensor(z, dtype=np.float64), t)
    assert each.shape == (3, 5)
    np.testing.assert_allclose(each.data, flat.data.reshape(3, 5), rtol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_of_a_single_sample_matches_torch(reduction):
    torch = torch_or_skip()
    z = np.array([0.5, -1.0, 2.0])
    loss = CrossEntropyLoss(reduction=reduction)(Tensor(z, dtype=np.float64), Tensor(1))
    expected = torch.nn.CrossEntropyLoss(reduction=reduction)(torch.from_numpy(z), torch.tensor(1))
    assert loss.shape == tuple(expected.shape) == ()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-12)


@pytest.mark.parametrize("logits, targets, words", [
    (np.zeros((2, 3, 4)), np.zeros((2, 3), dtype=np.int64), ["(2, 3, 4)", "(2, 3)"]),
    (np.zeros((2, 3, 4, 5)), np.zeros((2, 4), dtype=np.int64), ["(2, 3, 4, 5)", "(2, 4)"]),
])
def test_cross_entropy_over_extra_axes_needs_matching_targets(logits, targets, words):
    with pytest.raises(ValueError) as error:
        CrossEntropyLoss()(Tensor(logits), targets)
    assert all(word in str(error.value) for word in words), str(error.value)


def test_cross_entropy_over_extra_axes_checks_every_target():
    with pytest.raises(ValueError) as error:
        CrossEntropyLoss()(Tensor(np.zeros((2, 3, 2))), [[0, 1], [2, 3]])
    assert "3" in str(error.value)


def needs_rule(op):
    if AUTOGRAD.engine is None:
        pytest.skip("autograd (Module 05) is not exported yet")
    from tinytorch.core.autograd import BACKWARD_RULES

    if op not in BACKWARD_RULES:
        pytest.skip(f"Module 05 has no rule for {op!r} yet")


@pytest.mark.parametrize("cls, shape", [
    (MSELoss, (4, 3)), (BinaryCrossEntropyLoss, (4, 3)), (CrossEntropyLoss, (4, 3)),
    (CrossEntropyLoss, (2, 3, 4)), (CrossEntropyLoss, (2, 3, 2, 2)), (CrossEntropyLoss, (3,)),
])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_gradients_for_every_reduction_match_torch(cls, shape, reduction):
    torch = torch_or_skip()
    needs_rule({MSELoss: "mse_loss", CrossEntropyLoss: "cross_entropy",
                BinaryCrossEntropyLoss: "binary_cross_entropy"}[cls])
    prediction, target = loss_inputs(cls, shape if len(shape) > 1 else (1,) + shape, seed=4)
    if len(shape) == 1:  # one sample: logits (C,) and a 0-d target
        prediction, target = prediction[0], np.asarray(target[0])
    ours = Tensor(prediction, dtype=np.float64, requires_grad=True)
    loss = cls(reduction=reduction)(ours, Tensor(target, dtype=target.dtype))
    weights = np.random.default_rng(5).standard_normal(loss.shape)  # so "none" is reduced by weights
    (loss * Tensor(weights, dtype=np.float64)).sum().backward()
    theirs = torch.from_numpy(prediction).requires_grad_()
    expected = torch_loss(torch, cls, reduction)(theirs, torch.from_numpy(target))
    (expected * torch.from_numpy(weights)).sum().backward()
    np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=1e-9, atol=1e-12)

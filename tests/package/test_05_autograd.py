"""Specification of tinytorch.core.autograd (Module 05), tested on the exported package.

One table of cases covers every differentiable operation of Modules 01, 02 and 04. Each case
is checked against central finite differences in float64 and, where PyTorch is installed,
against PyTorch's values and gradients. The engine's own promises follow: accumulation,
repeated use, deep graphs, no_grad, detach, dtypes and errors.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
import pytest

import tinytorch
from tinytorch.core.activations import GELU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from tinytorch.core.autograd import (BACKWARD_RULES, backward, backward_rule, grad_check, no_grad,
                                     topological_order, unbroadcast)
from tinytorch.core.losses import BinaryCrossEntropyLoss, CrossEntropyLoss, MSELoss
from tinytorch.core.tensor import AUTOGRAD, Tensor, wrap_result

CONTRACT_OPS = ["add", "subtract", "multiply", "divide", "negative", "matmul", "reshape",
                "transpose", "getitem", "sum", "mean", "max", "relu", "sigmoid", "tanh", "gelu",
                "softmax", "mse_loss", "cross_entropy", "binary_cross_entropy",
                "power", "abs", "exp", "log", "sqrt", "clone", "min", "log_softmax"]


# ----- the table of cases --------------------------------------------------------------------
@dataclass
class Case:
    """`ours(*tensors)` in tinytorch and `theirs(*tensors)` in PyTorch compute the same thing.

    `inputs(rng)` makes the float64 arrays of the inputs that get gradients; anything else
    (labels, masks, numbers) is part of the two functions.
    """
    name: str
    ours: Callable
    theirs: Optional[Callable]
    inputs: Callable[[np.random.Generator], list]


def normal(*shapes):
    return lambda rng: [rng.standard_normal(shape) for shape in shapes]


def positive(*shapes):
    """Away from 0: safe to divide by."""
    return lambda rng: [rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape) for shape in shapes]


def probabilities(*shapes):
    return lambda rng: [rng.uniform(0.05, 0.95, shape) for shape in shapes]


def torch_f():
    import torch.nn.functional as F  # only called when torch is installed
    return F


LABELS = np.array([0, 3, 1, 3, 2])
MASK = np.array([True, False, True])


# ----- the losses with a reduction, recorded as the op contract says (independent of how Module
# 04 writes them): numpy computes, wrap_result records op, inputs and saved.
def log_softmax_numpy(z, axis):
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def reduce(terms, reduction):
    return {"mean": np.mean, "sum": np.sum, "none": np.asarray}[reduction](terms)


def cross_entropy(targets, reduction="mean"):
    """Cross-entropy of logits (C,), (N, C) or (N, C, d1, ...) with integer targets (), (N,) or
    (N, d1, ...), the classes along axis 0 for one sample and along axis 1 otherwise."""
    targets = np.asarray(targets)

    def forward(z):
        axis = 0 if z.ndim == 1 else 1
        log_p = log_softmax_numpy(z.data, axis)
        terms = -np.take_along_axis(log_p, np.expand_dims(targets, axis), axis).squeeze(axis)
        return wrap_result(reduce(terms, reduction), "cross_entropy", z, Tensor(targets),
                           probs=np.exp(log_p), reduction=reduction)
    return forward


def mse(reduction):
    return lambda p, t: wrap_result(reduce((p.data - t.data) ** 2, reduction), "mse_loss", p, t,
                                    reduction=reduction)


def bce(reduction):
    def forward(p, t):
        terms = -(t.data * np.maximum(np.log(p.data), -100) + (1 - t.data) * np.maximum(np.log1p(-p.data), -100))
        return wrap_result(reduce(terms, reduction), "binary_cross_entropy", p, t, reduction=reduction)
    return forward


def torch_reduced(name, reduction, **kwargs):
    return lambda *xs: getattr(torch_f(), name)(*xs, reduction=reduction, **kwargs)


def labels_like(targets):
    return lambda *xs: xs[0].new_tensor(np.asarray(targets)).long()


LABELS_ND = np.array([[0, 2, 1], [3, 3, 0]])  # (N, d) = (2, 3) targets of (2, 4, 3) logits
LABELS_ND2 = np.array([[[1, 0], [2, 2]]])     # (N, d1, d2) = (1, 2, 2) targets of (1, 3, 2, 2) logits

CASES = [
    # element-wise arithmetic, with broadcasting and numbers on either side
    Case("a + b", lambda a, b: a + b, lambda a, b: a + b, normal((3, 4), (3, 4))),
    Case("(4, 3) + (3,)", lambda a, b: a + b, lambda a, b: a + b, normal((4, 3), (3,))),
    Case("(4, 1) + (1, 3)", lambda a, b: a + b, lambda a, b: a + b, normal((4, 1), (1, 3))),
    Case("() + (2, 3)", lambda a, b: a + b, lambda a, b: a + b, normal((), (2, 3))),
    Case("x + 2", lambda x: x + 2, lambda x: x + 2, normal((3,))),
    Case("2 + x", lambda x: 2 + x, lambda x: 2 + x, normal((3,))),
    Case("(2, 3, 4) - (3, 1)", lambda a, b: a - b, lambda a, b: a - b, normal((2, 3, 4), (3, 1))),
    Case("2 - x", lambda x: 2 - x, lambda x: 2 - x, normal((2, 3))),
    Case("x - 0.5", lambda x: x - 0.5, lambda x: x - 0.5, normal((2, 3))),
    Case("(2, 3) * (2, 1)", lambda a, b: a * b, lambda a, b: a * b, normal((2, 3), (2, 1))),
    Case("3 * x", lambda x: 3 * x, lambda x: 3 * x, normal((4,))),
    Case("x * x", lambda x: x * x, lambda x: x * x, normal((2, 3))),
    Case("x * numpy array", lambda x: x * np.arange(3.0), lambda x: x * x.new_tensor(np.arange(3.0)), normal((2, 3))),
    Case("(2, 3) / (3,)", lambda a, b: a / b, lambda a, b: a / b, positive((2, 3), (3,))),
    Case("1 / x", lambda x: 1 / x, lambda x: 1 / x, positive((2, 3))),
    Case("x / 4", lambda x: x / 4, lambda x: x / 4, normal((2, 3))),
    Case("-x", lambda x: -x, lambda x: -x, normal((2, 3))),
    Case("(a * b - a / b) * -a", lambda a, b: (a * b - a / b) * -a, lambda a, b: (a * b - a / b) * -a, positive((3,), (3,))),
    # matrix products: 2-D, 1-D and batched operands
    Case("(2, 3) @ (3, 4)", lambda a, b: a @ b, lambda a, b: a @ b, normal((2, 3), (3, 4))),
    Case("(3,) @ (3, 4)", lambda a, b: a @ b, lambda a, b: a @ b, normal((3,), (3, 4))),
    Case("(2, 3) @ (3,)", lambda a, b: a @ b, lambda a, b: a @ b, normal((2, 3), (3,))),
    Case("(3,) @ (3,)", lambda a, b: a @ b, lambda a, b: a @ b, normal((3,), (3,))),
    Case("(5, 2, 3) @ (3, 4)", lambda a, b: a @ b, lambda a, b: a @ b, normal((5, 2, 3), (3, 4))),
    Case("(5, 2, 3) @ (5, 3, 4)", lambda a, b: a @ b, lambda a, b: a @ b, normal((5, 2, 3), (5, 3, 4))),
    Case("(2, 1, 2, 3) @ (3, 3, 4)", lambda a, b: a @ b, lambda a, b: a @ b, normal((2, 1, 2, 3), (3, 3, 4))),
    Case("(3,) @ (5, 3, 4)", lambda a, b: a @ b, lambda a, b: a @ b, normal((3,), (5, 3, 4))),
    Case("(5, 2, 3) @ (3,)", lambda a, b: a @ b, lambda a, b: a @ b, normal((5, 2, 3), (3,))),
    Case("x @ W + b", lambda x, w, b: x @ w + b, lambda x, w, b: x @ w + b, normal((4, 3), (3, 2), (2,))),
    # shape operations and indexing
    Case("reshape", lambda x: x.reshape(3, -1), lambda x: x.reshape(3, -1), normal((2, 3, 2))),
    Case(".T", lambda x: x.T, lambda x: x.T, normal((2, 3))),
    Case(".T of 3-D", lambda x: x.T, lambda x: x.permute(2, 1, 0), normal((2, 3, 4))),
    Case("permute(2, 0, 1)", lambda x: x.permute(2, 0, 1), lambda x: x.permute(2, 0, 1), normal((2, 3, 4))),
    Case("permute(-1, 0, 1)", lambda x: x.permute(-1, 0, 1), lambda x: x.permute(-1, 0, 1), normal((2, 3, 4))),
    Case("transpose(0, 1)", lambda x: x.transpose(0, 1), lambda x: x.transpose(0, 1), normal((2, 3, 4))),
    Case("transpose(-1, 0)", lambda x: x.transpose(-1, 0), lambda x: x.transpose(-1, 0), normal((2, 3, 4))),
    Case(".mT", lambda x: x.mT, lambda x: x.mT, normal((2, 3, 4))),
    Case("x[1]", lambda x: x[1], lambda x: x[1], normal((3, 4))),
    Case("x[1, 2]", lambda x: x[1, 2], lambda x: x[1, 2], normal((3, 4))),
    Case("x[1:, ::2]", lambda x: x[1:, ::2], lambda x: x[1:, ::2], normal((3, 4))),
    Case("x[::-1]", lambda x: x[::-1], lambda x: x.flip(0), normal((3, 4))),
    Case("x[..., None, 1]", lambda x: x[..., None, 1], lambda x: x[..., None, 1], normal((3, 4))),
    Case("x[[0, 2, 0]]", lambda x: x[[0, 2, 0]], lambda x: x[[0, 2, 0]], normal((3, 4))),
    Case("x[:, [1, 1, 3]]", lambda x: x[:, [1, 1, 3]], lambda x: x[:, [1, 1, 3]], normal((3, 4))),
    Case("x[mask]", lambda x: x[MASK], lambda x: x[x.new_tensor(MASK).bool()], normal((3, 4))),
    Case("x[Tensor([2, 2]), :2]", lambda x: x[Tensor([2, 2]), :2], lambda x: x[[2, 2], :2], normal((3, 4))),
    # reductions
    Case("sum()", lambda x: x.sum(), lambda x: x.sum(), normal((2, 3))),
    Case("sum(axis=1)", lambda x: x.sum(axis=1), lambda x: x.sum(dim=1), normal((2, 3, 4))),
    Case("sum(axis=-1, keepdims)", lambda x: x.sum(axis=-1, keepdims=True), lambda x: x.sum(dim=-1, keepdim=True), normal((2, 3, 4))),
    Case("sum(axis=(0, 2))", lambda x: x.sum(axis=(0, 2)), lambda x: x.sum(dim=(0, 2)), normal((2, 3, 4))),
    Case("mean()", lambda x: x.mean(), lambda x: x.mean(), normal((2, 3))),
    Case("mean(axis=0)", lambda x: x.mean(axis=0), lambda x: x.mean(dim=0), normal((4, 3))),
    Case("mean(axis=(0, -1), keepdims)", lambda x: x.mean(axis=(0, -1), keepdims=True), lambda x: x.mean(dim=(0, -1), keepdim=True), normal((2, 3, 4))),
    Case("max()", lambda x: x.max(), lambda x: x.amax(), normal((2, 3))),
    Case("max(axis=1)", lambda x: x.max(axis=1), lambda x: x.amax(dim=1), normal((2, 3, 4))),
    Case("max(axis=(0, 2), keepdims)", lambda x: x.max(axis=(0, 2), keepdims=True), lambda x: x.amax(dim=(0, 2), keepdim=True), normal((2, 3, 4))),
    # activations (Module 02)
    Case("ReLU", ReLU(), lambda x: x.relu(), normal((3, 5))),
    Case("Sigmoid", Sigmoid(), lambda x: x.sigmoid(), normal((3, 5))),
    Case("Tanh", Tanh(), lambda x: x.tanh(), normal((3, 5))),
    Case("GELU", GELU(), lambda x: torch_f().gelu(x, approximate="tanh"), lambda rng: [rng.standard_normal((3, 5)) * 3]),
    Case("GELU, large |x|", GELU(), lambda x: torch_f().gelu(x, approximate="tanh"), lambda rng: [np.array([-40.0, -12.0, 11.0, 30.0])]),
    Case("Softmax", Softmax(), lambda x: x.softmax(-1), normal((3, 5))),
    Case("Softmax(dim=0)", Softmax(dim=0), lambda x: x.softmax(0), normal((3, 5))),
    Case("Sigmoid(Tanh(x) @ W)", lambda x, w: Sigmoid()(Tanh()(x) @ w), lambda x, w: (x.tanh() @ w).sigmoid(), normal((4, 3), (3, 2))),
    # losses (Module 04)
    Case("MSELoss", MSELoss(), lambda p, t: torch_f().mse_loss(p, t), normal((4, 3), (4, 3))),
    Case("CrossEntropyLoss", lambda z: CrossEntropyLoss()(z, Tensor(LABELS)),
         lambda z: torch_f().cross_entropy(z, z.new_tensor(LABELS).long()), lambda rng: [rng.standard_normal((5, 4)) * 3]),
    Case("CrossEntropyLoss, one sample", lambda z: CrossEntropyLoss()(z, Tensor(2)),
         lambda z: torch_f().cross_entropy(z, z.new_tensor(2).long()), normal((4,))),
    Case("BinaryCrossEntropyLoss", BinaryCrossEntropyLoss(), lambda p, t: torch_f().binary_cross_entropy(p, t),
         probabilities((4, 3), (4, 3))),
    # the math methods of Module 01
    Case("a ** b", lambda a, b: a ** b, lambda a, b: a ** b, lambda rng: [rng.uniform(0.5, 2.0, (2, 3)), rng.standard_normal((2, 3))]),
    Case("(3, 1) ** (2,)", lambda a, b: a.pow(b), lambda a, b: a.pow(b), lambda rng: [rng.uniform(0.5, 2.0, (3, 1)), rng.standard_normal(2)]),
    Case("negative x ** [2, 3, -1]", lambda x: x ** np.array([2.0, 3.0, -1.0]),
         lambda x: x ** x.new_tensor([2.0, 3.0, -1.0]), lambda rng: [-rng.uniform(0.5, 2.0, (3,))]),
    Case("x ** 3", lambda x: x ** 3, lambda x: x ** 3, normal((2, 3))),
    Case("2 ** x", lambda x: 2 ** x, lambda x: 2 ** x, normal((3,))),
    Case("abs", lambda x: x.abs(), lambda x: x.abs(), normal((2, 3))),
    Case("exp", lambda x: x.exp(), lambda x: x.exp(), normal((2, 3))),
    Case("log", lambda x: x.log(), lambda x: x.log(), probabilities((2, 3))),
    Case("sqrt", lambda x: x.sqrt(), lambda x: x.sqrt(), probabilities((2, 3))),
    Case("clone() * x", lambda x: x.clone() * x, lambda x: x.clone() * x, normal((3,))),
    Case("min()", lambda x: x.min(), lambda x: x.amin(), normal((2, 3))),
    Case("min(axis=1)", lambda x: x.min(axis=1), lambda x: x.amin(dim=1), normal((2, 3, 4))),
    Case("min(axis=(0, 2), keepdims)", lambda x: x.min(axis=(0, 2), keepdims=True), lambda x: x.amin(dim=(0, 2), keepdim=True), normal((2, 3, 4))),
    Case("LogSoftmax", LogSoftmax(), lambda x: x.log_softmax(-1), normal((3, 5))),
    Case("LogSoftmax(dim=0)", LogSoftmax(dim=0), lambda x: x.log_softmax(0), normal((3, 4, 2))),
    # the losses with each reduction, and cross-entropy over (N, C, d1, ...) logits
    *[Case(f"mse_loss, {r}", mse(r), torch_reduced("mse_loss", r), normal((4, 3), (4, 3)))
      for r in ("mean", "sum", "none")],
    *[Case(f"binary_cross_entropy, {r}", bce(r), torch_reduced("binary_cross_entropy", r), probabilities((4, 3), (4, 3)))
      for r in ("mean", "sum", "none")],
    *[Case(f"cross_entropy (N, C), {r}", cross_entropy(LABELS, r),
           lambda z, r=r: torch_f().cross_entropy(z, labels_like(LABELS)(z), reduction=r), normal((5, 4)))
      for r in ("mean", "sum", "none")],
    *[Case(f"cross_entropy (N, C, d), {r}", cross_entropy(LABELS_ND, r),
           lambda z, r=r: torch_f().cross_entropy(z, labels_like(LABELS_ND)(z), reduction=r), normal((2, 4, 3)))
      for r in ("mean", "sum", "none")],
    Case("cross_entropy (N, C, d1, d2), mean", cross_entropy(LABELS_ND2),
         lambda z: torch_f().cross_entropy(z, labels_like(LABELS_ND2)(z)), normal((1, 3, 2, 2))),
    *[Case(f"cross_entropy (C,), {r}", cross_entropy(2, r),
           lambda z, r=r: torch_f().cross_entropy(z, labels_like(2)(z), reduction=r), normal((4,)))
      for r in ("mean", "sum", "none")],
    # the same through Module 04's losses
    Case("MSELoss(reduction='none')", lambda p, t: MSELoss(reduction="none")(p, t), torch_reduced("mse_loss", "none"), normal((4, 3), (4, 3))),
    Case("BinaryCrossEntropyLoss(reduction='sum')", lambda p, t: BinaryCrossEntropyLoss(reduction="sum")(p, t),
         torch_reduced("binary_cross_entropy", "sum"), probabilities((4, 3), (4, 3))),
    Case("CrossEntropyLoss(reduction='sum'), (N, C, d)", lambda z: CrossEntropyLoss(reduction="sum")(z, Tensor(LABELS_ND)),
         lambda z: torch_f().cross_entropy(z, labels_like(LABELS_ND)(z), reduction="sum"), normal((2, 4, 3))),
    Case("CrossEntropyLoss(reduction='none'), (N, C, d1, d2)", lambda z: CrossEntropyLoss(reduction="none")(z, Tensor(LABELS_ND2)),
         lambda z: torch_f().cross_entropy(z, labels_like(LABELS_ND2)(z), reduction="none"), normal((1, 3, 2, 2))),
    Case("CrossEntropyLoss(reduction='none'), one sample", lambda z: CrossEntropyLoss(reduction="none")(z, Tensor(2)),
         lambda z: torch_f().cross_entropy(z, labels_like(2)(z), reduction="none"), normal((4,))),
    Case("BinaryCrossEntropyLoss(Sigmoid(x))", lambda x: BinaryCrossEntropyLoss()(Sigmoid()(x), Tensor([[1.0], [0.0], [1.0]])),
         lambda x: torch_f().binary_cross_entropy(x.sigmoid(), x.new_tensor([[1.0], [0.0], [1.0]])), normal((3, 1))),
]


def leaves(case: Case, seed: int = 0) -> list:
    return [Tensor(a, dtype=np.float64, requires_grad=True) for a in case.inputs(np.random.default_rng(seed))]


def finite_differences(f, arrays, k, upstream, eps=1e-6):
    """d/d arrays[k] of sum(f(*arrays) * upstream), by central differences, in float64."""
    probes = [a.copy() for a in arrays]
    numeric = np.zeros_like(probes[k])
    flat, out = probes[k].reshape(-1), numeric.reshape(-1)
    for i in range(flat.size):
        original = flat[i]
        flat[i] = original + eps
        plus = np.sum(f(*[Tensor(p, dtype=np.float64) for p in probes]).data * upstream)
        flat[i] = original - eps
        minus = np.sum(f(*[Tensor(p, dtype=np.float64) for p in probes]).data * upstream)
        flat[i] = original
        out[i] = (plus - minus) / (2 * eps)
    return numeric


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_gradients_match_finite_differences(case):
    inputs = leaves(case)
    out = case.ours(*inputs)
    assert out.requires_grad, f"{case.name}: the result should record the graph"
    upstream = np.random.default_rng(1).standard_normal(out.shape)
    out.backward(upstream)
    arrays = [x.data for x in inputs]
    for k, x in enumerate(inputs):
        assert x.grad is not None, f"{case.name}: input {k} got no gradient"
        assert x.grad.shape == x.shape and x.grad.dtype == np.float64
        expected = finite_differences(case.ours, arrays, k, upstream)
        np.testing.assert_allclose(x.grad.data, expected, rtol=1e-5, atol=1e-6,
                                   err_msg=f"{case.name}: gradient of input {k}")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_values_and_gradients_match_pytorch(case):
    torch = pytest.importorskip("torch", reason="PyTorch is optional: install torch==2.13.0 to cross-check")
    inputs = leaves(case)
    theirs_inputs = [torch.tensor(x.data, dtype=torch.float64, requires_grad=True) for x in inputs]
    out = case.ours(*inputs)
    expected = case.theirs(*theirs_inputs)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-6, atol=1e-6,
                               err_msg=f"{case.name}: values")
    upstream = np.random.default_rng(1).standard_normal(out.shape)
    out.backward(upstream)
    expected.backward(torch.tensor(upstream, dtype=torch.float64))
    for k, (x, t) in enumerate(zip(inputs, theirs_inputs)):
        np.testing.assert_allclose(x.grad.data, t.grad.numpy(), rtol=1e-6, atol=1e-6,
                                   err_msg=f"{case.name}: gradient of input {k}")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_float32_stays_float32(case):
    inputs = [Tensor(x.data, dtype=np.float32, requires_grad=True) for x in leaves(case)]
    out = case.ours(*inputs)
    out.backward(np.ones(out.shape))
    for x in inputs:
        assert x.grad.dtype == np.float32 and x.grad.shape == x.shape


def test_every_op_of_the_contract_has_a_rule():
    missing = [op for op in CONTRACT_OPS if op not in BACKWARD_RULES]
    assert not missing, f"no backward rule for {missing}"


def test_max_shares_the_gradient_among_ties_like_torch_amax():
    x = Tensor([[2.0, 2.0, 1.0], [0.0, 5.0, 5.0]], dtype=np.float64, requires_grad=True)
    x.max(axis=1).backward(np.array([1.0, 4.0]))
    np.testing.assert_allclose(x.grad.data, [[0.5, 0.5, 0.0], [0.0, 2.0, 2.0]])
    x.grad = None
    x.max().backward()
    np.testing.assert_allclose(x.grad.data, [[0, 0, 0], [0, 0.5, 0.5]])


def test_min_shares_the_gradient_among_ties_like_torch_amin_and_min_without_dim():
    x = Tensor([[2.0, 2.0, 3.0], [0.0, 5.0, 0.0]], dtype=np.float64, requires_grad=True)
    x.min(axis=1).backward(np.array([1.0, 4.0]))
    np.testing.assert_allclose(x.grad.data, [[0.5, 0.5, 0.0], [2.0, 0.0, 2.0]])
    x.grad = None
    x.min().backward()  # torch.min(x) without a dim splits the gradient evenly too
    np.testing.assert_allclose(x.grad.data, [[0, 0, 0], [0.5, 0, 0.5]])


POWER_EDGES = [  # (base, exponent, gradient of the base, of the exponent), as PyTorch 2.13 gives them
    (0.0, 0.0, 0.0, 0.0),        # 0 ** 0 = 1: both 0
    (0.0, 2.0, 0.0, 0.0),        # 0 ** b for b > 0 is 0 for every b: the exponent gets 0, not 0 * -inf
    (0.0, 0.5, np.inf, 0.0),
    (0.0, -1.0, -np.inf, -np.inf),
    (-2.0, 2.0, -4.0, np.nan),   # the log of a negative base
    (-2.0, 0.5, np.nan, np.nan),
    (2.0, 0.0, 0.0, np.log(2.0)),  # x ** 0 is 1 for every x: the base gets 0
]


@pytest.mark.parametrize("base, exponent, grad_base, grad_exponent", POWER_EDGES,
                         ids=[f"{b} ** {e}" for b, e, *_ in POWER_EDGES])
def test_power_at_its_edges_gives_what_torch_gives(base, exponent, grad_base, grad_exponent):
    a = Tensor([base], dtype=np.float64, requires_grad=True)
    b = Tensor([exponent], dtype=np.float64, requires_grad=True)
    with np.errstate(all="ignore"):
        out = a ** b
    with np.errstate(all="raise"):  # the rule itself must not warn
        out.backward(np.ones(1))
    np.testing.assert_array_equal(a.grad.data, [grad_base], err_msg=f"{base} ** {exponent}: the base's gradient")
    np.testing.assert_array_equal(b.grad.data, [grad_exponent], err_msg=f"{base} ** {exponent}: the exponent's gradient")


def test_power_with_a_constant_keeps_float32():
    x = Tensor([1.0, 2.0], requires_grad=True)
    for out in (x ** 2, 2 ** x, x.pow(0.5), x ** np.arange(2), np.arange(1, 3) ** x):
        grads = BACKWARD_RULES["power"](np.ones(2, dtype=np.float32), out)
        assert all(g is None or g.dtype == np.float32 for g in grads), f"power turned float32 into {[g.dtype for g in grads if g is not None]}"


@pytest.mark.parametrize("method, x, expected", [
    ("abs", [-1.0, 0.0, 2.0], [-1.0, 0.0, 1.0]),  # 0 at the corner, as in PyTorch
    ("log", [0.0, -1.0, 2.0], [np.inf, -1.0, 0.5]),
    ("sqrt", [0.0, -1.0, 4.0], [np.inf, np.nan, 0.25]),
], ids=["abs", "log", "sqrt"])
def test_math_rules_at_their_edges_give_what_torch_gives(method, x, expected):
    x = Tensor(x, dtype=np.float64, requires_grad=True)
    with np.errstate(all="ignore"):
        out = getattr(x, method)()
    with np.errstate(all="raise"):
        out.backward(np.ones(3))
    np.testing.assert_array_equal(x.grad.data, expected)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_over_positions_is_softmax_minus_onehot_per_target(reduction):
    z = Tensor(np.random.default_rng(5).standard_normal((2, 4, 3)), dtype=np.float64, requires_grad=True)
    out = cross_entropy(LABELS_ND, reduction)(z)
    assert out.shape == (() if reduction != "none" else LABELS_ND.shape)
    upstream = np.full(out.shape, 2.0)
    out.backward(upstream)
    softmax = np.exp(log_softmax_numpy(z.data, 1))
    onehot = np.moveaxis(np.eye(4)[LABELS_ND], -1, 1)
    scale = 2.0 / LABELS_ND.size if reduction == "mean" else 2.0  # "mean" divides by the number of targets
    np.testing.assert_allclose(z.grad.data, (softmax - onehot) * scale)


def test_a_loss_without_a_saved_reduction_is_a_mean():
    """Rules read out.saved.get("reduction", "mean"): a loss recorded without one is a mean."""
    p = Tensor([[0.5, 1.0]], dtype=np.float64, requires_grad=True)
    wrap_result(np.mean((p.data - 1.0) ** 2), "mse_loss", p, np.ones((1, 2))).backward()
    np.testing.assert_allclose(p.grad.data, [[-0.5, 0.0]])


def test_binary_cross_entropy_at_zero_and_one_matches_pytorch():
    p = Tensor([0.0, 1.0, 0.0, 1.0, 0.3], dtype=np.float64, requires_grad=True)
    t = Tensor([0.0, 1.0, 1.0, 0.0, 1.0], dtype=np.float64)
    loss = BinaryCrossEntropyLoss()(p, t)
    loss.backward()
    assert np.isfinite(loss.item()) and np.all(np.isfinite(p.grad.data))
    # PyTorch: grad = (p - t) / max(p (1 - p), 1e-12) / n
    expected = (p.data - t.data) / np.maximum(p.data * (1 - p.data), 1e-12) / 5
    np.testing.assert_allclose(p.grad.data, expected)


def test_cross_entropy_gradient_is_softmax_minus_onehot_and_leaves_probs_alone():
    z = Tensor([[2.0, 1.0, 0.1], [0.5, 2.5, -1.0]], dtype=np.float64, requires_grad=True)
    loss = CrossEntropyLoss()(z, Tensor([0, 2]))
    probs_before = loss.saved["probs"].copy()
    loss.backward()
    softmax = np.exp(z.data) / np.exp(z.data).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(z.grad.data, (softmax - np.eye(3)[[0, 2]]) / 2)
    np.testing.assert_array_equal(loss.saved["probs"], probs_before)


# ----- unbroadcast ---------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(2, 3, 4), (3, 4), (4,), (1, 4), (3, 1), (2, 1, 4), (1, 1, 1), ()])
def test_unbroadcast_sums_back_to_the_input_shape(shape):
    grad = np.arange(24.0).reshape(2, 3, 4)
    got = unbroadcast(grad, shape)
    assert isinstance(got, np.ndarray) and got.shape == shape
    # The defining property: <grad, broadcast(v)> == <unbroadcast(grad), v> for any v.
    v = np.random.default_rng(0).standard_normal(shape)
    np.testing.assert_allclose(np.sum(grad * np.broadcast_to(v, grad.shape)), np.sum(got * v))


# ----- the engine ----------------------------------------------------------------------------
def test_import_tinytorch_installs_the_engine():
    assert AUTOGRAD.engine is backward
    assert tinytorch.no_grad is no_grad


def test_autograd_adds_nothing_to_the_tensor_class():
    defined_elsewhere = [name for name, value in vars(Tensor).items()
                         if callable(value) and getattr(value, "__module__", "tinytorch.core.tensor") != "tinytorch.core.tensor"]
    assert not defined_elsewhere


def test_gradients_are_added_out_of_place():
    # add's rule gives both of its inputs the very same array: adding into it in place would
    # change the gradient of the other input too (6 and 6 instead of 4 and 3).
    p = Tensor(2.0, dtype=np.float64, requires_grad=True)
    q = Tensor(3.0, dtype=np.float64, requires_grad=True)
    ((p + q) + p * q).backward()
    assert (p.grad.item(), q.grad.item()) == pytest.approx((4.0, 3.0)), (
        f"(p + q) + p * q at p = 2, q = 3: expected gradients 4 and 3, got {p.grad.item()} and {q.grad.item()}")
    a = Tensor([1.0, 2.0], dtype=np.float64, requires_grad=True)
    b = Tensor([3.0, 4.0], dtype=np.float64, requires_grad=True)
    s = a + b
    (s * s + s * a + b).sum().backward()  # d/da = 2s + s + a, d/db = 2s + a + 1
    np.testing.assert_allclose(a.grad.data, 3 * (a.data + b.data) + a.data)
    np.testing.assert_allclose(b.grad.data, 2 * (a.data + b.data) + a.data + 1)


def test_leaves_of_one_add_get_gradients_that_do_not_share_memory():
    p = Tensor([1.0, 2.0], requires_grad=True)
    q = Tensor([3.0, 4.0], requires_grad=True)
    (p + q).backward(np.ones(2))
    assert not np.shares_memory(p.grad.data, q.grad.data), "p.grad and q.grad share one array"


def test_repeated_use_adds_the_gradients():
    x = Tensor(3.0, dtype=np.float64, requires_grad=True)
    y = x * 2
    (y * y + y * x).backward()  # 4x^2 + 2x^2 = 6x^2 -> 12x
    assert x.grad.item() == pytest.approx(36.0)


def test_gradients_accumulate_over_backward_calls_until_set_to_none():
    w = Tensor([1.0, 2.0], dtype=np.float64, requires_grad=True)
    (w * w).sum().backward()
    first = w.grad
    (w * 3).sum().backward()
    np.testing.assert_allclose(w.grad.data, [5.0, 7.0])
    np.testing.assert_allclose(first.data, [2.0, 4.0])  # the earlier .grad is not changed in place
    loss = (w * w).sum()
    w.grad = None
    loss.backward()
    loss.backward()  # the graph is kept: a second call adds the same gradient again
    np.testing.assert_allclose(w.grad.data, [4.0, 8.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_accumulated_gradients_keep_the_leaf_dtype(dtype):
    w = Tensor([1.0, 2.0], dtype=dtype, requires_grad=True)
    for calls in (1, 2, 3):
        (w * 3).sum().backward()
        assert w.grad.dtype == dtype, (
            f"after backward() number {calls}, a {np.dtype(dtype)} leaf's .grad is {w.grad.dtype}")
    np.testing.assert_allclose(w.grad.data, [9.0, 9.0])


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_backward_changes_no_value_of_the_graph(case):
    """Rules read the inputs, outputs and saved arrays of the forward pass and never edit them:
    a second backward() of the same graph adds exactly the same gradients again."""
    inputs = leaves(case)
    out = case.ours(*inputs)
    nodes = topological_order(out)
    before = [(node.data.copy(), {k: v.copy() for k, v in node.saved.items() if isinstance(v, np.ndarray)})
              for node in nodes]
    upstream = np.random.default_rng(1).standard_normal(out.shape)
    out.backward(upstream)
    first = [x.grad.data.copy() for x in inputs]
    out.backward(upstream)
    for node, (data, saved) in zip(nodes, before):
        np.testing.assert_array_equal(node.data, data, err_msg=f"{case.name}: backward() changed the values of a {node.op or 'leaf'} node")
        for key, value in saved.items():
            np.testing.assert_array_equal(node.saved[key], value, err_msg=f"{case.name}: backward() changed saved[{key!r}] of {node.op}")
    for k, x in enumerate(inputs):
        np.testing.assert_allclose(x.grad.data, 2 * first[k], rtol=1e-12, atol=1e-12,
                                   err_msg=f"{case.name}: a second backward() should add the same gradient of input {k}")


def test_only_leaves_keep_grad():
    x = Tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    y = (h * h).sum()
    y.backward()
    assert h.grad is None and y.grad is None and x.grad is not None


@pytest.mark.parametrize("constant", [[[1.0], [2.0]], np.array([[1.0], [2.0]]), [1.0, 2.0]],
                         ids=["list", "ndarray", "1-D list"])
def test_matmul_with_a_constant_operand(constant):
    x = Tensor([[1.0, 2.0], [3.0, 4.0]], dtype=np.float64, requires_grad=True)
    out = x @ constant
    out.backward(np.ones(out.shape))
    column = np.asarray(constant, dtype=np.float64).reshape(1, 2)
    np.testing.assert_allclose(x.grad.data, np.ones((2, 1)) @ column)
    x.grad = None
    out = np.asarray(constant).reshape(1, 2).tolist() @ x  # the constant on the left
    out.backward(np.ones(out.shape))
    np.testing.assert_allclose(x.grad.data, column.T @ np.ones((1, 2)))


def test_data_and_constants_get_no_gradient():
    data = Tensor([[1.0, 2.0]])
    w = Tensor([[1.0], [1.0]], requires_grad=True)
    (data @ w * 2).sum().backward()
    assert data.grad is None
    np.testing.assert_allclose(w.grad.data, [[2.0], [4.0]])


def test_grad_does_not_share_memory_with_the_gradient_passed_in():
    x = Tensor([1.0, 2.0], requires_grad=True)
    given = np.ones(2, dtype=np.float32)
    (x + 0.0).backward(given)
    given[0] = 50.0
    np.testing.assert_allclose(x.grad.data, [1.0, 1.0])


def test_a_chain_of_100000_operations():
    x = Tensor([1.0], dtype=np.float64, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.00001
    assert sys.getrecursionlimit() < 100_000
    y.backward(np.ones(1))
    np.testing.assert_allclose(x.grad.data, [1.00001 ** 100_000])
    assert len(topological_order(y)) == 100_001


def test_topological_order_puts_inputs_first_and_each_tensor_once():
    x = Tensor([1.0], requires_grad=True)
    c = Tensor([2.0])
    h = x * c
    z = (h + x) * h
    order = topological_order(z)
    assert len(order) == len({id(t) for t in order}) == 4 and order[-1] is z and order[0] is x
    position = {id(t): i for i, t in enumerate(order)}
    for t in order:
        for inp in t.inputs:
            if isinstance(inp, Tensor) and inp.requires_grad:
                assert position[id(inp)] < position[id(t)]
    assert id(c) not in position


def test_gradient_may_be_a_tensor_array_or_number():
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x * 2).backward(Tensor([1.0, 0.5]))
    (x * 2).backward([1.0, 0.5])
    np.testing.assert_allclose(x.grad.data, [4.0, 2.0])
    t = Tensor(2.0, requires_grad=True)
    (t * t).backward(3.0)
    assert t.grad.item() == 12.0


def test_backward_on_a_leaf():
    x = Tensor(5.0, requires_grad=True)
    x.backward()
    assert x.grad.item() == 1.0


# ----- no_grad and detach --------------------------------------------------------------------
def test_no_grad_records_nothing_and_restores():
    x = Tensor([1.0], requires_grad=True)
    with no_grad():
        y = x * 2
        with no_grad():
            pass
        assert AUTOGRAD.enabled is False
    assert AUTOGRAD.enabled is True
    assert not y.requires_grad and y.op is None and y.inputs == ()


def test_no_grad_restores_after_an_error_and_keeps_a_previous_false(monkeypatch):
    with pytest.raises(KeyError):
        with no_grad():
            raise KeyError("inside")
    assert AUTOGRAD.enabled is True
    monkeypatch.setattr(AUTOGRAD, "enabled", False)  # restored when the test ends
    with no_grad():
        pass
    assert AUTOGRAD.enabled is False


def test_no_grad_as_a_decorator():
    @no_grad()
    def evaluate(t):
        return t * 3

    x = Tensor([1.0], requires_grad=True)
    assert not evaluate(x).requires_grad
    assert (x * 3).requires_grad


def test_detach_cuts_the_graph():
    x = Tensor([3.0], dtype=np.float64, requires_grad=True)
    (x.detach() * x).backward(np.ones(1))  # only the second factor is differentiated
    np.testing.assert_allclose(x.grad.data, [3.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_detach_keeps_the_numbers_and_the_dtype(dtype):
    x = Tensor([[1.5, -2.0]], dtype=dtype, requires_grad=True)
    detached = x.detach()
    assert detached.dtype == dtype, f"x.detach() of a {np.dtype(dtype)} tensor should keep its dtype, got {detached.dtype}"
    assert detached.shape == x.shape and np.shares_memory(detached.data, x.data), "detach() shares the numbers"
    assert not detached.requires_grad and detached.op is None and detached.grad is None


# ----- errors --------------------------------------------------------------------------------
def test_backward_without_gradient_needs_one_element():
    x = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"\(2,\)"):
        (x * 2).backward()


def test_backward_on_a_tensor_that_does_not_require_grad():
    with pytest.raises(RuntimeError):
        Tensor([1.0]).backward()
    x = Tensor([1.0], requires_grad=True)
    with no_grad():
        y = x * 2
    with pytest.raises(RuntimeError):
        y.backward()


def test_gradient_of_the_wrong_shape():
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(ValueError) as error:
        (x * 2).backward(np.ones(2))
    assert "(2,)" in str(error.value) and "(3,)" in str(error.value), (
        f"the ValueError should name both shapes, (2,) and (3,); its message was: {error.value}")


@pytest.mark.parametrize("grad_shape, shape", [((4, 3), (3, 4)), ((2, 3), (2,)), ((3,), (1, 3)),
                                               ((2, 3), (3, 3)), ((2, 3), (2, 2, 3))])
def test_unbroadcast_refuses_a_shape_that_does_not_broadcast(grad_shape, shape):
    with pytest.raises(ValueError) as error:
        unbroadcast(np.ones(grad_shape), shape)
    assert str(grad_shape) in str(error.value) and str(shape) in str(error.value), (
        f"the ValueError should name both shapes, {grad_shape} and {shape}; its message was: {error.value}")


def test_a_rule_returning_a_gradient_of_the_wrong_shape_is_an_error(monkeypatch):
    # A buggy rule: the gradient of a (2, 3) input comes back transposed, (3, 2). It has the
    # right number of elements, so reshaping or summing it would hide the bug.
    monkeypatch.setitem(BACKWARD_RULES, "transposed-by-mistake", lambda grad, out: (grad.T,))
    x = Tensor(np.ones((2, 3)), dtype=np.float64, requires_grad=True)
    y = wrap_result(x.data * 2, "transposed-by-mistake", x)
    with pytest.raises(ValueError) as error:
        y.backward(np.ones((2, 3)))
    assert "(2, 3)" in str(error.value) and "(3, 2)" in str(error.value), (
        f"the ValueError should name both shapes, (2, 3) and (3, 2); its message was: {error.value}")
    assert x.grad is None


def test_an_operation_without_a_rule():
    x = Tensor([1.0], requires_grad=True)
    y = wrap_result(x.data * 2, "frobnicate", x)
    with pytest.raises(RuntimeError, match="frobnicate"):
        y.backward(np.ones(1))


def test_a_new_rule_plugs_in_with_the_decorator(monkeypatch):
    monkeypatch.setitem(BACKWARD_RULES, "square", None)  # restored after the test
    backward_rule("square")(lambda grad, out: (2 * grad * out.inputs[0].data,))
    x = Tensor([3.0], dtype=np.float64, requires_grad=True)
    grad_check(lambda t: wrap_result(t.data ** 2, "square", t), x)
    x.grad = None  # grad_check leaves the gradient it checked
    wrap_result(x.data ** 2, "square", x).backward(np.ones(1))
    assert x.grad.item() == 6.0


def test_grad_check_catches_a_wrong_rule(monkeypatch):
    monkeypatch.setitem(BACKWARD_RULES, "square", lambda grad, out: (grad * out.inputs[0].data,))
    x = Tensor([1.0, 2.0], dtype=np.float64, requires_grad=True)
    with pytest.raises(AssertionError, match="gradient of input 0"):
        grad_check(lambda t: wrap_result(t.data ** 2, "square", t), x, what="square")
    with pytest.raises(TypeError, match="float64"):
        grad_check(lambda t: t * 2, Tensor([1.0], requires_grad=True))


@pytest.mark.parametrize("loss_fn", [MSELoss(), BinaryCrossEntropyLoss()], ids=["MSELoss", "BinaryCrossEntropyLoss"])
def test_integer_targets_keep_float32_gradients(loss_fn):
    p = Tensor([[0.3], [0.6]], requires_grad=True)
    hidden = p * 1.0  # an intermediate node: its gradient must already be float32
    loss = loss_fn(hidden, Tensor([[1], [0]]))
    grads = BACKWARD_RULES[loss.op](np.ones((), dtype=np.float32), loss)
    assert grads[0].dtype == np.float32


# ----- promises the mutation run over tinytorch/core/autograd.py found untested --------------
def test_unbroadcast_returns_grad_itself_when_the_shapes_agree():
    grad = np.ones((2, 3))
    assert unbroadcast(grad, (2, 3)) is grad


def test_backward_rule_returns_the_rule_it_registers(monkeypatch):
    monkeypatch.setitem(BACKWARD_RULES, "double", None)  # restored after the test

    def rule(grad, out):
        return (2 * grad,)

    assert backward_rule("double")(rule) is rule and BACKWARD_RULES["double"] is rule


@pytest.mark.parametrize("gradient", [None, np.array(2.0, dtype=np.float64), 2.0], ids=["none", "float64 array", "number"])
def test_rules_receive_the_gradient_in_the_tensors_dtype(monkeypatch, gradient):
    seen = []
    monkeypatch.setitem(BACKWARD_RULES, "spy", lambda grad, out: (seen.append(grad.dtype) or grad,))
    x = Tensor(3.0, requires_grad=True)  # float32
    wrap_result(x.data * 1, "spy", x).backward(gradient)
    assert seen == [np.float32], f"the rule got a gradient of dtype {seen}; expected float32, the tensor's"
    assert x.grad.dtype == np.float32


def test_a_float32_leaf_keeps_a_float32_grad_in_a_float64_expression():
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x * Tensor([1.0, 3.0], dtype=np.float64)).sum().backward()
    assert x.grad.dtype == np.float32, f"a float32 leaf's .grad should be float32, got {x.grad.dtype}"
    np.testing.assert_allclose(x.grad.data, [1.0, 3.0])


def test_a_gradient_that_would_broadcast_is_still_the_wrong_shape():
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(ValueError):
        (x * 2).backward(np.ones(1))


def test_an_input_whose_rule_gives_none_gets_no_gradient(monkeypatch):
    monkeypatch.setitem(BACKWARD_RULES, "stop", lambda grad, out: (None,))
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = Tensor([5.0, 6.0], requires_grad=True)
    (wrap_result(x.data * 1, "stop", x) * y).sum().backward()
    assert x.grad is None
    np.testing.assert_allclose(y.grad.data, [1.0, 2.0])


def test_grad_check_passes_a_right_rule_and_catches_a_missing_gradient(monkeypatch):
    x = Tensor([0.5, -1.5, 2.0], dtype=np.float64, requires_grad=True)
    w = Tensor([1.0, 2.0, -1.0], dtype=np.float64, requires_grad=True)
    for _ in range(2):  # twice on the same inputs: the first check's .grad must not add up
        grad_check(lambda a, b: (a * a * a) * b.sum(), x, w, what="a^3 * sum(b)")
    monkeypatch.setitem(BACKWARD_RULES, "stop", lambda grad, out: (None,))
    with pytest.raises(AssertionError):
        grad_check(lambda t: wrap_result(t.data * 1, "stop", t), x)


def test_bce_target_gradient_at_0_and_1_is_clamped_without_warnings():
    p = Tensor([0.0, 1.0, 0.5], dtype=np.float64)
    t = Tensor([0.3, 0.3, 0.3], dtype=np.float64, requires_grad=True)
    with np.errstate(all="raise"):
        BinaryCrossEntropyLoss()(p, t).backward()
    np.testing.assert_allclose(t.grad.data, np.array([100.0, -100.0, 0.0]) / 3, atol=1e-12)


@pytest.mark.parametrize("make", [lambda x: x[[0, 0]], lambda x: x[0], lambda x: x.max(axis=0)],
                         ids=["getitem fancy", "getitem basic", "max"])
def test_rules_keep_float32(make):
    x = Tensor([[1.0, 2.0], [3.0, 3.0]], requires_grad=True)
    out = make(x)
    grads = BACKWARD_RULES[out.op](np.ones(out.shape, dtype=np.float32), out)
    assert grads[0].dtype == np.float32, f"the rule of {out.op!r} turned float32 into {grads[0].dtype}"


# ----- more of what the docstrings promise (found by tests/package_mutants.py) -----------------

def test_unbroadcast_sums_an_axis_of_length_one_after_a_kept_one():
    summed = unbroadcast(np.ones((4, 1, 3)), (4, 1, 1))
    assert summed.shape == (4, 1, 1), f"expected shape (4, 1, 1), got {summed.shape}"
    np.testing.assert_array_equal(summed, np.full((4, 1, 1), 3.0),
                                  err_msg="expected the last axis (3 entries) summed into each")


def test_a_vector_times_a_matrix_gives_both_gradients():
    v = Tensor([1.0, 2.0, 3.0], dtype=np.float64, requires_grad=True)
    W = Tensor(np.arange(6.0).reshape(3, 2), dtype=np.float64, requires_grad=True)
    (v @ W).sum().backward()
    np.testing.assert_allclose(v.grad.data, W.data.sum(axis=1),
                               err_msg="expected v.grad = W summed over its columns")
    np.testing.assert_allclose(W.grad.data, np.outer(v.data, np.ones(2)),
                               err_msg="expected W.grad = v as a column, repeated per output")


def test_a_gradient_with_an_extra_leading_axis_is_the_wrong_shape_too():
    """(1, 3) would broadcast onto (3,), and rules would sum it back; backward() still refuses it."""
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(ValueError) as error:
        (x * 2).backward(np.ones((1, 3)))
    assert "(1, 3)" in str(error.value) and "(3,)" in str(error.value), (
        f"the ValueError should name both shapes, (1, 3) and (3,); its message was: {error.value}")

"""Every PyTorch name in tinytorch, run through PyTorch on the same inputs and compared.

tinytorch borrows PyTorch's names so that what students learn carries over. This file finds
those names by itself (every public name of the package, and every method and attribute of
its Tensor and classes, that PyTorch also has), and `test_every_pytorch_name_is_cross_checked`
fails for a name that has no case below: a name added later joins by existing.

A case runs the same code on both libraries (`lib` is tinytorch, or PyTorch seen through the
same names) and compares what comes back: values, shapes, dtypes, the gradients the case asks
for, and errors (where PyTorch raises, tinytorch must raise too: the same class, or ValueError
where PyTorch raises RuntimeError, since tinytorch reports bad values as ValueErrors).
A few names differ on purpose; DIFFERENCES says how and why, and a test checks that each
difference is still real, so the list cannot go stale.

Skips, saying so, when PyTorch is not installed (`pip install torch==2.13.0`).
"""

import importlib
import inspect
import io
import pkgutil
import types
from pathlib import Path
from typing import Any, Callable, Dict, List, NamedTuple, Tuple

import numpy as np
import pytest

torch = pytest.importorskip(
    "torch", reason="PyTorch is optional: install torch==2.13.0 to cross-check"
)

import tinytorch  # noqa: E402
from tinytorch.data import loader  # noqa: E402

# ----- where PyTorch keeps each name --------------------------------------------------------------
TORCH_HOMES = [
    torch.nn,
    torch.optim,
    torch.optim.lr_scheduler,
    torch.utils.data,
    torch.nn.utils,
    torch.nn.functional,
    torch,
]


def torch_counterpart(name: str) -> Any:
    for home in TORCH_HOMES:
        if hasattr(home, name):
            return getattr(home, name)
    return None


def package_names() -> Dict[str, Any]:
    names = {name: getattr(tinytorch, name) for name in tinytorch.__all__}
    names.update({name: getattr(loader, name) for name in loader.__all__})
    return names


def _own_members(cls: type) -> Dict[str, type]:
    """Each member name of `cls` with the class that defines it (object's own members left out)."""
    members = {}
    for klass in reversed(cls.__mro__[:-1]):  # object last in the MRO: skip it
        for member in vars(klass):
            if member in (
                "__dict__",
                "__module__",
                "__weakref__",
                "__doc__",
                "__init__",
                "__annotations__",
                "__qualname__",
                "__abstractmethods__",
                "_abc_impl",
                "__parameters__",
                "__orig_bases__",
                "__slots__",
            ):
                continue
            if member.startswith("_") and not member.startswith("__"):
                continue
            members[member] = klass
    return members


def pytorch_names() -> List[str]:
    """Every name of tinytorch that PyTorch also has, such as "Linear", "Tensor.transpose" and
    "Module.train"."""
    found = set()
    for name, ours in package_names().items():
        theirs = torch_counterpart(name)
        if theirs is None:
            continue
        found.add(name)
        if inspect.isclass(ours) and inspect.isclass(theirs):
            for member, owner in _own_members(ours).items():
                if hasattr(theirs, member):
                    found.add(f"{owner.__name__}.{member}")
    return sorted(found)


# ----- the two libraries behind the same names ----------------------------------------------------
def ours_lib() -> types.SimpleNamespace:
    lib = types.SimpleNamespace(**package_names())
    lib.name = "tinytorch"
    lib.tensor = lambda array, grad=False: tinytorch.Tensor(
        array, dtype=np.asarray(array).dtype, requires_grad=grad
    )
    lib.to_numpy = lambda t: t.data
    lib.is_tensor = lambda x: isinstance(x, tinytorch.Tensor)
    return lib


def torch_lib() -> types.SimpleNamespace:
    lib = types.SimpleNamespace(
        **{
            name: torch_counterpart(name)
            for name in package_names()
            if torch_counterpart(name) is not None
        }
    )
    lib.name = "torch"
    lib.tensor = lambda array, grad=False: torch.tensor(np.asarray(array), requires_grad=grad)
    lib.to_numpy = lambda t: t.detach().numpy()
    lib.is_tensor = torch.is_tensor
    return lib


class Case(NamedTuple):
    covers: Tuple[str, ...]  # the PyTorch names this case checks
    label: str
    run: Callable[[types.SimpleNamespace], Any]  # run(lib) -> anything to compare
    rtol: float = 1e-5
    atol: float = 1e-6


CASES: List[Case] = []


def case(*covers: str, label: str = "", rtol: float = 1e-5, atol: float = 1e-6):
    def register(run):
        CASES.append(Case(covers, label or run.__name__, run, rtol, atol))
        return run

    return register


def tensor_case(
    name: str,
    expression: str,
    *shapes_or_arrays: Any,
    grad: bool = True,
    covers: Tuple[str, ...] = (),
) -> None:
    """A Tensor case: `expression` in terms of x, y, z (the inputs) evaluated with both libraries;
    its value is compared, and for float inputs so are the inputs' gradients after backward with
    the same upstream gradient."""

    def run(lib):
        values = [_make_input(s, k) for k, s in enumerate(shapes_or_arrays)]
        inputs = [lib.tensor(v, grad and v.dtype.kind == "f") for v in values]
        scope = dict(zip("xyz", inputs), lib=lib, np=np)
        out = eval(expression, scope)  # noqa: S307 (our own expressions)
        result = {"out": out}
        if lib.is_tensor(out) and out.requires_grad:
            upstream = (
                np.random.default_rng(1).standard_normal(out.shape).astype(lib.to_numpy(out).dtype)
            )
            out.backward(lib.tensor(upstream) if lib.name == "torch" else upstream)
            result.update({f"grad {n}": t.grad for n, t in zip("xyz", inputs) if t.requires_grad})
        return result

    CASES.append(Case((f"Tensor.{name}",) + covers, f"{name}: {expression}", run))


def _make_input(spec: Any, k: int) -> np.ndarray:
    if isinstance(spec, tuple):  # a shape: float64 normal numbers, different per input
        return np.random.default_rng(10 + k).standard_normal(spec)
    return np.asarray(spec)


# ----- comparing ----------------------------------------------------------------------------------
def as_comparable(value: Any, lib: types.SimpleNamespace) -> Any:
    if lib.is_tensor(value):
        return np.array(lib.to_numpy(value))
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, torch.dtype):  # torch.float32 -> np.dtype("float32")
        return np.dtype(str(value).replace("torch.", ""))
    if isinstance(value, dict):
        return {k: as_comparable(v, lib) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [as_comparable(v, lib) for v in value]
    return value


def assert_same(ours: Any, theirs: Any, where: str, rtol: float, atol: float) -> None:
    if isinstance(theirs, dict):
        assert isinstance(ours, dict) and set(ours) == set(theirs), (
            f"{where}: tinytorch gave {sorted(ours) if isinstance(ours, dict) else ours!r}, "
            f"torch the keys {sorted(theirs)}"
        )
        for key in theirs:
            assert_same(ours[key], theirs[key], f"{where}[{key!r}]", rtol, atol)
    elif isinstance(theirs, list):
        assert isinstance(ours, list) and len(ours) == len(theirs), (
            f"{where}: tinytorch gave {ours!r}, torch a sequence of {len(theirs)}"
        )
        for k, (a, b) in enumerate(zip(ours, theirs)):
            assert_same(a, b, f"{where}[{k}]", rtol, atol)
    elif isinstance(theirs, np.ndarray):
        assert isinstance(ours, np.ndarray), f"{where}: tinytorch gave {ours!r}, torch an array"
        assert ours.shape == theirs.shape, f"{where}: shape {ours.shape}, torch {theirs.shape}"
        assert ours.dtype == theirs.dtype, f"{where}: dtype {ours.dtype}, torch {theirs.dtype}"
        if theirs.dtype.kind == "f":
            np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol, err_msg=where)
        else:
            np.testing.assert_array_equal(ours, theirs, err_msg=where)
    elif isinstance(theirs, float):
        assert ours == pytest.approx(theirs, rel=rtol, abs=atol), (
            f"{where}: {ours!r}, torch {theirs!r}"
        )
    else:
        assert ours == theirs, f"{where}: tinytorch gave {ours!r}, torch {theirs!r}"


def run_both(c: Case) -> Tuple[Any, Any]:
    """(ours, theirs): each the comparable result, or the exception raised."""
    results = []
    for lib in (ours_lib(), torch_lib()):
        try:
            results.append(as_comparable(c.run(lib), lib))
        except Exception as error:  # noqa: BLE001 (errors are compared)
            results.append(error)
    return results[0], results[1]


def compatible_error(ours: BaseException, theirs: BaseException) -> bool:
    if isinstance(ours, type(theirs)):
        return True
    return type(theirs) is RuntimeError and isinstance(ours, ValueError)


@pytest.mark.parametrize("c", CASES, ids=lambda c: c.label)
def test_same_as_pytorch(c: Case) -> None:
    ours, theirs = run_both(c)
    if isinstance(theirs, BaseException):
        assert isinstance(ours, BaseException), (
            f"torch raises {type(theirs).__name__}: {theirs}; tinytorch returned {ours!r}"
        )
        assert compatible_error(ours, theirs), (
            f"torch raises {type(theirs).__name__}: {theirs}; tinytorch raised "
            f"{type(ours).__name__}: {ours}"
        )
        return
    if isinstance(ours, BaseException):
        raise AssertionError(
            f"tinytorch raised {type(ours).__name__}: {ours}; torch gave {theirs!r}"
        ) from ours
    assert_same(ours, theirs, c.label, c.rtol, c.atol)


# ----- Tensor: arithmetic, matmul, comparisons ----------------------------------------------------
INTS = np.array([[1, -2, 3], [3, 0, -1]])
POSITIVE = np.array([[0.5, 1.5, 2.0], [3.0, 0.25, 1.0]])
TIES = np.array([[1.0, 3.0, 3.0], [-2.0, 0.5, 3.0]])

tensor_case("__add__", "x + y", (2, 3), (3,))
tensor_case("__add__", "x + 1", INTS)
tensor_case("__radd__", "2.5 + x", (2, 3))
tensor_case("__sub__", "x - y", (4, 1), (3,))
tensor_case("__rsub__", "1 - x", (2, 3))
tensor_case("__mul__", "x * y", (2, 3), (2, 1))
tensor_case("__rmul__", "3 * x", (2, 3))
tensor_case("__truediv__", "x / y", (2, 3), POSITIVE)
tensor_case("__truediv__", "x / y", INTS, np.array([2, 4, 5]))
tensor_case("__rtruediv__", "2 / x", POSITIVE)
tensor_case("__neg__", "-x", (2, 3))
tensor_case("__add__", "x + y", (2, 3), (4,))  # shapes that do not broadcast: both raise
tensor_case("matmul", "x.matmul(y)", (2, 3), (3, 4))
tensor_case("__matmul__", "x @ y", (5, 2, 3), (3, 4))
tensor_case("__matmul__", "x @ y", (3,), (3, 4))
tensor_case("__matmul__", "x @ y", (2, 3), (3,))
tensor_case("__matmul__", "x @ y", (2, 3), (4, 5))
tensor_case("__rmatmul__", "x.__rmatmul__(y)", (3, 2), np.arange(6.0).reshape(2, 3), grad=False)
for _op in ("==", "!=", "<", "<=", ">", ">="):
    _name = {
        "==": "__eq__",
        "!=": "__ne__",
        "<": "__lt__",
        "<=": "__le__",
        ">": "__gt__",
        ">=": "__ge__",
    }[_op]
    tensor_case(_name, f"x {_op} y", INTS, np.array([1, 0, 3]))
    tensor_case(_name, f"x {_op} 0.5", TIES)

# ----- Tensor: powers and element-wise functions --------------------------------------------------
tensor_case("__pow__", "x ** 2", (2, 3))
tensor_case("__pow__", "x ** 0.5", POSITIVE)
tensor_case("__pow__", "x ** y", POSITIVE, (2, 3))
tensor_case("__pow__", "x ** 2", INTS)
tensor_case("__pow__", "x ** -1", INTS)  # torch: integers to negative integer powers are refused
tensor_case("__rpow__", "2 ** x", (2, 3))
tensor_case("pow", "x.pow(3)", (2, 3))
tensor_case("abs", "x.abs()", np.array([[-1.5, 0.0, 2.0]]))
tensor_case("abs", "x.abs()", INTS)
tensor_case("exp", "x.exp()", (2, 3))
tensor_case("exp", "x.exp()", INTS)
tensor_case("log", "x.log()", POSITIVE)
tensor_case("sqrt", "x.sqrt()", POSITIVE)
tensor_case("sqrt", "x.sqrt()", np.array([1, 4, 9]))
tensor_case("clone", "x.clone() * 2", (2, 3))

# ----- Tensor: shapes and indexing ----------------------------------------------------------------
tensor_case("reshape", "x.reshape(3, 2)", (2, 3))
tensor_case("reshape", "x.reshape((-1,))", (2, 3))
tensor_case("reshape", "x.reshape(4, 2)", (2, 3))
tensor_case("view", "x.view(3, 2)", (2, 3))
tensor_case("view", "x.view(-1)", (2, 3, 4))
tensor_case("view", "x.transpose(0, 1).view(-1)", (2, 3, 4))  # not viewable: both raise
tensor_case("transpose", "x.transpose(0, 1)", (2, 3))
tensor_case("transpose", "x.transpose(1, 2)", (2, 3, 4))
tensor_case("transpose", "x.transpose(-1, 0)", (2, 3, 4))
tensor_case("transpose", "x.transpose(0, 3)", (2, 3, 4))
tensor_case("transpose", "x.transpose(0)", (2, 3))
tensor_case("permute", "x.permute(2, 0, 1)", (2, 3, 4))
tensor_case("permute", "x.permute((1, 0, 2))", (2, 3, 4))
tensor_case("permute", "x.permute(0, 1)", (2, 3, 4))
tensor_case("T", "x.T", (2, 3))
tensor_case("mT", "x.mT", (2, 3, 4))
tensor_case("unsqueeze", "x.unsqueeze(0)", (2, 3))
tensor_case("unsqueeze", "x.unsqueeze(-1)", (2, 3))
tensor_case("unsqueeze", "x.unsqueeze(5)", (2, 3))
tensor_case("squeeze", "x.squeeze()", (1, 3, 1))
tensor_case("squeeze", "x.squeeze(0)", (1, 3, 1))
tensor_case("squeeze", "x.squeeze(1)", (1, 3, 1))
tensor_case("squeeze", "x.squeeze((0, 2))", (1, 3, 1))
tensor_case("flatten", "x.flatten()", (2, 3, 4))
tensor_case("flatten", "x.flatten(1)", (2, 3, 4))
tensor_case("flatten", "x.flatten(0, 1)", (2, 3, 4))
tensor_case("flatten", "x.flatten()", np.array(2.0))
tensor_case("__getitem__", "x[0]", (3, 4))
tensor_case("__getitem__", "x[:, 1:3]", (3, 4))
tensor_case("__getitem__", "x[[0, 2, 0]]", (3, 4))
tensor_case("__getitem__", "x[x > 0]", (3, 4))
tensor_case("__getitem__", "x[..., None]", (3, 4))

# ----- Tensor: reductions -------------------------------------------------------------------------
tensor_case("sum", "x.sum()", (2, 3))
tensor_case("sum", "x.sum(axis=1)", (2, 3))
tensor_case("sum", "x.sum(axis=[0, 1])", (2, 3, 4))
tensor_case("sum", "x.sum(axis=(0, 2), keepdims=True)", (2, 3, 4))
tensor_case("sum", "x.sum()", INTS)
tensor_case("mean", "x.mean()", (2, 3))
tensor_case("mean", "x.mean(axis=0)", (2, 3))
tensor_case("mean", "x.mean(axis=[0, 2], keepdims=True)", (2, 3, 4))
tensor_case("max", "x.max()", (2, 3))
tensor_case("max", "x.max()", TIES)  # ties share the gradient evenly, as in torch
tensor_case("min", "x.min()", (2, 3))
tensor_case("min", "(-x).min()", TIES)
tensor_case("argmax", "x.argmax()", (3, 4))
tensor_case("argmax", "x.argmax(axis=1)", (3, 4))
tensor_case("argmax", "x.argmax(axis=0, keepdims=True)", (3, 4))

# ----- Tensor: the rest ---------------------------------------------------------------------------
tensor_case("detach", "x.detach() * 2", (2, 3))
tensor_case("item", "x.sum().item()", (2, 3))
tensor_case("item", "x.sum().item()", INTS)
tensor_case("item", "x.item()", (2, 3))
tensor_case("shape", "x.shape", (2, 3))
tensor_case("ndim", "x.ndim", (2, 3, 4))
tensor_case("dtype", "x.dtype", INTS)
tensor_case("dtype", "(x > 0).dtype", (2,))
tensor_case("__len__", "len(x)", (4, 3))
tensor_case("__len__", "len(x)", np.array(1.0))
tensor_case("__bool__", "bool(x)", np.array([2.0]))
tensor_case("__bool__", "bool(x)", (2, 3))
tensor_case("__array__", "np.asarray(x)", (2, 3), grad=False)
tensor_case("numpy", "x.numpy()", (2, 3), grad=False)
tensor_case("__hash__", "len({x, x, x + 0})", (2,))
tensor_case("backward", "(x * y).sum()", (2, 3), (2, 3))


@case("Tensor.backward", label="backward of a non-scalar without a gradient")
def _backward_needs_a_gradient(lib):
    x = lib.tensor(np.ones((2, 3)), grad=True)
    (x * 2).backward()


@case("Tensor.backward", label="backward of a tensor that requires no grad")
def _backward_without_graph(lib):
    lib.tensor(np.ones(())).backward()


@case("Tensor.backward", label="gradients accumulate over two backward calls")
def _backward_accumulates(lib):
    x = lib.tensor(np.array([1.0, 2.0]), grad=True)
    (x * x).sum().backward()
    (x * 3).sum().backward()
    return x.grad


@case("Tensor.grad", label="grad assigned a numpy array")
def _grad_numpy(lib):
    x = lib.tensor(np.ones(3), grad=True)
    x.grad = np.zeros(3)


@case("Tensor.grad", label="grad assigned the wrong shape")
def _grad_wrong_shape(lib):
    x = lib.tensor(np.ones(3), grad=True)
    x.grad = lib.tensor(np.zeros(4))


@case("Tensor.grad", label="grad assigned a tensor, then None")
def _grad_roundtrip(lib):
    x = lib.tensor(np.ones(3), grad=True)
    x.grad = lib.tensor(np.full(3, 2.0))
    before = x.grad
    x.grad = None
    return before, x.grad is None


# ----- layers and activations ---------------------------------------------------------------------
def set_params(lib, params, arrays) -> None:
    """Give the parameters these values (float64), in both libraries."""
    for param, array in zip(params, arrays):
        if lib.name == "torch":
            with torch.no_grad():
                param.data = torch.tensor(array)
        else:
            param.data = np.array(array)


def linear(lib, n_in: int, n_out: int, seed: int):
    """A Linear layer with the same float64 weights in both libraries (tinytorch stores the
    weight as (in, out), torch as (out, in): see DIFFERENCES)."""
    rng = np.random.default_rng(seed)
    weight, bias = rng.standard_normal((n_out, n_in)), rng.standard_normal(n_out)
    layer = lib.Linear(n_in, n_out)
    set_params(lib, [layer.weight, layer.bias], [weight if lib.name == "torch" else weight.T, bias])
    return layer


def conv(lib, *args, seed: int = 0, **kwargs):
    layer = lib.Conv2d(*args, **kwargs)
    rng = np.random.default_rng(seed)
    set_params(
        lib,
        [layer.weight, layer.bias],
        [
            rng.standard_normal(tuple(layer.weight.shape)),
            rng.standard_normal(tuple(layer.bias.shape)),
        ],
    )
    return layer


def forward_backward(lib, model, x_array: np.ndarray) -> Dict[str, Any]:
    """The output, and after backward with a fixed upstream gradient the input's and every
    parameter's gradient (named as in named_parameters)."""
    x = lib.tensor(x_array, grad=True)
    out = model(x)
    upstream = np.random.default_rng(2).standard_normal(tuple(out.shape))
    out.backward(lib.tensor(upstream) if lib.name == "torch" else upstream)
    grads = {"x": x.grad}
    if hasattr(model, "named_parameters"):
        for name, param in model.named_parameters():
            grad = param.grad
            if (
                lib.name == "tinytorch"
                and name.endswith("weight")
                and isinstance(model, tinytorch.Linear)
            ):
                grad = grad.T
            grads[name] = grad
    return {"out": out, "grads": grads}


X4 = np.random.default_rng(3).standard_normal((2, 3, 6, 6))


@case("Linear", "Linear.forward", "Module", "Module.__call__")
def _linear(lib):
    return forward_backward(
        lib, linear(lib, 4, 3, seed=0), np.random.default_rng(4).standard_normal((5, 4))
    )


@case("Linear.extra_repr", "Module.extra_repr")
def _linear_repr(lib):
    return lib.Linear(4, 3).extra_repr(), lib.Linear(4, 3, bias=False).extra_repr()


@case("Conv2d", "Conv2d.forward")
def _conv(lib):
    return forward_backward(lib, conv(lib, 3, 4, 3, stride=2, padding=1), X4)


@case("Conv2d", label="Conv2d padding='same', odd kernel")
def _conv_same(lib):
    return forward_backward(lib, conv(lib, 3, 2, 3, padding="same"), X4)


@case("Conv2d", label="Conv2d padding='same', even kernel")
def _conv_same_even(lib):
    return forward_backward(lib, conv(lib, 3, 2, (2, 4), padding="same"), X4)


@case("Conv2d", label="Conv2d padding='valid'")
def _conv_valid(lib):
    return forward_backward(lib, conv(lib, 3, 2, 3, padding="valid"), X4)


@case("Conv2d", label="Conv2d padding='same' with stride 2")
def _conv_same_strided(lib):
    lib.Conv2d(3, 2, 3, stride=2, padding="same")


@case("Conv2d.extra_repr")
def _conv_repr(lib):
    return lib.Conv2d(3, 4, 3, stride=2, padding=1).extra_repr()


@case("conv2d")
def _conv_function(lib):
    rng = np.random.default_rng(5)
    x, w, b = (
        lib.tensor(a, grad=True)
        for a in (X4, rng.standard_normal((2, 3, 3, 3)), rng.standard_normal(2))
    )
    out = lib.conv2d(x, w, b, 1, 1)
    out.sum().backward()
    return out, x.grad, w.grad, b.grad


@case("MaxPool2d", "MaxPool2d.forward", "max_pool2d")
def _max_pool(lib):
    x = lib.tensor(X4, grad=True)
    out = lib.MaxPool2d(2)(x) + lib.max_pool2d(x, 3, 2)[..., :1, :1]
    out.sum().backward()
    return out, x.grad


@case("AvgPool2d", "AvgPool2d.forward", "avg_pool2d")
def _avg_pool(lib):
    x = lib.tensor(X4, grad=True)
    out = lib.AvgPool2d(2)(x) + lib.avg_pool2d(x, 3, 2)[..., :1, :1]
    out.sum().backward()
    return out, x.grad


@case("Flatten", "Flatten.forward")
def _flatten(lib):
    return forward_backward(lib, lib.Flatten(), X4), forward_backward(lib, lib.Flatten(0, 2), X4)


@case("Flatten.extra_repr")
def _flatten_repr(lib):
    return lib.Flatten().extra_repr()


@case(
    "ReLU",
    "Sigmoid",
    "Tanh",
    "Softmax",
    "LogSoftmax",
    "ReLU.forward",
    "Sigmoid.forward",
    "Tanh.forward",
    "Softmax.forward",
    "LogSoftmax.forward",
    "Activation.__call__",
)
def _activations(lib):
    x = np.random.default_rng(6).standard_normal((3, 4)) * 3
    return [
        forward_backward(lib, make(), x)
        for make in (
            lib.ReLU,
            lib.Sigmoid,
            lib.Tanh,
            lambda: lib.Softmax(dim=1),
            lambda: lib.Softmax(dim=0),
            lambda: lib.LogSoftmax(dim=1),
            lambda: lib.LogSoftmax(dim=0),
        )
    ]


@case("log_softmax")
def _log_softmax_function(lib):
    x = lib.tensor(np.random.default_rng(6).standard_normal((3, 4)) * 50, grad=True)
    out = lib.log_softmax(x, dim=0) + lib.log_softmax(x, 1)
    out.sum().backward()
    return out, x.grad


@case("Softmax", "LogSoftmax", label="softmax of a 0-d tensor")
def _softmax_0d(lib):
    return [
        forward_backward(lib, make(-1), np.array(3.0)) for make in (lib.Softmax, lib.LogSoftmax)
    ]


@case("GELU", "GELU.forward", label="GELU(approximate='tanh')")
def _gelu(lib):
    return forward_backward(lib, lib.GELU(approximate="tanh"), np.linspace(-12, 12, 25))


@case("Dropout", "Dropout.forward")
def _dropout(lib):
    x = np.ones((4, 5))
    results = []
    for p, training in ((0.0, True), (1.0, True), (0.5, False), (1.0, False)):
        layer = lib.Dropout(p)
        layer.train(training)
        results.append(forward_backward(lib, layer, x))
    return results


@case("Dropout", label="Dropout(1.5)")
def _dropout_bad(lib):
    lib.Dropout(1.5)


def batchnorm(lib, num_features: int, **kwargs):
    """A float64 BatchNorm2d (its running statistics too) with the same weight and bias in both
    libraries, when it has them."""
    dtype = torch.float64 if lib.name == "torch" else np.float64
    layer = lib.BatchNorm2d(num_features, dtype=dtype, **kwargs)
    rng = np.random.default_rng(6)
    params = [p for p in (layer.weight, layer.bias) if p is not None]
    set_params(lib, params, [rng.standard_normal(num_features) for _ in params])
    return layer


def fresh_steps(lib, layer, inputs) -> List[Dict[str, Any]]:
    """forward_backward on each input in turn, the gradients set to None before each (torch
    accumulates into the same .grad tensor, which an earlier result would show)."""
    steps = []
    for x in inputs:
        layer.zero_grad()
        steps.append(forward_backward(lib, layer, x))
    return steps


def running_statistics(layer) -> Dict[str, Any]:
    return {
        name: getattr(layer, name)
        for name in ("running_mean", "running_var", "num_batches_tracked")
    }


@case("BatchNorm2d", "BatchNorm2d.forward")
def _batchnorm(lib):
    layer = batchnorm(lib, 3)
    steps = fresh_steps(lib, layer, [X4 * 2 + k for k in range(3)])
    statistics = running_statistics(layer)
    layer.eval()
    layer.zero_grad()
    return steps, statistics, forward_backward(lib, layer, X4[:1])


@case("BatchNorm2d", label="BatchNorm2d(momentum=None, affine=False), then eval")
def _batchnorm_average(lib):
    layer = batchnorm(lib, 3, momentum=None, affine=False)
    steps = fresh_steps(lib, layer, [X4 * (k + 1) for k in range(3)])
    statistics = running_statistics(layer)
    layer.eval()
    return steps, statistics, forward_backward(lib, layer, X4), layer.weight, layer.bias


@case("BatchNorm2d", label="BatchNorm2d(track_running_stats=False, bias=False) in eval mode")
def _batchnorm_untracked(lib):
    layer = batchnorm(lib, 3, track_running_stats=False, bias=False)
    layer.eval()
    return forward_backward(lib, layer, X4), running_statistics(layer), layer.bias


@case("BatchNorm2d", label="BatchNorm2d training on one value per channel")
def _batchnorm_one_value(lib):
    batchnorm(lib, 3)(lib.tensor(X4[:1, :, :1, :1]))


@case("BatchNorm2d", label="BatchNorm2d on a 3-D input")
def _batchnorm_3d(lib):
    batchnorm(lib, 3)(lib.tensor(X4[0]))


@case("BatchNorm2d", label="BatchNorm2d on the wrong number of channels")
def _batchnorm_channels(lib):
    batchnorm(lib, 4)(lib.tensor(X4))


@case("BatchNorm2d.extra_repr")
def _batchnorm_repr(lib):
    return [
        lib.BatchNorm2d(3).extra_repr(),
        lib.BatchNorm2d(4, eps=1e-3, momentum=None, affine=False).extra_repr(),
        lib.BatchNorm2d(2, bias=False, track_running_stats=False).extra_repr(),
    ]


# ----- models: Module's methods, Sequential, state_dict -------------------------------------------
def small_cnn(lib):
    """Conv2d, MaxPool2d, Flatten (no activation: see DIFFERENCES, "ReLU"): the parameter
    shapes are the same in both libraries."""
    return lib.Sequential(
        conv(lib, 3, 4, 3, padding=1, seed=1),
        lib.MaxPool2d(2),
        lib.Flatten(),
        lib.Sequential(lib.Flatten()),
    )


def describe(lib, model) -> Dict[str, Any]:
    return {
        "named_parameters": [(n, tuple(p.shape)) for n, p in model.named_parameters()],
        "parameters": [tuple(p.shape) for p in model.parameters()],
        "children": [type(m).__name__ for m in model.children()],
        "named_children": [n for n, _ in model.named_children()],
        "modules": [type(m).__name__ for m in model.modules()],
        "named_modules": [n for n, _ in model.named_modules()],
        "state_dict": {
            k: np.asarray(v.detach().numpy() if lib.name == "torch" else v)
            for k, v in model.state_dict().items()
        },
    }


@case(
    "Sequential",
    "Module.named_parameters",
    "Module.parameters",
    "Module.children",
    "Module.named_children",
    "Module.modules",
    "Module.named_modules",
    "Module.state_dict",
    "Sequential.named_children",
    "Sequential.forward",
)
def _sequential(lib):
    model = small_cnn(lib)
    return forward_backward(lib, model, X4), describe(lib, model)


@case("Module.forward", label="a Module subclass with its own forward and nested modules")
def _custom_module(lib):
    class Block(lib.Module):
        def __init__(self):
            super().__init__()
            self.conv = conv(lib, 3, 2, 3, padding=1, seed=3)
            self.head = lib.Sequential(lib.MaxPool2d(1), conv(lib, 2, 2, 1, seed=4))

        def forward(self, x):
            return self.head(self.conv(x)) + x[:, :2]

    model = Block()
    return forward_backward(lib, model, X4), describe(lib, model)


@case("Module.train", "Module.eval")
def _train_eval(lib):
    model = lib.Sequential(lib.Dropout(0.5), lib.Sequential(lib.Dropout(0.1)))
    modes = [m.training for m in model.modules()]
    returned = model.eval() is model
    modes_eval = [m.training for m in model.modules()]
    model.train()
    return (
        modes,
        returned,
        modes_eval,
        [m.training for m in model.modules()],
        model.train(False) is model,
    )


@case("Module.zero_grad")
def _module_zero_grad(lib):
    model = small_cnn(lib)
    model(lib.tensor(X4)).sum().backward()
    model.zero_grad()
    return [p.grad is None for p in model.parameters()]


@case("Module.load_state_dict", label="load_state_dict round trip through np.savez")
def _load_state_dict(lib):
    source = small_cnn(lib)
    target = lib.Sequential(
        lib.Conv2d(3, 4, 3, padding=1),
        lib.MaxPool2d(2),
        lib.Flatten(),
        lib.Sequential(lib.Flatten()),
    )
    buffer = io.BytesIO()
    np.savez(
        buffer,
        **{
            k: np.asarray(v.detach().numpy() if lib.name == "torch" else v)
            for k, v in source.state_dict().items()
        },
    )
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as saved:
        arrays = {k: saved[k] for k in saved.files}
    result = target.load_state_dict(
        arrays if lib.name != "torch" else {k: torch.tensor(v) for k, v in arrays.items()}
    )
    x = lib.tensor(X4.astype(np.float32))  # the parameters keep their dtype, float32
    return target(x), sorted(result.missing_keys), sorted(result.unexpected_keys)


@case("Module.load_state_dict", label="load_state_dict with a missing and an unexpected key")
def _load_state_dict_keys(lib):
    model = lib.Sequential(conv(lib, 3, 4, 3, seed=1))
    state = dict(model.state_dict())
    state["0.extra"] = state.pop("0.bias")
    model.load_state_dict(state)


@case("Module.load_state_dict", label="load_state_dict(strict=False) reports the keys")
def _load_state_dict_loose(lib):
    model = lib.Sequential(conv(lib, 3, 4, 3, seed=1))
    state = dict(model.state_dict())
    state["0.extra"] = state.pop("0.bias")
    result = model.load_state_dict(state, strict=False)
    return sorted(result.missing_keys), sorted(result.unexpected_keys)


@case("Module.load_state_dict", label="load_state_dict with a wrong shape")
def _load_state_dict_shape(lib):
    model = lib.Sequential(conv(lib, 3, 4, 3, seed=1))
    state = dict(model.state_dict())
    state["0.bias"] = lib.tensor(np.zeros(5)) if lib.name == "torch" else np.zeros(5)
    model.load_state_dict(state)


@case(
    "Sequential.__getitem__", "Sequential.__len__", "Sequential.__iter__", "Activation.parameters"
)
def _sequential_container(lib):
    model = lib.Sequential(conv(lib, 3, 4, 3, seed=1), lib.MaxPool2d(2), lib.Flatten())
    return (
        len(model),
        type(model[1]).__name__,
        [type(m).__name__ for m in model],
        list(lib.ReLU().parameters()),
    )


@case(
    "Module.__repr__",
    "Sequential.__repr__",
    "Activation.__repr__",
    "Softmax.__repr__",
    "LogSoftmax.__repr__",
    "GELU.__repr__",
    "Loss.__repr__",
)
def _reprs(lib):
    model = lib.Sequential(lib.Conv2d(3, 4, 3, padding=1), lib.Flatten(), lib.Linear(4, 2))
    return [
        repr(m)
        for m in (
            model,
            lib.Softmax(dim=1),
            lib.LogSoftmax(dim=0),
            lib.GELU(approximate="tanh"),
            lib.ReLU(),
            lib.MSELoss(),
            lib.CrossEntropyLoss(),
        )
    ]


# ----- losses -------------------------------------------------------------------------------------
LOGITS = np.random.default_rng(7).standard_normal((4, 3))
LABELS = np.array([2, 0, 1, 2])


def loss_case(lib, loss, prediction: np.ndarray, target: np.ndarray, target_grad: bool = False):
    p = lib.tensor(prediction, grad=True)
    t = lib.tensor(target, grad=target_grad)
    out = loss(p, t)
    upstream = np.random.default_rng(8).standard_normal(tuple(out.shape))
    out.backward(lib.tensor(upstream) if lib.name == "torch" else upstream)
    return {"out": out, "grad prediction": p.grad, "grad target": t.grad if target_grad else None}


@case("MSELoss", "MSELoss.forward", "Loss.__call__")
def _mse(lib):
    target = np.random.default_rng(9).standard_normal((4, 3))
    return [
        loss_case(lib, lib.MSELoss(reduction=r), LOGITS, target, target_grad=True)
        for r in ("mean", "sum", "none")
    ]


@case("CrossEntropyLoss", "CrossEntropyLoss.forward")
def _cross_entropy(lib):
    return [
        loss_case(lib, lib.CrossEntropyLoss(reduction=r), LOGITS * 5, LABELS)
        for r in ("mean", "sum", "none")
    ]


@case("CrossEntropyLoss", label="CrossEntropyLoss over (N, C, d1, d2) and unbatched (C,)")
def _cross_entropy_spatial(lib):
    rng = np.random.default_rng(10)
    logits, labels = rng.standard_normal((2, 3, 4, 5)), rng.integers(0, 3, (2, 4, 5))
    return [
        loss_case(lib, lib.CrossEntropyLoss(reduction=r), logits, labels) for r in ("mean", "none")
    ] + [loss_case(lib, lib.CrossEntropyLoss(), LOGITS[0], np.array(1))]


@case("CrossEntropyLoss", "MSELoss", label="an unknown reduction")
def _bad_reduction(lib):
    lib.CrossEntropyLoss(reduction="average")(lib.tensor(LOGITS), lib.tensor(LABELS))


# ----- optimizers and schedulers ------------------------------------------------------------------
GRADS = [np.random.default_rng(20 + k).standard_normal((3, 2)) for k in range(4)]


def train_steps(lib, make_optimizer, steps: int = 4, groups: bool = False):
    """Two parameters, the same gradients each step; the parameters after each step."""
    params = [
        lib.tensor(np.arange(6.0).reshape(3, 2) / 7, grad=True),
        lib.tensor(np.ones((3, 2)), grad=True),
    ]
    optimizer = make_optimizer(
        [{"params": [params[0]]}, {"params": [params[1]], "lr": 0.05}] if groups else params
    )
    history = []
    for k in range(steps):
        optimizer.zero_grad()
        for n, p in enumerate(params):
            p.grad = lib.tensor(GRADS[k] * (n + 1))
        optimizer.step()
        history.append([p.detach() for p in params])
    return history, optimizer


OPTIMIZERS = {
    "SGD": lambda lib, ps: lib.SGD(ps, lr=0.1),
    "SGD momentum": lambda lib, ps: lib.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01),
    "Adam": lambda lib, ps: lib.Adam(ps, lr=0.01),
    "Adam weight_decay": lambda lib, ps: lib.Adam(ps, lr=0.01, betas=(0.8, 0.9), weight_decay=0.1),
    "AdamW": lambda lib, ps: lib.AdamW(ps, lr=0.01, weight_decay=0.1),
}

for _label, _make in OPTIMIZERS.items():

    def _optimizer_case(lib, make=_make):
        history, _ = train_steps(lib, lambda ps: make(lib, ps))
        grouped, optimizer = train_steps(lib, lambda ps: make(lib, ps), groups=True)
        return (
            history,
            grouped,
            [
                {
                    k: v
                    for k, v in g.items()
                    if k in ("lr", "momentum", "weight_decay", "betas", "eps")
                }
                for g in optimizer.param_groups
            ],
        )

    CASES.append(
        Case(
            (
                _label.split()[0],
                f"{_label.split()[0]}.step",
                "Optimizer",
                "Optimizer.step",
                "Optimizer.zero_grad",
            ),
            _label,
            _optimizer_case,
        )
    )


@case("Optimizer.add_param_group")
def _add_param_group(lib):
    p, q = lib.tensor(np.ones(2), grad=True), lib.tensor(np.ones(3), grad=True)
    optimizer = lib.SGD([p], lr=0.1, momentum=0.5)
    optimizer.add_param_group({"params": [q], "lr": 0.5})
    for _ in range(2):
        p.grad, q.grad = lib.tensor(np.array([1.0, -1.0])), lib.tensor(np.array([2.0, 0.0, 1.0]))
        optimizer.step()
    return p.detach(), q.detach(), [g["lr"] for g in optimizer.param_groups]


@case("Optimizer.add_param_group", label="add_param_group with a parameter already in a group")
def _add_param_group_twice(lib):
    p = lib.tensor(np.ones(2), grad=True)
    lib.SGD([p], lr=0.1).add_param_group({"params": [p]})


@case("Optimizer.state_dict", "Optimizer.load_state_dict")
def _optimizer_state(lib):
    """Train 3 steps, reload the optimizer's state into a fresh one on copies of the
    parameters, and take 2 more steps with each: the same parameters."""
    results = []
    for make in OPTIMIZERS.values():
        history, optimizer = train_steps(lib, lambda ps: make(lib, ps), steps=3)
        state = optimizer.state_dict()
        copies = [lib.tensor(np.array(lib.to_numpy(p)), grad=True) for p in history[-1]]
        fresh = make(lib, copies)
        fresh.load_state_dict(state)
        for k in range(2):
            fresh.zero_grad()
            for n, p in enumerate(copies):
                p.grad = lib.tensor(GRADS[k] * (n + 1))
            fresh.step()
        results.append([p.detach() for p in copies])
    return results


@case("Optimizer.load_state_dict", label="load_state_dict with another number of groups")
def _optimizer_state_groups(lib):
    _, optimizer = train_steps(lib, lambda ps: lib.SGD(ps, lr=0.1), groups=True)
    _, single = train_steps(lib, lambda ps: lib.SGD(ps, lr=0.1))
    single.load_state_dict(optimizer.state_dict())


@case(
    "StepLR",
    "CosineAnnealingLR",
    "LRScheduler",
    "LRScheduler.step",
    "LRScheduler.get_last_lr",
    "LRScheduler.get_lr",
    "StepLR.get_lr",
    "CosineAnnealingLR.get_lr",
)
def _schedulers(lib):
    lrs = []
    for make in (
        lambda o: lib.StepLR(o, step_size=2, gamma=0.5),
        lambda o: lib.CosineAnnealingLR(o, T_max=5, eta_min=0.01),
    ):
        params = [lib.tensor(np.ones(2), grad=True)]
        optimizer = lib.SGD(
            [{"params": params}, {"params": [lib.tensor(np.ones(1), grad=True)], "lr": 0.2}], lr=0.1
        )
        scheduler = make(optimizer)
        for _ in range(6):
            optimizer.step()
            scheduler.step()
            lrs.append(scheduler.get_last_lr() + [g["lr"] for g in optimizer.param_groups])
    return lrs


@case("LRScheduler.state_dict", "LRScheduler.load_state_dict")
def _scheduler_state(lib):
    """Three epochs, then the scheduler's state into a fresh one on a fresh optimizer whose
    groups had the same starting lr: both go on alike."""

    def fresh():
        return lib.SGD(
            [
                {"params": [lib.tensor(np.ones(2), grad=True)]},
                {"params": [lib.tensor(np.ones(1), grad=True)], "lr": 0.2},
            ],
            lr=0.1,
        )

    lrs = []
    for make in (
        lambda o: lib.StepLR(o, step_size=2, gamma=0.5),
        lambda o: lib.CosineAnnealingLR(o, T_max=5, eta_min=0.01),
    ):
        optimizer = fresh()
        scheduler = make(optimizer)
        for _ in range(3):
            optimizer.step()
            scheduler.step()
        resumed_optimizer = fresh()
        resumed_optimizer.load_state_dict(optimizer.state_dict())
        resumed = make(resumed_optimizer)
        resumed.load_state_dict(scheduler.state_dict())
        for _ in range(3):
            resumed_optimizer.step()
            resumed.step()
            lrs.append(resumed.get_last_lr() + [g["lr"] for g in resumed_optimizer.param_groups])
    return lrs


@case("clip_grad_norm")
def _clip(lib):
    params = [lib.tensor(np.ones((2, 2)), grad=True), lib.tensor(np.ones(3), grad=True)]
    for p, g in zip(params, (np.full((2, 2), 3.0), np.array([4.0, 0.0, -1.0]))):
        p.grad = lib.tensor(g)
    clip = lib.clip_grad_norm if lib.name == "tinytorch" else torch.nn.utils.clip_grad_norm_
    norm = clip(params, 2.0)
    return float(norm), [p.grad for p in params]


# ----- data ---------------------------------------------------------------------------------------
@case(
    "TensorDataset",
    "DataLoader",
    "Dataset",
    "TensorDataset.__getitem__",
    "TensorDataset.__len__",
    "DataLoader.__iter__",
    "DataLoader.__len__",
)
def _loader(lib):
    x, y = np.arange(20.0).reshape(10, 2), np.arange(10)
    dataset = lib.TensorDataset(lib.tensor(x), lib.tensor(y))
    batches = [list(batch) for batch in lib.DataLoader(dataset, batch_size=4)]
    dropped = [list(batch) for batch in lib.DataLoader(dataset, batch_size=4, drop_last=True)]
    shuffled = lib.DataLoader(dataset, batch_size=3, shuffle=True)
    sizes = [len(batch[0]) for batch in shuffled]
    return len(dataset), list(dataset[3]), batches, dropped, len(shuffled), sizes


@case("Dataset", "Dataset.__getitem__", label="a Dataset subclass in a DataLoader")
def _dataset_subclass(lib):
    class Squares(lib.Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return lib.tensor(np.array([float(i), float(i * i)])), i

    return [list(batch) for batch in lib.DataLoader(Squares(), batch_size=2)]


@case("default_collate")
def _collate(lib):
    samples = [(lib.tensor(np.array([1.0, 2.0])), 3), (lib.tensor(np.array([4.0, 5.0])), 6)]
    return list(lib.default_collate(samples))


@case("Subset", "Subset.__getitem__", "Subset.__len__")
def _subset(lib):
    x, y = np.arange(20.0).reshape(10, 2), np.arange(10)
    dataset = lib.TensorDataset(lib.tensor(x), lib.tensor(y))
    view = lib.Subset(dataset, [7, 2, 2, -1])
    nested = lib.Subset(view, [3, 0])
    batches = [list(batch) for batch in lib.DataLoader(view, batch_size=3)]
    return len(view), list(view[0]), list(view[-1]), len(nested), list(nested[0]), batches


@case("random_split", "Subset.__len__", label="random_split with fractions and counts")
def _random_split(lib):
    lengths = []
    for n, split in [(10, [0.3, 0.3, 0.4]), (11, [0.3, 0.3, 0.4]), (7, [0.25] * 4), (5, [0.5, 0.5]),
                     (1797, [0.7, 0.15, 0.15]), (9, [4, 5]), (9, [0, 9]), (3, [1.0])]:
        dataset = lib.TensorDataset(lib.tensor(np.arange(float(n))))
        parts = lib.random_split(dataset, split)
        served = sorted(int(lib.to_numpy(part[k][0])) for part in parts for k in range(len(part)))
        lengths.append(([len(part) for part in parts], served == list(range(n))))
    return lengths


@case("random_split", label="random_split(lengths that do not add up)")
def _random_split_bad(lib):
    lib.random_split(lib.TensorDataset(lib.tensor(np.zeros((5, 1)))), [2, 2])


@case("DataLoader", label="DataLoader(batch_size=0)")
def _loader_bad(lib):
    lib.DataLoader(lib.TensorDataset(lib.tensor(np.zeros((3, 1)))), batch_size=0)


# ----- the rest -----------------------------------------------------------------------------------
@case("no_grad")
def _no_grad(lib):
    x = lib.tensor(np.ones(3), grad=True)
    with lib.no_grad():
        inside = (x * 2).requires_grad

    @lib.no_grad()
    def doubled(t):
        return t * 2

    return inside, doubled(x).requires_grad, (x * 2).requires_grad


@case("manual_seed")
def _manual_seed(lib):
    lib.manual_seed(0)
    first = lib.to_numpy(lib.Linear(3, 2).weight).copy()
    lib.manual_seed(0)
    again = lib.to_numpy(lib.Linear(3, 2).weight).copy()
    lib.manual_seed(1)
    other = lib.to_numpy(lib.Linear(3, 2).weight).copy()
    return bool(np.array_equal(first, again)), bool(np.array_equal(first, other))


# ----- deliberate differences: each with its reason and a demonstration ---------------------------
class Difference(NamedTuple):
    why: str
    show: Callable[[types.SimpleNamespace], Any]  # gives different results in the two libraries


DIFFERENCES: Dict[str, Difference] = {
    "Tensor": Difference(
        "Tensor(data) follows torch.tensor(data), which infers the dtype (integers stay int64), "
        "not the legacy torch.Tensor(data) constructor, which always makes float32",
        lambda lib: lib.Tensor([1, 2]).dtype,
    ),
    "Tensor.size": Difference(
        "size is numpy's: a property giving the number of elements (torch's x.numel()), not "
        "torch's method x.size() giving the shape (use x.shape)",
        lambda lib: lib.tensor(np.zeros((2, 3))).size,
    ),
    "Tensor.__repr__": Difference(
        "repr shows Tensor([...], dtype=float32), the class students build, not torch's "
        "tensor([...])",
        lambda lib: repr(lib.tensor(np.zeros(2))),
    ),
    "Tensor.mean": Difference(
        "the mean of integers is float32 (Module 01's dtype policy); torch refuses integer input",
        lambda lib: lib.tensor(np.array([1, 2])).mean(),
    ),
    "Tensor.max": Difference(
        "max(axis) returns the values only, as numpy's max and torch.amax do; torch's max(dim) "
        "returns (values, indices): use argmax for the indices. max() of all elements agrees",
        lambda lib: lib.tensor(np.eye(2)).max(axis=1),
    ),
    "Tensor.min": Difference(
        "min(axis) returns the values only, like max(axis) (torch.amin); torch's min(dim) also "
        "returns the indices. min() of all elements agrees",
        lambda lib: lib.tensor(np.eye(2)).min(axis=1),
    ),
    "Tensor.numpy": Difference(
        "numpy() returns the array (shared) even when the tensor requires grad; torch refuses "
        "and asks for x.detach().numpy()",
        lambda lib: lib.tensor(np.ones(2), grad=True).numpy(),
    ),
    "Linear": Difference(
        "weight is stored (in_features, out_features) so that the layer reads y = x @ W + b; "
        "torch stores the transpose (out_features, in_features)",
        lambda lib: tuple(lib.Linear(3, 2).weight.shape),
    ),
    "GELU": Difference(
        "only the tanh approximation, GELU() == torch's GELU(approximate='tanh'); torch's "
        "default is the exact erf form (they differ by less than 2e-4 at x = 1)",
        lambda lib: lib.GELU()(lib.tensor(np.array([1.0]))),
    ),
    "ReLU": Difference(
        "activations (Module 02) come before Module (Module 03), so they are callables, not "
        "Modules: children() and modules() leave them out; they have no parameters anyway",
        lambda lib: len(list(lib.Sequential(lib.ReLU()).children())),
    ),
    "logsumexp": Difference(
        "a numpy helper of Module 04 over the last axis, logsumexp(array); torch.logsumexp "
        "takes a Tensor and a dim",
        lambda lib: lib.logsumexp(np.zeros((2, 3))),
    ),
    "_Pool2d.extra_repr": Difference(
        "names only what tinytorch's pooling supports (kernel_size, stride)",
        lambda lib: lib.MaxPool2d(2).extra_repr(),
    ),
    "Dropout.extra_repr": Difference(
        "names only p (tinytorch has no in-place dropout)",
        lambda lib: lib.Dropout(0.25).extra_repr(),
    ),
}

_REPR_WHY = (
    "repr says what the object holds (its size, batch size or learning rate); torch's is "
    "the default <... object at 0x...>, or for optimizers a listing of every option"
)
DIFFERENCES.update(
    {
        "DataLoader.__repr__": Difference(
            _REPR_WHY,
            lambda lib: repr(
                lib.DataLoader(lib.TensorDataset(lib.tensor(np.zeros((3, 1)))), batch_size=2)
            ),
        ),
        "Subset.__repr__": Difference(
            _REPR_WHY,
            lambda lib: repr(lib.Subset(lib.TensorDataset(lib.tensor(np.zeros((3, 1)))), [0])),
        ),
        "TensorDataset.__repr__": Difference(
            _REPR_WHY, lambda lib: repr(lib.TensorDataset(lib.tensor(np.zeros((3, 1)))))
        ),
        "Optimizer.__repr__": Difference(
            _REPR_WHY, lambda lib: repr(lib.SGD([lib.tensor(np.zeros(1), grad=True)], lr=0.1))
        ),
        "LRScheduler.__repr__": Difference(
            _REPR_WHY,
            lambda lib: repr(
                lib.StepLR(lib.SGD([lib.tensor(np.zeros(1), grad=True)], lr=0.1), step_size=1)
            ),
        ),
    }
)


def _differs(name: str) -> bool:
    show = DIFFERENCES[name].show
    ours, theirs = run_both(Case((name,), name, show))
    if isinstance(ours, BaseException) or isinstance(theirs, BaseException):
        return not (isinstance(ours, BaseException) and isinstance(theirs, BaseException))
    try:
        assert_same(ours, theirs, name, 1e-5, 1e-6)
    except AssertionError:
        return True
    return False


def test_every_pytorch_name_is_cross_checked() -> None:
    covered = {name for c in CASES for name in c.covers} | set(DIFFERENCES)
    missing = [name for name in pytorch_names() if name not in covered]
    assert not missing, (
        f"{len(missing)} PyTorch names of tinytorch have no case in {__file__}: {missing}. "
        "Add a case that runs each through both libraries (or, for a deliberate difference, "
        "an entry in DIFFERENCES with its reason)"
    )


def test_cases_name_only_real_pytorch_names() -> None:
    names = set(pytorch_names())
    stale = sorted({name for c in CASES for name in c.covers} - names) + sorted(
        set(DIFFERENCES) - names
    )
    assert not stale, f"cases or DIFFERENCES name what tinytorch or PyTorch no longer has: {stale}"


@pytest.mark.parametrize("name", sorted(DIFFERENCES))
def test_each_listed_difference_is_still_real(name: str) -> None:
    assert _differs(name), (
        f"{name} now behaves as in torch: remove it from DIFFERENCES and add a case instead"
    )


# ----- Modules 10 onwards keep their cases in tests/crosscheck/, one file per module -----------
# Imported last: their files use the decorators above, and the parametrized tests read CASES and
# DIFFERENCES when pytest collects them, after this file has run to its end.
for _found in sorted(pkgutil.iter_modules([str(Path(__file__).parent / "crosscheck")])):
    importlib.import_module(f"crosscheck.{_found.name}")

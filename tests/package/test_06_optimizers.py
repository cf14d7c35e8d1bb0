"""Specification of tinytorch.core.optimizers (Module 06), tested on the exported package.

Every optimizer is run over several steps against a numpy transcription of PyTorch's update
rule and, when PyTorch is installed, against torch.optim itself on identical parameters and
gradient sequences. The other tests state the rules every step() follows: in place, same
dtype, parameters without a gradient skipped, gradients never modified, clear errors.
"""
import numpy as np
import pytest

from tinytorch.core.optimizers import SGD, Adam, AdamW, Optimizer
from tinytorch.core.tensor import Tensor

SHAPES = [(3, 4), (4,), ()]  # a weight, a bias and a 0-d parameter
STEPS = 6


def gradient_sequence(seed=0, skip=((2, 1), (3, 2), (4, 2))):
    """STEPS lists of per-parameter gradients; the (step, parameter) pairs in `skip` are None."""
    rng = np.random.default_rng(seed)
    return [[None if (step, i) in skip else rng.standard_normal(shape) for i, shape in enumerate(SHAPES)]
            for step in range(STEPS)]


def initial_parameters(seed=1):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape) for shape in SHAPES]


# ----- numpy transcriptions of PyTorch's rules (one parameter at a time) ---------------------

def reference_sgd(p, grads, lr, momentum=0.0, weight_decay=0.0, nesterov=False):
    """The parameter after each step, for gradients `grads` (None: the step skips it)."""
    p, buf, history = np.array(p, dtype=np.float64), None, []
    for g in grads:
        if g is not None:
            d = g + weight_decay * p
            if momentum != 0:
                buf = d.copy() if buf is None else momentum * buf + d
                d = d + momentum * buf if nesterov else buf
            p = p - lr * d
        history.append(p.copy())
    return history


def reference_adam(p, grads, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, decoupled=False):
    p, history = np.array(p, dtype=np.float64), []
    m, v, t = np.zeros_like(p), np.zeros_like(p), 0
    beta1, beta2 = betas
    for g in grads:
        if g is not None:
            t += 1
            if decoupled:
                p = p * (1 - lr * weight_decay)
            else:
                g = g + weight_decay * p
            m = beta1 * m + (1 - beta1) * g
            v = beta2 * v + (1 - beta2) * g * g
            p = p - lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
        history.append(p.copy())
    return history


def reference(cls, p, grads, **kwargs):
    if cls is SGD:
        return reference_sgd(p, grads, **kwargs)
    if cls is AdamW:
        return reference_adam(p, grads, decoupled=True, **{"weight_decay": 0.01, **kwargs})
    return reference_adam(p, grads, **kwargs)


def run_tinytorch(cls, kwargs, params0, grads, dtype=np.float64):
    """The parameters after each step, as numpy arrays: history[step][parameter]."""
    # Copies: Tensor() wraps an array of the right dtype without copying, and step() works in place.
    params = [Tensor(np.array(p), dtype=dtype) for p in params0]
    optimizer = cls(params, **kwargs)
    history = []
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = None if g is None else Tensor(g, dtype=dtype)
        optimizer.step()
        history.append([p.data.copy() for p in params])
    return history


CONFIGS = [
    (SGD, dict(lr=0.1)),
    (SGD, dict(lr=0.05, momentum=0.9)),
    (SGD, dict(lr=0.05, momentum=0.9, nesterov=True)),
    (SGD, dict(lr=0.1, weight_decay=0.05)),
    (SGD, dict(lr=0.02, momentum=0.5, weight_decay=0.1, nesterov=True)),
    (SGD, dict(lr=0.01, momentum=1.0, weight_decay=1.0)),  # 1 is a value like any other
    (Adam, dict()),
    (Adam, dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6)),
    (Adam, dict(lr=0.01, weight_decay=0.1)),
    (Adam, dict(lr=0.1, betas=(0.0, 0.5))),
    (Adam, dict(lr=0.01, weight_decay=1.0, eps=0.0)),
    (AdamW, dict()),
    (AdamW, dict(lr=0.05, weight_decay=0.1)),
    (AdamW, dict(lr=0.01, betas=(0.5, 0.9), eps=1e-4, weight_decay=0.0)),
    (AdamW, dict(lr=0.01, weight_decay=1.0)),
]
CONFIG_IDS = [f"{cls.__name__}({', '.join(f'{k}={v}' for k, v in kw.items())})" for cls, kw in CONFIGS]


# ----- the update rules ----------------------------------------------------------------------

@pytest.mark.parametrize("cls, kwargs", CONFIGS, ids=CONFIG_IDS)
def test_matches_pytorch_formulas_in_float64(cls, kwargs):
    params0, grads = initial_parameters(), gradient_sequence()
    ours = run_tinytorch(cls, kwargs, params0, grads)
    for i, p0 in enumerate(params0):
        expected = reference(cls, p0, [step[i] for step in grads], **kwargs)
        for step in range(STEPS):
            np.testing.assert_allclose(ours[step][i], expected[step], rtol=1e-12, atol=1e-14,
                                       err_msg=f"parameter {i}, step {step + 1}")


@pytest.mark.parametrize("cls, kwargs", CONFIGS, ids=CONFIG_IDS)
def test_float32_parameters_stay_float32_and_agree(cls, kwargs):
    params0, grads = initial_parameters(), gradient_sequence()
    ours = run_tinytorch(cls, kwargs, params0, grads, dtype=np.float32)
    for i, p0 in enumerate(params0):
        expected = reference(cls, p0.astype(np.float32), [step[i] for step in grads], **kwargs)
        assert ours[-1][i].dtype == np.float32
        np.testing.assert_allclose(ours[-1][i], expected[-1], rtol=1e-5, atol=1e-5)


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch", reason="PyTorch is optional: install torch==2.13.0 to cross-check")


def run_torch(torch, cls, kwargs, params0, grads, dtype):
    params = [torch.tensor(p, dtype=dtype, requires_grad=True) for p in params0]
    optimizer = getattr(torch.optim, cls.__name__)(params, **kwargs)
    history = []
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = None if g is None else torch.tensor(g, dtype=dtype)
        optimizer.step()
        history.append([p.detach().numpy().copy() for p in params])
    return history


@pytest.mark.parametrize("cls, kwargs", CONFIGS, ids=CONFIG_IDS)
def test_matches_torch_optim_in_float64(torch, cls, kwargs):
    params0, grads = initial_parameters(), gradient_sequence()
    ours = run_tinytorch(cls, kwargs, params0, grads)
    theirs = run_torch(torch, cls, kwargs, params0, grads, torch.float64)
    for step in range(STEPS):
        for i in range(len(SHAPES)):
            np.testing.assert_allclose(ours[step][i], theirs[step][i], rtol=0, atol=1e-6,
                                       err_msg=f"parameter {i}, step {step + 1}")


@pytest.mark.parametrize("cls, kwargs", CONFIGS, ids=CONFIG_IDS)
def test_matches_torch_optim_in_float32(torch, cls, kwargs):
    params0 = [p.astype(np.float32) for p in initial_parameters()]
    grads = [[None if g is None else g.astype(np.float32) for g in step] for step in gradient_sequence()]
    ours = run_tinytorch(cls, kwargs, params0, grads, dtype=np.float32)
    theirs = run_torch(torch, cls, kwargs, params0, grads, torch.float32)
    for i in range(len(SHAPES)):
        np.testing.assert_allclose(ours[-1][i], theirs[-1][i], rtol=1e-5, atol=1e-6)


def test_hand_computed_steps():
    # SGD with momentum 0.9 and a constant gradient: buffers g, 1.9 g, 2.71 g.
    p = Tensor([1.0, -2.0])
    p.grad = Tensor([0.5, 1.0])
    sgd = SGD([p], lr=0.1, momentum=0.9)
    for _ in range(3):
        sgd.step()
    np.testing.assert_allclose(p.data, [1.0 - 0.561 * 0.5, -2.0 - 0.561], atol=1e-6)
    np.testing.assert_allclose(sgd.state[p]["momentum_buffer"], [1.355, 2.71], atol=1e-6)
    # Adam with a constant gradient moves every coordinate by lr per step, whatever |g|.
    q = Tensor([1.0, -1.0, 0.5])
    q.grad = Tensor([2.0, -0.001, 0.0])
    adam = Adam([q], lr=0.01)
    for _ in range(3):
        adam.step()
    np.testing.assert_allclose(q.data, [0.97, -0.97, 0.5], atol=1e-5)
    assert adam.state[q]["step"] == 3
    np.testing.assert_allclose(adam.state[q]["exp_avg"], 0.271 * q.grad.data, rtol=1e-5)
    # AdamW with a zero gradient only decays: p * (1 - lr * wd) per step.
    r = Tensor([1.0, -2.0])
    r.grad = Tensor([0.0, 0.0])
    adamw = AdamW([r], lr=0.1, weight_decay=0.1)
    for _ in range(3):
        adamw.step()
    np.testing.assert_allclose(r.data, [0.970299, -1.940598], atol=1e-6)


def test_adamw_is_an_adam_with_pytorch_defaults():
    p = Tensor([1.0])
    assert issubclass(AdamW, Adam) and issubclass(Adam, Optimizer) and issubclass(SGD, Optimizer)
    assert AdamW([p]).param_groups[0]["weight_decay"] == 0.01
    assert Adam([p]).defaults == {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0}
    assert SGD([p]).defaults == {"lr": 1e-3, "momentum": 0.0, "weight_decay": 0.0, "nesterov": False}


@pytest.mark.parametrize("cls", [SGD, Adam, AdamW])
def test_defaults_and_groups_hold_what_torch_holds(torch, cls):
    ours = cls([Tensor([1.0])])
    theirs = getattr(torch.optim, cls.__name__)([torch.zeros(1, requires_grad=True)])
    for name, value in ours.defaults.items():
        assert theirs.defaults[name] == value, name
        assert theirs.param_groups[0][name] == ours.param_groups[0][name], name
    assert set(ours.param_groups[0]) <= set(theirs.param_groups[0])


# ----- the rules every step() follows ----------------------------------------------------------

ONE_OF_EACH = [
    (SGD, dict(lr=0.1)),
    (SGD, dict(lr=0.1, momentum=0.9, weight_decay=0.1, nesterov=True)),
    (Adam, dict(lr=0.1, weight_decay=0.1)),
    (AdamW, dict(lr=0.1)),
]
ONE_OF_EACH_IDS = [f"{cls.__name__}-{i}" for i, (cls, _) in enumerate(ONE_OF_EACH)]


@pytest.mark.parametrize("cls, kwargs", ONE_OF_EACH, ids=ONE_OF_EACH_IDS)
def test_step_updates_in_place_and_views_stay_valid(cls, kwargs):
    w = Tensor(np.arange(6.0).reshape(2, 3))
    array, view = w.data, w.data[:, 0]
    optimizer = cls([w], **kwargs)
    for _ in range(3):
        w.grad = Tensor(np.ones(w.shape))
        optimizer.step()
    assert w.data is array, "step() must modify p.data in place, not rebind it"
    np.testing.assert_array_equal(view, w.data[:, 0])
    assert not np.array_equal(w.data, np.arange(6.0).reshape(2, 3))


@pytest.mark.parametrize("cls, kwargs", ONE_OF_EACH, ids=ONE_OF_EACH_IDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_of_parameters_and_state_is_kept(cls, kwargs, dtype):
    w = Tensor(np.ones((2, 2)), dtype=dtype)
    optimizer = cls([w], **kwargs)
    for _step in range(2):
        w.grad = Tensor(np.full((2, 2), 0.5), dtype=dtype)
        optimizer.step()
    assert w.dtype == dtype
    for value in optimizer.state.get(w, {}).values():
        if isinstance(value, np.ndarray):
            assert value.dtype == dtype and value.shape == w.shape


@pytest.mark.parametrize("cls, kwargs", ONE_OF_EACH, ids=ONE_OF_EACH_IDS)
def test_step_never_changes_the_gradient(cls, kwargs):
    w = Tensor([1.0, -2.0, 3.0])
    w.grad = Tensor([0.1, 0.2, -0.3])
    keep = w.grad.data.copy()
    optimizer = cls([w], **kwargs)
    for _ in range(3):  # the same .grad every step: a buffer aliasing it would change it
        optimizer.step()
    np.testing.assert_array_equal(w.grad.data, keep)


@pytest.mark.parametrize("cls, kwargs", ONE_OF_EACH, ids=ONE_OF_EACH_IDS)
def test_parameters_without_gradient_are_skipped(cls, kwargs):
    used, unused = Tensor([1.0, 2.0]), Tensor([3.0, 4.0])
    optimizer = cls([unused, used], **kwargs)
    used.grad = Tensor([1.0, 1.0])
    optimizer.step()
    np.testing.assert_array_equal(unused.data, [3.0, 4.0])
    assert unused not in optimizer.state
    assert not np.array_equal(used.data, [1.0, 2.0])


@pytest.mark.parametrize("cls, kwargs", ONE_OF_EACH, ids=ONE_OF_EACH_IDS)
def test_zero_grad_sets_gradients_to_none(cls, kwargs):
    w, b = Tensor(np.ones((2, 2))), Tensor(np.ones(2))
    w.grad, b.grad = Tensor(np.ones((2, 2))), Tensor(np.ones(2))
    optimizer = cls([w, b], **kwargs)
    optimizer.zero_grad()
    assert w.grad is None and b.grad is None
    optimizer.step()  # nothing to do: nothing moves
    np.testing.assert_array_equal(w.data, np.ones((2, 2)))


def test_params_may_be_a_generator_and_duplicates_count_once():
    w, b = Tensor([1.0]), Tensor([2.0])
    optimizer = SGD((p for p in [w, b, w]), lr=0.5)
    [group] = optimizer.param_groups
    assert len(group["params"]) == 2 and group["params"][0] is w and group["params"][1] is b
    w.grad = Tensor([1.0])
    optimizer.step()
    np.testing.assert_allclose(w.data, [0.5])  # stepped once, not twice


def test_learning_rate_can_change_between_steps():
    w = Tensor([0.0], dtype=np.float64)
    optimizer = SGD([w], lr=0.1)
    w.grad = Tensor([1.0], dtype=np.float64)
    optimizer.step()
    optimizer.param_groups[0]["lr"] = 0.01
    optimizer.step()
    np.testing.assert_allclose(w.data, [-0.11], rtol=1e-14)


def test_there_is_no_optimizer_lr_as_in_torch():
    optimizer = SGD([Tensor([1.0])], lr=0.1)
    assert not hasattr(optimizer, "lr")
    with pytest.raises(AttributeError, match="param_groups"):
        optimizer.lr = 0.01  # PyTorch would take it and ignore it: say where the lr lives
    assert optimizer.param_groups[0]["lr"] == 0.1


def test_repr_names_the_settings():
    text = repr(SGD([Tensor([1.0]), Tensor([2.0])], lr=0.1, momentum=0.9))
    assert text.startswith("SGD(2 parameters") and "lr=0.1" in text and "momentum=0.9" in text
    assert "betas=(0.9, 0.999)" in repr(AdamW([Tensor([1.0])]))
    two = repr(SGD([{"params": [Tensor([1.0])]}, {"params": [Tensor([2.0])], "lr": 0.5}], lr=0.1))
    assert "lr=0.1" in two and "lr=0.5" in two


def test_top_level_import_is_the_same_class():
    import tinytorch

    assert tinytorch.SGD is SGD and tinytorch.Adam is Adam and tinytorch.AdamW is AdamW


# ----- errors ------------------------------------------------------------------------------------

def weight():
    """A parameter for the error cases, built when a case runs (a stub Tensor fails that case only)."""
    return Tensor(np.ones(3))


def in_two_groups(w):
    return SGD([{"params": [w]}, {"params": [Tensor(np.ones(2)), w]}], lr=0.1)



# `words`: what the message must name. Optimizer.__init__ is the student's: its docstring
# promises the word "empty", and the position and the type or dtype of a bad item; the other
# errors there are checked by type only. The checks of momentum, betas, eps and weight_decay
# are given code, and name the argument.
@pytest.mark.parametrize("make, error, words", [
    (lambda: SGD([], lr=0.1), ValueError, ["empty"]),
    (lambda: SGD(iter([]), lr=0.1), ValueError, ["empty"]),
    (lambda: SGD(weight(), lr=0.1), TypeError, []),
    (lambda: SGD(5, lr=0.1), TypeError, []),
    (lambda: SGD([weight(), weight(), np.ones(3)], lr=0.1), TypeError, ["2", "ndarray"]),
    (lambda: SGD([weight(), "w"], lr=0.1), TypeError, ["1", "str"]),
    (lambda: SGD([Tensor([1, 2])], lr=0.1), TypeError, ["int64"]),
    (lambda: SGD([weight()], lr=-0.1), ValueError, []),
    (lambda: SGD([weight()], lr=float("nan")), ValueError, []),
    (lambda: SGD([weight()], lr="0.1"), ValueError, []),
    (lambda: SGD([weight()], lr=0.1, momentum=-0.9), ValueError, ["momentum"]),
    (lambda: SGD([weight()], lr=0.1, weight_decay=-1e-4), ValueError, ["weight_decay"]),
    (lambda: SGD([weight()], lr=0.1, nesterov=True), ValueError, ["momentum"]),
    (lambda: Adam([weight()], lr=-1e-3), ValueError, []),
    (lambda: Adam([weight()], betas=(0.9, 1.0)), ValueError, ["betas"]),
    (lambda: Adam([weight()], betas=(-0.1, 0.999)), ValueError, ["betas"]),
    (lambda: Adam([weight()], betas=0.9), ValueError, ["betas"]),
    (lambda: Adam([weight()], eps=-1e-8), ValueError, ["eps"]),
    (lambda: Adam([weight()], weight_decay=-0.01), ValueError, ["weight_decay"]),
    (lambda: AdamW([weight()], weight_decay=-0.01), ValueError, ["weight_decay"]),
    # Parameter groups (add_param_group is the student's: its docstring promises the words).
    (lambda: in_two_groups(weight()), ValueError, ["more than one parameter group"]),
    (lambda: SGD([{"params": [weight(), np.ones(3)]}], lr=0.1), TypeError, ["1", "ndarray"]),
    (lambda: SGD([{"lr": 0.1}], lr=0.1), KeyError, []),
    (lambda: SGD([{"params": [weight()]}, [weight()]], lr=0.1), TypeError, ["list"]),
    (lambda: SGD([weight(), {"params": [weight()]}], lr=0.1), TypeError, ["dict"]),
    (lambda: SGD([{"params": [weight()], "lr": -1.0}], lr=0.1), ValueError, []),
    (lambda: SGD([{"params": [weight()], "momentum": -0.9}], lr=0.1), ValueError, ["momentum"]),
    (lambda: Adam([{"params": [weight()], "betas": (0.9, 1.5)}]), ValueError, ["betas"]),
])
def test_bad_arguments_are_clear_errors(make, error, words):
    with pytest.raises(error) as caught:
        make()
    missing = [word for word in words if word not in str(caught.value)]
    assert not missing, f"the {error.__name__} should name {missing}; its message was: {caught.value}"


def give_gradient_and_step(optimizer_class, grad):
    """Assign `grad` to a (2, 3) parameter's .grad and take a step. Tensor may refuse the
    assignment itself, as PyTorch does; otherwise step() must."""
    w = Tensor(np.ones((2, 3)))
    w.grad = grad
    optimizer_class([w], lr=0.1).step()


def test_bad_gradients_are_clear_errors():
    with pytest.raises((ValueError, RuntimeError)) as caught:  # would broadcast silently
        give_gradient_and_step(SGD, Tensor(np.ones(3)))
    assert "(2, 3)" in str(caught.value) and "(3,)" in str(caught.value), caught.value
    with pytest.raises(TypeError) as caught:  # a numpy array is not a gradient
        give_gradient_and_step(Adam, np.ones((2, 3)))
    assert "Tensor" in str(caught.value), caught.value


def test_the_base_class_has_no_update_rule():
    with pytest.raises(NotImplementedError):
        Optimizer([Tensor([1.0])], {"lr": 0.1}).step()


# ----- parameter groups ------------------------------------------------------------------------

GROUP_CONFIGS = [  # (class, defaults, the options of group 1; group 0 takes the defaults)
    (SGD, dict(lr=0.1, momentum=0.9), dict(lr=0.01, nesterov=True)),
    (SGD, dict(lr=0.05, weight_decay=0.1), dict(momentum=0.5, weight_decay=0.0)),
    (Adam, dict(lr=0.05), dict(lr=0.2, betas=(0.5, 0.9), eps=1e-4)),
    (AdamW, dict(lr=0.05, weight_decay=0.1), dict(weight_decay=0.0)),
]
GROUP_IDS = [f"{cls.__name__}-{i}" for i, (cls, _, _) in enumerate(GROUP_CONFIGS)]


def grouped(make_tensor, cls, defaults, options, params0):
    """An optimizer with parameters 0 and 1 in group 0 (the defaults) and 2 in group 1."""
    params = [make_tensor(p) for p in params0]
    return params, cls([{"params": params[:2]}, {"params": [params[2]], **options}], **defaults)


def run_grouped(make_tensor, cls, defaults, options, grads, change_lr_after=3):
    """The parameters after each step; after step `change_lr_after` group 0's lr is halved."""
    params, optimizer = grouped(make_tensor, cls, defaults, options, initial_parameters())
    history = []
    for step, step_grads in enumerate(grads, 1):
        for p, g in zip(params, step_grads):
            p.grad = None if g is None else make_tensor(g)
        optimizer.step()
        if step == change_lr_after:
            optimizer.param_groups[0]["lr"] = defaults["lr"] / 2
        history.append([np.array(p.data if isinstance(p, Tensor) else p.detach().numpy()) for p in params])
    return history


@pytest.mark.parametrize("cls, defaults, options", GROUP_CONFIGS, ids=GROUP_IDS)
def test_groups_and_a_changed_lr_match_torch(torch, cls, defaults, options):
    grads = gradient_sequence()
    ours = run_grouped(lambda a: Tensor(np.array(a), dtype=np.float64), cls, defaults, options, grads)
    torch_cls = getattr(torch.optim, cls.__name__)

    class Torch:  # the same class name, so that run_grouped builds torch's optimizer
        def __new__(_, groups, **kwargs):
            return torch_cls(groups, **kwargs)

    theirs = run_grouped(lambda a: torch.tensor(np.array(a), dtype=torch.float64, requires_grad=True),
                         Torch, defaults, options, grads)
    for step in range(STEPS):
        for i in range(len(SHAPES)):
            np.testing.assert_allclose(ours[step][i], theirs[step][i], rtol=0, atol=1e-12,
                                       err_msg=f"parameter {i}, step {step + 1}")


def test_param_groups_take_the_defaults_they_do_not_set():
    w, b, c = Tensor([1.0]), Tensor([2.0]), Tensor([3.0])
    head = {"params": c, "lr": 0.01, "name": "head"}
    optimizer = SGD([{"params": (p for p in [w, b])}, head], lr=0.1, momentum=0.9)
    body, second = optimizer.param_groups
    assert body["params"] == [w, b] or (body["params"][0] is w and body["params"][1] is b)
    assert {k: v for k, v in body.items() if k != "params"} == {
        "lr": 0.1, "momentum": 0.9, "weight_decay": 0.0, "nesterov": False}
    assert len(second["params"]) == 1 and second["params"][0] is c
    assert second["lr"] == 0.01 and second["momentum"] == 0.9 and second["name"] == "head"
    assert head == {"params": c, "lr": 0.01, "name": "head"}  # the caller's dict is left alone
    d = Tensor([4.0])
    optimizer.add_param_group({"params": [d], "weight_decay": 0.5})
    assert optimizer.param_groups[2]["params"][0] is d and optimizer.param_groups[2]["lr"] == 0.1
    with pytest.raises(ValueError):
        optimizer.add_param_group({"params": [Tensor([5.0]), d]})
    assert len(optimizer.param_groups) == 3
    for p in (w, b, c, d):
        p.grad = Tensor([1.0])
    optimizer.zero_grad()
    assert all(p.grad is None for p in (w, b, c, d))


@pytest.mark.parametrize("make", [
    lambda t, w, b: t([{"params": [w]}, {"params": [w]}], lr=0.1),
    lambda t, w, b: t([{"params": [w]}, {"params": [b, w]}], lr=0.1),
    lambda t, w, b: t([], lr=0.1),
    lambda t, w, b: t([w, 3.0], lr=0.1),
    lambda t, w, b: t([{"params": [w]}, b], lr=0.1),
    lambda t, w, b: t([{"lr": 0.1}], lr=0.1),
    lambda t, w, b: t(w, lr=0.1),
], ids=["same-group-twice", "overlap", "empty", "not-a-tensor", "not-a-dict", "no-params", "one-tensor"])
def test_bad_groups_raise_what_torch_raises(torch, make):
    with pytest.raises(Exception) as theirs:
        make(torch.optim.SGD, torch.zeros(3, requires_grad=True), torch.zeros(2, requires_grad=True))
    with pytest.raises(type(theirs.value)):
        make(SGD, Tensor(np.zeros(3)), Tensor(np.zeros(2)))


# ----- state_dict and load_state_dict ------------------------------------------------------------

STATEFUL = [
    (SGD, dict(lr=0.1, momentum=0.9), dict(lr=0.02, nesterov=True)),
    (Adam, dict(lr=0.05, weight_decay=0.1), dict(lr=0.2, betas=(0.5, 0.9))),
    (AdamW, dict(lr=0.05), dict(weight_decay=0.0)),
]
STATEFUL_IDS = [cls.__name__ for cls, _, _ in STATEFUL]


def take_steps(params, optimizer, grads):
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = None if g is None else Tensor(g, dtype=p.dtype)
        optimizer.step()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cls, defaults, options", STATEFUL, ids=STATEFUL_IDS)
def test_a_loaded_optimizer_continues_exactly_as_the_saved_one(cls, defaults, options, dtype):
    grads = gradient_sequence(skip=((1, 2),))[:5]
    params, optimizer = grouped(lambda a: Tensor(np.array(a), dtype=dtype), cls, defaults, options,
                                initial_parameters())
    take_steps(params, optimizer, grads[:3])
    snapshot = optimizer.state_dict()
    copies, fresh = grouped(lambda a: Tensor(np.array(a), dtype=dtype), cls, defaults, options,
                            [p.data for p in params])
    fresh.param_groups[1]["lr"] = 123.0  # replaced by the saved lr
    fresh.load_state_dict(snapshot)
    take_steps(params, optimizer, grads[3:])
    take_steps(copies, fresh, grads[3:])
    for mine, theirs in zip(params, copies):
        np.testing.assert_array_equal(mine.data, theirs.data)
        assert theirs.dtype == dtype
    for p, q in zip(params, copies):
        for key, value in optimizer.state.get(p, {}).items():
            np.testing.assert_array_equal(fresh.state[q][key], value)


@pytest.mark.parametrize("cls, defaults, options", STATEFUL, ids=STATEFUL_IDS)
def test_state_dict_has_torchs_layout_and_is_a_copy(torch, cls, defaults, options):
    grads = gradient_sequence(skip=((0, 1), (1, 1)))[:2]  # parameter 1 never gets a gradient
    params, optimizer = grouped(lambda a: Tensor(np.array(a)), cls, defaults, options, initial_parameters())
    take_steps(params, optimizer, grads)
    torch_params, torch_optimizer = grouped(lambda a: torch.tensor(np.array(a), dtype=torch.float32, requires_grad=True),
                                            getattr(torch.optim, cls.__name__), defaults, options,
                                            initial_parameters())
    for step_grads in grads:
        for p, g in zip(torch_params, step_grads):
            p.grad = None if g is None else torch.tensor(g, dtype=torch.float32)
        torch_optimizer.step()
    ours, theirs = optimizer.state_dict(), torch_optimizer.state_dict()
    assert set(ours) == {"state", "param_groups"}
    assert [g["params"] for g in ours["param_groups"]] == [g["params"] for g in theirs["param_groups"]] == [[0, 1], [2]]
    for mine, their in zip(ours["param_groups"], theirs["param_groups"]):
        assert {k: v for k, v in mine.items() if k != "params"} == {k: their[k] for k in mine if k != "params"}
    assert sorted(ours["state"]) == sorted(theirs["state"]) == [0, 2]
    for index, state in ours["state"].items():
        assert set(state) == set(theirs["state"][index])
        for key, value in state.items():
            expected = theirs["state"][index][key]
            if key == "step":
                assert value == int(expected)
            else:
                assert isinstance(value, np.ndarray)
                np.testing.assert_allclose(value, expected.numpy(), rtol=1e-5, atol=1e-6)
    # A snapshot, not a view: later steps and changes leave it (and the optimizer) alone.
    before = {i: {k: np.array(v) for k, v in s.items()} for i, s in ours["state"].items()}
    take_steps(params, optimizer, grads)
    ours["param_groups"][0]["lr"] = 99.0
    assert optimizer.param_groups[0]["lr"] == defaults["lr"]
    for index, state in ours["state"].items():
        for key, value in state.items():
            np.testing.assert_array_equal(value, before[index][key])


def test_load_state_dict_refuses_another_layout_as_torch_does():
    w, b, c = Tensor(np.ones(3)), Tensor(np.ones(2)), Tensor(np.ones(1))
    saved = Adam([{"params": [w, c]}, {"params": [b]}], lr=0.1)
    for p in (w, b, c):
        p.grad = Tensor(np.ones(p.shape))
    saved.step()
    snapshot = saved.state_dict()
    with pytest.raises(ValueError, match="different number of parameter groups"):
        Adam([Tensor(np.ones(3))]).load_state_dict(snapshot)
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        Adam([{"params": [Tensor(np.ones(3))]}, {"params": [Tensor(np.ones(2)), Tensor(np.ones(1))]}]
             ).load_state_dict(snapshot)
    with pytest.raises(ValueError, match="shape"):  # torch takes it, and fails at the next step
        Adam([{"params": [Tensor(np.ones(5)), Tensor(np.ones(1))]}, {"params": [Tensor(np.ones(2))]}]
             ).load_state_dict(snapshot)
    # Right layout: it takes the saved hyperparameters and state, as copies.
    other = Adam([{"params": [Tensor(np.ones(3)), Tensor(np.ones(1))]}, {"params": [Tensor(np.ones(2))]}], lr=0.7)
    other.load_state_dict(snapshot)
    assert other.param_groups[0]["lr"] == 0.1
    first = other.param_groups[0]["params"][0]
    assert other.state[first]["step"] == 1
    assert not np.shares_memory(other.state[first]["exp_avg"], snapshot["state"][0]["exp_avg"])


def test_a_learning_rate_of_zero_is_allowed_and_changes_nothing():
    # "lr, a number >= 0": 0 is allowed, as in torch (a frozen step, e.g. for a warm-up).
    for make in (lambda ps: SGD(ps, lr=0), lambda ps: SGD([{"params": ps, "lr": 0.0}], lr=0.1),
                 lambda ps: Adam(ps, lr=0.0)):
        w = Tensor(np.arange(3.0))
        optimizer = make([w])
        w.grad = Tensor(np.ones(3))
        optimizer.step()
        np.testing.assert_array_equal(w.data, np.arange(3.0))


def test_loaded_state_takes_the_parameters_dtype():
    # "each parameter its saved state (copies, in the parameter's dtype)"
    w64 = Tensor(np.ones(3), dtype=np.float64)
    saved = Adam([w64], lr=0.1)
    w64.grad = Tensor(np.full(3, 0.5))
    saved.step()
    w32 = Tensor(np.ones(3), dtype=np.float32)
    loaded = Adam([w32], lr=0.1)
    loaded.load_state_dict(saved.state_dict())
    for key, value in loaded.state[w32].items():
        if isinstance(value, np.ndarray):
            assert value.dtype == np.float32, f"state {key!r} is {value.dtype}, not the parameter's float32"


def test_load_state_dict_messages_are_torchs(torch):
    saved = torch.optim.Adam([{"params": [torch.zeros(3, requires_grad=True)]},
                              {"params": [torch.zeros(1, requires_grad=True)]}])
    for target in ([torch.zeros(3, requires_grad=True)],
                   [{"params": [torch.zeros(3, requires_grad=True)]},
                    {"params": [torch.zeros(1, requires_grad=True), torch.zeros(1, requires_grad=True)]}]):
        with pytest.raises(ValueError) as theirs:
            torch.optim.Adam(target).load_state_dict(saved.state_dict())
        ours_saved = Adam([{"params": [Tensor(np.zeros(3))]}, {"params": [Tensor(np.zeros(1))]}])
        ours_target = ([Tensor(np.zeros(3))] if len(target) == 1 else
                       [{"params": [Tensor(np.zeros(3))]}, {"params": [Tensor(np.zeros(1)), Tensor(np.zeros(1))]}])
        with pytest.raises(ValueError) as ours:
            Adam(ours_target).load_state_dict(ours_saved.state_dict())
        assert str(ours.value).startswith(str(theirs.value))

"""Specification of tinytorch.core.layers (Module 03), tested on the exported package.

Each test states one rule of the layer API. numpy is the reference for values; PyTorch, when it
is installed, for Linear's forward pass, its initialization and the names of parameters.
"""
import numpy as np
import pytest

import tinytorch
from tinytorch.core.layers import Dropout, Linear, Module, Sequential, manual_seed
from tinytorch.core.tensor import AUTOGRAD, Tensor


def needs_torch():
    return pytest.importorskip("torch", reason="PyTorch is optional: install torch==2.13.0 to cross-check")


def needs_autograd():
    if AUTOGRAD.engine is None:  # `import tinytorch` above loads Module 05 once it is exported
        pytest.skip("autograd (Module 05) is not exported yet")


class Affine(Module):
    """x * scale + shift: two parameters, plus attributes that must not count as parameters."""

    def __init__(self, n=3):
        super().__init__()
        self.scale = Tensor(np.ones(n), requires_grad=True)
        self.shift = Tensor(np.zeros(n), requires_grad=True)
        self.n = n
        self.offset = Tensor(np.ones(n))          # a constant
        self.buffer = np.ones(n)                  # a numpy array
        self.extra = {"w": Tensor(np.ones(n), requires_grad=True)}  # dicts are not searched

    def forward(self, x):
        return x * self.scale + self.shift

    def extra_repr(self):
        return f"n={self.n}"


class Net(Module):
    """An Affine, a list of two, a parameter of its own, and the first Affine again (shared)."""

    def __init__(self):
        super().__init__()
        self.first = Affine()
        self.blocks = [Affine(), Affine()]
        self.gain = Tensor(2.0, requires_grad=True)
        self.first_again = self.first

    def forward(self, x):
        for layer in [self.first, *self.blocks, self.first_again]:
            x = layer(x)
        return x * self.gain


def names(pairs):
    return [name for name, _ in pairs]


def check_values(what, got, expected, rtol=1e-6, atol=0.0):
    """Assert that the Tensor `got` holds `expected` (shape and values), saying what was expected
    and what came back, as the notebook's test cells do."""
    expected = np.asarray(expected)
    assert isinstance(got, Tensor), f"{what}: expected a Tensor, got {type(got).__name__}"
    assert got.shape == expected.shape, f"{what}: expected shape {expected.shape}, got {got.shape}"
    assert np.allclose(got.data, expected, rtol=rtol, atol=atol), f"{what}: expected\n{expected}\ngot\n{got.data}"


def error_message(error_type, what, fn):
    """The message of the `error_type` that fn() raises (a clear failure if it returns)."""
    with pytest.raises(error_type) as error:
        result = fn()
        pytest.fail(f"expected {error_type.__name__} from {what}, but it returned {result!r}")
    return str(error.value)


def test_public_names_are_lifted_to_the_package():
    assert tinytorch.Linear is Linear and tinytorch.Sequential is Sequential
    assert tinytorch.Module is Module and tinytorch.Dropout is Dropout


# ----- Module: finding parameters and sub-modules -----------------------------------------

def test_own_parameters_come_first_then_sub_modules_depth_first_each_once():
    net = Net()
    assert names(net.named_parameters()) == [
        "gain", "first.scale", "first.shift",
        "blocks.0.scale", "blocks.0.shift", "blocks.1.scale", "blocks.1.shift"]
    assert net.parameters()[0] is net.gain and net.parameters()[1] is net.first.scale


def test_parameters_is_named_parameters_without_names():
    net = Net()
    assert all(p is q for p, (_, q) in zip(net.parameters(), net.named_parameters(), strict=True))


def test_order_is_stable_across_calls_and_instances():
    assert names(Net().named_parameters()) == names(Net().named_parameters())
    net = Net()
    assert [id(p) for p in net.parameters()] == [id(p) for p in net.parameters()]


def test_only_leaf_tensors_that_require_grad_are_parameters():
    layer = Affine()
    layer.cache = layer.scale * 2.0              # computed: not a leaf
    layer.frozen = Tensor([1.0], requires_grad=True)
    layer.frozen.requires_grad = False           # frozen after creation
    assert names(layer.named_parameters()) == ["scale", "shift"]


def test_a_shared_tensor_is_one_parameter_under_its_first_name():
    net = Net()
    net.blocks[1].scale = net.blocks[0].scale
    assert "blocks.1.scale" not in names(net.named_parameters())
    assert len(net.parameters()) == 6
    assert len({id(p) for p in net.parameters()}) == 6


def test_a_shared_module_is_visited_once():
    layer = Linear(3, 3, rng=0)
    model = Sequential(layer, layer, Sequential(layer))
    assert names(model.named_parameters()) == ["0.weight", "0.bias"]
    assert len(model.modules()) == 3  # the model, layer, the inner Sequential
    assert len(model.children()) == 2


def test_named_children_lists_attributes_in_order_including_lists_and_tuples():
    net = Net()
    net.pair = (Affine(), "not a module", Affine())
    assert names(net.named_children()) == ["first", "blocks.0", "blocks.1", "first_again", "pair.0", "pair.2"]
    assert net.children() == [net.first, *net.blocks, net.pair[0], net.pair[2]]


def test_named_modules_is_preorder_with_dotted_names():
    net = Net()
    net.first.inner = [Affine()]
    assert names(net.named_modules()) == ["", "first", "first.inner.0", "blocks.0", "blocks.1"]
    assert net.named_modules()[0][1] is net
    assert "first.inner.0.scale" in names(net.named_parameters())


def test_module_without_parameters():
    assert Module().parameters() == [] and Module().named_modules()[0][0] == ""
    assert Sequential().parameters() == []


def test_call_runs_forward_and_a_module_without_forward_says_so():
    assert np.allclose(Net()(Tensor([1.0, 2.0, 3.0])).data, [2.0, 4.0, 6.0])
    with pytest.raises(NotImplementedError, match="forward"):
        Module()(Tensor([1.0]))


def test_subclass_that_forgets_super_init_still_works():
    class Lazy(Module):
        def __init__(self):
            self.w = Tensor([1.0], requires_grad=True)

    lazy = Lazy()
    assert lazy.training is True and names(lazy.named_parameters()) == ["w"]
    assert lazy.eval().training is False


# ----- Module: modes, gradients, printing -------------------------------------------------

def test_train_and_eval_reach_every_module_and_return_self():
    net = Net()
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    assert net.blocks[1].training is False
    assert net.train() is net and all(m.training for m in net.modules())
    assert net.train(False) is net and not any(m.training for m in net.modules())


def test_eval_on_a_sub_module_switches_only_its_sub_tree():
    net = Net()
    net.blocks[0].eval()
    assert [m.training for m in net.modules()] == [True, True, False, True]


@pytest.mark.parametrize("mode", ["eval", 0, 1, None])
def test_train_mode_must_be_a_bool(mode):
    error_message(TypeError, f"net.train({mode!r})", lambda: Net().train(mode))


def test_zero_grad_sets_every_grad_to_none():
    net = Net()
    for p in net.parameters():
        p.grad = Tensor(np.ones_like(p.data))
    assert net.zero_grad() is None
    assert all(p.grad is None for p in net.parameters())
    assert net.first_again.scale.grad is None


def test_repr_shows_the_tree_like_pytorch():
    model = Sequential(Linear(4, 8, rng=0), Sequential(Dropout(0.25), Linear(8, 2, bias=False, rng=0)))
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Linear(in_features=4, out_features=8, bias=True)\n"
        "  (1): Sequential(\n"
        "    (0): Dropout(p=0.25)\n"
        "    (1): Linear(in_features=8, out_features=2, bias=False)\n"
        "  )\n"
        ")")
    assert repr(Net()).splitlines()[:2] == ["Net(", "  (first): Affine(n=3)"]
    assert repr(Module()) == "Module()"


def test_repr_shows_plain_functions_by_name():
    def relu(t):
        return t * (t > 0)

    assert repr(Sequential(relu)) == "Sequential(\n  (0): relu\n)"


# ----- Linear: parameters and initialization ----------------------------------------------

def test_linear_parameters():
    layer = Linear(4, 3, rng=0)
    assert (layer.in_features, layer.out_features) == (4, 3)
    assert names(layer.named_parameters()) == ["weight", "bias"]
    for p, shape in [(layer.weight, (4, 3)), (layer.bias, (3,))]:
        assert p.shape == shape and p.dtype == np.float32
        assert p.requires_grad is True and p.op is None and p.grad is None


def test_linear_without_bias():
    layer = Linear(4, 3, bias=False, rng=0)
    assert layer.bias is None and names(layer.named_parameters()) == ["weight"]
    np.testing.assert_array_equal(layer.weight.data, Linear(4, 3, rng=0).weight.data)


def test_linear_init_recipe_weight_then_bias():
    generator = np.random.default_rng(42)
    bound = 1 / np.sqrt(6)
    layer = Linear(6, 5, rng=42)
    check_values("Linear(6, 5, rng=42).weight", layer.weight, generator.uniform(-bound, bound, (6, 5)).astype(np.float32), rtol=0)
    check_values("Linear(6, 5, rng=42).bias (drawn after the weight)", layer.bias,
                 generator.uniform(-bound, bound, 5).astype(np.float32), rtol=0)


@pytest.mark.parametrize("in_features", [1, 3, 100, 784])
def test_linear_init_stays_within_one_over_sqrt_in_features(in_features):
    layer = Linear(in_features, 200, rng=in_features)
    bound = 1 / np.sqrt(in_features) * (1 + 1e-6)  # float32 rounding
    for p in layer.parameters():
        assert np.abs(p.data).max() <= bound


def test_linear_init_is_uniform():
    w = Linear(500, 400, rng=0).weight.data.astype(np.float64)
    bound = 1 / np.sqrt(500)
    assert abs(w.mean()) < 0.01 * bound
    assert w.var() == pytest.approx(bound**2 / 3, rel=0.02)
    counts, _ = np.histogram(w, bins=10, range=(-bound, bound))
    assert counts.min() > 0.95 * w.size / 10  # every tenth of the range equally full


def test_linear_init_matches_pytorch_statistics():
    torch = needs_torch()
    torch.manual_seed(0)
    reference = torch.nn.Linear(300, 200)
    ours = Linear(300, 200, rng=0)
    for mine, theirs in [(ours.weight, reference.weight), (ours.bias, reference.bias)]:
        theirs = theirs.detach().numpy()
        assert mine.shape == theirs.T.shape
        assert np.abs(mine.data).max() <= 1 / np.sqrt(300) + 1e-7
        assert np.abs(theirs).max() <= 1 / np.sqrt(300) + 1e-7
    assert ours.weight.data.std() == pytest.approx(reference.weight.detach().numpy().std(), rel=0.02)


def test_same_seed_same_layer_different_seed_different_layer():
    np.testing.assert_array_equal(Linear(5, 4, rng=3).weight.data, Linear(5, 4, rng=3).weight.data)
    np.testing.assert_array_equal(Linear(5, 4, rng=np.int64(3)).bias.data, Linear(5, 4, rng=3).bias.data)
    assert not np.array_equal(Linear(5, 4, rng=3).weight.data, Linear(5, 4, rng=4).weight.data)


def test_a_shared_generator_advances_and_the_sequence_is_reproducible():
    def two_layers(seed):
        g = np.random.default_rng(seed)
        return Linear(5, 4, rng=g), Linear(5, 4, rng=g)

    a1, a2 = two_layers(9)
    b1, b2 = two_layers(9)
    assert not np.array_equal(a1.weight.data, a2.weight.data)
    np.testing.assert_array_equal(a2.weight.data, b2.weight.data)


def test_manual_seed_controls_rng_none():
    manual_seed(123)
    a = Sequential(Linear(5, 4), Linear(4, 2))
    manual_seed(123)
    b = Sequential(Linear(5, 4), Linear(4, 2))
    for (name, p), q in zip(a.named_parameters(), b.parameters(), strict=True):
        assert np.array_equal(p.data, q.data), f"after manual_seed(123) twice, {name} should be the same both times"
    manual_seed(124)
    c = Sequential(Linear(5, 4), Linear(4, 2))
    assert not np.array_equal(a[0].weight.data, c[0].weight.data), (
        "manual_seed(123) and manual_seed(124) should give different layers: rng=None means the default generator, not a fixed seed")


@pytest.mark.parametrize("rng", [1.5, "0", [0], True])
def test_bad_rng_is_a_type_error(rng):
    with pytest.raises(TypeError, match="rng"):
        Linear(2, 2, rng=rng)


@pytest.mark.parametrize("features", [(0, 3), (3, 0), (-1, 3), (2.5, 3), (True, 3), ("4", 3)])
def test_bad_sizes_are_a_value_error(features):
    with pytest.raises(ValueError, match="positive integer"):
        Linear(*features)


def test_float64_layer():
    layer = Linear(3, 2, rng=0, dtype=np.float64)
    assert layer.weight.dtype == np.float64 and layer.bias.dtype == np.float64
    np.testing.assert_allclose(layer.weight.data, Linear(3, 2, rng=0).weight.data, atol=1e-7)
    x = np.random.default_rng(0).standard_normal((4, 3))
    y = layer(Tensor(x, dtype=np.float64))
    assert y.dtype == np.float64
    np.testing.assert_allclose(y.data, x @ layer.weight.data + layer.bias.data, rtol=1e-13)


def test_integer_dtype_is_rejected():
    with pytest.raises(TypeError, match="float"):
        Linear(3, 2, dtype=np.int64)


# ----- Linear: forward ----------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(5, 4), (4,), (1, 4), (2, 3, 4), (2, 1, 3, 4), (0, 4)])
def test_linear_forward_matches_numpy(shape):
    layer = Linear(4, 3, rng=0)
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    y = layer(Tensor(x))
    what = f"Linear(4, 3) on an input of shape {shape}"
    check_values(what, y, x @ layer.weight.data + layer.bias.data, rtol=1e-5, atol=1e-6)
    assert y.dtype == np.float32, f"{what}: expected float32, got {y.dtype}"


def test_linear_forward_accepts_arrays_lists_and_integers():
    layer = Linear(2, 3, rng=0)
    expected = np.array([[1.0, 2.0]]) @ layer.weight.data + layer.bias.data
    for x in (np.array([[1.0, 2.0]]), [[1.0, 2.0]], Tensor([[1, 2]])):
        y = layer(x)
        assert isinstance(y, Tensor) and y.dtype == np.float32
        np.testing.assert_allclose(y.data, expected, rtol=1e-6)


def test_float64_input_to_float32_layer_follows_tensor_rules():
    y = Linear(2, 2, rng=0)(Tensor([[1.0, 2.0]], dtype=np.float64))
    assert y.dtype == np.float64  # numpy promotes, and wrap_result keeps explicit float64


def test_linear_forward_is_built_from_tensor_operations():
    layer = Linear(4, 3, rng=0)
    x = Tensor(np.ones((2, 4)))
    y = layer(x)
    assert y.requires_grad and y.op == "add"
    product, bias = y.inputs
    assert bias is layer.bias and product.op == "matmul"
    assert product.inputs[0] is x and product.inputs[1] is layer.weight
    assert Linear(4, 3, bias=False, rng=0)(x).op == "matmul"


def test_linear_without_bias_forward():
    layer = Linear(4, 3, bias=False, rng=0)
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    np.testing.assert_allclose(layer(Tensor(x)).data, x @ layer.weight.data, rtol=1e-5, atol=1e-6)


def test_wrong_input_size_names_both_numbers_and_the_shape():
    message = error_message(ValueError, "Linear(7, 2) on an input of shape (3, 9)", lambda: Linear(7, 2, rng=0)(Tensor(np.ones((3, 9)))))
    assert "7" in message and "9" in message and "(3, 9)" in message, (
        f"the ValueError should name in_features 7, the last dimension 9 and the shape (3, 9); its message was: {message!r}")


def test_zero_dimensional_input_is_a_value_error():
    message = error_message(ValueError, "Linear(3, 2) on a 0-d input", lambda: Linear(3, 2, rng=0)(Tensor(1.0)))
    assert "3" in message and "()" in message, (
        f"the ValueError should name in_features 3 and the input's shape (); its message was: {message!r}")


def test_linear_matches_torch_functional_linear():
    torch = needs_torch()
    layer = Linear(6, 4, rng=0)
    x = np.random.default_rng(2).standard_normal((3, 5, 6)).astype(np.float32)
    # PyTorch stores the weight as (out_features, in_features): ours transposed.
    expected = torch.nn.functional.linear(torch.from_numpy(x), torch.from_numpy(layer.weight.data.T.copy()),
                                          torch.from_numpy(layer.bias.data))
    np.testing.assert_allclose(layer(Tensor(x)).data, expected.numpy(), rtol=1e-5, atol=1e-6)


def test_parameter_names_and_shapes_match_torch_sequential():
    torch = needs_torch()
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    ours = Sequential(Linear(4, 8, rng=0), lambda t: t * (t > 0), Linear(8, 2, rng=1))
    assert names(ours.named_parameters()) == [name for name, _ in theirs.named_parameters()]
    for (_, mine), (_, reference) in zip(ours.named_parameters(), theirs.named_parameters(), strict=True):
        assert mine.shape == tuple(reference.T.shape if reference.ndim == 2 else reference.shape)


def test_same_weights_same_outputs_as_torch_mlp():
    torch = needs_torch()
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    ours = Sequential(Linear(4, 8, rng=0), Linear(8, 2, rng=0))
    for mine, (_, reference) in zip(ours.parameters(), theirs.named_parameters(), strict=True):
        mine.data[...] = reference.detach().numpy().T  # copy PyTorch's weights, transposed
    x = np.random.default_rng(3).standard_normal((6, 4)).astype(np.float32)
    hidden = ours[0](Tensor(x))
    ours_out = ours[1](Tensor(np.tanh(hidden.data)))
    np.testing.assert_allclose(ours_out.data, theirs(torch.from_numpy(x)).detach().numpy(), rtol=1e-5, atol=1e-6)


# ----- Sequential ---------------------------------------------------------------------------

def test_sequential_applies_layers_in_order():
    first, second = Linear(4, 8, rng=0), Linear(8, 2, rng=1)
    x = Tensor(np.random.default_rng(0).standard_normal((5, 4)))
    check_values("Sequential(first, second)(x), which should be second(first(x))", Sequential(first, second)(x),
                 second(first(x)).data)
    check_values("Sequential(first, double, second)(x)", Sequential(first, lambda t: t * 2.0, second)(x),
                 second(first(x) * 2.0).data)


def test_sequential_is_a_sequence():
    layers = [Linear(2, 2, rng=i) for i in range(4)]
    model = Sequential(*layers)
    assert len(model) == 4 and list(model) == layers
    assert model[0] is layers[0] and model[-1] is layers[-1]
    tail = model[1:3]
    assert isinstance(tail, Sequential) and list(tail) == layers[1:3]
    assert names(tail.named_parameters())[:2] == ["0.weight", "0.bias"]
    assert tail[0].weight is layers[1].weight  # same objects, not copies


def test_sequential_names_skip_functions_but_keep_positions():
    model = Sequential(Linear(2, 3, rng=0), lambda t: t, Linear(3, 1, rng=0))
    assert names(model.named_parameters()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert names(model.named_children()) == ["0", "2"]


def test_nested_sequential_names_and_modes():
    inner = Sequential(Linear(2, 3, rng=0), Dropout(0.5))
    model = Sequential(inner, Linear(3, 1, rng=0))
    assert names(model.named_parameters()) == ["0.0.weight", "0.0.bias", "1.weight", "1.bias"]
    model.eval()
    assert not inner[1].training and not inner.training
    model.train()
    assert inner[1].training


def test_empty_sequential_is_the_identity():
    x = Tensor([1.0])
    assert Sequential()(x) is x and len(Sequential()) == 0


@pytest.mark.parametrize("make, position", [(lambda: (Linear(2, 2, rng=0), 3), "1"), (lambda: (Linear,), "0"),
                                            (lambda: ([Linear(2, 2, rng=0)],), "0"), (lambda: (None,), "0")])
def test_sequential_rejects_what_is_not_a_layer(make, position):
    bad = make()  # built in the test: a stub Linear fails this test, not the file's loading
    message = error_message(TypeError, f"Sequential{tuple(bad)!r}", lambda: Sequential(*bad))
    assert position in message, f"the TypeError should give the position {position} of the bad argument; its message was: {message!r}"


# ----- Dropout ------------------------------------------------------------------------------

@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_zeroes_a_fraction_p_and_scales_the_rest(p):
    x = Tensor(np.ones((400, 500)))
    y = Dropout(p, rng=0)(x)
    zeroed = (y.data == 0).mean()
    assert zeroed == pytest.approx(p, abs=0.005), f"Dropout(p={p}) should zero about {p:.0%} of the elements, zeroed {zeroed:.2%}"
    kept = y.data[y.data != 0]
    assert np.allclose(kept, 1 / (1 - p), rtol=1e-6), (
        f"the kept elements should be scaled by 1/(1 - {p}) = {1 / (1 - p):.4f}, got values from {kept.min()} to {kept.max()}")


def test_dropout_preserves_the_expectation():
    x = np.random.default_rng(0).uniform(1, 3, size=(1000, 400)).astype(np.float32)
    y = Dropout(0.4, rng=1)(Tensor(x)).data
    assert y.mean() == pytest.approx(x.mean(), rel=0.01)
    assert y.mean(axis=0) == pytest.approx(x.mean(axis=0), rel=0.15)  # per column too


def test_dropout_masks_elements_independently():
    dropped = Dropout(0.5, rng=2)(Tensor(np.ones((300, 300)))).data == 0
    for axis in (0, 1):
        fractions = dropped.mean(axis=axis)
        assert fractions.min() > 0.35 and fractions.max() < 0.65
    assert abs(np.corrcoef(dropped[:, :-1].ravel(), dropped[:, 1:].ravel())[0, 1]) < 0.02


def test_dropout_in_eval_mode_and_with_p_zero_is_the_identity():
    x = Tensor(np.random.default_rng(0).standard_normal((4, 5)))
    drop = Dropout(0.5, rng=0)
    assert drop.eval() is drop and drop(x) is x
    assert Dropout(0.0, rng=0)(x) is x


def test_dropout_is_a_multiply_by_a_mask_array():
    x = Tensor(np.ones((3, 4)), requires_grad=True)
    y = Dropout(0.5, rng=0)(x)
    assert y.op == "multiply" and y.inputs[0] is x
    mask = y.inputs[1]
    assert isinstance(mask, np.ndarray) and mask.shape == (3, 4)
    np.testing.assert_array_equal(y.data, mask)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dropout_keeps_the_dtype(dtype):
    y = Dropout(0.5, rng=0)(Tensor(np.ones((10, 10)), dtype=dtype))
    assert y.dtype == dtype


def test_dropout_seeds():
    x = Tensor(np.ones((50, 50)))
    np.testing.assert_array_equal(Dropout(0.5, rng=5)(x).data, Dropout(0.5, rng=5)(x).data)
    drop = Dropout(0.5, rng=5)
    first, second = drop(x).data, drop(x).data
    assert not np.array_equal(first, second)
    replay = Dropout(0.5, rng=5)
    np.testing.assert_array_equal(replay(x).data, first)
    np.testing.assert_array_equal(replay(x).data, second)


def test_dropout_with_rng_none_follows_manual_seed_at_call_time():
    x = Tensor(np.ones((50, 50)))
    drop = Dropout(0.5)  # made before seeding: the mask is drawn when it is called
    manual_seed(8)
    a = drop(x).data
    manual_seed(8)
    b = drop(x).data
    assert np.array_equal(a, b), "a Dropout(0.5) made before manual_seed(8) should draw the same mask after each manual_seed(8)"
    manual_seed(9)
    c = drop(x).data
    assert not np.array_equal(a, c), (
        "manual_seed(8) and manual_seed(9) should give different masks: rng=None means the default generator, not a fixed seed")


@pytest.mark.parametrize("p", [1.5, 1.0000001, -0.1, float("nan"), "0.5", None, True])
def test_dropout_probability_must_be_in_zero_one(p):
    message = error_message(ValueError, f"Dropout(p={p!r})", lambda: Dropout(p))
    assert str(p) in message or repr(p) in message, f"the ValueError should show the bad value {p!r}; its message was: {message!r}"


@pytest.mark.parametrize("p", [1.0, 1, np.float64(1.0)])
def test_dropout_one_zeroes_everything_in_training_and_is_the_identity_in_eval(p):
    x = Tensor(np.random.default_rng(0).standard_normal((4, 5)))
    drop = Dropout(p, rng=0)
    y = drop(x)
    assert y.dtype == np.float32 and y.shape == (4, 5)
    np.testing.assert_array_equal(y.data, np.zeros((4, 5)))
    assert drop.eval()(x) is x


def test_dropout_extremes_match_torch():
    torch = needs_torch()
    x = np.random.default_rng(1).standard_normal((3, 4)).astype(np.float32)
    for p in (0.0, 1.0):
        expected = torch.nn.Dropout(p)(torch.from_numpy(x)).numpy()
        np.testing.assert_array_equal(Dropout(p, rng=0)(Tensor(x)).data, expected)
    for p in (-0.1, 1.5):
        with pytest.raises(ValueError):
            torch.nn.Dropout(p)
        with pytest.raises(ValueError):
            Dropout(p)


def test_dropout_one_passes_zero_gradients():
    needs_autograd()
    x = Tensor(np.ones((2, 3)), dtype=np.float64, requires_grad=True)
    out = Dropout(1.0, rng=0)(x)
    assert out.op == "multiply"
    out.backward(np.ones((2, 3)))
    np.testing.assert_array_equal(x.grad.data, np.zeros((2, 3)))


def test_dropout_has_no_parameters_and_a_repr():
    assert Dropout(0.3).parameters() == [] and repr(Dropout(0.3)) == "Dropout(p=0.3)"


# ----- gradients (once Module 05 is exported) ------------------------------------------------

@pytest.mark.parametrize("shape", [(5, 4), (4,), (2, 5, 4)])
def test_linear_parameters_receive_gradients(shape):
    needs_autograd()
    layer = Linear(4, 3, rng=0, dtype=np.float64)
    x = np.random.default_rng(0).standard_normal(shape)
    upstream = np.random.default_rng(1).standard_normal(shape[:-1] + (3,))
    loss = (layer(Tensor(x, dtype=np.float64)) * Tensor(upstream, dtype=np.float64)).sum()
    loss.backward()
    rows, grads = x.reshape(-1, 4), upstream.reshape(-1, 3)  # every leading axis is a batch axis
    np.testing.assert_allclose(layer.weight.grad.data, rows.T @ grads, rtol=1e-10)
    np.testing.assert_allclose(layer.bias.grad.data, grads.sum(axis=0), rtol=1e-10)
    assert layer.weight.grad.shape == layer.weight.shape and layer.bias.grad.shape == layer.bias.shape
    layer.zero_grad()
    assert layer.weight.grad is None and layer.bias.grad is None


def test_zero_grad_stops_gradients_accumulating():
    needs_autograd()
    layer = Linear(2, 1, rng=0)
    x = Tensor([[1.0, 2.0]])
    layer(x).sum().backward()
    once = layer.weight.grad.data.copy()
    layer(x).sum().backward()
    np.testing.assert_allclose(layer.weight.grad.data, 2 * once)  # backward accumulates
    layer.zero_grad()
    layer(x).sum().backward()
    np.testing.assert_allclose(layer.weight.grad.data, once)


def test_gradients_flow_through_sequential_and_dropout():
    needs_autograd()
    model = Sequential(Linear(3, 4, rng=0), Dropout(0.5, rng=0), Linear(4, 1, rng=1))
    out = model(Tensor(np.ones((2, 3))))
    dropped = out.inputs[0].inputs[0]        # (hidden * mask), from (dropped @ W2) + b2
    mask = dropped.inputs[1]
    out.sum().backward()
    ones = np.ones((2, 1), dtype=np.float32)
    np.testing.assert_allclose(model[2].weight.grad.data, dropped.data.T @ ones, rtol=1e-5)
    np.testing.assert_allclose(model[0].bias.grad.data, ((ones @ model[2].weight.data.T) * mask).sum(axis=0),
                               rtol=1e-5)
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


# ----- layers against central finite differences (float64) and PyTorch ------------------------
def mlp64(rng=0):
    from tinytorch.core.activations import Tanh

    return Sequential(Linear(4, 5, rng=rng, dtype=np.float64), Tanh(),
                      Linear(5, 3, rng=rng + 1, dtype=np.float64))


def as_function(model):
    """f(x, *params) = model(x) computed with the given tensors in place of its parameters, so
    grad_check can perturb copies of the parameters as well as the input."""
    params = model.parameters()

    def f(x, *values):
        saved = [p.data for p in params]
        try:
            for p, value in zip(params, values):
                p.data = value.data
            return model(x)
        finally:
            for p, data in zip(params, saved):
                p.data = data

    return f, params


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(2, 4), (4,), (2, 3, 4)])
def test_linear_gradients_match_finite_differences(shape, bias):
    needs_autograd()
    from tinytorch.core.autograd import grad_check

    f, params = as_function(Linear(4, 3, bias=bias, rng=0, dtype=np.float64))
    x = Tensor(np.random.default_rng(1).standard_normal(shape), dtype=np.float64, requires_grad=True)
    grad_check(f, x, *params, what=f"Linear(4, 3, bias={bias}) on {shape}")


def test_mlp_gradients_match_finite_differences():
    needs_autograd()
    from tinytorch.core.autograd import grad_check

    f, params = as_function(mlp64())
    x = Tensor(np.random.default_rng(2).standard_normal((3, 4)), dtype=np.float64, requires_grad=True)
    grad_check(f, x, *params, what="Linear-Tanh-Linear")


def test_dropout_gradient_is_its_mask_scaled():
    needs_autograd()
    from tinytorch.core.autograd import grad_check

    x = Tensor(np.random.default_rng(4).standard_normal((4, 6)), dtype=np.float64, requires_grad=True)
    # A fresh layer with the same seed draws the same mask, so this is a fixed function of x.
    grad_check(lambda t: Dropout(0.25, rng=3)(t), x, what="Dropout(0.25) with a fixed mask")
    x.grad = None
    out = Dropout(0.25, rng=3)(x)
    out.backward(np.ones(out.shape))
    kept = out.data != 0
    assert 0 < kept.mean() < 1
    np.testing.assert_allclose(x.grad.data, kept / 0.75)


def test_mlp_values_and_gradients_match_torch():
    needs_autograd()
    torch = needs_torch()
    model = mlp64()
    x = np.random.default_rng(5).standard_normal((3, 4))
    reference = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.Tanh(), torch.nn.Linear(5, 3)).double()
    with torch.no_grad():  # same numbers; PyTorch stores each weight transposed
        for ours, theirs in zip(model.parameters(), reference.parameters()):
            theirs.copy_(torch.from_numpy(ours.data.T.copy() if ours.ndim == 2 else ours.data))
    out = model(Tensor(x, dtype=np.float64))
    (out * out).sum().backward()
    expected = reference(torch.from_numpy(x))
    (expected * expected).sum().backward()
    np.testing.assert_allclose(out.data, expected.detach().numpy(), atol=1e-6)
    for ours, theirs in zip(model.parameters(), reference.parameters()):
        grad = theirs.grad.numpy()
        np.testing.assert_allclose(ours.grad.data, grad.T if ours.ndim == 2 else grad, atol=1e-6)


# ----- state_dict and load_state_dict (given code) -------------------------------------------

class Blocks(Module):
    """A parameter of its own, a Sequential and a list of layers: PyTorch would hold the list in
    an nn.ModuleList, whose names are the same ("blocks.0.weight")."""

    def __init__(self, rng=0, dtype=np.float32):
        super().__init__()
        self.gain = Tensor(np.ones(2), dtype=dtype, requires_grad=True)
        self.body = Sequential(Linear(3, 4, rng=rng, dtype=dtype), lambda t: t * 2.0,
                               Sequential(Linear(4, 2, rng=rng + 1, dtype=dtype)))
        self.blocks = [Linear(2, 2, rng=rng + 2, dtype=dtype), Linear(2, 2, bias=False, rng=rng + 3, dtype=dtype)]

    def forward(self, x):
        x = self.body(x) * self.gain
        for layer in self.blocks:
            x = layer(x)
        return x


def test_state_dict_names_shapes_and_order_are_those_of_named_parameters():
    model = Blocks()
    state = model.state_dict()
    assert isinstance(state, dict)
    assert list(state) == names(model.named_parameters()) == [
        "gain", "body.0.weight", "body.0.bias", "body.2.0.weight", "body.2.0.bias",
        "blocks.0.weight", "blocks.0.bias", "blocks.1.weight"]
    for name, p in model.named_parameters():
        assert isinstance(state[name], np.ndarray) and state[name].dtype == p.dtype
        np.testing.assert_array_equal(state[name], p.data)


def test_state_dict_keys_match_torch():
    torch = needs_torch()
    nn = torch.nn

    class TorchBlocks(nn.Module):
        def __init__(self):
            super().__init__()
            self.gain = nn.Parameter(torch.ones(2))
            self.body = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Sequential(nn.Linear(4, 2)))
            self.blocks = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2, bias=False)])

    theirs = TorchBlocks().state_dict()
    ours = Blocks().state_dict()
    assert list(ours) == list(theirs)
    for name, value in theirs.items():  # PyTorch stores a Linear weight transposed
        assert ours[name].shape == tuple(value.T.shape if value.ndim == 2 else value.shape), name


def test_state_dict_holds_copies():
    model = Sequential(Linear(3, 2, rng=0))
    state = model.state_dict()
    before = state["0.weight"].copy()
    model[0].weight.data += 1.0  # what an optimizer step does
    np.testing.assert_array_equal(state["0.weight"], before)
    state["0.bias"][...] = 7.0
    assert not np.any(model[0].bias.data == 7.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_checkpoint_round_trip_through_np_savez_and_np_load(tmp_path, dtype):
    model = Blocks(rng=0, dtype=dtype)
    path = tmp_path / "model.npz"
    np.savez(path, **model.state_dict())
    fresh = Blocks(rng=10, dtype=dtype)
    x = Tensor(np.random.default_rng(0).standard_normal((5, 3)), dtype=dtype)
    assert not np.allclose(fresh(x).data, model(x).data)
    with np.load(path, allow_pickle=False) as checkpoint:
        result = fresh.load_state_dict(checkpoint)
    assert result.missing_keys == [] and result.unexpected_keys == []
    np.testing.assert_array_equal(fresh(x).data, model(x).data)
    for (name, mine), (_, theirs) in zip(fresh.named_parameters(), model.named_parameters(), strict=True):
        assert mine.dtype == dtype and mine.requires_grad and mine.op is None, name
        np.testing.assert_array_equal(mine.data, theirs.data)


def test_load_state_dict_copies_into_the_same_parameter_tensors_in_their_dtype():
    model = Sequential(Linear(3, 2, rng=0))
    weight = model[0].weight
    values = {"0.weight": Tensor(np.full((3, 2), 0.5), dtype=np.float64), "0.bias": np.array([1, 2])}
    model.load_state_dict(values)
    assert model[0].weight is weight, "the parameters stay the same Tensors (an optimizer holds them)"
    assert weight.dtype == np.float32 and model[0].bias.dtype == np.float32
    np.testing.assert_array_equal(weight.data, np.full((3, 2), 0.5))
    np.testing.assert_array_equal(model[0].bias.data, [1.0, 2.0])
    values["0.bias"][0] = 9  # later changes to the source do not reach the model
    assert model[0].bias.data[0] == 1.0


def test_load_state_dict_strict_refuses_missing_and_unexpected_keys_and_changes_nothing():
    model = Sequential(Linear(3, 2, rng=0), Linear(2, 1, rng=1))
    before = model.state_dict()
    state = Sequential(Linear(3, 2, rng=5), Linear(2, 1, rng=6)).state_dict()
    del state["1.bias"]
    state["2.weight"] = np.zeros((1, 1))
    with pytest.raises(RuntimeError, match="Missing key") as error:
        model.load_state_dict(state)
    message = str(error.value)
    assert '"1.bias"' in message and "Unexpected key" in message and '"2.weight"' in message, message
    assert "Sequential" in message, message
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name], err_msg=f"{name} changed by a failed load")


def test_load_state_dict_refuses_other_shapes_even_when_not_strict():
    model = Sequential(Linear(3, 2, rng=0))
    state = model.state_dict()
    state["0.weight"] = np.zeros((2, 3))  # PyTorch's layout
    for strict in (True, False):
        with pytest.raises(RuntimeError, match="size mismatch") as error:
            model.load_state_dict(state, strict=strict)
        assert "0.weight" in str(error.value) and "(2, 3)" in str(error.value) and "(3, 2)" in str(error.value)


def test_load_state_dict_not_strict_returns_what_did_not_match_as_torch_does():
    torch = needs_torch()
    ours = Sequential(Linear(3, 2, rng=0), Linear(2, 1, rng=1))
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Linear(2, 1))
    our_state = Sequential(Linear(3, 2, rng=5), Linear(2, 1, rng=6)).state_dict()
    their_state = dict(theirs.state_dict())
    for state in (our_state, their_state):
        del state["1.bias"]
        state["extra.weight"] = state["0.bias"]
    result = ours.load_state_dict(our_state, strict=False)
    expected = theirs.load_state_dict(their_state, strict=False)
    assert (result.missing_keys, result.unexpected_keys) == (expected.missing_keys, expected.unexpected_keys)
    assert result == (["1.bias"], ["extra.weight"])
    np.testing.assert_array_equal(ours[1].weight.data, our_state["1.weight"])
    assert repr(ours.load_state_dict(ours.state_dict())) == "<All keys matched successfully>"


def test_load_state_dict_needs_a_dict_of_arrays():
    model = Sequential(Linear(3, 2, rng=0))
    with pytest.raises(TypeError, match="dict-like"):
        model.load_state_dict([np.zeros((3, 2)), np.zeros(2)])
    state = model.state_dict()
    state["0.bias"] = "zeros"
    with pytest.raises(RuntimeError, match="0.bias"):
        model.load_state_dict(state)


def test_state_dict_of_modules_without_parameters():
    assert Dropout(0.5).state_dict() == {} and Sequential().state_dict() == {}
    assert Dropout(0.5).load_state_dict({}) == ([], [])


def test_load_state_dict_result_shows_what_did_not_match():
    model = Sequential(Linear(3, 2, rng=0))
    state = model.state_dict()
    only_missing = model.load_state_dict({"0.weight": state["0.weight"]}, strict=False)
    assert repr(only_missing) == "_IncompatibleKeys(missing_keys=['0.bias'], unexpected_keys=[])"
    only_unexpected = model.load_state_dict({**state, "x": np.ones(1)}, strict=False)
    assert repr(only_unexpected) == "_IncompatibleKeys(missing_keys=[], unexpected_keys=['x'])"


def test_dropout_defaults_and_non_tensor_inputs():
    assert Dropout().p == 0.5  # PyTorch's default
    for drop in (Dropout(0.5, rng=0), Dropout(0.5, rng=0).eval()):
        y = drop(np.ones((2, 3)))
        assert isinstance(y, Tensor) and y.shape == (2, 3) and y.dtype == np.float32

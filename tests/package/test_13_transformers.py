"""Specification of tinytorch.core.transformer (Module 13), tested on the exported package.

numpy formulas are the reference for values; central finite differences (grad_check, in float64)
for gradients; counting draws for sampling; PyTorch, when it is installed, for LayerNorm.
"""
import numpy as np
import pytest

from tinytorch.core.activations import GELU
from tinytorch.core.attention import MultiHeadAttention
from tinytorch.core.autograd import grad_check, no_grad
from tinytorch.core.embeddings import Embedding, LearnedPositionalEmbedding
from tinytorch.core.layers import Dropout, Linear, Module
from tinytorch.core.losses import CrossEntropyLoss
from tinytorch.core.optimizers import Adam
from tinytorch.core.tensor import Tensor
from tinytorch.core.transformer import (GPT, MLP, LayerNorm, TransformerBlock, generate_tokens,
                                        gpt_parameter_count, sample_next_token)


def needs_torch():
    return pytest.importorskip("torch", reason="PyTorch is optional: install torch==2.13.0 to cross-check")


def f64(array, requires_grad=True):
    return Tensor(array, dtype=np.float64, requires_grad=requires_grad)


def as_float64(model):
    for p in model.parameters():
        p.data = p.data.astype(np.float64)
    return model


def reference_norm(x, k, weight=None, bias=None, eps=1e-5):
    axes = tuple(range(x.ndim - k, x.ndim))
    y = (x - x.mean(axis=axes, keepdims=True)) / np.sqrt(x.var(axis=axes, keepdims=True) + eps)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# ----- LayerNorm -----------------------------------------------------------------------------------
@pytest.mark.parametrize("shape, normalized", [((4, 7), 7), ((2, 3, 5), (5,)), ((2, 3, 5), (3, 5)),
                                               ((6,), 6), ((2, 1, 2, 3), [2, 3])])
def test_layernorm_matches_the_formula(shape, normalized):
    rng = np.random.default_rng(1)
    layer = LayerNorm(normalized, dtype=np.float64)
    k = 1 if isinstance(normalized, int) else len(normalized)
    layer.weight.data = rng.standard_normal(layer.weight.shape)
    layer.bias.data = rng.standard_normal(layer.bias.shape)
    x = rng.standard_normal(shape) * 4 - 2
    got = layer(f64(x, requires_grad=False))
    assert got.shape == x.shape
    np.testing.assert_allclose(got.data, reference_norm(x, k, layer.weight.data, layer.bias.data), atol=1e-10)


def test_layernorm_parameters_and_defaults():
    layer = LayerNorm(5)
    assert layer.normalized_shape == (5,) and layer.eps == 1e-5 and layer.elementwise_affine
    assert layer.weight.dtype == np.float32 and layer.bias.dtype == np.float32
    assert np.array_equal(layer.weight.data, np.ones(5)) and np.array_equal(layer.bias.data, np.zeros(5))
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    assert LayerNorm((2, 3)).weight.shape == (2, 3)
    plain = LayerNorm(5, elementwise_affine=False)
    assert plain.weight is None and plain.bias is None and plain.parameters() == []
    shifted_only = LayerNorm(5, bias=False)
    assert shifted_only.bias is None and [n for n, _ in shifted_only.named_parameters()] == ["weight"]
    assert repr(LayerNorm(8)) == "LayerNorm((8,), eps=1e-05, elementwise_affine=True, bias=True)"
    assert LayerNorm(4, eps=1e-3, elementwise_affine=False).extra_repr() == "(4,), eps=0.001, elementwise_affine=False, bias=False"
    assert LayerNorm((2, 3), bias=False).extra_repr() == "(2, 3), eps=1e-05, elementwise_affine=True, bias=False"


def test_layernorm_without_affine_and_without_bias():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 4)) * 10
    np.testing.assert_allclose(LayerNorm(4, elementwise_affine=False, dtype=np.float64)(f64(x, False)).data,
                               reference_norm(x, 1), atol=1e-10)
    layer = LayerNorm(4, bias=False, dtype=np.float64)
    layer.weight.data = np.array([2.0, -1.0, 0.5, 3.0])
    np.testing.assert_allclose(layer(f64(x, False)).data, reference_norm(x, 1, layer.weight.data), atol=1e-10)


def test_layernorm_eps_sits_inside_the_square_root():
    x = np.array([[1.0, 1.001, 0.999, 1.0005], [0.0, 0.0, 0.0, 0.0]])
    layer = LayerNorm(4, eps=1e-4, elementwise_affine=False, dtype=np.float64)
    np.testing.assert_allclose(layer(f64(x, False)).data, reference_norm(x, 1, eps=1e-4), atol=1e-10)


def test_layernorm_dtypes_and_inputs():
    assert LayerNorm(3)(Tensor(np.ones((2, 3)), dtype=np.float32)).dtype == np.float32
    assert LayerNorm(3, dtype=np.float64)(f64(np.ones((2, 3)), False)).dtype == np.float64
    got = LayerNorm(3)(np.array([[1.0, 2.0, 3.0]], dtype=np.float32))  # a numpy input
    assert isinstance(got, Tensor) and np.allclose(got.data, reference_norm(np.array([[1.0, 2.0, 3.0]]), 1), atol=1e-5)


def test_layernorm_refuses_the_wrong_last_dimensions():
    with pytest.raises(ValueError, match="normalized_shape"):
        LayerNorm(4)(Tensor(np.zeros((2, 5))))
    with pytest.raises(ValueError, match="normalized_shape"):
        LayerNorm((5, 4))(Tensor(np.zeros((2, 4, 5))))
    with pytest.raises(ValueError, match="normalized_shape"):
        LayerNorm((2, 4))(Tensor(np.zeros(4)))
    assert LayerNorm(4)(Tensor(np.arange(4.0))).shape == (4,)  # one vector of the right size


def test_layernorm_gradients():
    rng = np.random.default_rng(3)
    layer = LayerNorm((2, 3), dtype=np.float64)

    def run(x, w, b):
        layer.weight, layer.bias = w, b
        return layer(x)

    grad_check(run, f64(rng.standard_normal((4, 2, 3))), f64(rng.standard_normal((2, 3))),
               f64(rng.standard_normal((2, 3))), what="LayerNorm((2, 3))")
    grad_check(lambda x: LayerNorm(5, elementwise_affine=False, dtype=np.float64)(x),
               f64(rng.standard_normal((3, 5)) * 0.01), what="LayerNorm(5) on small values")


def test_layernorm_against_torch():
    torch = needs_torch()
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 6))
    weight, bias = rng.standard_normal(6), rng.standard_normal(6)
    ours = LayerNorm(6, dtype=np.float64)
    ours.weight.data, ours.bias.data = weight.copy(), bias.copy()
    theirs = torch.nn.LayerNorm(6, dtype=torch.float64)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(weight))
        theirs.bias.copy_(torch.tensor(bias))
    xo, xt = f64(x), torch.tensor(x, requires_grad=True)
    upstream = rng.standard_normal(x.shape)
    out_o, out_t = ours(xo), theirs(xt)
    out_o.backward(upstream)
    out_t.backward(torch.tensor(upstream))
    np.testing.assert_allclose(out_o.data, out_t.detach().numpy(), atol=1e-10)
    np.testing.assert_allclose(xo.grad.data, xt.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(ours.weight.grad.data, theirs.weight.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(ours.bias.grad.data, theirs.bias.grad.numpy(), atol=1e-10)


# ----- MLP -----------------------------------------------------------------------------------------
def gelu(z):
    return 0.5 * z * (1 + np.tanh(np.sqrt(2 / np.pi) * (z + 0.044715 * z ** 3)))


def test_mlp_layers_and_values():
    mlp = MLP(6, rng=0)
    assert (mlp.embed_dim, mlp.hidden_dim) == (6, 24)
    assert [(n, p.shape) for n, p in mlp.named_parameters()] == [
        ("fc1.weight", (6, 24)), ("fc1.bias", (24,)), ("fc2.weight", (24, 6)), ("fc2.bias", (6,))]
    assert isinstance(mlp.act, GELU) and isinstance(mlp.dropout, Dropout) and mlp.dropout.p == 0.0
    assert MLP(6, hidden_dim=10, dropout=0.1, rng=0).fc2.weight.shape == (10, 6)
    as_float64(mlp)
    x = np.random.default_rng(5).standard_normal((3, 2, 6))
    w1, b1, w2, b2 = (p.data for p in mlp.parameters())
    np.testing.assert_allclose(mlp(f64(x, False)).data, gelu(x @ w1 + b1) @ w2 + b2, atol=1e-10)


def test_mlp_seeds_and_gradients():
    assert np.array_equal(MLP(4, rng=7).fc1.weight.data, MLP(4, rng=7).fc1.weight.data)
    assert not np.array_equal(MLP(4, rng=7).fc2.weight.data, MLP(4, rng=8).fc2.weight.data)
    mlp = as_float64(MLP(3, hidden_dim=5, rng=1))
    grad_check(lambda x: mlp(x), f64(np.random.default_rng(6).standard_normal((2, 3))), what="MLP(3, 5)")


def test_mlp_dropout_in_training_only():
    mlp = MLP(4, dropout=0.5, rng=0)
    x = Tensor(np.ones((50, 4)))
    assert np.any(mlp(x).data == 0)  # dropout zeroes some outputs in training
    mlp.eval()
    assert not mlp.dropout.training


def test_mlp_refuses_bad_sizes():
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError):
            MLP(bad)
    with pytest.raises(ValueError):
        MLP(4, hidden_dim=0)


# ----- TransformerBlock ----------------------------------------------------------------------------
def randomized_norms(block, rng):
    for p in (block.ln1.weight, block.ln1.bias, block.ln2.weight, block.ln2.bias):
        p.data = rng.standard_normal(p.shape)


def test_block_structure():
    block = TransformerBlock(12, 3, rng=0)
    assert isinstance(block.ln1, LayerNorm) and isinstance(block.ln2, LayerNorm)
    assert isinstance(block.attn, MultiHeadAttention) and isinstance(block.mlp, MLP)
    assert isinstance(block.dropout, Dropout)
    assert block.mlp.hidden_dim == 48 and TransformerBlock(12, 3, mlp_ratio=1.5, rng=0).mlp.hidden_dim == 18
    names = [name.split(".")[0] for name, _ in block.named_parameters()]
    assert list(dict.fromkeys(names)) == ["ln1", "attn", "ln2", "mlp"]
    assert sum(p.size for p in block.parameters()) == 12 * 12 * 12 + 13 * 12
    with pytest.raises(ValueError, match="divisible"):
        TransformerBlock(10, 3)


def test_block_is_two_pre_norm_residual_steps():
    rng = np.random.default_rng(seed=7)
    block = as_float64(TransformerBlock(8, 4, rng=1))
    randomized_norms(block, rng)
    x = f64(rng.standard_normal((3, 6, 8)), False)
    first = x + block.attn(block.ln1(x), is_causal=True)
    second = first + block.mlp(block.ln2(first))
    np.testing.assert_allclose(block(x).data, second.data, atol=1e-10)
    np.testing.assert_allclose(block(x.data).data, second.data, atol=1e-5)  # a numpy input (float32)


def test_block_is_causal():
    rng = np.random.default_rng(seed=8)
    block = TransformerBlock(8, 2, rng=2)
    x = rng.standard_normal((2, 7, 8))
    base = block(Tensor(x)).data
    for t in range(7):
        changed = x.copy()
        changed[:, t:] = rng.standard_normal(changed[:, t:].shape)
        got = block(Tensor(changed)).data
        np.testing.assert_allclose(got[:, :t], base[:, :t], atol=1e-5)
        assert not np.allclose(got[:, t], base[:, t])


def test_block_gradients():
    rng = np.random.default_rng(seed=9)
    block = as_float64(TransformerBlock(6, 2, mlp_ratio=2, rng=3))
    randomized_norms(block, rng)
    grad_check(lambda x: block(x), f64(rng.standard_normal((2, 3, 6))), what="TransformerBlock(6, 2)")
    x = f64(rng.standard_normal((1, 3, 6)), False)

    def run(w):
        block.mlp.fc1.weight = w
        return block(x)

    grad_check(run, f64(block.mlp.fc1.weight.data.copy()), what="TransformerBlock's mlp.fc1.weight")


# ----- GPT -----------------------------------------------------------------------------------------
def test_gpt_structure_and_attributes():
    model = GPT(13, 9, 8, 2, 3, dropout=0.1, rng=0)
    assert (model.vocab_size, model.context_length, model.embed_dim, model.num_heads, model.num_layers) == (13, 9, 8, 2, 3)
    assert isinstance(model.token_embedding, Embedding) and model.token_embedding.weight.shape == (13, 8)
    assert isinstance(model.position_embedding, LearnedPositionalEmbedding)
    assert model.position_embedding.weight.shape == (9, 8)
    assert isinstance(model.blocks, list) and len(model.blocks) == 3
    assert len({id(b) for b in model.blocks}) == 3 and all(isinstance(b, TransformerBlock) for b in model.blocks)
    assert isinstance(model.ln_f, LayerNorm) and isinstance(model.head, Linear) and model.head.weight.shape == (8, 13)
    assert isinstance(model.dropout, Dropout) and model.dropout.p == 0.1 and model.blocks[1].mlp.dropout.p == 0.1
    names = list(dict.fromkeys(n.split(".")[0] for n, _ in model.named_parameters()))
    assert names == ["token_embedding", "position_embedding", "blocks", "ln_f", "head"]
    assert "blocks.2.mlp.fc2.weight" in dict(model.named_parameters())
    assert "vocab_size=13" in repr(model) and "num_layers=3" in repr(model)


def test_gpt_forward_is_the_composition():
    rng = np.random.default_rng(seed=10)
    model = GPT(10, 8, 8, 2, 2, rng=1)
    ids = rng.integers(0, 10, size=(2, 8))
    h = Tensor(model.token_embedding.weight.data[ids] + model.position_embedding.weight.data[:8])
    for block in model.blocks:
        h = block(h)
    expected = model.head(model.ln_f(h)).data
    for given in (ids, ids.tolist(), Tensor(ids), ids.astype(np.int32)):
        got = model(given)
        assert isinstance(got, Tensor) and got.shape == (2, 8, 10)
        np.testing.assert_allclose(got.data, expected, atol=1e-5)
    np.testing.assert_allclose(model(ids[:, :3]).data, expected[:, :3], atol=1e-5)  # causal


def test_gpt_refuses_bad_ids():
    model = GPT(10, 4, 8, 2, 1, rng=0)
    with pytest.raises(ValueError, match="context_length"):
        model(np.zeros((1, 5), dtype=np.int64))
    with pytest.raises(ValueError, match=r"ids\[None\]"):
        model(np.zeros(3, dtype=np.int64))
    with pytest.raises(ValueError, match="integer"):
        model(np.zeros((1, 3)))
    with pytest.raises(ValueError):
        GPT(10, 4, 0, 2, 1)


def test_gpt_seed_and_backward():
    a, b = GPT(7, 5, 4, 2, 2, rng=3), GPT(7, 5, 4, 2, 2, rng=3)
    assert all(np.array_equal(p.data, q.data) for p, q in zip(a.parameters(), b.parameters()))
    ids = np.array([[1, 2, 3], [4, 5, 6]])
    loss = CrossEntropyLoss()(a(ids).reshape(-1, 7), np.array([2, 3, 4, 5, 6, 0]))
    loss.backward()
    assert all(p.grad is not None for p in a.parameters())


def test_gpt_gradients_in_float64():
    rng = np.random.default_rng(11)
    model = as_float64(GPT(5, 4, 4, 2, 1, rng=4))
    ids = rng.integers(0, 5, size=(2, 3))
    head_weight = model.head.weight

    def run(w):
        model.head.weight = w
        return model(ids)

    grad_check(run, f64(head_weight.data.copy()), what="GPT's head weight")

    def run_embedding(w):
        model.token_embedding.weight = w
        return model(ids)

    grad_check(run_embedding, f64(model.token_embedding.weight.data.copy()), what="GPT's token embedding")


def test_tiny_gpt_learns():
    rng = np.random.default_rng(0)
    model = GPT(5, 8, 16, 2, 1, rng=0)
    optimizer = Adam(model.parameters(), lr=1e-2)
    data = np.tile(np.arange(5), 4)  # 0 1 2 3 4 0 1 2 ...
    losses = []
    for _ in range(40):
        starts = rng.integers(0, len(data) - 9, size=8)
        windows = data[starts[:, None] + np.arange(9)]
        loss = CrossEntropyLoss()(model(windows[:, :-1]).reshape(-1, 5), windows[:, 1:].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.data))
    assert losses[-1] < 0.3 * losses[0]
    assert np.array_equal(model.generate([0, 1, 2], 5, temperature=0), [0, 1, 2, 3, 4, 0, 1, 2])


# ----- parameter counts ----------------------------------------------------------------------------
@pytest.mark.parametrize("V, C, E, heads, L", [(13, 9, 8, 2, 3), (4, 2, 6, 3, 1), (30, 20, 16, 4, 2)])
def test_parameter_count_matches_the_model(V, C, E, heads, L):
    counts = gpt_parameter_count(V, C, E, L)
    model = GPT(V, C, E, heads, L, rng=0)
    assert counts["total"] == sum(p.size for p in model.parameters())
    params = dict(model.named_parameters())
    assert counts["token_embedding"] == params["token_embedding.weight"].size
    assert counts["head"] == params["head.weight"].size + params["head.bias"].size
    assert counts["attention"] == sum(p.size for n, p in params.items() if ".attn." in n)
    assert counts["mlp"] == sum(p.size for n, p in params.items() if ".mlp." in n)
    assert counts["block_norms"] == sum(p.size for n, p in params.items() if ".ln1." in n or ".ln2." in n)
    assert counts["final_norm"] == 2 * E and counts["position_embedding"] == C * E


def test_parameter_count_formula():
    counts = gpt_parameter_count(50257, 1024, 768, 12)
    assert counts["attention"] == 12 * 4 * (768 * 768 + 768)
    assert counts["mlp"] == 12 * (2 * 768 * 3072 + 3072 + 768)
    assert counts["total"] == 50257 * 768 * 2 + 50257 + 1024 * 768 + 12 * (12 * 768 ** 2 + 13 * 768) + 2 * 768
    assert set(counts) == {"token_embedding", "position_embedding", "attention", "mlp",
                           "block_norms", "final_norm", "head", "total"}
    assert gpt_parameter_count(8, 4, 4, 1, mlp_ratio=1)["mlp"] == 2 * 4 * 4 + 4 + 4
    assert all(type(v) is int for v in counts.values())


# ----- sampling ------------------------------------------------------------------------------------
LOGITS = np.array([1.5, -0.5, 0.0, 2.5, 1.0])


def frequencies(draws, n):
    return np.bincount(np.ravel(draws), minlength=n) / np.size(draws)


@pytest.mark.parametrize("temperature", [0.7, 1.0, 3.0])
def test_sampling_frequencies_follow_the_softmax(temperature):
    draws = sample_next_token(np.tile(LOGITS, (30000, 1)), temperature=temperature, rng=11)
    assert draws.dtype == np.int64 and draws.shape == (30000,)
    assert np.abs(frequencies(draws, 5) - softmax(LOGITS / temperature)).max() < 0.012


def test_top_k_keeps_the_k_largest():
    draws = sample_next_token(np.tile(LOGITS, (30000, 1)), top_k=3, rng=12)
    kept = np.zeros(5)
    kept[[3, 0, 4]] = softmax(LOGITS[[3, 0, 4]])
    assert np.abs(frequencies(draws, 5) - kept).max() < 0.012
    ties = np.tile([1.0, 2.0, 2.0, 0.0], (4000, 1))
    assert set(np.unique(sample_next_token(ties, top_k=2, rng=0))) == {1, 2}


def test_greedy_cases():
    rng = np.random.default_rng(13)
    logits = rng.standard_normal((3, 4, 9)) * 3
    assert np.array_equal(sample_next_token(logits, temperature=0), logits.argmax(-1))
    assert np.array_equal(sample_next_token(logits, top_k=1, rng=0), logits.argmax(-1))
    assert np.array_equal(sample_next_token(logits, temperature=0.0001, rng=1), logits.argmax(-1))
    assert sample_next_token(np.array([0.0, 3.0, 3.0]), temperature=0) == 1  # the first of a tie
    assert sample_next_token(Tensor(LOGITS), temperature=0).shape == ()
    assert sample_next_token([[1.0, 5.0]], temperature=0).tolist() == [1]


def test_sampling_randomness():
    many = np.tile(LOGITS, (200, 1))
    assert np.array_equal(sample_next_token(many, rng=5), sample_next_token(many, rng=5))
    generator = np.random.default_rng(seed=5)
    assert np.array_equal(sample_next_token(many, rng=generator),
                          sample_next_token(many, rng=np.random.default_rng(5)))
    assert not np.array_equal(sample_next_token(many, rng=generator), sample_next_token(many, rng=5))


def test_sampling_never_draws_masked_tokens_and_survives_huge_logits():
    masked = np.tile([-np.inf, 1.0, -np.inf, -np.inf, 1.0, -np.inf], (5000, 1))
    assert set(np.unique(sample_next_token(masked, rng=2))) == {1, 4}
    huge = np.tile([2000.0, 2001.0, -3000.0], (20000, 1))
    draws = sample_next_token(huge, temperature=1.0, rng=3)
    assert np.abs(frequencies(draws, 3) - softmax(np.array([2000.0, 2001.0, -3000.0]))).max() < 0.012


@pytest.mark.parametrize("kwargs", [{"temperature": -0.5}, {"top_k": 0}, {"top_k": 1.5}])
def test_sampling_refuses_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        sample_next_token(LOGITS, **kwargs)


# ----- generation ----------------------------------------------------------------------------------
class NextModel(Module):
    """Logits that make token (id + step) % vocab the clear favourite; records what it saw."""

    def __init__(self, context_length=3, vocab=7, step=2):
        super().__init__()
        self.context_length, self.vocab, self.step = context_length, vocab, step
        self.lengths, self.training_flags, self.recording = [], [], []

    def forward(self, ids):
        import tinytorch.core.tensor as tensor_module  # AUTOGRAD as it is at call time
        ids = np.asarray(ids)
        self.lengths.append(ids.shape[1])
        self.training_flags.append(self.training)
        self.recording.append(tensor_module.AUTOGRAD.enabled)
        logits = np.zeros(ids.shape + (self.vocab,))
        np.put_along_axis(logits, ((ids + self.step) % self.vocab)[..., None], 50.0, axis=-1)
        return Tensor(logits)


def test_generation_crops_samples_and_appends():
    model = NextModel()
    got = generate_tokens(model, np.array([[0], [5]]), 5, temperature=0)
    assert got.dtype == np.int64 and got.tolist() == [[0, 2, 4, 6, 1, 3], [5, 0, 2, 4, 6, 1]]
    assert model.lengths == [1, 2, 3, 3, 3]
    assert model.training_flags == [False] * 5 and model.training
    assert model.recording == [False] * 5


def test_generation_of_a_long_prompt_and_1d_prompts():
    model = NextModel(context_length=2)
    got = generate_tokens(model, list(range(6)), 3, temperature=1.0, rng=0)  # logits 50 apart: sure
    assert got.tolist() == [0, 1, 2, 3, 4, 5, 0, 2, 4] and model.lengths == [2, 2, 2]
    assert generate_tokens(NextModel(), Tensor(np.array([3])), 0).tolist() == [3]


def test_generation_restores_eval_mode_and_refuses_bad_input():
    model = NextModel()
    model.eval()
    generate_tokens(model, [[1]], 2)
    assert not model.training
    with pytest.raises(ValueError):
        generate_tokens(model, [[0.5]], 2)
    with pytest.raises(ValueError):
        generate_tokens(model, [[1]], -1)


def test_gpt_generate():
    model = GPT(9, 4, 8, 2, 2, dropout=0.5, rng=0)
    prompt = np.array([[1, 2], [3, 4]])
    first = model.generate(prompt, 7, temperature=0.8, top_k=4, rng=21)
    assert first.shape == (2, 9) and first.dtype == np.int64 and np.array_equal(first[:, :2], prompt)
    assert np.array_equal(first, model.generate(prompt, 7, temperature=0.8, top_k=4, rng=21))
    assert model.training  # its mode is back
    greedy = model.generate(prompt, 3, temperature=0)
    with no_grad():
        model.eval()
        expected = model(greedy[:, :-1][:, -4:]).data[:, -1].argmax(-1)
    assert np.array_equal(greedy[:, -1], expected)
    assert model.generate([2, 3, 4, 5, 6, 7], 2, temperature=0).shape == (8,)

"""Specification of tinytorch.core.attention (Module 12), tested on the exported package.

A plain numpy formula (scores, exp over the allowed keys, normalize, weights @ value) is the
reference for values; central finite differences (grad_check, in float64) and, when it is
installed, PyTorch are the references for gradients. tests/crosscheck/m12_attention.py compares
more cases with PyTorch.
"""
import numpy as np
import pytest

from tinytorch.core.attention import (MultiHeadAttention, causal_mask, masked_softmax, merge_heads,
                                      padding_mask, scaled_dot_product_attention, split_heads)
from tinytorch.core.autograd import grad_check, no_grad
from tinytorch.core.layers import Linear, Module
from tinytorch.core.tensor import Tensor

GEN = np.random.default_rng(1212)


def needs_torch():
    return pytest.importorskip("torch", reason="PyTorch is optional: install torch==2.13.0 to cross-check")


def as64(array, requires_grad=True):
    return Tensor(np.asarray(array), dtype=np.float64, requires_grad=requires_grad)


def reference(q, k, v, keep=None, added=None, scale=None):
    """softmax over the allowed keys of q k^T * scale (+ added), then @ v; empty rows give 0."""
    q, k, v = (np.asarray(a, np.float64) for a in (q, k, v))
    scale = 1 / np.sqrt(q.shape[-1]) if scale is None else scale
    scores = np.einsum("...le,...se->...ls", q, k) * scale
    if added is not None:
        scores = scores + added
    keep = np.isfinite(scores) if keep is None else np.broadcast_to(keep, scores.shape) & np.isfinite(scores)
    top = np.max(np.where(keep, scores, -1e300), axis=-1, keepdims=True)
    weights = np.where(keep, np.exp(np.where(keep, scores, 0) - top), 0.0)
    total = weights.sum(-1, keepdims=True)
    weights = weights / np.where(total > 0, total, 1)
    return np.einsum("...ls,...sf->...lf", weights, v)


# ----- masks -----------------------------------------------------------------------------------
@pytest.mark.parametrize("size", [1, 3, 6])
def test_causal_mask_is_the_lower_triangle(size):
    got = causal_mask(size)
    rows, cols = np.indices((size, size))
    assert got.dtype == np.bool_ and got.shape == (size, size)
    assert np.array_equal(got, cols <= rows)


@pytest.mark.parametrize("bad", [0, -2, 1.5, True, "4"])
def test_causal_mask_refuses_a_size_that_is_not_a_positive_integer(bad):
    with pytest.raises(ValueError):
        causal_mask(bad)


def test_padding_mask_marks_the_positions_after_each_length():
    got = padding_mask([4, 2, 0], max_len=5)
    expected = [[0, 0, 0, 0, 1], [0, 0, 1, 1, 1], [1, 1, 1, 1, 1]]
    assert got.dtype == np.bool_ and np.array_equal(got.astype(int), expected)
    assert padding_mask([1, 3]).shape == (2, 3), "max_len defaults to the longest length"


@pytest.mark.parametrize("lengths, max_len", [([3, 6], 4), ([-1], 3), ([2], 0), ([2], -1)])
def test_padding_mask_refuses_bad_lengths(lengths, max_len):
    with pytest.raises(ValueError):
        padding_mask(lengths, max_len)


# ----- masked softmax --------------------------------------------------------------------------
def test_masked_softmax_values_zeros_and_sums():
    x = GEN.standard_normal((3, 4, 6)).astype(np.float32)
    keep = GEN.random((3, 4, 6)) < 0.7
    keep[1, 2] = False
    got = masked_softmax(Tensor(x), keep)
    assert got.dtype == np.float32 and got.shape == x.shape
    e = np.exp(x.astype(np.float64)) * keep
    s = e.sum(-1, keepdims=True)
    np.testing.assert_allclose(got.data, e / np.where(s > 0, s, 1), atol=1e-6)
    assert np.all(got.data[~keep] == 0.0) and np.all(got.data[1, 2] == 0.0)


def test_masked_softmax_without_mask_is_the_softmax_and_stable():
    x = Tensor([[3000.0, 2999.0, -50.0], [-np.inf, -np.inf, -np.inf]])
    got = masked_softmax(x).data
    assert np.all(np.isfinite(got))
    e = np.exp([1.0, 0.0, -3050.0])
    np.testing.assert_allclose(got[0], e / e.sum(), rtol=1e-5)
    assert np.all(got[1] == 0.0), "a row of -inf gives zeros"


def test_masked_softmax_other_dims_broadcast_masks_and_float64():
    x = GEN.standard_normal((2, 5, 3))
    keep = np.array([True, False, True, True, False])[:, None]   # (5, 1): broadcasts over dim 2
    got = masked_softmax(as64(x, False), keep, dim=1)
    assert got.dtype == np.float64
    e = np.exp(x) * keep
    np.testing.assert_allclose(got.data, e / e.sum(1, keepdims=True))


def test_masked_softmax_leaves_its_input_alone_and_refuses_bad_masks():
    x = GEN.standard_normal((2, 4))
    copy = x.copy()
    masked_softmax(as64(x, False), np.ones(4, bool))
    assert np.array_equal(x, copy)
    with pytest.raises(ValueError):
        masked_softmax(Tensor(x), np.ones((3,), bool))
    with pytest.raises(ValueError):
        masked_softmax(Tensor(x), np.ones((2, 4)))    # floats, not bools


def test_masked_softmax_gradient_matches_finite_differences():
    keep = np.array([[True, False, True, True], [False, False, False, False], [True, True, False, True]])
    x = as64(GEN.standard_normal((3, 4)))
    grad_check(lambda t: masked_softmax(t, keep), x, what="masked_softmax")
    assert np.all(x.grad.data[~keep] == 0.0)
    grad_check(lambda t: masked_softmax(t, dim=0), as64(GEN.standard_normal((4, 2))), what="masked_softmax dim 0")


# ----- scaled_dot_product_attention ------------------------------------------------------------
QS = GEN.standard_normal((2, 2, 3, 4))
KS = GEN.standard_normal((2, 2, 5, 4))
VS = GEN.standard_normal((2, 2, 5, 3))


@pytest.mark.parametrize("kind", ["plain", "bool", "float", "causal", "scale"])
def test_attention_values(kind):
    keep = GEN.random((3, 5)) < 0.6
    keep[:, 2] = True
    added = GEN.standard_normal((2, 1, 3, 5))
    kwargs, ref = {}, {}
    if kind == "bool":
        kwargs, ref = {"attn_mask": keep}, {"keep": keep}
    elif kind == "float":
        kwargs, ref = {"attn_mask": added}, {"added": added}
    elif kind == "causal":
        kwargs, ref = {"is_causal": True}, {"keep": np.tri(3, 5, dtype=bool)}
    elif kind == "scale":
        kwargs, ref = {"scale": 2.0}, {"scale": 2.0}
    got = scaled_dot_product_attention(*(Tensor(a.astype(np.float32)) for a in (QS, KS, VS)), **kwargs)
    assert got.shape == (2, 2, 3, 3) and got.dtype == np.float32
    np.testing.assert_allclose(got.data, reference(QS, KS, VS, **ref), atol=2e-5)


def test_attention_causal_with_more_queries_than_keys_and_empty_rows():
    q = GEN.standard_normal((7, 4))
    got = scaled_dot_product_attention(as64(q, False), as64(KS[0, 0], False), as64(VS[0, 0], False), is_causal=True)
    np.testing.assert_allclose(got.data, reference(q, KS[0, 0], VS[0, 0], keep=np.tri(7, 5, dtype=bool)))
    nothing = np.ones((3, 5), bool)
    nothing[1] = False
    got = scaled_dot_product_attention(as64(QS, False), as64(KS, False), as64(VS, False), attn_mask=nothing)
    assert np.all(got.data[:, :, 1] == 0.0)


def test_attention_broadcasts_leading_dimensions_and_takes_2d_inputs():
    got = scaled_dot_product_attention(as64(QS, False), as64(KS[:1], False), as64(VS[:1], False))
    np.testing.assert_allclose(got.data, reference(QS, np.broadcast_to(KS[:1], KS.shape), np.broadcast_to(VS[:1], VS.shape)))
    got = scaled_dot_product_attention(as64(QS[0, 0], False), as64(KS[0, 0], False), as64(VS[0, 0], False))
    assert got.shape == (3, 3)


@pytest.mark.parametrize("case", ["mask and causal", "E differs", "S differs", "int mask", "1-D", "dtypes"])
def test_attention_refuses_what_torch_refuses(case):
    q, k, v = Tensor(QS), Tensor(KS), Tensor(VS)
    kwargs = {}
    if case == "mask and causal":
        kwargs = {"attn_mask": np.ones((3, 5), bool), "is_causal": True}
    elif case == "E differs":
        k = Tensor(KS[..., :3])
    elif case == "S differs":
        v = Tensor(VS[..., :4, :])
    elif case == "int mask":
        kwargs = {"attn_mask": np.ones((3, 5), np.int64)}
    elif case == "1-D":
        q = Tensor(QS[0, 0, 0])
    else:
        k = as64(KS, False)
    with pytest.raises(ValueError):
        scaled_dot_product_attention(q, k, v, **kwargs)


def test_attention_records_one_operation():
    q = Tensor(QS.astype(np.float32), requires_grad=True)
    out = scaled_dot_product_attention(q, Tensor(KS.astype(np.float32)), Tensor(VS.astype(np.float32)))
    assert out.op == "scaled_dot_product_attention" and out.inputs[0] is q and len(out.inputs) == 3
    with no_grad():
        assert not scaled_dot_product_attention(q, Tensor(KS), Tensor(VS)).requires_grad


@pytest.mark.parametrize("kind", ["plain", "bool", "causal", "float mask", "shared key"])
def test_attention_gradients_match_finite_differences(kind):
    q, k, v = as64(QS[0]), as64(KS[0]), as64(VS[0])
    keep = np.array([[1, 1, 0, 0, 1], [0, 0, 0, 0, 0], [1, 0, 1, 1, 1]], bool)
    if kind == "plain":
        grad_check(scaled_dot_product_attention, q, k, v, what=kind)
    elif kind == "bool":
        grad_check(lambda a, b, c: scaled_dot_product_attention(a, b, c, attn_mask=keep), q, k, v, what=kind)
        assert np.all(q.grad.data[:, 1] == 0.0)
    elif kind == "causal":
        grad_check(lambda a, b, c: scaled_dot_product_attention(a, b, c, is_causal=True, scale=0.7), q, k, v, what=kind)
    elif kind == "float mask":
        bias = as64(GEN.standard_normal((3, 5)))
        grad_check(lambda a, b, c, m: scaled_dot_product_attention(a, b, c, attn_mask=m), q, k, v, bias, what=kind)
    else:
        grad_check(scaled_dot_product_attention, q, as64(KS[0, :1]), as64(VS[0, :1]), what=kind)


def test_attention_dropout_keeps_the_expectation_and_gradients():
    q, k, v = (Tensor(a.astype(np.float32)) for a in (QS, KS, VS))
    assert np.all(scaled_dot_product_attention(q, k, v, dropout_p=1.0).data == 0.0)
    v = as64(np.ones((1, 5, 1)))
    outs = [scaled_dot_product_attention(as64(np.zeros((1, 200, 4)), False), as64(np.zeros((1, 5, 4)), False), v,
                                         dropout_p=0.5).data for _ in range(5)]
    assert abs(np.mean(outs) - 1.0) < 0.1, "dropout scales the kept weights by 1 / (1 - p)"
    out = scaled_dot_product_attention(as64(QS), as64(KS), as64(VS), dropout_p=0.3)
    out.sum().backward()
    assert out.inputs[2].grad.shape == VS.shape


def test_attention_against_torch():
    torch = needs_torch()
    q, k, v = (torch.tensor(a, requires_grad=True) for a in (QS, KS, VS))
    ours = [as64(a) for a in (QS, KS, VS)]
    keep = np.tri(3, 5, 1, dtype=bool)
    expected = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=torch.tensor(keep))
    got = scaled_dot_product_attention(*ours, attn_mask=keep)
    upstream = GEN.standard_normal(got.shape)
    expected.backward(torch.tensor(upstream))
    got.backward(upstream)
    np.testing.assert_allclose(got.data, expected.detach().numpy(), atol=1e-10)
    for mine, theirs in zip(ours, (q, k, v)):
        np.testing.assert_allclose(mine.grad.data, theirs.grad.numpy(), atol=1e-10)


# ----- heads -----------------------------------------------------------------------------------
def test_split_and_merge_heads():
    x = GEN.standard_normal((2, 3, 8))
    parts = split_heads(as64(x, False), 4)
    assert parts.shape == (2, 4, 3, 2)
    np.testing.assert_array_equal(parts.data[:, 3], x[:, :, 6:8])
    np.testing.assert_array_equal(merge_heads(parts).data, x)
    with pytest.raises(ValueError):
        split_heads(as64(x, False), 3)
    factor = as64(GEN.standard_normal((2, 3, 8)), False)
    grad_check(lambda t: merge_heads(split_heads(t, 2)) * factor, as64(x), what="heads")


# ----- MultiHeadAttention ----------------------------------------------------------------------
def heads_reference(layer, query, key, value, keep=None):
    def project(linear, a):
        return a @ linear.weight.data.astype(np.float64) + (0 if linear.bias is None else linear.bias.data)
    q, k, v = project(layer.q_proj, query), project(layer.k_proj, key), project(layer.v_proj, value)
    n, d = layer.num_heads, layer.embed_dim // layer.num_heads
    split = lambda a: a.reshape(a.shape[0], a.shape[1], n, d).transpose(0, 2, 1, 3)
    heads = reference(split(q), split(k), split(v), keep=keep)
    return project(layer.out_proj, heads.transpose(0, 2, 1, 3).reshape(query.shape))


def randomized(layer):
    for linear in (layer.q_proj, layer.k_proj, layer.v_proj, layer.out_proj):
        if linear.bias is not None:
            linear.bias.data[...] = GEN.standard_normal(linear.bias.shape)
    return layer


def test_multihead_structure_and_initialization():
    layer = MultiHeadAttention(64, 4, rng=0)
    assert isinstance(layer, Module) and layer.embed_dim == 64 and layer.num_heads == 4
    names = [name for name, _ in layer.named_parameters()]
    assert names == [f"{p}.{w}" for p in ("q_proj", "k_proj", "v_proj", "out_proj") for w in ("weight", "bias")]
    for p in ("q_proj", "k_proj", "v_proj", "out_proj"):
        linear = getattr(layer, p)
        assert isinstance(linear, Linear) and linear.weight.shape == (64, 64) and np.all(linear.bias.data == 0)
    bound = np.sqrt(6 / 256)
    assert 0.9 * bound < np.abs(layer.q_proj.weight.data).max() <= bound
    assert np.abs(layer.out_proj.weight.data).max() <= 1 / 8
    assert layer.q_proj.weight.dtype == np.float32
    assert np.array_equal(MultiHeadAttention(8, 2, rng=3).k_proj.weight.data, MultiHeadAttention(8, 2, rng=3).k_proj.weight.data)
    assert MultiHeadAttention(8, 2, bias=False).q_proj.bias is None
    for bad in [(10, 3), (0, 1), (8, 0)]:
        with pytest.raises(ValueError):
            MultiHeadAttention(*bad)


def test_multihead_self_causal_and_cross_attention():
    layer = randomized(MultiHeadAttention(8, 2, rng=1))
    x = GEN.standard_normal((2, 4, 8)).astype(np.float32)
    mem = GEN.standard_normal((2, 6, 8)).astype(np.float32)
    np.testing.assert_allclose(layer(Tensor(x)).data, heads_reference(layer, x, x, x), atol=2e-5)
    np.testing.assert_allclose(layer(Tensor(x), is_causal=True).data,
                               heads_reference(layer, x, x, x, keep=np.tri(4, dtype=bool)), atol=2e-5)
    pad = padding_mask([6, 3])
    np.testing.assert_allclose(layer(Tensor(x), Tensor(mem), Tensor(mem), key_padding_mask=pad).data,
                               heads_reference(layer, x, mem, mem, keep=~pad[:, None, None, :]), atol=2e-5)
    blocked = np.triu(np.ones((4, 4), bool), 1)     # nn.MultiheadAttention: True = not allowed
    np.testing.assert_allclose(layer(Tensor(x), attn_mask=blocked).data,
                               heads_reference(layer, x, x, x, keep=~blocked), atol=2e-5)


def test_multihead_refuses_wrong_shapes():
    layer = MultiHeadAttention(8, 2)
    with pytest.raises(ValueError):
        layer(Tensor(np.zeros((2, 4, 6))))
    with pytest.raises(ValueError):
        layer(Tensor(np.zeros((2, 4, 8))), Tensor(np.zeros((3, 4, 8))))


def test_multihead_dropout_only_in_training():
    layer = MultiHeadAttention(8, 2, dropout=0.5, rng=2)
    x = Tensor(GEN.standard_normal((2, 4, 8)))
    layer.eval()
    first = layer(x).data
    assert np.array_equal(first, layer(x).data)
    layer.train()
    assert not np.allclose(first, layer(x).data)


def test_multihead_gradients_match_finite_differences():
    layer = randomized(MultiHeadAttention(4, 2, rng=4))
    x = as64(GEN.standard_normal((2, 3, 4)))
    grad_check(lambda t: layer(t, is_causal=True), x, what="MultiHeadAttention input")
    original = layer.v_proj.weight

    def through_weight(w):
        layer.v_proj.weight = w
        return layer(as64(x.data, False), key_padding_mask=np.array([[False, False, True], [False, False, False]]))

    grad_check(through_weight, as64(original.data), what="MultiHeadAttention v_proj.weight")
    layer.v_proj.weight = original


def test_multihead_against_torch():
    torch = needs_torch()
    layer = randomized(MultiHeadAttention(8, 4, rng=5))
    theirs = torch.nn.MultiheadAttention(8, 4, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        theirs.in_proj_weight.copy_(torch.tensor(np.concatenate(
            [getattr(layer, p).weight.data.T for p in ("q_proj", "k_proj", "v_proj")])))
        theirs.in_proj_bias.copy_(torch.tensor(np.concatenate(
            [getattr(layer, p).bias.data for p in ("q_proj", "k_proj", "v_proj")])))
        theirs.out_proj.weight.copy_(torch.tensor(layer.out_proj.weight.data.T))
        theirs.out_proj.bias.copy_(torch.tensor(layer.out_proj.bias.data))
    x = GEN.standard_normal((3, 5, 8))
    pad = padding_mask([5, 2, 4])
    expected = theirs(*(torch.tensor(x),) * 3, key_padding_mask=torch.tensor(pad), need_weights=False)[0]
    got = layer(as64(x, False), key_padding_mask=pad)
    np.testing.assert_allclose(got.data, expected.detach().numpy(), atol=1e-5)

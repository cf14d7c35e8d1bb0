"""Module 12 (attention) against PyTorch: scaled_dot_product_attention, and MultiHeadAttention
against torch.nn.MultiheadAttention(batch_first=True) with the same weights.

tinytorch's class is MultiHeadAttention (the name Module 13 and the milestone use); PyTorch's is
MultiheadAttention, so the name search of test_torch_crosscheck.py does not pair them, and the
cases below build each library's own class. Deliberate differences of MultiHeadAttention (not
a PyTorch name, so not in DIFFERENCES): it returns the output only (PyTorch returns (output,
weights)); is_causal=True alone applies the causal mask (PyTorch wants an attn_mask next to the
hint); a query whose keys are all masked gets zero weights, as in torch's
scaled_dot_product_attention (nn.MultiheadAttention returns NaN there); only batched (B, L, E)
inputs.
"""

import numpy as np
import torch

from test_torch_crosscheck import case

RNG = np.random.default_rng(12)
Q = RNG.standard_normal((2, 3, 4, 8))
K = RNG.standard_normal((2, 3, 5, 8))
V = RNG.standard_normal((2, 3, 5, 6))
ALLOWED = RNG.random((4, 5)) > 0.4
ALLOWED[:, 0] = True
BIAS = RNG.standard_normal((2, 1, 4, 5))
TALL = RNG.standard_normal((2, 7, 8))  # L = 7 queries for S = 5 keys


def attention(lib, q=Q, k=K, v=V, grads=True, mask=None, mask_grad=False, **kwargs):
    """The output of lib's scaled_dot_product_attention and, after backward with a fixed
    upstream gradient, the gradients of query, key and value (and of a float mask)."""
    tensors = [lib.tensor(a, grads) for a in (q, k, v)]
    if mask is not None:
        mask = lib.tensor(mask, mask_grad)
        kwargs["attn_mask"] = mask
    out = lib.scaled_dot_product_attention(*tensors, **kwargs)
    result = {"out": out}
    if grads:
        upstream = np.random.default_rng(1).standard_normal(tuple(out.shape))
        out.backward(lib.tensor(upstream) if lib.name == "torch" else upstream)
        result.update({name: t.grad for name, t in zip(("dq", "dk", "dv"), tensors)})
        if mask_grad:
            result["dmask"] = mask.grad
    return result


@case("scaled_dot_product_attention", label="scaled_dot_product_attention, no mask, float64")
def _sdpa(lib):
    return attention(lib)


@case("scaled_dot_product_attention", label="scaled_dot_product_attention, float32")
def _sdpa_float32(lib):
    return attention(lib, *(a.astype(np.float32) for a in (Q, K, V)))


@case("scaled_dot_product_attention", label="scaled_dot_product_attention, bool attn_mask")
def _sdpa_bool(lib):
    return attention(lib, mask=ALLOWED)


@case("scaled_dot_product_attention", label="scaled_dot_product_attention, float attn_mask with grad")
def _sdpa_float_mask(lib):
    return attention(lib, mask=BIAS, mask_grad=True)


@case("scaled_dot_product_attention", label="scaled_dot_product_attention, is_causal L < S")
def _sdpa_causal(lib):
    return attention(lib, is_causal=True)


@case("scaled_dot_product_attention", label="scaled_dot_product_attention, is_causal L > S")
def _sdpa_causal_tall(lib):
    return attention(lib, q=TALL, k=K[0], v=V[0], is_causal=True)


@case("scaled_dot_product_attention", label="scaled_dot_product_attention, scale=0.3")
def _sdpa_scale(lib):
    return attention(lib, scale=0.3)


@case("scaled_dot_product_attention", label="scaled_dot_product_attention, a fully masked row")
def _sdpa_fully_masked(lib):
    none = ALLOWED.copy()
    none[2] = False
    return attention(lib, mask=none)


@case("scaled_dot_product_attention", label="scaled_dot_product_attention, a row of -inf")
def _sdpa_inf_row(lib):
    bias = np.zeros((4, 5))
    bias[1] = -np.inf
    return attention(lib, mask=bias)


@case("scaled_dot_product_attention", label="scaled_dot_product_attention, 2-D and broadcast key")
def _sdpa_shapes(lib):
    two_d = attention(lib, q=Q[0, 0], k=K[0, 0], v=V[0, 0])
    shared = attention(lib, q=Q[:, 0], k=K[:1, 0], v=V[:1, 0])
    return {"2-D": two_d, "shared": shared}


@case("scaled_dot_product_attention", label="scaled_dot_product_attention, attn_mask and is_causal")
def _sdpa_both(lib):
    return attention(lib, grads=False, mask=ALLOWED, is_causal=True)


@case("scaled_dot_product_attention", label="scaled_dot_product_attention, E of key differs")
def _sdpa_bad_e(lib):
    return attention(lib, grads=False, k=K[..., :7])


@case("scaled_dot_product_attention", label="scaled_dot_product_attention, an integer mask")
def _sdpa_int_mask(lib):
    return attention(lib, grads=False, mask=ALLOWED.astype(np.int64))


@case("scaled_dot_product_attention", label="scaled_dot_product_attention, a 1-D query")
def _sdpa_one_d(lib):
    return attention(lib, grads=False, q=Q[0, 0, 0], k=K[0, 0], v=V[0, 0])


@case("scaled_dot_product_attention", label="scaled_dot_product_attention, dropout_p=1 zeroes all")
def _sdpa_dropout_all(lib):
    return attention(lib, grads=False, dropout_p=1.0)


# ----- MultiHeadAttention against torch.nn.MultiheadAttention(batch_first=True) --------------
E, HEADS = 8, 2
X = RNG.standard_normal((2, 5, E))
MEMORY = RNG.standard_normal((2, 3, E))
W = {name: RNG.standard_normal((E, E)) * 0.4 for name in "qkvo"}
B = {name: RNG.standard_normal(E) * 0.1 for name in "qkvo"}


def multihead(lib, query, key=None, value=None, **masks):
    """Output and gradients of lib's multi-head attention with the weights W and B: torch's
    in_proj_weight is [Wq; Wk; Wv] in (out, in) layout, tinytorch's Linear keeps (in, out)."""
    if lib.name == "torch":
        layer = torch.nn.MultiheadAttention(E, HEADS, batch_first=True, dtype=torch.float64)
        with torch.no_grad():
            layer.in_proj_weight.copy_(torch.tensor(np.concatenate([W["q"], W["k"], W["v"]])))
            layer.in_proj_bias.copy_(torch.tensor(np.concatenate([B["q"], B["k"], B["v"]])))
            layer.out_proj.weight.copy_(torch.tensor(W["o"]))
            layer.out_proj.bias.copy_(torch.tensor(B["o"]))
        tensors = [lib.tensor(query, True)]  # self-attention: one tensor is query, key and value
        tensors.append(tensors[0] if key is None else lib.tensor(key, True))
        tensors.append(tensors[1] if value is None else lib.tensor(value, True))
        torch_masks = {}
        for name, mask in masks.items():
            if name == "is_causal" and mask:
                torch_masks["attn_mask"] = torch.tensor(~np.tril(np.ones((query.shape[1],) * 2, bool)))
                torch_masks["is_causal"] = True
            elif name != "is_causal":
                torch_masks[name] = torch.tensor(mask)
        out = layer(*tensors, need_weights=False, **torch_masks)[0]
        params = {"q_proj.weight": lambda: layer.in_proj_weight.grad[:E].T,
                  "v_proj.weight": lambda: layer.in_proj_weight.grad[2 * E:].T,
                  "out_proj.bias": lambda: layer.out_proj.bias.grad}
    else:
        layer = lib.MultiHeadAttention(E, HEADS)
        for name, proj in zip("qkvo", ("q_proj", "k_proj", "v_proj", "out_proj")):
            getattr(layer, proj).weight = lib.tensor(W[name].T.copy(), True)
            getattr(layer, proj).bias = lib.tensor(B[name], True)
        tensors = [lib.tensor(query, True)]
        tensors += [lib.tensor(a, True) for a in (key, value) if a is not None]
        args = tensors + [None] * (3 - len(tensors))
        out = layer(*args, **masks)
        params = {"q_proj.weight": lambda: layer.q_proj.weight.grad,
                  "v_proj.weight": lambda: layer.v_proj.weight.grad,
                  "out_proj.bias": lambda: layer.out_proj.bias.grad}
    upstream = np.random.default_rng(2).standard_normal(tuple(out.shape))
    out.backward(lib.tensor(upstream) if lib.name == "torch" else upstream)
    result = {"out": out, "d query": tensors[0].grad}
    result.update({name: grad() for name, grad in params.items()})
    return result


@case(label="MultiHeadAttention self-attention = nn.MultiheadAttention(batch_first=True)")
def _mha_self(lib):
    return multihead(lib, X)


@case(label="MultiHeadAttention causal (torch: attn_mask + is_causal hint)")
def _mha_causal(lib):
    return multihead(lib, X, is_causal=True)


@case(label="MultiHeadAttention cross-attention with key_padding_mask (True = ignore)")
def _mha_padding(lib):
    padding = np.array([[False, False, True], [False, False, False]])
    return multihead(lib, X, MEMORY, MEMORY, key_padding_mask=padding)


BLOCKED = RNG.random((5, 5)) > 0.6  # True = not allowed, nn.MultiheadAttention's convention
np.fill_diagonal(BLOCKED, False)
ADDED = RNG.standard_normal((5, 5))
BLOCKED_PER_HEAD = RNG.random((2 * HEADS, 5, 3)) > 0.6
BLOCKED_PER_HEAD[..., 0] = False


@case(label="MultiHeadAttention bool attn_mask (True = not allowed) and a float one")
def _mha_attn_mask(lib):
    return {"bool": multihead(lib, X, attn_mask=BLOCKED), "float": multihead(lib, X, attn_mask=ADDED)}


@case(label="MultiHeadAttention per-head attn_mask (B * num_heads, L, S)")
def _mha_head_mask(lib):
    return multihead(lib, X, MEMORY, MEMORY, attn_mask=BLOCKED_PER_HEAD)


@case(label="MultiHeadAttention(embed_dim not divisible by num_heads) is refused")
def _mha_bad_heads(lib):
    """torch asserts (AssertionError); tinytorch raises the ValueError the API contract names."""
    try:
        (lib.MultiHeadAttention if lib.name == "tinytorch" else torch.nn.MultiheadAttention)(10, 3)
    except (AssertionError, ValueError) as error:
        return "refused", "10" in str(error) or lib.name == "torch"
    return "accepted"


@case(label="MultiHeadAttention initialization: zero biases, in_proj bound sqrt(6 / 4E)")
def _mha_init(lib):
    if lib.name == "torch":
        layer = torch.nn.MultiheadAttention(64, 4, batch_first=True)
        weights = layer.in_proj_weight.detach().numpy()
        biases = np.concatenate([layer.in_proj_bias.detach().numpy(), layer.out_proj.bias.detach().numpy()])
        out_weight = layer.out_proj.weight.detach().numpy()
    else:
        layer = lib.MultiHeadAttention(64, 4)
        weights = np.concatenate([getattr(layer, p).weight.data.T for p in ("q_proj", "k_proj", "v_proj")])
        biases = np.concatenate([getattr(layer, p).bias.data for p in ("q_proj", "k_proj", "v_proj", "out_proj")])
        out_weight = layer.out_proj.weight.data
    bound = np.sqrt(6 / (64 + 3 * 64))
    return {"in_proj shape": weights.shape, "within bound": bool(np.abs(weights).max() <= bound),
            "fills bound": bool(np.abs(weights).max() > 0.9 * bound),
            "out_proj within 1/sqrt(E)": bool(np.abs(out_weight).max() <= 1 / 8),
            "biases zero": bool(np.all(biases == 0)), "dtype": str(weights.dtype)}

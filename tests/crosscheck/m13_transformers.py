"""Module 13 (transformers): LayerNorm against torch.nn.LayerNorm, and a TransformerBlock against
the same block written with torch.nn.LayerNorm, torch.nn.MultiheadAttention and torch.nn.Linear,
with the weights copied."""

import numpy as np
import torch

import tinytorch
from tinytorch.core.transformer import TransformerBlock
from test_torch_crosscheck import case, forward_backward, set_params

X = np.random.default_rng(13).standard_normal((2, 3, 6)) * 3 + 1


def layer_norm(lib, shape, **kwargs):
    """A float64 LayerNorm with the same random weight and bias in both libraries, when it has them."""
    dtype = torch.float64 if lib.name == "torch" else np.float64
    layer = lib.LayerNorm(shape, dtype=dtype, **kwargs)
    rng = np.random.default_rng(7)
    params = [p for p in (layer.weight, layer.bias) if p is not None]
    set_params(lib, params, [rng.standard_normal(tuple(p.shape)) for p in params])
    return layer


@case("LayerNorm", "LayerNorm.forward")
def _layer_norm(lib):
    return forward_backward(lib, layer_norm(lib, 6), X)


@case("LayerNorm", label="LayerNorm((3, 6), elementwise_affine=False)")
def _layer_norm_matrix(lib):
    layer = layer_norm(lib, (3, 6), elementwise_affine=False)
    return forward_backward(lib, layer, X), layer.weight, layer.bias


@case("LayerNorm", label="LayerNorm(6, eps=0.1, bias=False)")
def _layer_norm_no_bias(lib):
    layer = layer_norm(lib, 6, eps=0.1, bias=False)
    return forward_backward(lib, layer, X * 0.1), [n for n, _ in layer.named_parameters()], layer.bias


@case("LayerNorm", label="LayerNorm(5): defaults, parameters and dtypes")
def _layer_norm_defaults(lib):
    layer = lib.LayerNorm(5)
    return (layer.weight, layer.bias, layer.eps, tuple(layer.normalized_shape),
            layer.elementwise_affine, [n for n, _ in layer.named_parameters()])


@case("LayerNorm", label="LayerNorm(6) on a float32 input")
def _layer_norm_float32(lib):
    return lib.LayerNorm(6)(lib.tensor(X.astype(np.float32)))


@case("LayerNorm", label="LayerNorm(4) on an input whose last dimension is 6")
def _layer_norm_wrong_shape(lib):
    lib.LayerNorm(4)(lib.tensor(X))


@case("LayerNorm.extra_repr")
def _layer_norm_repr(lib):
    return [lib.LayerNorm(8).extra_repr(), lib.LayerNorm((2, 3), eps=1e-3).extra_repr(),
            lib.LayerNorm(4, elementwise_affine=False).extra_repr(), lib.LayerNorm(3, bias=False).extra_repr()]


class TorchBlock(torch.nn.Module):
    """The pre-norm block written with torch's layers (GELU in its tanh form, as tinytorch's)."""

    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.ln1 = torch.nn.LayerNorm(embed_dim, dtype=torch.float64)
        self.attn = torch.nn.MultiheadAttention(embed_dim, num_heads, batch_first=True, dtype=torch.float64)
        self.ln2 = torch.nn.LayerNorm(embed_dim, dtype=torch.float64)
        self.fc1 = torch.nn.Linear(embed_dim, 4 * embed_dim, dtype=torch.float64)
        self.fc2 = torch.nn.Linear(4 * embed_dim, embed_dim, dtype=torch.float64)

    def forward(self, x):
        t = x.shape[1]
        mask = torch.triu(torch.ones(t, t, dtype=torch.bool), diagonal=1)  # True: may not attend
        h = self.ln1(x)
        x = x + self.attn(h, h, h, attn_mask=mask, need_weights=False)[0]
        return x + self.fc2(torch.nn.functional.gelu(self.fc1(self.ln2(x)), approximate="tanh"))


def copied_block(block, embed_dim, num_heads):
    """A TorchBlock holding the weights of a tinytorch TransformerBlock (Linear weights transposed:
    tinytorch keeps (in, out), torch (out, in))."""
    theirs = TorchBlock(embed_dim, num_heads)
    a, m = block.attn, block.mlp
    values = {
        "ln1.weight": block.ln1.weight, "ln1.bias": block.ln1.bias,
        "ln2.weight": block.ln2.weight, "ln2.bias": block.ln2.bias,
        "attn.in_proj_weight": np.concatenate([a.q_proj.weight.data.T, a.k_proj.weight.data.T, a.v_proj.weight.data.T]),
        "attn.in_proj_bias": np.concatenate([a.q_proj.bias.data, a.k_proj.bias.data, a.v_proj.bias.data]),
        "attn.out_proj.weight": a.out_proj.weight.data.T, "attn.out_proj.bias": a.out_proj.bias,
        "fc1.weight": m.fc1.weight.data.T, "fc1.bias": m.fc1.bias,
        "fc2.weight": m.fc2.weight.data.T, "fc2.bias": m.fc2.bias,
    }
    with torch.no_grad():
        for name, param in theirs.named_parameters():
            value = values[name]
            param.copy_(torch.tensor(np.asarray(getattr(value, "data", value), dtype=np.float64)))
    return theirs


@case("LayerNorm", label="TransformerBlock(8, 2) against the block written with torch's layers")
def _block(lib):
    block = TransformerBlock(8, 2, rng=3)
    rng = np.random.default_rng(4)
    for p in block.parameters():
        p.data = p.data.astype(np.float64)
    for p in (block.ln1.weight, block.ln1.bias, block.ln2.weight, block.ln2.bias):
        p.data = rng.standard_normal(p.shape)
    x = rng.standard_normal((2, 5, 8))
    if lib.name == "torch":
        model = copied_block(block, 8, 2)
        xt = torch.tensor(x, requires_grad=True)
        out = model(xt)
        out.backward(torch.tensor(np.random.default_rng(2).standard_normal(x.shape)))
        return {"out": out, "x": xt.grad, "ln1.weight": model.ln1.weight.grad,
                "fc1.bias": model.fc1.bias.grad}
    xo = tinytorch.Tensor(x, dtype=np.float64, requires_grad=True)
    out = block(xo)
    out.backward(np.random.default_rng(2).standard_normal(x.shape))
    return {"out": out, "x": xo.grad, "ln1.weight": block.ln1.weight.grad,
            "fc1.bias": block.mlp.fc1.bias.grad}

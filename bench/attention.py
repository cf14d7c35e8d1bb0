"""Row: one forward and backward pass of multi-head self-attention, as in a small transformer.

Input (32, 64, 128) float32: a batch of 32 sequences of 64 positions, width 128, 4 heads of
32 numbers, no mask, with biases. The input requires grad, as it does inside a network, so the
backward pass computes the gradients of the input and of the four projections (query, key,
value, output). Every implementation gets the same input, weights and upstream gradient:
tinytorch's MultiHeadAttention (Module 12) against torch.nn.MultiheadAttention(batch_first=True),
and hand-written numpy (the same matmuls and softmax, without a framework) as the floor.
"""

from __future__ import annotations

import numpy as np

NAME = "MultiHeadAttention fwd+bwd: (32, 64, 128), 4 heads"
TARGET = 2.0  # tinytorch's time <= 2x PyTorch's (issue 16)
RESULT = "sum of |input gradient|"
BATCH, LENGTH, WIDTH, HEADS = 32, 64, 128, 4
HEAD = WIDTH // HEADS


def data():
    """Input, the four projections' weights (torch's layout: (out, in)) and biases, and the
    upstream gradient, the same for every implementation."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, LENGTH, WIDTH), dtype=np.float32)
    bound = 1 / np.sqrt(WIDTH)
    weights = [rng.uniform(-bound, bound, (WIDTH, WIDTH)).astype(np.float32) for _ in range(4)]
    biases = [rng.uniform(-bound, bound, WIDTH).astype(np.float32) for _ in range(4)]
    grad = rng.standard_normal((BATCH, LENGTH, WIDTH), dtype=np.float32)
    return x, weights, biases, grad


def numpy_version():
    x, weights, biases, grad = data()
    w_qkv = np.ascontiguousarray(np.concatenate(weights[:3]).T)  # (E, 3E): one matmul for q, k, v
    b_qkv = np.concatenate(biases[:3])
    w_out_t, b_out = np.ascontiguousarray(weights[3].T), biases[3]
    scale = np.float32(1 / np.sqrt(HEAD))
    rows = x.reshape(-1, WIDTH)
    upstream = grad.reshape(-1, WIDTH)

    def heads(t):  # (B*L, E) -> (B, H, L, D)
        return t.reshape(BATCH, LENGTH, HEADS, HEAD).transpose(0, 2, 1, 3)

    def merge(t):  # (B, H, L, D) -> (B*L, E)
        return t.transpose(0, 2, 1, 3).reshape(-1, WIDTH)

    def step() -> float:
        qkv = rows @ w_qkv + b_qkv
        q, k, v = (heads(qkv[:, i * WIDTH:(i + 1) * WIDTH]) for i in range(3))
        scores = (q * scale) @ k.transpose(0, 1, 3, 2)
        scores -= scores.max(axis=-1, keepdims=True)
        p = np.exp(scores)
        p /= p.sum(axis=-1, keepdims=True)
        context = merge(p @ v)
        out = context @ w_out_t + b_out  # noqa: F841  (the output the backward pass starts from)
        # backward
        g_w_out, g_b_out = context.T @ upstream, upstream.sum(axis=0)  # noqa: F841
        g_context = heads(upstream @ weights[3])
        g_p = g_context @ v.transpose(0, 1, 3, 2)
        g_v = p.transpose(0, 1, 3, 2) @ g_context
        g_scores = p * (g_p - (g_p * p).sum(axis=-1, keepdims=True))
        g_scores *= scale
        g_q = g_scores @ k
        g_k = g_scores.transpose(0, 1, 3, 2) @ q
        g_qkv = np.concatenate([merge(g_q), merge(g_k), merge(g_v)], axis=1)  # (B*L, 3E)
        g_x = g_qkv @ w_qkv.T
        g_w_qkv, g_b_qkv = rows.T @ g_qkv, g_qkv.sum(axis=0)  # noqa: F841
        return float(np.abs(g_x).sum())

    return step


def tinytorch_version():
    from tinytorch import Tensor
    from tinytorch.core.attention import MultiHeadAttention

    x, weights, biases, grad = data()
    attention = MultiHeadAttention(WIDTH, HEADS, rng=0)
    for layer, w, b in zip((attention.q_proj, attention.k_proj, attention.v_proj, attention.out_proj),
                           weights, biases):
        layer.weight.data[...] = w.T  # tinytorch's Linear keeps (in, out)
        layer.bias.data[...] = b
    inputs = Tensor(x, requires_grad=True)

    def step() -> float:
        inputs.grad = None
        attention.zero_grad()
        attention(inputs).backward(grad)
        return float(np.abs(inputs.grad.data).sum())

    return step


def torch_version(torch):
    x, weights, biases, grad = data()
    attention = torch.nn.MultiheadAttention(WIDTH, HEADS, batch_first=True)
    with torch.no_grad():
        attention.in_proj_weight.copy_(torch.from_numpy(np.concatenate(weights[:3])))
        attention.in_proj_bias.copy_(torch.from_numpy(np.concatenate(biases[:3])))
        attention.out_proj.weight.copy_(torch.from_numpy(weights[3]))
        attention.out_proj.bias.copy_(torch.from_numpy(biases[3]))
    inputs = torch.from_numpy(x).requires_grad_()
    upstream = torch.from_numpy(grad)

    def step() -> float:
        inputs.grad = None
        attention.zero_grad(set_to_none=True)
        out, _ = attention(inputs, inputs, inputs, need_weights=False)
        out.backward(upstream)
        return float(inputs.grad.abs().sum())

    return step

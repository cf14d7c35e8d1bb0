"""Row: one forward and backward pass of a 3x3 convolution layer, as in the middle of a CNN.

Input (64, 16, 32, 32) float32, 32 output channels, padding 1, with a bias. The input requires
grad as well, as it does for every layer after the first, so the backward pass computes the
gradients of the input, the weight and the bias. Both implementations get the same input,
weights and upstream gradient: tinytorch's Conv2d (im2col and BLAS matmuls) against
torch.nn.functional.conv2d.
"""

from __future__ import annotations

import numpy as np

NAME = "Conv2d fwd+bwd: (64, 16, 32, 32) -> 32 ch, 3x3, pad 1"
TARGET = 2.0  # tinytorch's time <= 2x PyTorch's (issue 5)
RESULT = "sum of the weight gradient"
BATCH, IN_CHANNELS, SIZE, OUT_CHANNELS, KERNEL, PADDING = 64, 16, 32, 32, 3, 1


def data():
    """Input, weight, bias and upstream gradient, the same for every implementation."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, IN_CHANNELS, SIZE, SIZE), dtype=np.float32)
    bound = 1 / np.sqrt(IN_CHANNELS * KERNEL * KERNEL)
    weight = rng.uniform(-bound, bound, (OUT_CHANNELS, IN_CHANNELS, KERNEL, KERNEL)).astype(np.float32)
    bias = rng.uniform(-bound, bound, OUT_CHANNELS).astype(np.float32)
    grad = rng.standard_normal((BATCH, OUT_CHANNELS, SIZE, SIZE), dtype=np.float32)
    return x, weight, bias, grad


def tinytorch_version():
    from tinytorch import Tensor
    from tinytorch.core.spatial import Conv2d

    x, weight, bias, grad = data()
    conv = Conv2d(IN_CHANNELS, OUT_CHANNELS, KERNEL, padding=PADDING, rng=0)
    conv.weight.data[...] = weight
    conv.bias.data[...] = bias
    inputs = Tensor(x, requires_grad=True)

    def step() -> float:
        inputs.grad = None
        conv.zero_grad()
        conv(inputs).backward(grad)
        return float(conv.weight.grad.data.sum())

    return step


def torch_version(torch):
    x, weight, bias, grad = data()
    inputs = torch.from_numpy(x).requires_grad_()
    w = torch.from_numpy(weight).requires_grad_()
    b = torch.from_numpy(bias).requires_grad_()
    upstream = torch.from_numpy(grad)

    def step() -> float:
        inputs.grad = w.grad = b.grad = None
        torch.nn.functional.conv2d(inputs, w, b, padding=PADDING).backward(upstream)
        return float(w.grad.sum())

    return step

"""Row: one training epoch of a 64-128-64-10 MLP on the 1797 8x8 digits.

ReLU, cross-entropy, plain SGD (lr 0.1), batch 32, the same batch order in every
implementation. Hand-written numpy is the floor: it is what the framework computes, without
the framework.
"""

from __future__ import annotations

import numpy as np

from digits import batches, load_digits_flat

NAME = "MLP epoch: digits 64-128-64-10, batch 32, SGD"
TARGET = 0.5  # tinytorch's time <= 0.5x PyTorch's (issue 3)
RESULT = "loss of the last batch"
SIZES = (64, 128, 64, 10)
LR = 0.1
BATCH = 32


def numpy_version():
    x, y = load_digits_flat()
    rng = np.random.default_rng(0)
    params = []
    for fan_in, fan_out in zip(SIZES, SIZES[1:]):
        bound = 1 / np.sqrt(fan_in)
        params += [rng.uniform(-bound, bound, (fan_in, fan_out)).astype(np.float32),
                   rng.uniform(-bound, bound, fan_out).astype(np.float32)]
    slices = batches(len(x), BATCH)

    def epoch() -> float:
        for s in slices:
            xb, yb = x[s], y[s]
            (w1, b1, w2, b2, w3, b3) = params
            h1 = xb @ w1 + b1
            a1 = np.maximum(h1, 0)
            h2 = a1 @ w2 + b2
            a2 = np.maximum(h2, 0)
            logits = a2 @ w3 + b3
            shifted = logits - logits.max(axis=1, keepdims=True)
            exp = np.exp(shifted)
            probs = exp / exp.sum(axis=1, keepdims=True)
            loss = -np.log(probs[np.arange(len(yb)), yb]).mean()
            d = probs
            d[np.arange(len(yb)), yb] -= 1
            d /= len(yb)
            grads = [None] * 6
            grads[4], grads[5] = a2.T @ d, d.sum(axis=0)
            d = (d @ w3.T) * (h2 > 0)
            grads[2], grads[3] = a1.T @ d, d.sum(axis=0)
            d = (d @ w2.T) * (h1 > 0)
            grads[0], grads[1] = xb.T @ d, d.sum(axis=0)
            for p, g in zip(params, grads):
                p -= LR * g
        return float(loss)

    return epoch


def tinytorch_version():
    from tinytorch import Tensor
    from tinytorch.core.activations import ReLU
    from tinytorch.core.layers import Linear, Sequential
    from tinytorch.core.losses import CrossEntropyLoss
    from tinytorch.core.optimizers import SGD

    x, y = load_digits_flat()
    layers = []
    for i, (fan_in, fan_out) in enumerate(zip(SIZES, SIZES[1:])):
        layers += [Linear(fan_in, fan_out, rng=i), ReLU()]
    model = Sequential(*layers[:-1])
    loss_fn, optimizer = CrossEntropyLoss(), SGD(model.parameters(), lr=LR)
    slices = batches(len(x), BATCH)

    def epoch() -> float:
        for s in slices:
            loss = loss_fn(model(Tensor(x[s])), Tensor(y[s]))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return loss.item()

    return epoch


def torch_version(torch):
    x, y = load_digits_flat()
    torch.manual_seed(0)
    layers = []
    for fan_in, fan_out in zip(SIZES, SIZES[1:]):
        layers += [torch.nn.Linear(fan_in, fan_out), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1])
    loss_fn = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    x, y = torch.from_numpy(x), torch.from_numpy(y)
    slices = batches(len(x), BATCH)

    def epoch() -> float:
        for s in slices:
            loss = loss_fn(model(x[s]), y[s])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return loss.item()

    return epoch

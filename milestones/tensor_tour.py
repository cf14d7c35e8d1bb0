"""A short tour of the Tensor you build in Module 01, run with the exported package.

    python milestones/tensor_tour.py

This is what the README's main command runs until the training milestones arrive.
"""

import time

import numpy as np

from tinytorch import Tensor


def main() -> None:
    a = Tensor([[1, 2], [3, 4]])
    print("a =", a)
    print("a @ [[1], [1]] =", a @ Tensor([[1], [1]]))
    x = Tensor([[0.5, -1.0, 2.0]])
    print("x * 2 + 1 =", x * 2 + 1)
    print("a.sum(axis=0) =", a.sum(axis=0), " a.mean() =", a.mean())

    # A linear layer's forward pass on a batch: the pattern every later module builds on.
    rng = np.random.default_rng(0)
    batch, weights, bias = (Tensor(rng.standard_normal(s)) for s in ((64, 128), (128, 10), (10,)))
    start = time.perf_counter()
    logits = batch @ weights + bias
    took = time.perf_counter() - start
    print(f"batch (64, 128) @ weights (128, 10) + bias -> {logits.shape}, {logits.dtype}, "
          f"in {took * 1e3:.2f} ms")


if __name__ == "__main__":
    main()

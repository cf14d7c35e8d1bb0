"""The bundled 8x8 digits as flat float32 features and int64 labels, for the benchmark rows."""

from __future__ import annotations

import numpy as np


def load_digits_flat() -> tuple[np.ndarray, np.ndarray]:
    """(1797, 64) float32 pixels in [0, 1] and (1797,) int64 labels, from datasets/tiny/."""
    from tinytorch.data.loader import load_tiny  # the project's one dataset locator

    images, labels = load_tiny("digits_8x8")
    return images.reshape(len(images), -1), labels


def batches(n: int, batch_size: int) -> list[slice]:
    return [slice(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]

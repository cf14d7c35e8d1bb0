"""Timing helpers shared by the benchmark rows: medians over repeats, after a warm-up."""

from __future__ import annotations

import statistics
import time
from typing import Callable


def median_seconds(run: Callable[[], object], repeats: int, warmup: int = 1) -> float:
    """Median wall time of `run()` over `repeats` calls, after `warmup` untimed calls."""
    for _ in range(warmup):
        run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def load_torch():
    """PyTorch if it is installed, else None (every benchmark works without it)."""
    try:
        import torch
    except ImportError:
        return None
    return torch

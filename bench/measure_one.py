"""Time one implementation of one benchmark row in this process, and print the result as JSON.

    python bench/measure_one.py conv2d torch --repeats 11

bench/run.py starts this script once per implementation and round, so that every measurement
begins in a fresh process: no implementation inherits the memory allocator's state, the warm
caches or the thread pools of another.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys

from timing import load_torch, median_seconds

IMPLEMENTATIONS = ("numpy", "tinytorch", "torch")
GLIBC_DEFAULTS = "BENCH_GLIBC_DEFAULTS"  # set to 1 by `run.py --glibc-defaults`


def set_allocator() -> None:
    """Every implementation, numpy's and PyTorch's too, runs with the memory setting the
    milestones use (tinytorch's reuse_freed_memory, Module 01: glibc keeps freed memory for the
    next arrays), so that a row compares code, not allocator settings; with BENCH_GLIBC_DEFAULTS=1,
    glibc's own defaults."""
    if os.environ.get(GLIBC_DEFAULTS) != "1":
        from tinytorch.core.tensor import reuse_freed_memory
        reuse_freed_memory()


def build(row, implementation: str):
    """The row's function for that implementation (which does the timed work), or None."""
    if implementation == "torch":
        torch = load_torch()
        return None if torch is None else row.torch_version(torch)
    return getattr(row, f"{implementation}_version", lambda: None)()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("row", help="a module of bench/, such as conv2d")
    parser.add_argument("implementation", choices=IMPLEMENTATIONS)
    parser.add_argument("--repeats", type=int, default=11, help="timed runs (the median is kept)")
    args = parser.parse_args(argv)
    set_allocator()
    run = build(importlib.import_module(args.row), args.implementation)
    if run is None:
        print(json.dumps(None))
        return 0
    seconds = median_seconds(run, args.repeats)
    print(json.dumps({"seconds": seconds, "result": run()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

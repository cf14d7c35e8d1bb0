"""Benchmarks: tinytorch against PyTorch on the CPU (and plain numpy where that is the floor).

    python bench/run.py                 every row
    python bench/run.py mlp_epoch       the rows named
    python bench/run.py --repeats 21    more repeats for steadier medians

Every implementation of a row is measured in this one run, on this machine: the median over
repeats, after a warm-up. The ratio column is tinytorch's time over PyTorch's; a row meets its
target when the ratio is at or below it. Without PyTorch the torch column says so and the
other columns still run. Timings live here, never in the tests: machines are noisy.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from timing import load_torch, median_seconds

ROWS = ["mlp_epoch", "dataloader_epoch", "conv2d"]


def measure(row, repeats: int, torch) -> dict:
    """Median seconds for each implementation of one row, and what its last run returned
    (a loss, a count: a check that every implementation did the same work)."""
    results = {}
    builders = {"numpy": getattr(row, "numpy_version", None), "tinytorch": row.tinytorch_version,
                "torch": (lambda: row.torch_version(torch)) if torch else None}
    for name, build in builders.items():
        if build is None:
            continue
        run = build()
        results[name] = (median_seconds(run, repeats), run())
    return results


def fmt(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1e3:9.2f} ms"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("rows", nargs="*", default=ROWS, help=f"rows to run (default: {ROWS})")
    parser.add_argument("--repeats", type=int, default=11, help="timed runs per implementation")
    args = parser.parse_args(argv)
    torch = load_torch()
    if torch is None:
        print("PyTorch is not installed: the torch column is skipped "
              "(pip install torch==2.13.0 to compare).")
    else:
        print(f"PyTorch {torch.__version__} on the CPU, {torch.get_num_threads()} threads")
    import numpy
    print(f"numpy {numpy.__version__}; medians of {args.repeats} runs\n")
    header = f"{'row':<48} {'numpy':>12} {'tinytorch':>12} {'torch':>12} {'ratio':>7}  target"
    print(header + "\n" + "-" * len(header))
    missed = 0
    for name in args.rows:
        row = importlib.import_module(name)
        results = measure(row, args.repeats, torch)
        time = {k: v[0] for k, v in results.items()}
        ratio = time["tinytorch"] / time["torch"] if "torch" in time else None
        verdict = "" if ratio is None else ("met" if ratio <= row.TARGET else "MISSED")
        missed += verdict == "MISSED"
        print(f"{row.NAME:<48} {fmt(time.get('numpy')):>12} {fmt(time['tinytorch']):>12} "
              f"{fmt(time.get('torch')):>12} {'' if ratio is None else f'{ratio:6.2f}x':>7}  "
              f"<= {row.TARGET}x {verdict}")
        outcome = ", ".join(f"{k} {v[1]:.4g}" for k, v in results.items())
        print(f"{'':<48} {row.RESULT}: {outcome}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmarks: tinytorch against PyTorch on the CPU (and plain numpy where that is the floor).

    python bench/run.py                 every row
    python bench/run.py mlp_epoch       the rows named
    python bench/run.py --rounds 9      more rounds for a steadier ratio (default 5)
    python bench/run.py --threads 1     every library on one thread (default: each library's own)
    python bench/run.py --glibc-defaults  the C library's memory settings as they come (see below)
    python bench/run.py --openblas-defaults  OpenBLAS's idle threads spinning as they come (below)

Every implementation of a row is measured in this one run, on this machine. Each measurement
(the median over --repeats calls, after a warm-up) runs in a fresh process of its own, so that
no implementation inherits the allocator state, caches or threads of another. A row is measured
in rounds; each round measures every implementation once, in alternating order, and gives one
ratio, tinytorch's time over PyTorch's, from two measurements taken seconds apart. The table
shows the median time of each implementation over the rounds, and the median ratio with the
lowest and highest round. A row meets its target when the median ratio is at or below it.
Without PyTorch the torch column says so and the other columns still run. Timings live here,
never in the tests: machines are noisy.

By default every library uses its own number of threads (numpy's OpenBLAS and PyTorch both use
all cores). `--threads N` sets OPENBLAS_NUM_THREADS, OMP_NUM_THREADS and MKL_NUM_THREADS for the
measuring processes: with N = 1 the comparison no longer depends on how each library runs and
parks its threads, which on a shared or virtual machine can vary from minute to minute.
Without --threads, PyTorch is also measured on one thread in every round ("torch@1"), and a
second ratio compares tinytorch with PyTorch at its best thread count in that round (one
thread or its default, whichever was faster): small models often run faster on one thread.
Every measuring process, numpy's and PyTorch's as well as tinytorch's, first asks glibc to keep
freed memory for the next arrays (tinytorch's reuse_freed_memory, Module 01), as Milestones 04
and 05 do: otherwise each array above 128 KiB costs a page fault per 4 KiB every time it is
made, which on this kind of machine doubles the time of the attention rows for numpy and
tinytorch alike. `--glibc-defaults` measures without it.
Every measuring process also gets OPENBLAS_THREAD_TIMEOUT=20 (unless the environment sets it),
as the milestones do (milestones/common.py): after a multi-threaded matrix multiply, OpenBLAS's
idle threads spin for about 0.1 s before they sleep, on the very cores that tinytorch's
convolution threads (Module 09) need next; that made the CIFAR-10 step no faster on 2 threads
than on 1. With the setting they sleep after 2**20 cycles, under a millisecond.
`--openblas-defaults` measures without it. PyTorch does not use OpenBLAS.
A row may set SCALE: its times are then shown multiplied by it (an epoch from a few steps).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from measure_one import GLIBC_DEFAULTS, IMPLEMENTATIONS
from timing import load_torch

ROWS = ["mlp_epoch", "dataloader_epoch", "conv2d", "cifar_epoch", "attention", "gpt_step"]
HERE = Path(__file__).resolve().parent


def thread_settings(threads: int | None) -> dict | None:
    """The environment of the measuring processes: None (inherit this one), or every library
    on `threads`."""
    if threads is None:
        return None
    names = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
    return {**os.environ, **{name: str(threads) for name in names}}


def openblas_spin(openblas_defaults: bool) -> None:
    """Unless `openblas_defaults` (or the environment already says), let OpenBLAS's idle threads
    sleep after 2**20 cycles, under 1 ms, in every measuring process (they inherit os.environ):
    they spin for about 0.1 s after each multi-threaded matrix multiply, on the cores that
    tinytorch's convolution threads want next. The same value as milestones/common.py."""
    if not openblas_defaults:
        os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "20")


def measure_once(row: str, implementation: str, repeats: int, threads: int | None) -> dict | None:
    """{"seconds": median, "result": what the last run returned}, measured in a fresh process;
    None when the row has no such implementation (or torch is not installed)."""
    command = [sys.executable, str(HERE / "measure_one.py"), row, implementation,
               "--repeats", str(repeats)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=HERE,
                          env=thread_settings(threads))
    if done.returncode != 0:
        raise RuntimeError(f"measuring {implementation} on row {row} failed:\n{done.stderr}")
    return json.loads(done.stdout.splitlines()[-1])


def measure(row: str, repeats: int, rounds: int, threads: int | None) -> dict:
    """For each implementation of the row, its measurements over the rounds, in round order;
    without `threads`, also "torch@1": PyTorch on one thread."""
    found: dict = {}
    implementations = IMPLEMENTATIONS + (("torch@1",) if threads is None else ())
    for round_number in range(rounds):
        order = implementations if round_number % 2 == 0 else implementations[::-1]
        for implementation in order:
            if round_number and implementation not in found:
                continue  # the row has no such implementation
            if implementation == "torch@1":
                result = measure_once(row, "torch", repeats, 1)
            else:
                result = measure_once(row, implementation, repeats, threads)
            if result is not None:
                found.setdefault(implementation, []).append(result)
    return found


def fmt(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds:9.2f} s " if seconds >= 10 else f"{seconds * 1e3:9.2f} ms"


def report(row, found: dict) -> bool:
    """Print the row's line and its result line; True when the row misses its target."""
    scale = getattr(row, "SCALE", 1)
    time = {k: scale * statistics.median(m["seconds"] for m in v) for k, v in found.items()}
    ratios = [t["seconds"] / p["seconds"] for t, p in zip(found["tinytorch"], found.get("torch", []))]
    ratio = statistics.median(ratios) if ratios else None
    verdict = "" if ratio is None else ("met" if ratio <= row.TARGET else "MISSED")
    shown = "" if ratio is None else f"{ratio:6.2f}x"
    spread = "" if len(ratios) < 2 else f"  (rounds {min(ratios):.2f}-{max(ratios):.2f}x)"
    print(f"{row.NAME:<48} {fmt(time.get('numpy')):>12} {fmt(time['tinytorch']):>12} "
          f"{fmt(time.get('torch')):>12} {shown:>7}  <= {row.TARGET}x {verdict}{spread}")
    best = [t["seconds"] / min(p["seconds"], p1["seconds"])
            for t, p, p1 in zip(found["tinytorch"], found.get("torch", []), found.get("torch@1", []))]
    if best:
        one = sum(p1["seconds"] < p["seconds"] for p, p1 in zip(found["torch"], found["torch@1"]))
        print(f"{'':<48} against PyTorch at its best thread count: {statistics.median(best):.2f}x "
              f"(rounds {min(best):.2f}-{max(best):.2f}x; torch on 1 thread "
              f"{fmt(time['torch@1']).strip()}, faster than its default in {one} of {len(best)} rounds)")
    outcome = ", ".join(f"{k} {v[-1]['result']:.4g}" for k, v in found.items())
    print(f"{'':<48} {row.RESULT}: {outcome}")
    if ratios and min(ratios) <= row.TARGET < max(ratios):
        print(f"{'':<48} some rounds met the target and some did not: this machine's speed "
              f"changed during the run (see README, Benchmarks)")
    return verdict == "MISSED"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("rows", nargs="*", default=ROWS, help=f"rows to run (default: {ROWS})")
    parser.add_argument("--repeats", type=int, default=11, help="timed runs per measurement")
    parser.add_argument("--rounds", type=int, default=5, help="measurements per implementation")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for every library (default: each library's own choice)")
    parser.add_argument("--glibc-defaults", action="store_true",
                        help="do not ask glibc to keep freed memory (default: ask, for every library)")
    parser.add_argument("--openblas-defaults", action="store_true",
                        help="let OpenBLAS's idle threads spin as long as they like (default: "
                             "OPENBLAS_THREAD_TIMEOUT=20, for every library)")
    args = parser.parse_args(argv)
    if args.glibc_defaults:
        os.environ[GLIBC_DEFAULTS] = "1"  # read by measure_one.py in every measuring process
    openblas_spin(args.openblas_defaults)
    torch = load_torch()
    if torch is None:
        print("PyTorch is not installed: the torch column is skipped "
              "(pip install torch==2.13.0 to compare).")
    else:
        threads = args.threads or torch.get_num_threads()
        print(f"PyTorch {torch.__version__} on the CPU, {threads} thread{'s' * (threads > 1)}")
    import numpy
    blas = "its default threads" if args.threads is None else f"{args.threads} BLAS thread(s)"
    print(f"numpy {numpy.__version__} with {blas}; each time is the median of {args.repeats} runs "
          f"in a fresh process; {args.rounds} rounds per row")
    memory = "glibc's defaults" if args.glibc_defaults else "glibc keeping freed memory for reuse"
    spin = "OpenBLAS's own" if args.openblas_defaults else "OPENBLAS_THREAD_TIMEOUT=20"
    print(f"memory: every process with {memory} (see --glibc-defaults); idle BLAS threads: "
          f"{spin} (see --openblas-defaults)\n")
    header = f"{'row':<48} {'numpy':>12} {'tinytorch':>12} {'torch':>12} {'ratio':>7}  target"
    print(header + "\n" + "-" * len(header))
    missed = 0
    for name in args.rows:
        found = measure(name, args.repeats, args.rounds, args.threads)
        missed += report(importlib.import_module(name), found)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())

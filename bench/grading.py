"""Benchmark row: autograding throughput, one worker against parallel workers, and the sandbox.

    .venv/bin/python bench/grading.py                    60 students, 1 and 2 workers
    .venv/bin/python bench/grading.py --students 10      a quick run
    .venv/bin/python bench/grading.py --sandbox-students 0   without the sandbox comparison

A synthetic class of Module 08 (bench/synthetic_class.py: the reference, the release and
planted bugs) is graded with course/grade_all.py, as an instructor runs it: once with one
worker into SQLite (the default gradebook), once with --workers N into a PostgreSQL server
started for the run (tests/postgres.py, Debian's binaries). Each time is the wall time of the
whole command, start-up included. The sandbox's cost per submission is measured on the first
--sandbox-students students, graded with one worker with the sandbox on and off
(--GradingExecute.sandbox=False). The projection divides a class's submissions by the measured
rate: nine modules are counted as nine Module 08s (the other modules' grading times differ).
Machines are noisy: this is a benchmark, never a test.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests"))

import synthetic_class  # noqa: E402

ASSIGNMENT = synthetic_class.ASSIGNMENT
MODULES = 9


def grade(root: Path, workers: int, db: str | None = None, *options: str) -> float:
    """Seconds for course/grade_all.py to grade every student of the course folder."""
    command = [sys.executable, str(ROOT / "course" / "grade_all.py"), ASSIGNMENT,
               "--course-root", str(root), "--workers", str(workers), "--force", *options]
    if db:
        command += ["--db", db]
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.monotonic() - started
    if done.returncode not in (0, 1):  # 1: some gradings failed, which the summary names
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr[-3000:]}")
    print("\n".join(f"    {line}" for line in done.stdout.splitlines()) + f"  [{seconds:.0f} s]",
          flush=True)
    return seconds


def grades(url: str) -> dict:
    from nbgrader.api import Gradebook

    with Gradebook(url) as gradebook:
        return {s.student.id: {g.name: g.score for n in s.notebooks for g in n.grades}
                for s in gradebook.find_assignment(ASSIGNMENT).submissions}


def has_sandbox_trait() -> bool:
    from course.autograding import GradingExecute

    return "sandbox" in GradingExecute.class_trait_names()


def clock(minutes: float) -> str:
    if minutes < 90:
        return f"{minutes:.0f} min"
    return f"{minutes / 60:.1f} h"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=60)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2,
                        help="workers of the parallel run (default: the number of cores)")
    parser.add_argument("--sandbox-students", type=int, default=10,
                        help="students graded with the sandbox on and off (0: skip)")
    parser.add_argument("--keep", type=Path, help="build the course folders here and keep them")
    args = parser.parse_args(argv)

    from postgres import PostgresServer

    folder = args.keep or Path(tempfile.mkdtemp(prefix="tinytorch-bench-grading-"))
    kinds = synthetic_class.kinds(args.students)
    rows = []
    print(f"{args.students} students of {ASSIGNMENT} "
          f"({kinds.count('reference')} reference, {kinds.count('release')} release, "
          f"{sum(k.startswith('mutation') for k in kinds)} planted bugs) on {os.cpu_count()} cores; "
          f"course folders in {folder}", flush=True)
    with PostgresServer() as server:
        url = server.create_database("bench")
        sqlite_root, postgres_root = folder / "sqlite", folder / "postgres"
        synthetic_class.prepare_course(sqlite_root)
        synthetic_class.prepare_course(postgres_root, url)
        synthetic_class.write_class(sqlite_root, kinds)
        synthetic_class.write_class(postgres_root, kinds)

        print("  1 worker, SQLite:", flush=True)
        rows.append(("1 worker, SQLite", 1, args.students, grade(sqlite_root, 1)))
        print(f"  {args.workers} workers, PostgreSQL:", flush=True)
        rows.append((f"{args.workers} workers, PostgreSQL", args.workers, args.students,
                     grade(postgres_root, args.workers, url)))
        first, second = grades(f"sqlite:///{sqlite_root / 'gradebook.db'}"), grades(url)
        differ = sorted(s for s in first.keys() | second.keys() if first.get(s) != second.get(s))
        same = not differ

    sandbox = None
    if args.sandbox_students and not has_sandbox_trait():
        print("  the sandbox comparison is skipped: GradingExecute has no `sandbox` option here")
    elif args.sandbox_students:
        n = min(args.sandbox_students, args.students)
        small = folder / "sandbox"
        synthetic_class.prepare_course(small)
        synthetic_class.write_class(small, kinds[:n])
        print(f"  sandbox off / on, 1 worker, {n} students:", flush=True)
        off = grade(small, 1, None, "--GradingExecute.sandbox=False")
        on = grade(small, 1, None, "--GradingExecute.sandbox=True")
        sandbox = (n, off, on)

    print()
    header = f"{'run':<28} {'submissions':>11} {'wall time':>10} {'per minute':>11} {'s each':>7}"
    print(header + "\n" + "-" * len(header))
    for name, _, n, seconds in rows:
        print(f"{name:<28} {n:>11} {seconds:>8.0f} s {n / seconds * 60:>11.1f} {seconds / n:>7.1f}")
    speedup = rows[0][3] / rows[1][3]
    print(f"parallel speed-up: {speedup:.2f}x; grades of the two runs identical: "
          f"{'yes' if same else 'NO, for ' + ', '.join(differ)}")
    if sandbox:
        n, off, on = sandbox
        print(f"sandbox: {off / n:.1f} s per submission off, {on / n:.1f} s on: "
              f"{(on - off) / n:+.1f} s ({(on - off) / off * 100:+.0f}%) per submission")

    print("\nprojection (submissions / measured rate; nine modules counted as nine Module 08s)")
    header = f"{'class':<34} " + " ".join(f"{name:>24}" for name, *_ in rows)
    print(header + "\n" + "-" * len(header))
    for students in (300, 3000):
        for modules, what in ((1, "one assignment"), (MODULES, f"all {MODULES} modules")):
            submissions = students * modules
            cells = [clock(submissions / (n / seconds * 60)) for _, _, n, seconds in rows]
            label = f"{students} students, {what}"
            print(f"{label:<34} " + " ".join(f"{c:>24}" for c in cells))
    if not args.keep:
        import shutil
        shutil.rmtree(folder, ignore_errors=True)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())

"""Autograde one assignment for every student who submitted it, in parallel workers.

    .venv/bin/python course/grade_all.py 08_dataloader
    .venv/bin/python course/grade_all.py 08_dataloader --workers 2 --db postgresql://...
    .venv/bin/python course/grade_all.py 08_dataloader --shard 0/3      (on machine 1 of 3)

Each student is graded by nbgrader's own API (NbGraderAPI.autograde, with the course's
nbgrader_config.py), one student per task, in worker processes that each start nbgrader once.
Students are the folders submitted/<student>/<assignment>/ of the course root. A student whose
autograded/<student>/<assignment>/ exists is left as graded unless --force is given.

The gradebook is the config's c.CourseDirectory.db_url, or --db. SQLite (nbgrader's default, a
file) takes one writer at a time: with it, grading runs in one worker. A PostgreSQL gradebook
takes many: every worker, and every machine that shares it and the course folder, writes to it.
--shard K/M grades only the students whose place in the sorted list is K modulo M, so that M
machines split a class with no student graded twice or missed.

Options of nbgrader's steps are passed as on nbgrader's command line, for example
--Execute.timeout=30 or --GradingExecute.probe_timeout=5.

The summary counts the students graded, those whose grading failed (nbgrader refused the
submission or crashed: the first line of the reason is shown), and, among the graded, those
with a cell stopped at the time limit. nbgrader's whole log of each failed or timed-out student
goes to grade_all-<assignment>.log in the course root (grade_all-<assignment>-shard-K-of-M.log
for a shard). The exit status is 1 when any grading failed, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import ast
import concurrent.futures
import logging
import multiprocessing
import os
import sys
import time
from pathlib import Path

# One BLAS thread per process: the workers and their kernels share the cores.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")
# nbgrader starts `alembic` and the kernel by name: find those of this interpreter's venv.
os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])

REPOSITORY = Path(__file__).resolve().parent.parent  # where nbgrader_config.py is
COURSE_ID = "tinytorch"  # a server gradebook's course id, when the config sets none


# ----- configuration --------------------------------------------------------------------------

def parse_override(text: str) -> tuple[str, str, object]:
    """'--Execute.timeout=30' -> ('Execute', 'timeout', 30)."""
    name, sep, value = text.removeprefix("--").partition("=")
    klass, dot, trait = name.rpartition(".")
    if not (sep and dot and klass and trait):
        raise ValueError(f"{text!r} is not an option of the form --Class.trait=value")
    try:
        parsed = ast.literal_eval(value)
    except (ValueError, SyntaxError):
        parsed = value  # a plain word: a string
    return klass, trait, parsed


def make_config(root: Path, db: str | None, overrides: list[tuple[str, str, object]]):
    from course.config import course_config

    config = course_config(root)
    if db:
        config.CourseDirectory.db_url = db
    for klass, trait, value in overrides:
        setattr(getattr(config, klass), trait, value)
    # nbgrader's default course id, '', names no row of the gradebook's course table: SQLite
    # does not check that, PostgreSQL refuses every assignment. The guide sets the same id.
    if not is_sqlite(gradebook_url(config)) and not config.CourseDirectory.get("course_id"):
        config.CourseDirectory.course_id = COURSE_ID
    return config


def gradebook_url(config) -> str:
    from nbgrader.coursedir import CourseDirectory

    return CourseDirectory(config=config).db_url


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def shown_url(url: str) -> str:
    """The URL without its password."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


# ----- one student, in a worker ---------------------------------------------------------------

_api = None  # the worker's NbGraderAPI, made once by start_worker


def start_worker(root: str, db: str | None, overrides: list) -> None:
    global _api
    import warnings

    from nbgrader.apps import NbGraderAPI

    # What nbgrader and the kernels print goes to no terminal: each student's log is kept in
    # the result, and the progress bar stays readable.
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 1)
    os.dup2(quiet, 2)
    warnings.filterwarnings("ignore", message="Object of type .* not in session")

    log = logging.getLogger("grade_all.worker")
    log.propagate = False  # nbgrader's log goes into each result, not onto the progress bar
    log.setLevel(logging.INFO)
    _api = NbGraderAPI(config=make_config(Path(root), db, overrides), log=log)


def timed_out_cells(folder: Path) -> list[str]:
    """grade_ids (or cell numbers) of the cells stopped at the time limit in the autograded notebooks."""
    import nbformat

    found = []
    for path in sorted(folder.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for number, cell in enumerate(nb.cells, 1):
            if any(o.get("ename") == "CellTimeoutError" for o in cell.get("outputs", [])):
                found.append(cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell {number}")
    return found


def first_reason(result: dict) -> str:
    """The first line of why nbgrader did not grade a submission: the exception that its
    first logged traceback ends with, else its first error message."""
    lines = (result.get("log") or "").splitlines()
    for start, line in enumerate(lines):
        if line.startswith("[ERROR] Traceback"):
            block = []
            for following in lines[start + 1:]:
                if following.startswith("["):
                    break
                if following.strip():
                    block.append(following.strip())
            if block:
                return block[-1]
    for line in lines:
        if line.startswith(("[ERROR]", "[CRITICAL]")):
            return line.split("]", 1)[1].strip()
    lines = [line for line in (result.get("error") or "").splitlines() if line.strip()]
    return lines[-1].strip() if lines else "no reason given"


# A kernel that dies before its first reply never ran the submission: the machine was short of
# something (processes, memory) at that moment. Such a grading is tried once more.
NOT_STARTED = "Kernel died before replying to kernel_info"


def autograde(assignment: str, student: str) -> dict:
    try:
        return _api.autograde(assignment, student, force=True, create=True)
    except Exception as error:  # nbgrader's API catches its own errors; this is anything else
        import traceback
        return {"success": False, "error": traceback.format_exc(),
                "log": f"[ERROR] {type(error).__name__}: {error}"}


def grade_one(assignment: str, student: str) -> dict:
    """Autograde one student's submission; what happened, as a dict."""
    started = time.monotonic()
    result, retried = autograde(assignment, student), False
    if not result.get("success") and NOT_STARTED in first_reason(result):
        first_log = result.get("log") or ""
        time.sleep(2)
        result, retried = autograde(assignment, student), True
        result["log"] = f"{first_log}\n[WARNING] tried again: {NOT_STARTED}\n{result.get('log') or ''}"
    outcome = {"student": student, "seconds": time.monotonic() - started,
               "success": bool(result.get("success")), "timed_out": [], "retried": retried,
               "reason": "", "log": result.get("log") or ""}
    if outcome["success"]:
        folder = Path(_api.coursedir.format_path(_api.coursedir.autograded_directory,
                                                 student, assignment))
        outcome["timed_out"] = timed_out_cells(folder)
    else:
        outcome["reason"] = first_reason(result)
        outcome["log"] += "\n" + (result.get("error") or "")
    return outcome


# ----- the class ------------------------------------------------------------------------------

def find_students(root: Path, config, assignment: str) -> list[str]:
    from nbgrader.coursedir import CourseDirectory

    submitted = Path(root) / CourseDirectory(config=config).submitted_directory
    return sorted(p.parent.name for p in submitted.glob(f"*/{assignment}")
                  if p.is_dir() and not p.parent.name.startswith("."))


def shard_of(students: list[str], shard: tuple[int, int] | None) -> list[str]:
    """The students of shard K/M: those whose place in the sorted list is K modulo M."""
    if shard is None:
        return list(students)
    k, m = shard
    return [s for i, s in enumerate(sorted(students)) if i % m == k]


def parse_shard(text: str) -> tuple[int, int]:
    try:
        k, m = (int(part) for part in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--shard takes K/M, such as 0/3: got {text!r}")
    if not 0 <= k < m:
        raise argparse.ArgumentTypeError(f"--shard K/M needs 0 <= K < M: got {text!r}")
    return k, m


class Progress:
    """A one-line progress bar on stderr (a line per student when stderr is not a terminal)."""

    def __init__(self, total: int, stream=sys.stderr):
        self.total, self.done, self.failed, self.timed_out = total, 0, 0, 0
        self.stream, self.started = stream, time.monotonic()
        self.live = stream.isatty()

    def update(self, outcome: dict) -> None:
        self.done += 1
        self.failed += not outcome["success"]
        self.timed_out += bool(outcome["timed_out"])
        elapsed = time.monotonic() - self.started
        left = elapsed / self.done * (self.total - self.done)
        width = 30
        filled = width * self.done // max(self.total, 1)
        line = (f"[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total}  "
                f"failed {self.failed}  timed out {self.timed_out}  "
                f"{clock(elapsed)} elapsed, ~{clock(left)} left")
        if self.live:
            self.stream.write("\r" + line)
            if self.done == self.total:
                self.stream.write("\n")
        else:
            status = "failed" if not outcome["success"] else \
                "timed out" if outcome["timed_out"] else "graded"
            self.stream.write(f"{line}  ({outcome['student']}: {status}, "
                              f"{outcome['seconds']:.1f} s)\n")
        self.stream.flush()


def clock(seconds: float) -> str:
    minutes, seconds = divmod(int(round(seconds)), 60)
    return f"{minutes}:{seconds:02d}"


def grade_all(assignment: str, students: list[str], root: Path, db: str | None,
              overrides: list, workers: int, progress: Progress | None = None) -> list[dict]:
    """Grade the students; their outcomes in the order they finished."""
    outcomes = []
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited locks
    with concurrent.futures.ProcessPoolExecutor(
            max_workers=workers, mp_context=context, initializer=start_worker,
            initargs=(str(root), db, overrides)) as pool:
        futures = {pool.submit(grade_one, assignment, s): s for s in students}
        for future in concurrent.futures.as_completed(futures):
            try:
                outcome = future.result()
            except Exception as error:  # the worker process itself died (killed, out of memory)
                outcome = {"student": futures[future], "seconds": 0.0, "success": False,
                           "timed_out": [], "reason": f"the worker crashed: "
                           f"{type(error).__name__}: {error}", "log": repr(error)}
            outcomes.append(outcome)
            if progress:
                progress.update(outcome)
    return outcomes


def summary(assignment: str, outcomes: list[dict], skipped: list[str], seconds: float,
            workers: int) -> str:
    graded = [o for o in outcomes if o["success"]]
    failed = sorted((o for o in outcomes if not o["success"]), key=lambda o: o["student"])
    timed_out = sorted((o for o in graded if o["timed_out"]), key=lambda o: o["student"])
    rate = len(outcomes) / seconds * 60 if seconds and outcomes else 0.0
    lines = [f"{assignment}: {len(graded)} graded, {len(failed)} failed, "
             f"{len(timed_out)} timed out (graded, with a cell stopped at the time limit), "
             f"{len(skipped)} skipped (already autograded; --force grades them again)"
             + (f"; {retried} tried twice (the first kernel died before its first reply)"
                if (retried := sum(o.get("retried", False) for o in outcomes)) else ""),
             f"time: {clock(seconds)} with {workers} worker{'s' * (workers > 1)} "
             f"({rate:.1f} submissions per minute)"]
    for o in failed:
        lines.append(f"  failed     {o['student']}: {o['reason']}")
    for o in timed_out:
        lines.append(f"  timed out  {o['student']}: {', '.join(o['timed_out'])}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("assignment", help="the assignment, such as 08_dataloader")
    parser.add_argument("--workers", type=int, default=None,
                        help="processes grading at once (default: the number of cores with a "
                             "PostgreSQL gradebook, 1 with SQLite)")
    parser.add_argument("--course-root", type=Path, default=REPOSITORY,
                        help="the course folder (default: this repository)")
    parser.add_argument("--db", help="the gradebook's SQLAlchemy URL (default: the config's "
                                     "c.CourseDirectory.db_url, else <course root>/gradebook.db)")
    parser.add_argument("--force", action="store_true",
                        help="grade again the students who are already autograded")
    parser.add_argument("--shard", type=parse_shard, metavar="K/M",
                        help="grade only the students whose index in the sorted list is K mod M")
    args, rest = parser.parse_known_args(argv)
    try:
        overrides = [parse_override(text) for text in rest]
    except ValueError as error:
        parser.error(str(error))

    root = args.course_root.resolve()
    config = make_config(root, args.db, overrides)
    url = gradebook_url(config)
    workers = args.workers or (1 if is_sqlite(url) else os.cpu_count() or 1)
    if workers < 1:
        parser.error("--workers must be at least 1")
    if workers > 1 and is_sqlite(url):
        print(f"grade_all: an SQLite gradebook ({shown_url(url)}) takes one writer at a time, so "
              f"it is graded with --workers 1. For parallel workers, use a PostgreSQL gradebook "
              f"(--db postgresql://... or c.CourseDirectory.db_url; see the instructor guide).",
              file=sys.stderr)
        return 2

    from nbgrader.api import Gradebook, MissingEntry

    # Opening the gradebook here creates its tables once, before workers race to do it.
    try:
        with Gradebook(url) as gradebook:
            gradebook.find_assignment(args.assignment)
    except MissingEntry:
        print(f"grade_all: {args.assignment} is not in the gradebook {shown_url(url)}: run "
              f"nbgrader generate_assignment {args.assignment} with this gradebook first",
              file=sys.stderr)
        return 2
    except ModuleNotFoundError as error:  # SQLAlchemy 2.1 reads postgresql:// as psycopg 3
        print(f"grade_all: the gradebook {shown_url(url)} needs the database driver "
              f"{error.name}, which is not installed; the course installs psycopg2: write the "
              f"URL as postgresql+psycopg2://...", file=sys.stderr)
        return 2

    students = shard_of(find_students(root, config, args.assignment), args.shard)
    from nbgrader.coursedir import CourseDirectory
    coursedir = CourseDirectory(config=config)
    skipped = [] if args.force else [
        s for s in students
        if Path(coursedir.format_path(coursedir.autograded_directory, s, args.assignment)).is_dir()]
    todo = [s for s in students if s not in skipped]
    shard = f" (shard {args.shard[0]}/{args.shard[1]})" if args.shard else ""
    print(f"grade_all: {args.assignment}{shard}: {len(todo)} to grade, {len(skipped)} already "
          f"autograded, {workers} worker{'s' * (workers > 1)}, gradebook {shown_url(url)}",
          file=sys.stderr)

    if todo:  # the grading package, built once here instead of by every worker at once
        from course.grading_package import grading_package
        grading_package(args.assignment, root, root / coursedir.source_directory)

    started = time.monotonic()
    outcomes = grade_all(args.assignment, todo, root, args.db, overrides, min(workers, max(len(todo), 1)),
                         Progress(len(todo)))
    seconds = time.monotonic() - started

    troubled = [o for o in outcomes if not o["success"] or o["timed_out"]]
    part = f"-shard-{args.shard[0]}-of-{args.shard[1]}" if args.shard else ""
    log_path = root / f"grade_all-{args.assignment}{part}.log"  # one per machine of a shared folder
    if troubled:
        with open(log_path, "w", encoding="utf-8") as log:
            for o in sorted(troubled, key=lambda o: o["student"]):
                log.write(f"===== {o['student']}\n{o['log']}\n")
    print(summary(args.assignment, outcomes, skipped, seconds, workers))
    if troubled:
        print(f"nbgrader's log of each failed or timed-out student: {log_path}")
    return 1 if any(not o["success"] for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())

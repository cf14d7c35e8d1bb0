"""Run a notebook's code cells in plain Python processes, the way nbgrader's kernel runs them.

    echo '["NOTEBOOK", [UNTIL], [UNTIL, CELL, OLD, NEW], [UNTIL, [[CELL, OLD, NEW], ...]], ...]' \
        | python tests/run_cells.py

Each [UNTIL, ...] is one run: every code cell of NOTEBOOK, in order, in one namespace, up to and
including the cell whose grade_id is UNTIL. As in nbgrader's autograde, an error in one cell is
recorded and the next cell still runs. With CELL, OLD, NEW, the cell whose grade_id is CELL
runs with OLD replaced by NEW (a student's mistake, for the mutation check; a differently
written right answer, for the alternates); a list of such edits applies them all. Prints a JSON list
with one object per run: grade_id -> None if that cell ran cleanly, else "ErrorType: message".

Every run gets a process of its own: notebooks change process-wide state (Module 05 installs
its engine in tinytorch's AUTOGRAD, a broken no_grad can leave recording off), so no run may
see another's. The runs share what they have in common: one process (the walker) runs the
unedited cells in order, and just before the first cell a run edits it forks a child that
goes on from there with that run's edits, while the walker waits and then goes on itself. So a
run pays only for the cells from its first edit on, and a run without edits is the walker's
own record. The cells are deterministic, so a child forked at cell k is the run from scratch
would have been at cell k. Forking after numpy, matplotlib and tinytorch are imported saves
every process those imports (so this needs os.fork: Linux or macOS). Plain Python, not a
kernel: far cheaper to start, and the course's cells use nothing IPython-specific (no magics,
no display()).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import sys

RUN_LIMIT = 120  # seconds; a mutation that makes a cell loop forever ends its run here


def run_cell(cell: dict, namespace: dict, edits: list) -> str | None:
    """Run one cell in `namespace`, with the edits that concern it: None, or the error."""
    grade_id = grade_id_of(cell)
    source = "".join(cell["source"])
    for cell_id, old, new in edits:
        if grade_id == cell_id:
            source = source.replace(old, new)
    if cell["cell_type"] != "code":
        return None
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(source, f"cell {grade_id}", "exec"), namespace)
    except Exception as exc:  # a failing cell, as the kernel would report it
        return f"{type(exc).__name__}: {exc}"[:500]
    return None


def grade_id_of(cell: dict) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def go_on(cells: list, start: int, stop: int, namespace: dict, errors: dict, edits: list,
          limit_each_cell: bool = False) -> None:
    """Run cells[start:stop + 1], recording each graded cell's outcome in `errors`."""
    for cell in cells[start:stop + 1]:
        if limit_each_cell:  # the walker: each of its cells in RUN_LIMIT, not its whole walk
            signal.alarm(RUN_LIMIT)
        error = run_cell(cell, namespace, edits)
        if limit_each_cell:
            signal.alarm(0)
        grade_id = grade_id_of(cell)
        if grade_id and cell["cell_type"] == "code":
            errors[grade_id] = error


def in_child(work) -> dict:
    """work() in a forked child, within RUN_LIMIT seconds; its report comes back through a pipe."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: run, report, and leave at once (no clean-up of the parent's)
        os.close(read_end)
        signal.alarm(RUN_LIMIT)
        try:
            report = work()
        except BaseException as exc:
            report = {"run_cells.py": f"{type(exc).__name__}: {exc}"}
        with os.fdopen(write_end, "w") as pipe:
            pipe.write(json.dumps(report))
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        text = pipe.read()
    os.waitpid(pid, 0)
    if not text:  # killed by the alarm, or by anything else, before it could report
        return {"run_cells.py": f"the run was killed (time limit {RUN_LIMIT} s)"}
    return json.loads(text)


def walk(path: str, runs: list) -> list[dict]:
    """Every run's report, the walker sharing the unedited cells before each run's first edit."""
    with open(path, encoding="utf-8") as f:
        cells = json.load(f)["cells"]
    index = {grade_id_of(c): i for i, c in enumerate(cells) if grade_id_of(c)}
    reports: list = [None] * len(runs)
    plans = []  # (fork at, run number, until index, edits); fork at None: the walker's record
    for number, (until, edits) in enumerate(runs):
        if until not in index:
            reports[number] = {"run_cells.py": f"LookupError: {path} has no cell with grade_id {until!r}"}
            continue
        first = min((index[cell] for cell, _, _ in edits if cell in index), default=None)
        if first is not None and first > index[until]:
            first = None  # its edits come after the cells it runs: the unedited run
        plans.append((first, number, index[until], edits))
    namespace, errors = {"__name__": "__main__"}, {}
    stops = sorted({at if at is not None else stop + 1 for at, _, stop, _ in plans})
    done = -1  # the walker has run cells[:done + 1]
    for stop in stops:
        go_on(cells, done + 1, stop - 1, namespace, errors, [], limit_each_cell=True)
        done = stop - 1
        for at, number, until, edits in plans:
            if at == stop:
                reports[number] = in_child(lambda: _finish(cells, at, until, namespace, errors, edits))
            elif at is None and until == done:
                reports[number] = dict(errors)
    return reports


def _finish(cells, at, until, namespace, errors, edits) -> dict:
    go_on(cells, at, until, namespace, errors, edits)
    return errors


if __name__ == "__main__":
    os.environ.setdefault("MPLBACKEND", "Agg")  # plots are drawn but never shown
    import matplotlib.pyplot  # noqa: F401  (imported once, before the forks)
    import numpy  # noqa: F401
    import tinytorch  # noqa: F401

    notebook, *runs = json.load(sys.stdin)
    notebook = os.path.abspath(notebook)
    os.chdir(os.path.dirname(notebook))  # where the kernel would run
    runs = [(until, edit[0] if edit and isinstance(edit[0], list) else [edit] if edit else [])
            for until, *edit in runs]  # [UNTIL, CELL, OLD, NEW] is one edit, [UNTIL, [...]] several
    reports = in_child(lambda: walk(notebook, runs))
    if isinstance(reports, dict):  # the walker itself was stopped: no run has a report
        reports = [reports] * len(runs)
    print(json.dumps(reports))

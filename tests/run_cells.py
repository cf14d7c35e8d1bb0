"""Run a notebook's code cells in plain Python processes, the way nbgrader's kernel runs them.

    echo '["NOTEBOOK", [UNTIL], [UNTIL, CELL, OLD, NEW], [UNTIL, [[CELL, OLD, NEW], ...]], ...]' \
        | python tests/run_cells.py

Each [UNTIL, ...] is one run: every code cell of NOTEBOOK, in order, in one namespace, up to and
including the cell whose grade_id is UNTIL. As in nbgrader's autograde, an error in one cell is
recorded and the next cell still runs. With CELL, OLD, NEW, the cell whose grade_id is CELL
runs with OLD replaced by NEW (a student's mistake, for the mutation check; a differently
written right answer, for the alternates); a list of such edits applies them all. Prints a JSON list
with one object per run: grade_id -> None if that cell ran cleanly, else "ErrorType: message".

Every run happens in its own forked child of this process: notebooks change process-wide state
(Module 05 installs its engine in tinytorch's AUTOGRAD, a broken no_grad can leave recording
off), so no run may see another's. Forking after numpy, matplotlib and tinytorch are imported
saves each run those imports (so this needs os.fork: Linux or macOS). Plain Python, not a
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


def run(path: str, until: str, edits: list) -> dict:
    with open(path, encoding="utf-8") as f:
        cells = json.load(f)["cells"]
    namespace = {"__name__": "__main__"}
    errors = {}
    for cell in cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        source = "".join(cell["source"])
        for cell_id, old, new in edits:
            if grade_id == cell_id:
                source = source.replace(old, new)
        if cell["cell_type"] == "code":
            error = None
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    exec(compile(source, f"cell {grade_id}", "exec"), namespace)
            except Exception as exc:  # a failing cell, as the kernel would report it
                error = f"{type(exc).__name__}: {exc}"[:500]
            if grade_id:
                errors[grade_id] = error
        if grade_id == until:
            return errors
    raise LookupError(f"{path} has no cell with grade_id {until!r}")


def run_in_child(path: str, until: str, edits: list) -> dict:
    """run() in a forked child; its report comes back through a pipe."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: run, report, and leave at once (no clean-up of the parent's)
        os.close(read_end)
        signal.alarm(RUN_LIMIT)
        try:
            report = run(path, until, edits)
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
    print(json.dumps([run_in_child(notebook, until, edits) for until, edits in runs]))

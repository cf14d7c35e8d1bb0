"""Every module notebook runs, is committed clean, and follows the course's conventions."""

from __future__ import annotations

import ast
import re
from collections import Counter

from nbclient import NotebookClient

from course.notebooks import (HIDDEN, NOTEBOOKS, SOLUTION, _region_indices, graded_cells, module_number,
                       nbgrader_meta, read, regions, solution_cells)

ANATOMY = ["goal", "concept", "build", "systems analysis", "integration", "summary"]


def test_notebook_runs_top_to_bottom(notebook):
    nb = read(notebook)
    NotebookClient(nb, timeout=60, kernel_name="python3",
                   resources={"metadata": {"path": str(notebook.parent)}}).execute()
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors


def test_notebook_is_committed_without_outputs(notebook):
    dirty = [i for i, c in enumerate(read(notebook).cells, start=1)
             if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not dirty, f"{notebook.name}: cells {dirty} carry outputs; clear them before committing"


def test_grade_ids_are_unique_across_the_course():
    ids = Counter(nbgrader_meta(c)["grade_id"] for path in NOTEBOOKS for c in read(path).cells
                  if "grade_id" in nbgrader_meta(c))
    assert not [g for g, n in ids.items() if n > 1]


def test_notebook_follows_the_cell_conventions(notebook):
    nb = read(notebook)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and re.fullmatch(r"#\| default_exp [\w.]+", code[0].source.strip()), (
        "the first code cell must be just '#| default_exp <module>'")
    prefix = module_number(notebook) + "-"
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        grade_id = meta.get("grade_id", "")
        if meta:
            assert re.fullmatch(re.escape(prefix) + r"[a-z0-9]+(-[a-z0-9]+)*", grade_id), grade_id
            assert meta.get("locked") or meta.get("solution") or meta.get("grade"), (
                f"{grade_id}: a cell with a grade_id must be locked, a solution cell or graded; "
                "otherwise a student may edit it and nbgrader never checks it")
        if meta.get("solution"):
            assert regions(cell.source, SOLUTION), f"{grade_id}: solution cell without a region"
        if meta.get("grade"):
            assert meta.get("locked") and meta.get("points", 0) > 0, f"{grade_id}: lock it, give points"
        if regions(cell.source, HIDDEN):
            assert meta.get("grade"), f"{grade_id}: hidden tests belong in graded cells"
    assert len(solution_cells(nb)) >= 2 and graded_cells(nb)


def test_notebook_has_the_module_anatomy(notebook):
    headings = " ".join(line.lower() for c in read(notebook).cells if c.cell_type == "markdown"
                        for line in c.source.splitlines() if line.startswith("#"))
    missing = [part for part in ANATOMY if part not in headings]
    assert not missing, f"{notebook.name} has no heading for: {missing}"


def ends_with_a_value(source: str) -> bool:
    """True when the code's last statement is an expression that shows a value (not print())."""
    body = ast.parse(source).body
    if not body or not isinstance(body[-1], ast.Expr):
        return False
    call = body[-1].value
    return not (isinstance(call, ast.Call) and getattr(call.func, "id", None) == "print")


def without_hidden_tests(source: str) -> str:
    lines = source.splitlines()
    hidden = _region_indices(lines, HIDDEN)
    return "\n".join(line for i, line in enumerate(lines) if i not in hidden)


def test_graded_cells_do_not_end_with_a_value(notebook):
    # nbgrader reads the value a graded cell displays as a score: a number is partial credit,
    # anything else is "full credit, but future releases may treat as error". A value shown by a
    # test must not decide its grade, as graded (hidden tests in) or as released (hidden tests out).
    showing = [(nbgrader_meta(c)["grade_id"], version) for c in graded_cells(read(notebook))
               for version, source in (("graded", c.source), ("released", without_hidden_tests(c.source)))
               if ends_with_a_value(source)]
    assert not showing, f"graded cells ending with a bare expression (wrap it in print()): {showing}"


def test_the_value_check_can_fail():
    assert ends_with_a_value("x = 1\nexpect_error(ValueError, 'x', f)")
    assert not ends_with_a_value("x = 1\nprint(expect_error(ValueError, 'x', f))")
    assert ends_with_a_value(without_hidden_tests("f()\n### BEGIN HIDDEN TESTS\ng = 1\n### END HIDDEN TESTS"))

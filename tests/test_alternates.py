"""Fair to right answers: every graded cell passes a differently written correct solution.

tests/alternates/ holds, for every graded cell, at least one right answer written from the
notebook's instructions alone and unlike the reference (see its docstring). Each runs through
its notebook's graded cells with their hidden tests (tests/run_cells.py, as for the mutations,
on the package nbgrader grades with, which holds nothing of the module), alone and together with the module's other alternates; the module written entirely in the
alternates is then exported over a copy of the package and must pass the package tests of
its module and of every later module.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap

import export
import nbformat
import pytest

from alternates import ALTERNATES, rewrite
from grading import run_cells
from course.notebooks import (NOTEBOOKS, ROOT, SOLUTION, graded_cells, module_number,
                              nbgrader_meta, read, regions)

CELLS = {nbgrader_meta(cell)["grade_id"]: (path, cell)
         for path in NOTEBOOKS for cell in read(path).cells if nbgrader_meta(cell).get("grade_id")}
GRADED = [g for g, (_, cell) in CELLS.items() if nbgrader_meta(cell).get("grade")]


def edits_of(alternates) -> list[list[str]]:
    """[cell, old source, new source] for each cell the alternates rewrite, all applied."""
    sources = {}
    for alt in alternates:
        old = sources.get(alt.cell, CELLS[alt.cell][1].source)
        sources[alt.cell] = rewrite(old, alt.region, alt.code)
    return [[cell, CELLS[cell][1].source, new] for cell, new in sources.items()]


def of_module(notebook):
    return [alt for alt in ALTERNATES if alt.cell in CELLS and CELLS[alt.cell][0] == notebook]


def test_every_graded_cell_has_a_differently_written_right_answer():
    covered = {g for alt in ALTERNATES for g in alt.graded}
    missing = [g for g in GRADED if g not in covered]
    assert not missing, ("these graded cells have no alternate in tests/alternates/ (a right "
                         f"answer written differently, which they must pass): {missing}")


def test_each_alternate_rewrites_a_solution_region_of_its_module():
    problems = []
    for alt in ALTERNATES:
        where = f"{alt.cell} region {alt.region} ({alt.why})"
        if alt.cell not in CELLS or not nbgrader_meta(CELLS[alt.cell][1]).get("solution"):
            problems.append(f"{where}: no solution cell of that grade_id")
            continue
        path, cell = CELLS[alt.cell]
        wrong = [g for g in alt.graded if g not in GRADED or CELLS[g][0] != path]
        if wrong:
            problems.append(f"{where}: {wrong} are not graded cells of {path.name}")
        found = regions(cell.source, SOLUTION)
        if alt.region >= len(found):
            problems.append(f"{where}: the cell has only {len(found)} solution regions")
            continue
        reference = textwrap.dedent("\n".join(found[alt.region])).strip()
        if textwrap.dedent(alt.code).strip() == reference:
            problems.append(f"{where}: the same code as the reference, not an alternate")
        try:
            compile(rewrite(cell.source, alt.region, alt.code), alt.cell, "exec")
        except SyntaxError as error:
            problems.append(f"{where}: does not compile in its cell: {error}")
    assert not problems, problems


def test_graded_cells_pass_every_alternate_alone_and_all_together(notebook):
    alternates = of_module(notebook)
    if not alternates:
        pytest.fail(f"{notebook.name} has no alternates in tests/alternates/")
    last = nbgrader_meta(graded_cells(read(notebook))[-1])["grade_id"]
    runs = [[last, edits_of([alt])] for alt in alternates] + [[last, edits_of(alternates)]]
    reports = run_cells(notebook, *runs)
    labels = [f"{alt.cell} region {alt.region} ({alt.why})" for alt in alternates]
    labels.append("all of the module's alternates together")
    failed = [f"{label}: {grade_id}: {error}" for label, report in zip(labels, reports)
              for grade_id, error in report.items() if error]
    assert not failed, "right answers that the notebook's cells reject:\n" + "\n".join(failed)


def test_package_tests_pass_on_a_module_written_in_the_alternates(notebook, tmp_path):
    alternates = of_module(notebook)
    if not alternates:
        pytest.fail(f"{notebook.name} has no alternates in tests/alternates/")
    nb = read(notebook)
    rewritten = {cell: new for cell, _, new in edits_of(alternates)}
    for cell in nb.cells:
        cell.source = rewritten.get(nbgrader_meta(cell).get("grade_id"), cell.source)
    copy = tmp_path / "modules" / notebook.parent.name / notebook.name
    copy.parent.mkdir(parents=True)
    nbformat.write(nb, copy)
    shutil.copytree(ROOT / "tinytorch", tmp_path / "tinytorch",
                    ignore=shutil.ignore_patterns("__pycache__"))
    assert export.main(["--modules", str(tmp_path / "modules"),
                        "--package", str(tmp_path / "tinytorch"), str(copy)]) == 0
    number = int(module_number(notebook))
    tests = sorted(str(p) for p in (ROOT / "tests" / "package").glob("test_*.py")
                   if int(p.name.split("_")[1]) >= number)
    env = dict(os.environ, PYTHONPATH=str(tmp_path),
               TINYTORCH_EXPECTED_PACKAGE=str(tmp_path / "tinytorch"),
               TINYTORCH_DATASETS=str(ROOT / "datasets"), PYTHONDONTWRITEBYTECODE="1")
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             "--confcutdir", str(ROOT / "tests" / "package"), "--tb=short", *tests],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, (f"package tests fail on {notebook.name} written in its "
                                    f"alternates:\n{result.stdout[-4000:]}")

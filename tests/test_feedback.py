"""Feedback must not reveal hidden tests, not even through a failing cell's traceback.

The first tests check the preprocessors one by one; the last runs the real
`nbgrader generate_feedback` command on a failing hidden check in every module.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess

import nbformat
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import ClearHiddenTests, GetGrades

from course.config import course_config
from course.notebooks import (HIDDEN, NOTEBOOKS, ROOT, assignment, graded_cells, nbgrader_meta,
                              read, secret_lines)
from grading import Course

SECRET = "assert 2 + 2 == 5, 'the secret hidden check'"


def failing_hidden_test_cell():
    """A graded cell whose visible test passes and whose hidden test fails, run for real."""
    source = f"assert 1 + 1 == 2\n### BEGIN HIDDEN TESTS\n{SECRET}\n### END HIDDEN TESTS"
    cell = new_code_cell(source, metadata={"nbgrader": {
        "grade": True, "grade_id": "x-hidden", "locked": True, "points": 1,
        "schema_version": 3, "solution": False, "task": False}})
    nb = new_notebook(cells=[cell])
    NotebookClient(nb, timeout=30, kernel_name="python3", allow_errors=True).execute()
    return nb


def apply(preprocessors, nb) -> str:
    """The notebook's text after the preprocessors, with terminal colour codes removed."""
    for preprocessor in preprocessors:
        nb, _ = preprocessor().preprocess(nb, {})
    return re.sub(r"\x1b\[[0-9;]*m", "", nbformat.writes(nb).encode().decode("unicode_escape"))


def test_feedback_preprocessors_remove_hidden_tests_from_source_and_tracebacks():
    configured = course_config(ROOT).GenerateFeedback.preprocessors
    assert configured[0] is GetGrades and ClearHiddenTests in configured
    # GetGrades needs a gradebook and the CSS header a template folder: neither touches cells.
    on_cells = [p for p in configured if p not in (GetGrades, CSSHTMLHeaderPreprocessor)]
    assert SECRET not in apply(on_cells, failing_hidden_test_cell())


def test_clearing_hidden_tests_alone_would_leak_them_through_the_traceback():
    # The reason for the extra preprocessor: ClearHiddenTests cleans the source only.
    assert SECRET in apply([ClearHiddenTests], failing_hidden_test_cell())


# ----- through the real `nbgrader generate_feedback`, in every module ----------------------

PLANTED = "assert False, 'a hidden check that fails'"


def plant_failing_hidden_check(nb) -> str:
    """Add a failing assertion at the end of the last hidden region of the notebook; return
    the grade_id of that graded cell. The traceback of a failure quotes the lines above the
    failing one: the cell's real hidden tests."""
    cell = [c for c in graded_cells(nb) if HIDDEN[1] in c.source][-1]
    cell.source = cell.source.replace(HIDDEN[1], f"{PLANTED}\n{HIDDEN[1]}")
    return nbgrader_meta(cell)["grade_id"]


def test_feedback_cli_hides_the_hidden_tests_of_a_failing_cell_in_every_module(tmp_path):
    root = tmp_path / "course"
    shutil.copy(ROOT / "nbgrader_config.py", root.mkdir() or root / "nbgrader_config.py")
    planted = {}
    for path in NOTEBOOKS:
        nb = read(path)
        planted[assignment(path)] = (plant_failing_hidden_check(nb), secret_lines(nb, HIDDEN))
        (root / "modules" / assignment(path)).mkdir(parents=True)
        nbformat.write(nb, root / "modules" / assignment(path) / path.name)
    course = Course(root)
    for name in planted:  # the solved notebook, as submitted by a student, fails one hidden check
        course.generate(name)
        course.submit(name, "student", read(root / "modules" / name / f"{name}.ipynb"))
        scores = course.autograde(name, "student")
        assert scores[planted[name][0]][0] == 0, f"{name}: the planted hidden check did not fail"
    done = subprocess.run(["nbgrader", "generate_feedback", "--assignment=*", "--force"], cwd=root,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    for name, (grade_id, hidden) in planted.items():
        page = root / "feedback" / "student" / name / f"{name}.html"
        text = re.sub(r"\x1b\[[0-9;]*m", "", html.unescape(re.sub(r"<[^>]+>", "", page.read_text())))
        assert "a hidden check that fails" in text, f"{name}: the failure is not reported at all"
        shown = sorted(line for line in hidden | {PLANTED} if line in text)
        assert not shown, f"{name}'s feedback shows hidden test lines: {shown[:3]}"

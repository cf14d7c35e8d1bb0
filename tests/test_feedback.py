"""Feedback must not reveal hidden tests, not even through a failing cell's traceback."""

from __future__ import annotations

import re

import nbformat
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import ClearHiddenTests, GetGrades

from course.config import course_config
from course.notebooks import ROOT

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

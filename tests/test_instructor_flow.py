"""The instructor's flow, end to end, in the scratch course with every release generated:
release through an nbgrader exchange -> two students fetch, work and submit -> collect ->
autograde -> feedback, released to and fetched by the students -> grades exported as CSV.

alice has a bug in Module 01 (floats stay float64) and a correct Module 08: her Module 08 gets
full marks, because the kernel that grades it imports the reference of Modules 01-07 (the
grading package of Module 08, course/grading_package.py), not her Module 01. On top of her own Module 01, Module 08's hidden
collate test (float64 samples must collate to float32) fails: the last test shows it. bob has
Module 01 right and one mistake in Module 08.

A test per student, each going through the whole flow: the steps depend on each other, and
pytest-xdist hands the tests of a file out one by one to alternating workers, so a shared
fixture would run the flow on both workers anyway.
"""

from __future__ import annotations

import csv
import html
import json
import os
import re
import shutil
import subprocess
import sys

import nbformat
import pytest
from nbgrader.api import Gradebook
from nbgrader.apps import NbGraderAPI
from nbgrader.auth import Authenticator
from nbgrader.coursedir import CourseDirectory
from nbgrader.exchange.default import ExchangeFetchAssignment, ExchangeFetchFeedback, ExchangeSubmit
from nbgrader.plugins import CsvExportPlugin

from course.config import course_config
from mutations import MUTATIONS
from course.notebooks import (HIDDEN, ROOT, SOLUTION, graded_cells, nbgrader_meta, read, secret_lines,
                       solution_cells)

COURSE_ID = "tinytorch"  # the exchange keeps each course's files under its id
MODULES = ("01_tensor", "08_dataloader")
BUGS = {("alice", "01_tensor"): "01-tensor-test-as-array",   # the mistake of that mutation
        ("bob", "08_dataloader"): "08-dataloader-test-loader-epochs"}


def config_for(course, student=None, home=None):
    config = course_config(course.root)
    config.CourseDirectory.course_id = COURSE_ID
    config.ExchangeReleaseAssignment.force = True  # the other student's test may have released it
    if student:  # nbgrader takes the student id from here, else from the Unix account running it
        config.CourseDirectory.student_id = student
        config.Exchange.assignment_dir = str(home)  # where fetch puts the assignment
        config.Exchange.cache = str(home / "nbgrader_cache")  # submit's record, for feedback
    return config


def as_student(exchange_app, config, assignment_id: str) -> None:
    """What `nbgrader fetch_assignment|submit|fetch_feedback ID --course tinytorch` does."""
    coursedir = CourseDirectory(config=config)
    coursedir.assignment_id = assignment_id
    authenticator = Authenticator(config=config)
    exchange_app(coursedir=coursedir, authenticator=authenticator, config=config).start()


def source_notebook(assignment_id: str):
    return read(ROOT / "modules" / assignment_id / f"{assignment_id}.ipynb")


def work_on(fetched, student: str, assignment_id: str):
    """The fetched release with every exercise solved as in the source, bugs included."""
    source = {nbgrader_meta(c)["grade_id"]: c.source
              for c in solution_cells(source_notebook(assignment_id))}
    nb = read(fetched)
    for cell in solution_cells(nb):
        lines = source[nbgrader_meta(cell)["grade_id"]].splitlines()
        cell.source = "\n".join(line for line in lines if line.strip() not in SOLUTION)
    bug = next((m for m in MUTATIONS if m.graded == BUGS.get((student, assignment_id))), None)
    if bug:
        target = next(c for c in nb.cells if nbgrader_meta(c).get("grade_id") == bug.cell)
        target.source = target.source.replace(bug.old, bug.new)
    return nb


def text_of(html_text: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", html_text))


EXPECTED = {  # the total each submission should get: all points, some, or none short of all
    ("alice", "01_tensor"): "some", ("alice", "08_dataloader"): "all",
    ("bob", "01_tensor"): "all", ("bob", "08_dataloader"): "some",
}


def submit_through_exchange(course, instructor, student, home) -> None:
    for assignment_id in MODULES:
        released = instructor.release_assignment(assignment_id)
        assert released["success"], released.get("error") or released["log"]
        config = config_for(course, student, home)
        as_student(ExchangeFetchAssignment, config, assignment_id)
        notebook = home / assignment_id / f"{assignment_id}.ipynb"
        assert "raise NotImplementedError()" in notebook.read_text(), "fetched: the student version"
        nbformat.write(work_on(notebook, student, assignment_id), notebook)
        as_student(ExchangeSubmit, config, assignment_id)
        collected = instructor.collect(assignment_id)
        assert collected["success"], collected.get("error") or collected["log"]
        assert (course.root / "submitted" / student / assignment_id / notebook.name).is_file()


def autograde(course, student) -> dict:
    """assignment -> (score, max) of the student's submission, every graded cell scored."""
    totals = {}
    for assignment_id in MODULES:
        scores = course.autograde(assignment_id, student)
        expected = len(graded_cells(source_notebook(assignment_id)))
        assert len(scores) == expected, f"{assignment_id}: not every graded cell was scored"
        totals[assignment_id] = tuple(sum(s[i] for s in scores.values()) for i in (0, 1))
    return totals


def feedback_through_exchange(course, instructor, student, home) -> None:
    for assignment_id in MODULES:
        hidden = secret_lines(source_notebook(assignment_id), HIDDEN)
        shown = text_of(course.feedback(assignment_id, student))
        assert hidden and "Module" in shown, "nothing to check: no hidden tests, or empty feedback"
        leaked = sorted(line for line in hidden if line in shown)
        assert not leaked, f"{student}'s feedback on {assignment_id} shows: {leaked[:3]}"
        released = instructor.release_feedback(assignment_id, student)
        assert released["success"], released.get("error") or released["log"]
        as_student(ExchangeFetchFeedback, config_for(course, student, home), assignment_id)
        fetched = list((home / assignment_id / "feedback").glob(f"*/{assignment_id}.html"))
        assert len(fetched) == 1, f"{student} should have fetched one feedback file, got {fetched}"


def exported_rows(course, path) -> dict:
    """(student, assignment) -> row of the grades CSV that `nbgrader export` writes."""
    with Gradebook(f"sqlite:///{course.root / 'gradebook.db'}") as gradebook:
        CsvExportPlugin(config=config_for(course), to=str(path)).export(gradebook)
    with path.open(newline="") as f:
        return {(row["student_id"], row["assignment"]): row for row in csv.DictReader(f)}


# One test per student, so that pytest-xdist can run the two on its two workers.
@pytest.mark.parametrize("student", ["alice", "bob"])
def test_release_submit_collect_autograde_feedback_and_export(course, tmp_path, student):
    instructor = NbGraderAPI(config=config_for(course))
    submit_through_exchange(course, instructor, student, tmp_path)

    totals = autograde(course, student)
    # The grading kernel imported the reference of the earlier modules, whatever the student's
    # own, and only stubs of the module it graded (course/grading_package.py).
    [package] = (course.root / ".grading").glob("08_dataloader-*/tinytorch")
    assert (package / "core" / "tensor.py").read_text() == (ROOT / "tinytorch/core/tensor.py").read_text()
    assert "raise NotImplementedError()" in (package / "data" / "loader.py").read_text()
    for assignment_id, (score, maximum) in totals.items():
        expected = EXPECTED[student, assignment_id]
        assert (score == maximum) == (expected == "all") and score > 0, (
            f"{student} {assignment_id}: expected {expected} points, got {score} of {maximum}")

    feedback_through_exchange(course, instructor, student, tmp_path)

    rows = exported_rows(course, tmp_path / "grades.csv")
    for assignment_id, (score, maximum) in totals.items():
        row = rows[student, assignment_id]
        assert (float(row["score"]), float(row["max_score"])) == (score, maximum), row
        assert row["timestamp"], f"{student} {assignment_id}: the submission time is missing"


def test_alices_module_01_bug_would_cost_her_module_08_on_her_own_package(tmp_path):
    # The control for alice's full marks above: graded on top of her own exported Module 01
    # instead of the reference, her correct Module 08 fails a test.
    shutil.copytree(ROOT / "tinytorch", tmp_path / "tinytorch")
    (tmp_path / "modules").mkdir()
    for assignment_id in MODULES:
        source = ROOT / "modules" / assignment_id / f"{assignment_id}.ipynb"
        (tmp_path / "modules" / assignment_id).mkdir()
        nbformat.write(work_on(source, "alice", assignment_id),
                       tmp_path / "modules" / assignment_id / source.name)
    export = [sys.executable, str(ROOT / "export.py"), "--modules", str(tmp_path / "modules"),
              "--package", str(tmp_path / "tinytorch"),
              str(tmp_path / "modules" / "01_tensor" / "01_tensor.ipynb")]
    subprocess.run(export, check=True, capture_output=True)  # her tensor.py, the rest reference
    request = json.dumps([str(tmp_path / "modules" / "08_dataloader" / "08_dataloader.ipynb"),
                          ["08-dataloader-test-collate"]])
    env = dict(os.environ, PYTHONPATH=str(tmp_path), TINYTORCH_DATASETS=str(ROOT / "datasets"))
    runner = [sys.executable, str(ROOT / "tests" / "run_cells.py")]
    result = subprocess.run(runner, input=request, capture_output=True, text=True, env=env,
                            check=True)
    [errors] = json.loads(result.stdout)
    assert "should collate to float32" in (errors["08-dataloader-test-collate"] or ""), errors

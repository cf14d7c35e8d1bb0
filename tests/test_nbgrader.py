"""The nbgrader loop, for every module: release, then grade four kinds of submission.

generate_assignment -> the release holds no solution and no hidden test -> the source
notebook submitted as-is scores full marks -> the untouched release scores 0 on every graded
cell -> a partly wrong submission scores in between -> a submission that hangs is stopped by
the timeout and the rest is still graded. Scores are read back from the gradebook.
"""

from __future__ import annotations

import copy
import html
import re

import nbformat
import pytest

from course.notebooks import (NOTEBOOKS, HIDDEN, SOLUTION, assignment, graded_cells, nbgrader_meta, read,
                       secret_lines, solution_cells)

HANG_TIMEOUT = 10  # seconds; every reference cell finishes well within it


def release_of(course, notebook):
    return read(course.release(assignment(notebook)) / notebook.name)


def partly_wrong(course, notebook):
    """The source notebook with its last solution cell left as in the release (a stub)."""
    nb = read(notebook)
    last = solution_cells(nb)[-1]
    stubbed = {nbgrader_meta(c)["grade_id"]: c for c in solution_cells(release_of(course, notebook))}
    last.source = stubbed[nbgrader_meta(last)["grade_id"]].source
    return nb, last


def graded_before_and_after(nb, cell):
    """grade_ids of the graded cells before and after `cell`."""
    index = nb.cells.index(cell)
    ids = [(i, nbgrader_meta(c)["grade_id"]) for i, c in enumerate(nb.cells) if nbgrader_meta(c).get("grade")]
    return [g for i, g in ids if i < index], [g for i, g in ids if i > index]


def test_release_has_no_solution_and_no_hidden_test(course, notebook):
    secrets = secret_lines(read(notebook), SOLUTION, HIDDEN)
    assert secrets, f"{notebook.name} has no solution region at all"
    released = {line.strip() for cell in release_of(course, notebook).cells
                for line in cell.source.splitlines()}
    leaked = sorted(secrets & released)
    assert not leaked, f"the student version of {notebook.name} still contains: {leaked[:5]}"


def test_every_solution_cell_keeps_its_signature_and_becomes_a_stub(course, notebook):
    for cell in solution_cells(release_of(course, notebook)):
        assert "raise NotImplementedError()" in cell.source, (
            f"solution cell {nbgrader_meta(cell)['grade_id']} has no BEGIN/END SOLUTION region, "
            "so the student version would show the whole answer or nothing")


def test_source_notebook_scores_full_marks(course, notebook):
    course.submit(assignment(notebook), "reference", read(notebook))
    scores = course.autograde(assignment(notebook), "reference")
    assert scores, "no graded cells were recorded"
    short = {g: s for g, s in scores.items() if s[0] != s[1]}
    assert not short, f"the reference solution lost points (grade_id: (score, max)): {short}"


def untouched_release_graded(course, notebook) -> dict:
    """Submit the release as it was handed out and grade it, once per module."""
    key = ("untouched", assignment(notebook))
    if key not in course.cache:
        course.submit(assignment(notebook), "untouched", release_of(course, notebook))
        course.cache[key] = course.autograde(assignment(notebook), "untouched")
    return course.cache[key]


def test_untouched_release_scores_zero_on_every_graded_cell(course, notebook):
    scores = untouched_release_graded(course, notebook)
    assert len(scores) == len(graded_cells(read(notebook)))
    holes = {g: s for g, s in scores.items() if s[0] != 0}
    assert not holes, f"graded cells give points for an unsolved notebook (grading holes): {holes}"


def test_partly_wrong_submission_scores_in_between(course, notebook):
    nb, stubbed = partly_wrong(course, notebook)
    course.submit(assignment(notebook), "partial", nb)
    scores = course.autograde(assignment(notebook), "partial")
    before, after = graded_before_and_after(nb, stubbed)
    assert before and after, ("the partly-wrong submission stubs the last solution cell; it needs "
                              "graded cells both before and after it")
    assert all(scores[g][0] == scores[g][1] for g in before), scores
    assert any(scores[g][0] == 0 for g in after), scores
    total, maximum = (sum(s[i] for s in scores.values()) for i in (0, 1))
    assert 0 < total < maximum


# The time limit is the grader's, the same for every module, and each hanging run waits it out:
# the first module, the one that installs the autograd engine, and the last.
HANGING_IN = ["01_tensor", "05_autograd", "13_transformers"]


@pytest.mark.parametrize("module", HANGING_IN)
def test_hanging_submission_is_stopped_and_the_rest_graded(course, module):
    notebook = next(p for p in NOTEBOOKS if assignment(p) == module)
    nb, stubbed = partly_wrong(course, notebook)
    # A cell that never finishes. Sleeping, not spinning, so the wait does not take a core
    # from the tests running beside it; the timeout interrupts both the same way (SIGINT).
    stubbed.source = ("import time\nwhile True:  # a student's endless loop\n    time.sleep(1)\n\n"
                      + read(notebook).cells[nb.cells.index(stubbed)].source)
    course.submit(assignment(notebook), "hangs", nb)
    scores = course.autograde(assignment(notebook), "hangs", timeout=HANG_TIMEOUT)
    before, after = graded_before_and_after(nb, stubbed)
    assert all(scores[g][0] == scores[g][1] for g in before), scores
    graded = course.autograded(assignment(notebook), "hangs")
    later = [c for c in graded.cells[nb.cells.index(stubbed) + 1:] if nbgrader_meta(c).get("grade")]
    assert all(c.get("outputs") for c in later), "cells after the hanging one were not run"
    assert any(scores[g][0] == 0 for g in after), scores


def test_feedback_does_not_reveal_hidden_tests(course, notebook):
    hidden = secret_lines(read(notebook), HIDDEN)
    if not hidden:
        pytest.skip(f"{notebook.name} has no hidden tests")
    untouched_release_graded(course, notebook)  # every graded cell fails: tracebacks galore
    text = html.unescape(re.sub(r"<[^>]+>", "", course.feedback(assignment(notebook), "untouched")))
    shown = sorted(line for line in hidden if line in text)
    assert not shown, f"feedback for {notebook.name} shows hidden test lines: {shown[:3]}"


SWALLOWS_INTERRUPTS = """import time
while True:  # a student's loop that catches everything, the timeout's interrupt included
    try:
        time.sleep(1)
    except KeyboardInterrupt:
        pass
"""


def test_submission_that_ignores_the_interrupt_is_still_graded(course):
    # nbgrader alone interrupts the cell at the timeout, the kernel carries on looping, every
    # later cell times out in turn and the whole submission ends up ungraded. The course's
    # GradingExecute restarts the kernel, runs the finished cells again, and goes on.
    notebook = next(p for p in NOTEBOOKS if assignment(p) == "02_activations")
    nb = read(notebook)  # solved, with a cell of the student's own that loops forever
    last = solution_cells(nb)[-1]
    nb.cells.insert(nb.cells.index(last), nbformat.v4.new_code_cell(SWALLOWS_INTERRUPTS))
    course.submit("02_activations", "swallows", nb)
    scores = course.autograde("02_activations", "swallows", timeout=HANG_TIMEOUT)
    assert len(scores) == len(graded_cells(nb))
    assert all(score == maximum for score, maximum in scores.values()), scores
    graded = course.autograded("02_activations", "swallows")
    looping = next(c for c in graded.cells if c.source == SWALLOWS_INTERRUPTS)
    assert "restarted Python" in "".join(o.get("text", "") for o in looping.outputs)

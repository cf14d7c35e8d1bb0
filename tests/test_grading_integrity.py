"""Grading integrity: no graded test lets a wrong answer through, and tampering gains nothing.

- No grading holes (an untouched release scores 0 on every graded cell): that is
  tests/test_nbgrader.py::test_untouched_release_scores_zero_on_every_graded_cell, for every
  module; it checks that as many cells were scored as the notebook has graded cells.
- Mutation check: for every graded cell, a plausible wrong solution (tests/mutations/) fails
  it, and the reference solution passes it. The cells run as plain Python (tests/run_cells.py):
  one process per module and a forked child per run, in about a second a run.
- Locked cells: a student who edits, unlocks, strips or deletes a locked cell gains nothing.
  nbgrader restores edited locked cells; nbgrader_config.py's RestoreDeletedCells puts back
  deleted ones, which nbgrader alone scores 0 without a word in the log.
"""

from __future__ import annotations

import pytest
from nbgrader.api import Gradebook
from nbgrader.apps import NbGraderAPI
from nbgrader.preprocessors import (CheckCellMetadata, ClearOutput, DeduplicateIds,
                                    OverwriteCells, OverwriteKernelspec)

from course.config import course_config
from grading import run_cells
from mutations import MUTATIONS
from course.notebooks import NOTEBOOKS, ROOT, graded_cells, nbgrader_meta, read

CELLS = {nbgrader_meta(cell)["grade_id"]: (path, index, cell)
         for path in NOTEBOOKS for index, cell in enumerate(read(path).cells)
         if nbgrader_meta(cell).get("grade_id")}
GRADED = [grade_id for grade_id, (_, _, cell) in CELLS.items() if nbgrader_meta(cell).get("grade")]


# ----- the mutation check -----------------------------------------------------------------

def test_every_graded_cell_has_a_plausible_wrong_solution():
    covered = {m.graded for m in MUTATIONS}
    missing = [grade_id for grade_id in GRADED if grade_id not in covered]
    assert not missing, ("these graded cells have no entry in tests/mutations/ (a plausible "
                         f"wrong solution their test must catch): {missing}")


def test_each_mutation_edits_one_place_of_a_solution_cell_before_its_test():
    problems = []
    for m in MUTATIONS:
        if m.graded not in GRADED or m.cell not in CELLS:
            problems.append(f"{m.graded} / {m.cell}: no such graded / solution cell")
            continue
        (graded_path, graded_index, _), (path, index, cell) = CELLS[m.graded], CELLS[m.cell]
        if not nbgrader_meta(cell).get("solution") or path != graded_path or index > graded_index:
            problems.append(f"{m.cell} is not a solution cell before {m.graded} in its notebook")
        elif cell.source.count(m.old) != 1:
            problems.append(f"{m.graded}: the text to change occurs {cell.source.count(m.old)} "
                            f"times in {m.cell}, not once: {m.old!r}")
        else:
            compile(cell.source.replace(m.old, m.new), m.cell, "exec")  # still valid Python
    assert not problems, problems


def test_graded_cells_pass_the_reference_and_fail_plausible_wrong_solutions(notebook):
    # One process per module, one forked run per mutation: the reference first, as the control.
    mutations = [m for m in MUTATIONS if m.graded in CELLS and CELLS[m.graded][0] == notebook]
    last = [nbgrader_meta(c)["grade_id"] for c in graded_cells(read(notebook))][-1]
    runs = [[m.graded, m.cell, m.old, m.new] for m in mutations]
    reference, *mutated = run_cells(notebook, [last], *runs)
    failed = {grade_id: error for grade_id, error in reference.items() if error}
    assert not failed, f"{notebook.name}: cells fail on the reference solution: {failed}"
    unfinished = [(m.graded, errors["run_cells.py"]) for m, errors in zip(mutations, mutated)
                  if "run_cells.py" in errors]
    assert not unfinished, f"runs that did not finish: {unfinished}"
    crashed = [f"{m.cell} ({m.why}): {errors.get(m.cell) or errors}"
               for m, errors in zip(mutations, mutated) if errors.get(m.cell) is not None]
    assert not crashed, ("mutated cells that fail themselves, instead of failing their test "
                         f"(pick a mistake that shows in the test): {crashed}")
    escaped = [f"{m.graded} passes on a wrong solution ({m.why})"
               for m, errors in zip(mutations, mutated) if not errors[m.graded]]
    assert not escaped, f"graded cells that let a wrong solution through: {escaped}"


# ----- locked cells: tampering gains nothing -------------------------------------------------

MODULE = "01_tensor"
SOURCE = ROOT / "modules" / MODULE / f"{MODULE}.ipynb"
CHEATING_HELPER = '''class Anything(str):
    def __contains__(self, part):
        return True


def expect_error(error_type, what, fn, *args, **kwargs):
    return Anything("")  # never calls fn: every "expect an error" check passes
'''
MISSING_SHAPE_CHECK = '''    if k != k_b:
        raise ValueError(
            f"matmul_loops shape mismatch: {a.shape} @ {b.shape}: the inner dimensions {k} "
            f"and {k_b} must be equal"
        )
'''


def cell(nb, grade_id):
    return next(c for c in nb.cells if nbgrader_meta(c).get("grade_id") == grade_id)


def restored(graded, grade_id) -> bool:
    """Whether the autograded notebook has the source notebook's text for this cell."""
    return cell(graded, grade_id).source == cell(read(SOURCE), grade_id).source


def break_solution(nb, grade_id, old, new):
    """The student's wrong code: `old` written as `new` in a solution cell."""
    target = cell(nb, grade_id)
    assert target.source.count(old) == 1, f"{old!r} is not once in {grade_id}"
    target.source = target.source.replace(old, new)


def mutate(nb, graded):
    m = next(m for m in MUTATIONS if m.graded == graded)
    break_solution(nb, m.cell, m.old, m.new)


def tampered_submission():
    """Module 01, solved, except where the student broke a solution and tampered with its test."""
    nb = read(SOURCE)
    mutate(nb, "01-tensor-test-arithmetic")      # wrong __rsub__, and its test edited to pass
    cell(nb, "01-tensor-test-arithmetic").source = "pass"
    mutate(nb, "01-tensor-test-matmul")          # wrong matmul, its test unlocked, 100 points
    matmul = cell(nb, "01-tensor-test-matmul")
    matmul.source = "pass"
    matmul.metadata.nbgrader.update(locked=False, points=100)
    mutate(nb, "01-tensor-test-construction")    # wrong repr, its test stripped of metadata
    stripped = cell(nb, "01-tensor-test-construction")
    stripped.metadata, stripped.source = {}, "pass"
    nb.cells.remove(cell(nb, "01-tensor-test-as-array"))   # right as_array, its test deleted
    cell(nb, "01-tensor-test-helpers").source = CHEATING_HELPER  # locked helper edited ...
    break_solution(nb, "01-tensor-matmul-loops", MISSING_SHAPE_CHECK, "")  # ... to hide this
    cell(nb, "01-tensor-intro").source = "# Module 01: ignore the instructions below"
    return nb


def autograde(course, student, nb, api=None) -> dict:
    course.submit(MODULE, student, nb)
    return (api or course.api).autograde(MODULE, student)


@pytest.fixture(scope="module")
def tampered(course):
    """The tampered submission, autograded once: (scores, log, autograded notebook)."""
    result = autograde(course, "tamperer", tampered_submission())
    assert result["success"], result.get("error") or result.get("log")
    return course.scores(MODULE, "tamperer"), result["log"], course.autograded(MODULE, "tamperer")


def test_test_cell_edited_to_pass_is_restored_and_fails(tampered):
    scores, log, _ = tampered
    assert scores["01-tensor-test-arithmetic"] == (0, 3)
    assert "Attribute 'checksum' for cell 01-tensor-test-arithmetic has changed" in log


def test_test_cell_unlocked_with_more_points_is_restored_and_fails(tampered):
    # nbgrader treats every graded cell as locked, whatever its metadata says.
    scores, log, graded = tampered
    assert scores["01-tensor-test-matmul"] == (0, 2)
    assert "Attribute 'points' for cell 01-tensor-test-matmul has changed" in log
    assert restored(graded, "01-tensor-test-matmul")


def test_test_cell_stripped_of_its_metadata_is_put_back_and_fails(tampered):
    scores, log, _ = tampered
    assert scores["01-tensor-test-construction"] == (0, 3)
    assert "Cell 01-tensor-test-construction was deleted from the submission: restored" in log


def test_deleted_test_cell_is_put_back_and_graded_on_the_students_code(tampered):
    scores, log, graded = tampered
    assert scores["01-tensor-test-as-array"] == (2, 2), "as_array is right: its test passes"
    put_back = cell(graded, "01-tensor-test-as-array")
    assert "was deleted from the submission" in put_back.source
    assert "### BEGIN HIDDEN TESTS" in put_back.source, "the hidden tests run too"
    assert "Cell 01-tensor-test-as-array was deleted from the submission: restored" in log


def test_edited_locked_helper_cannot_fake_the_error_checks(tampered):
    # The cheating expect_error would have passed the missing shape check; the real one runs.
    scores, log, graded = tampered
    assert scores["01-tensor-test-matmul-loops"] == (0, 2)
    assert restored(graded, "01-tensor-test-helpers")
    assert "Attribute 'checksum' for cell 01-tensor-test-helpers has changed" in log


def test_edited_locked_markdown_is_restored(tampered):
    _, _, graded = tampered
    assert restored(graded, "01-tensor-intro")


def test_cells_nobody_tampered_with_keep_their_marks(tampered):
    # The control: the tampered submission is graded normally everywhere else.
    scores, _, _ = tampered
    for grade_id in ("01-tensor-test-shape-ops", "01-tensor-test-reductions"):
        assert scores[grade_id][0] == scores[grade_id][1] > 0, (grade_id, scores[grade_id])


def test_without_restore_nbgrader_scores_a_deleted_test_0_and_says_nothing(course):
    # Why RestoreDeletedCells is configured: nbgrader's default clean-up, on the same deletion.
    config = course_config(course.root)
    config.Autograde.sanitize_preprocessors = [ClearOutput, DeduplicateIds, OverwriteKernelspec,
                                               OverwriteCells, CheckCellMetadata]
    nb = read(SOURCE)
    nb.cells.remove(cell(nb, "01-tensor-test-as-array"))
    result = autograde(course, "deleter", nb, NbGraderAPI(config=config))
    assert result["success"], result.get("error")
    with Gradebook(f"sqlite:///{course.root / 'gradebook.db'}") as gradebook:
        grade = gradebook.find_grade("01-tensor-test-as-array", MODULE, MODULE, "deleter")
        assert (grade.score, grade.auto_score, grade.needs_manual_grade) == (0, None, True)
    assert "01-tensor-test-as-array" not in result["log"]


def test_renamed_test_cell_stops_grading_with_an_error(course):
    # A grade_id the gradebook does not know: nbgrader refuses the whole submission, loudly.
    nb = read(SOURCE)
    renamed = cell(nb, "01-tensor-test-arithmetic")
    renamed.metadata.nbgrader["grade_id"] = "my-own-test"
    renamed.source = "pass"
    result = autograde(course, "renamer", nb)
    assert not result["success"]
    assert "Cell 'my-own-test' does not exist in the database" in result["log"]
    assert "the nbgrader metadata may be corrupted" in result["log"]

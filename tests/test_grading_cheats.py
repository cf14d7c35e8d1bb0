"""Grading sees only the student's own module: answers cannot be imported, and no student cell
can change what the graded cells run (course/grading_package.py, course/grading_guard.py).

Each test autogrades a cheating submission with the course's nbgrader configuration and reads
the scores back from the gradebook.
"""

from __future__ import annotations

import nbformat

from course.notebooks import ROOT, graded_cells, nbgrader_meta, read, solution_cells


def release(course, assignment_id):
    return read(course.release(assignment_id) / f"{assignment_id}.ipynb")


def total(scores) -> float:
    return sum(score for score, _ in scores.values())


def with_first_solution(nb, code: str):
    """The notebook with `code` run at the top of its first solution cell."""
    first = solution_cells(nb)[0]
    first.source = f"{code}\n{first.source}"
    return nb


def test_module_08_imported_from_the_package_scores_nothing(course):
    # The package the kernel imports holds the release's stubs of Module 08, not the answers.
    nb = release(course, "08_dataloader")
    for cell in solution_cells(nb):
        cell.source = "#| export\nfrom tinytorch.data.loader import *  # the answers, I hope"
    course.submit("08_dataloader", "importer", nb)
    scores = course.autograde("08_dataloader", "importer")
    assert len(scores) == len(graded_cells(read(ROOT / "modules/08_dataloader/08_dataloader.ipynb")))
    assert total(scores) == 0, scores


def test_module_05_is_graded_on_the_students_engine_not_the_reference(course):
    # The solved notebook with one mistake: the engine's cell does not run (a syntax error).
    # Importing tinytorch used to install the reference engine, which then passed 10 of 19.
    nb = read(ROOT / "modules/05_autograd/05_autograd.ipynb")
    engine = next(c for c in nb.cells if nbgrader_meta(c).get("grade_id") == "05-autograd-backward")
    engine.source = engine.source.replace("def backward(", "def backward(,", 1)
    course.submit("05_autograd", "no-engine", nb)
    scores = course.autograde("05_autograd", "no-engine")
    needs_engine = ["05-autograd-test-backward", "05-autograd-test-shape-rules",
                    "05-autograd-test-reduction-rules", "05-autograd-test-activation-rules",
                    "05-autograd-test-loss-rules"]
    assert all(scores[g][0] == 0 for g in needs_engine), {g: scores[g] for g in needs_engine}
    assert scores["05-autograd-test-unbroadcast"][0] > 0, "cells that need no engine still pass"


CHEATS = {
    "an input transformer that turns every later cell into `pass`":
        "get_ipython().input_transformers_post.append(lambda lines: ['pass\\n'])",
    "an AST transformer that empties every later cell":
        "import ast\n"
        "class Empty(ast.NodeTransformer):\n"
        "    def visit_Module(self, node):\n"
        "        node.body = [ast.Pass()]\n"
        "        return node\n"
        "get_ipython().ast_transformers.append(Empty())",
    "an exception handler that hides every failure":
        "get_ipython().set_custom_exc((BaseException,), lambda *args, **kwargs: None)",
}


def test_cell_level_cheats_on_an_untouched_release_score_nothing(course):
    for number, (what, code) in enumerate(CHEATS.items()):
        nb = with_first_solution(release(course, "02_activations"), code)
        student = f"cheat-{number}"
        course.submit("02_activations", student, nb)
        scores = course.autograde("02_activations", student)
        assert total(scores) == 0, f"{what}: {scores}"


def test_cell_level_cheats_do_not_cost_a_right_submission_its_points(course):
    # The control: the same lines in a solved notebook change nothing of its grade.
    nb = read(ROOT / "modules/02_activations/02_activations.ipynb")
    nb = with_first_solution(nb, CHEATS["an input transformer that turns every later cell into `pass`"])
    course.submit("02_activations", "solved-cheat", nb)
    scores = course.autograde("02_activations", "solved-cheat")
    assert all(score == maximum for score, maximum in scores.values()), scores


def test_without_the_guard_an_input_transformer_would_have_scored_full_marks(course):
    # The control for the tests above: nbgrader's own Execute, on the same cheat.
    from nbgrader.apps import NbGraderAPI
    from nbgrader.preprocessors import Execute

    from course.config import course_config

    config = course_config(course.root)
    config.Autograde.autograde_preprocessors = [
        Execute if p.__name__ == "GradingExecute" else p
        for p in config.Autograde.autograde_preprocessors]
    code = CHEATS["an input transformer that turns every later cell into `pass`"]
    course.submit("02_activations", "unguarded", with_first_solution(release(course, "02_activations"), code))
    result = NbGraderAPI(config=config).autograde("02_activations", "unguarded")
    assert result["success"], result.get("error")
    scores = course.scores("02_activations", "unguarded")
    assert all(score == maximum for score, maximum in scores.values()), scores

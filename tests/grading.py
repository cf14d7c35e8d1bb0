"""Drive nbgrader in-process through its Python API (one start-up for the whole suite)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook
from nbgrader.apps import NbGraderAPI

from course.config import course_config
from course.grading_package import grading_package
from course.notebooks import ROOT


def grading_env(notebook: Path) -> dict[str, str]:
    """The environment of a process that should import what nbgrader's kernel imports when it
    grades this notebook's module: its grading package (course/grading_package.py), built
    once per state of the notebooks into the repository's .grading/ (git-ignored)."""
    folder = grading_package(notebook.parent.name, ROOT, ROOT / "modules")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(folder), env.get("PYTHONPATH")]))
    return env


def run_cells(notebook: Path, *runs: list) -> list[dict]:
    """For each run [until, (cell, old, new) or [edits]]: grade_id -> error (None: ran cleanly)
    of the cells up to `until`, each run in a child process of its own (tests/run_cells.py),
    with the package nbgrader grades this module with (nothing of the module itself)."""
    request = json.dumps([str(notebook), *runs])
    result = subprocess.run([sys.executable, str(ROOT / "tests" / "run_cells.py")], input=request,
                            capture_output=True, text=True, timeout=1800, env=grading_env(notebook))
    assert result.returncode == 0, f"tests/run_cells.py failed:\n{result.stderr[-3000:]}"
    return json.loads(result.stdout)


class Course:
    """A course folder laid out as nbgrader expects, and the grades it records."""

    def __init__(self, root: Path):
        self.root = root
        self.api = NbGraderAPI(config=course_config(root))
        self.cache: dict = {}  # results that several tests read, computed once

    def generate(self, assignment_id: str) -> None:
        result = self.api.generate_assignment(assignment_id)
        assert result["success"], result.get("error") or result.get("log")

    def release(self, assignment_id: str) -> Path:
        return self.root / "release" / assignment_id

    def submit(self, assignment_id: str, student: str, nb) -> None:
        """Place a notebook as `student`'s submission of the assignment."""
        folder = self.root / "submitted" / student / assignment_id
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{assignment_id}.ipynb")

    def autograde(self, assignment_id: str, student: str, **execute) -> dict:
        api = NbGraderAPI(config=course_config(self.root, **execute)) if execute else self.api
        result = api.autograde(assignment_id, student)
        assert result["success"], result.get("error") or result.get("log")
        return self.scores(assignment_id, student)

    def scores(self, assignment_id: str, student: str) -> dict[str, tuple[float, float]]:
        """grade_id -> (score, max_score) for every graded cell of the submission."""
        with Gradebook(f"sqlite:///{self.root / 'gradebook.db'}") as gradebook:
            notebook = gradebook.find_submission_notebook(assignment_id, assignment_id, student)
            return {grade.name: (grade.score, grade.max_score) for grade in notebook.grades}

    def autograded(self, assignment_id: str, student: str):
        path = self.root / "autograded" / student / assignment_id / f"{assignment_id}.ipynb"
        return nbformat.read(path, as_version=4)

    def feedback(self, assignment_id: str, student: str) -> str:
        result = self.api.generate_feedback(assignment_id, student)
        assert result["success"], result.get("error") or result.get("log")
        path = self.root / "feedback" / student / assignment_id / f"{assignment_id}.html"
        return path.read_text(encoding="utf-8")

"""nbgrader configuration for the tinytorch course.

The repository root is the course root: module notebooks in modules/ are the nbgrader
source (full solutions); release/, submitted/, autograded/ and feedback/ appear beside it
when an instructor runs nbgrader from this folder (they are git-ignored).
"""

import os

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor, Preprocessor
from nbformat.v4 import new_code_cell, new_markdown_cell
from nbgrader.api import Gradebook
from nbgrader.preprocessors import (CheckCellMetadata, ClearHiddenTests, ClearOutput,
                                    DeduplicateIds, GetGrades, NbGraderPreprocessor,
                                    OverwriteCells, OverwriteKernelspec)

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.source_directory = "modules"

# A cell that runs longer than this (an infinite loop, a runaway training run) is
# interrupted; grading goes on with the next cell. The slowest reference cell takes a few
# seconds on a 2-core laptop.
c.Execute.timeout = 60

# Students who are not in the gradebook yet are added when their first submission is graded.
c.Autograde.create_student = True


class RestoreDeletedCells(NbGraderPreprocessor):
    """Put back the locked cells a submission no longer has, so that deleting a test gains nothing.

    nbgrader restores the source of a locked cell a student edited (OverwriteCells), but a
    deleted graded cell is only scored 0 and marked "needs manual grade", with nothing in the
    log, and nbgrader's own add_missing_cells option fails on a test cell that follows a
    locked markdown cell. This inserts every missing locked cell (tests with their hidden
    part, given code, text) after the cell that precedes it in the gradebook's list, which is
    the source notebook's order, so the deleted test runs against the student's code.
    """

    def preprocess(self, nb, resources):
        ids = resources["nbgrader"]
        with Gradebook(ids["db_url"]) as gradebook:
            notebook = gradebook.find_notebook(ids["notebook"], ids["assignment"])
            points = {cell.name: cell.max_score for cell in notebook.grade_cells}
            source = [(cell.name, cell.cell_type, cell.source, cell.checksum, cell.locked)
                      for cell in notebook.source_cells]
        position = -1  # insert after this index: the last source cell found so far
        for name, cell_type, text, checksum, locked in source:
            present = [i for i, cell in enumerate(nb.cells)
                       if cell.metadata.get("nbgrader", {}).get("grade_id") == name]
            if present:
                position = present[0]
            elif locked or name in points:  # nbgrader treats every graded cell as locked
                self.log.warning("Cell %s was deleted from the submission: restored", name)
                nb.cells.insert(position + 1, self._cell(name, cell_type, text, checksum, points))
                position += 1
        return nb, resources

    @staticmethod
    def _cell(name, cell_type, text, checksum, points):
        meta = {"grade": name in points, "grade_id": name, "locked": True, "solution": False,
                "task": False, "schema_version": 3, "checksum": checksum}
        if name in points:
            meta["points"] = points[name]
        note = "This cell was deleted from the submission; nbgrader put it back for grading."
        if cell_type == "code":
            return new_code_cell(f"# {note}\n{text}", metadata={"nbgrader": meta})
        return new_markdown_cell(f"*{note}*\n\n{text}", metadata={"nbgrader": meta})


# nbgrader's default clean-up of a submission before it runs, with deleted cells put back.
c.Autograde.sanitize_preprocessors = [
    ClearOutput,
    DeduplicateIds,
    OverwriteKernelspec,
    OverwriteCells,
    RestoreDeletedCells,
    CheckCellMetadata,
]


class HideHiddenTestTracebacks(Preprocessor):
    """Keep hidden tests out of feedback shown in tracebacks.

    ClearHiddenTests removes the hidden region from a cell's source, but when that cell
    failed, IPython's traceback in its output quotes the lines around the failing one,
    hidden tests included. This keeps only the exception's name and message.
    """

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and "BEGIN HIDDEN TESTS" in cell.source:
            for output in cell.get("outputs", []):
                if output.output_type == "error":
                    output.traceback = [f"{output.ename}: {output.evalue}"]
        return cell, resources


# Order matters: tracebacks are scrubbed while the hidden region is still there to find.
c.GenerateFeedback.preprocessors = [
    GetGrades,
    HideHiddenTestTracebacks,
    ClearHiddenTests,
    CSSHTMLHeaderPreprocessor,
]

"""nbgrader configuration for the tinytorch course.

The repository root is the course root: module notebooks in modules/ are the nbgrader
source (full solutions); release/, submitted/, autograded/ and feedback/ appear beside it
when an instructor runs nbgrader from this folder (they are git-ignored).
"""

import os

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor, Preprocessor
from nbgrader.preprocessors import ClearHiddenTests, GetGrades

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.source_directory = "modules"

# A cell that runs longer than this (an infinite loop, a runaway training run) is
# interrupted; grading goes on with the next cell. The slowest reference cell takes a few
# seconds on a 2-core laptop.
c.Execute.timeout = 60

# Students who are not in the gradebook yet are added when their first submission is graded.
c.AutogradeApp.create_student = True


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

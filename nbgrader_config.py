"""nbgrader configuration for the tinytorch course.

The repository root is the course root: module notebooks in modules/ are the nbgrader
source (full solutions); release/, submitted/, autograded/ and feedback/ appear beside it
when an instructor runs nbgrader from this folder (they are git-ignored). The course's own
additions to nbgrader live in course/autograding.py (installed with `pip install -e .`).
"""

import os

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, ClearHiddenTests,
                                    ClearOutput, DeduplicateIds, GetGrades, IgnorePattern,
                                    LimitOutput, OverwriteCells, OverwriteKernelspec,
                                    SaveAutoGrades)

from course.autograding import GradingExecute, HideHiddenTestTracebacks, RestoreDeletedCells

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.source_directory = "modules"

# A cell that runs longer than this (an infinite loop, a runaway training run) is
# interrupted; grading goes on with the next cell. The slowest reference cell takes a few
# seconds on a 2-core laptop.
c.Execute.timeout = 60

# Students who are not in the gradebook yet are added when their first submission is graded.
c.Autograde.create_student = True

# nbgrader's default clean-up of a submission before it runs, with deleted cells put back.
c.Autograde.sanitize_preprocessors = [
    ClearOutput,
    DeduplicateIds,
    OverwriteKernelspec,
    OverwriteCells,
    RestoreDeletedCells,
    CheckCellMetadata,
]

# nbgrader's default grading steps, with its Execute replaced by GradingExecute: the kernel
# imports a package holding nothing of the module being graded, no student cell can change
# what the instructor's cells run, and a cell that ignores the timeout's interrupt does not
# cost the rest of the submission.
c.Autograde.autograde_preprocessors = [
    GradingExecute,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]

# Every grading kernel runs in the sandbox of course/sandbox.py (Debian's bubblewrap); autograde
# refuses to run without bubblewrap. TINYTORCH_GRADING_SANDBOX=0 turns it off, for trusted
# notebooks on a machine without it (the test suite does so there, and skips its sandbox tests).
c.GradingExecute.sandbox = os.environ.get("TINYTORCH_GRADING_SANDBOX", "1") != "0"

# Order matters: tracebacks are scrubbed while the hidden region is still there to find.
c.GenerateFeedback.preprocessors = [
    GetGrades,
    HideHiddenTestTracebacks,
    ClearHiddenTests,
    CSSHTMLHeaderPreprocessor,
]

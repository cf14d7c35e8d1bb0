"""Plausible wrong solutions, one or more for every graded cell of the course (the mutation check).

Each entry is a mistake a student could make: in the solution cell `cell`, the exact text `old`
written as `new`. The graded test cell `graded` must fail on it (and pass on the reference
solution): otherwise that test lets a wrong answer through. tests/test_grading_integrity.py
checks that every graded cell has an entry and runs each entry.

Each module has a file here (m01_tensor.py, ...) with a list MUTATIONS, the twin of
tests/alternates/. To add a graded cell: add its mutation to its module's file. `old` must
occur exactly once in the cell, and the mutated cell must still run (the mistake shows in the
test, not as a crash of the cell).
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import NamedTuple


class Mutation(NamedTuple):
    graded: str  # grade_id of the graded test cell that must catch the mistake
    cell: str    # grade_id of the solution cell the mistake is made in
    old: str     # the reference text, found exactly once in that cell
    new: str     # what the student wrote instead
    why: str     # the mistake, in a line


def load() -> list[Mutation]:
    """Every module's MUTATIONS, in course order."""
    found = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        found += importlib.import_module(f"{__name__}.{info.name}").MUTATIONS
    return found


MUTATIONS = load()

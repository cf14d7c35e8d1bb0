"""Differently written right answers, for every graded cell of the course (the alternates).

The twin of tests/mutations/. A mutation is a plausible wrong answer that a graded cell must
fail; an alternate is a plausible *right* answer, written from the notebook's instructions alone
and differently from the reference, that must pass: its graded cell and that cell's hidden
tests, every other graded cell of the notebook, the module's package tests in tests/package/
and the package tests of every later module (which build on it). A check that fails an
alternate demands something the instructions do not state: fix the check or the instructions.

Each module has a file here (m01_tensor.py, ...) with a list ALTERNATES. An entry rewrites one
`### BEGIN SOLUTION` / `### END SOLUTION` region of a solution cell:

    Alternate(graded=("08-dataloader-test-collate",),  # the graded cells it is written for
              cell="08-dataloader-collate",           # grade_id of the solution cell
              region=0,                               # which region of that cell, from 0
              code='''
                  ...the student's code, indented as it would be in the cell...
              ''',
              why="stacks with a list comprehension and np.asarray")

`code` is dedented and then indented like the region's BEGIN marker. tests/test_alternates.py
checks that every graded cell is named by some alternate and runs them all.
"""

from __future__ import annotations

import importlib
import pkgutil
import textwrap
from typing import NamedTuple


class Alternate(NamedTuple):
    graded: tuple[str, ...]  # grade_ids of the graded cells this right answer is written for
    cell: str                # grade_id of the solution cell it rewrites
    region: int              # index of the BEGIN/END SOLUTION region in that cell, from 0
    code: str                # the student's code for that region
    why: str                 # how it differs from the reference, in a line


def rewrite(source: str, region: int, code: str) -> str:
    """`source` with the body of its solution region number `region` replaced by `code`."""
    lines = source.splitlines()
    begins = [i for i, line in enumerate(lines) if line.strip() == "### BEGIN SOLUTION"]
    if region >= len(begins):
        raise LookupError(f"the cell has {len(begins)} solution regions, not {region + 1}")
    begin = begins[region]
    end = next(i for i in range(begin + 1, len(lines)) if lines[i].strip() == "### END SOLUTION")
    indent = lines[begin][:len(lines[begin]) - len(lines[begin].lstrip())]
    body = textwrap.indent(textwrap.dedent(code).strip("\n"), indent).splitlines()
    return "\n".join(lines[:begin + 1] + body + lines[end:])


def load() -> list[Alternate]:
    """Every module's ALTERNATES, in course order."""
    found = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        found += importlib.import_module(f"{__name__}.{info.name}").ALTERNATES
    return found


ALTERNATES = load()

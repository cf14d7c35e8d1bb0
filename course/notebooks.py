"""Reading the course notebooks: the notions the course tools and the tests share.

The markers nbgrader reads, the graded and solution cells of a notebook, and the *secret
lines* (lines that only solution or hidden-test regions hold), which the release, the leak
check and the nbgrader tests all compare against.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted(p for p in (ROOT / "modules").glob("*/*.ipynb")
                   if ".ipynb_checkpoints" not in p.parts)
SOLUTION = ("### BEGIN SOLUTION", "### END SOLUTION")
HIDDEN = ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
STUB_LINES = {"# YOUR CODE HERE", "raise NotImplementedError()", "YOUR ANSWER HERE"}


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def solution_cells(nb) -> list:
    return [c for c in nb.cells if nbgrader_meta(c).get("solution")]


def graded_cells(nb) -> list:
    return [c for c in nb.cells if nbgrader_meta(c).get("grade")]


def regions(source: str, markers: tuple[str, str]) -> list[list[str]]:
    """The lines inside each BEGIN/END region of a cell (markers excluded)."""
    found, current = [], None
    for line in source.splitlines():
        if line.strip() == markers[0]:
            current = []
        elif line.strip() == markers[1]:
            found.append(current)
            current = None
        elif current is not None:
            current.append(line)
    return found


def secret_lines(nb, *kinds: tuple[str, str]) -> set[str]:
    """Stripped lines that appear only inside regions of these kinds (SOLUTION, HIDDEN)."""
    inside, outside = set(), set()
    for cell in nb.cells:
        lines = cell.source.splitlines()
        secret = {i for markers in kinds for i in _region_indices(lines, markers)}
        for i, line in enumerate(lines):
            (inside if i in secret else outside).add(line.strip())
    return {line for line in inside - outside if line and line not in STUB_LINES}


def _region_indices(lines: list[str], markers: tuple[str, str]) -> set[int]:
    indices, inside = set(), False
    for i, line in enumerate(lines):
        if line.strip() in markers:
            inside = line.strip() == markers[0]
            indices.add(i)
        elif inside:
            indices.add(i)
    return indices


def assignment(path: Path) -> str:
    """nbgrader's assignment id: the module folder's name, e.g. 01_tensor."""
    return path.parent.name


def module_number(path: Path) -> str:
    return re.match(r"\d+", path.parent.name).group(0)

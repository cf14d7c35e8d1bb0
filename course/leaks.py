"""The leak check: no solution line and no hidden-test line of the course is in a folder.

    python course/leaks.py FOLDER        exit 0 when FOLDER is clean, 1 (listing every leak) if not

A *secret line* is a line that the source notebooks in modules/ hold only inside
`### BEGIN SOLUTION` / `### END SOLUTION` or `### BEGIN HIDDEN TESTS` / `### END HIDDEN TESTS`
regions (course/notebooks.py:secret_lines, the notion the nbgrader tests use), and nowhere
outside such a region in any notebook of the course: a line a student already sees in some
notebook gives nothing away. The stub lines nbgrader writes (`raise NotImplementedError()`,
`# YOUR CODE HERE`) are not secret, and lines too plain to carry an answer (`else:`,
`return found`: see TRIVIAL_LENGTH) are not compared. The summary says how many secret lines
each module has, and the check refuses to run when a module has too few to prove anything.

Every text file under FOLDER is read line by line and each stripped line is compared with the
secret lines. A notebook is read as decoded JSON, every string in it (cell sources, outputs,
metadata), so that a secret line cannot hide behind JSON escaping or inside a cell output;
colour codes and IPython's traceback gutter (`----> 3 `) are removed before comparing, since a
failing cell's traceback quotes the lines around the failing one.
"""

from __future__ import annotations

import json
import keyword
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent
from course.notebooks import HIDDEN, NOTEBOOKS, SOLUTION, nbgrader_meta, read, regions, secret_lines

# Lines too plain to give anything away are not compared: shorter than TRIVIAL_LENGTH and
# naming fewer than two things (`else:`, `return`, `found = []`, `return found`, `if bias:`).
# Such idioms turn up in any Python file (export.py has `found = []` and `return found`), so
# comparing them reports coincidences, not answers. A line that names two things (`buf += g`,
# `m *= beta1`) or is longer (`grad_b = grad_b[..., 0]`) is always compared. This drops about
# 3% of the secret lines; the summary says how many.
TRIVIAL_LENGTH = 20
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
TRACEBACK_GUTTER = re.compile(r"^(?:-*>\s*)?\d+\s")  # IPython: "----> 12     x = f()", "     11 y"
# A module with solution regions but fewer distinctive lines than this would be checked in
# name only: the check refuses to run rather than report "clean" on almost nothing.
MIN_SECRETS_PER_MODULE = 10


@dataclass(frozen=True)
class Origin:
    """Where a secret line comes from in the source notebooks."""
    module: str     # 01_tensor
    cell: int       # cell number in the notebook, counted from 1 as export.py does
    grade_id: str
    kind: str       # "solution" or "hidden test"

    def __str__(self) -> str:
        return f"{self.kind} of modules/{self.module}, cell {self.cell} ({self.grade_id})"


@dataclass(frozen=True)
class Leak:
    path: Path      # the file, relative to the folder checked
    where: str      # "line 12", or inside a notebook "cell 4 source, line 3"
    line: str
    origin: Origin

    def __str__(self) -> str:
        return f"{self.path.as_posix()}:{self.where}: {self.line!r}  <- {self.origin}"


@dataclass
class Secrets:
    lines: dict[str, Origin]        # every secret line compared -> where it comes from
    per_module: dict[str, int]      # module -> how many of them it has
    trivial: int                    # secret lines too plain to compare (see TRIVIAL_LENGTH)


@dataclass
class Report:
    secrets: Secrets
    files: int = 0                                        # text files read
    binary: list[Path] = field(default_factory=list)      # skipped: not text (the .npz data)
    leaks: list[Leak] = field(default_factory=list)

    def summary(self) -> str:
        counts = ", ".join(f"{m} {n}" for m, n in sorted(self.secrets.per_module.items()))
        verdict = f"{len(self.leaks)} LEAKED" if self.leaks else "none found"
        skipped = f"; not text: {', '.join(p.as_posix() for p in self.binary)}" if self.binary else ""
        return (f"leak check: {len(self.secrets.lines)} secret lines ({counts}; "
                f"{self.secrets.trivial} too plain to compare) looked for in {self.files} text "
                f"files: {verdict}{skipped}")


def notebook_secrets(path: Path) -> tuple[dict[str, Origin], set[str]]:
    """The secret lines of one notebook with their origins, and the lines it shows students."""
    nb = read(path)
    distinctive = secret_lines(nb, SOLUTION, HIDDEN)
    found: dict[str, Origin] = {}
    for number, cell in enumerate(nb.cells, start=1):
        for kind, markers in (("solution", SOLUTION), ("hidden test", HIDDEN)):
            for region in regions(cell.source, markers):
                for line in (line.strip() for line in region):
                    if line in distinctive:
                        grade_id = nbgrader_meta(cell).get("grade_id", "?")
                        found.setdefault(line, Origin(path.parent.name, number, grade_id, kind))
    shown = {line.strip() for cell in nb.cells for line in cell.source.splitlines()} - distinctive
    return found, shown


def secrets(notebooks: list[Path] = NOTEBOOKS) -> Secrets:
    """The secret lines of the course: secret in one notebook and shown in none."""
    found: dict[str, Origin] = {}
    shown: set[str] = set()
    for path in notebooks:
        lines, public = notebook_secrets(path)
        for line, origin in lines.items():
            found.setdefault(line, origin)
        shown |= public
    found = {line: origin for line, origin in found.items() if line not in shown}
    compared = {line: origin for line, origin in found.items() if not trivial(line)}
    per_module = {path.parent.name: 0 for path in notebooks}
    for origin in compared.values():
        per_module[origin.module] += 1
    for module, count in per_module.items():
        if count < MIN_SECRETS_PER_MODULE and any(o.module == module for o in found.values()):
            raise ValueError(f"modules/{module}: only {count} secret lines to look for; the leak "
                             "check would prove almost nothing for this module")
    return Secrets(compared, per_module, len(found) - len(compared))


def trivial(line: str) -> bool:
    names = {name for name in NAME.findall(line) if not keyword.iskeyword(name)}
    return len(line) < TRIVIAL_LENGTH and len(names) < 2


def strings(value, where: str = "") -> Iterator[tuple[str, str]]:
    """(JSON path, text) for every string in a decoded notebook; a list of lines is one text."""
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        # nbformat stores sources and outputs as lists of lines ending in "\n", but the lines
        # of a traceback have none: end each piece with one, so no two lines run together.
        yield where, "".join(v if v.endswith("\n") else v + "\n" for v in value)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from strings(item, f"{where}[{index}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings(item, f"{where}.{key}" if where else key)


def read_text(path: Path) -> str | None:
    """The file's text, or None for a file that is not UTF-8 text (the .npz dataset)."""
    data = path.read_bytes()
    try:
        return None if b"\0" in data else data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def pieces(path: Path, text: str) -> Iterator[tuple[str, str]]:
    """(where, text) pieces of a file: the whole file, or each string of a notebook."""
    if path.suffix == ".ipynb":
        try:
            for where, piece in strings(json.loads(text)):
                # cells[3].source -> cell 4 source: cells counted from 1, as everywhere else
                yield re.sub(r"^cells\[(\d+)\]\.?", lambda m: f"cell {int(m[1]) + 1} ", where), piece
            return
        except json.JSONDecodeError:
            pass  # not a valid notebook: read it as plain text, which still finds plain lines
    yield "", text


def candidates(line: str) -> set[str]:
    """The forms of a line to compare: as written, and without colours or a traceback gutter."""
    plain = ANSI.sub("", line).strip()
    return {line.strip(), plain, TRACEBACK_GUTTER.sub("", plain, count=1).strip()}


def check(folder: Path, notebooks: list[Path] = NOTEBOOKS) -> Report:
    """Look for every secret line of `notebooks` in every text file under `folder`."""
    folder = Path(folder)
    report = Report(secrets(notebooks))
    found = report.secrets.lines
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder)
        text = read_text(path)
        if text is None:
            report.binary.append(relative)
            continue
        report.files += 1
        for where, piece in pieces(path, text):
            for number, line in enumerate(piece.splitlines(), start=1):
                hits = candidates(line) & found.keys()
                if hits:
                    form = min(hits)
                    place = f"{where}, line {number}" if where else f"line {number}"
                    report.leaks.append(Leak(relative, place, form, found[form]))
    return report


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0].startswith("-"):
        print("usage: python course/leaks.py FOLDER   (the student release to check)", file=sys.stderr)
        return 2
    folder = Path(args[0])
    if not folder.is_dir():
        print(f"leaks.py: {folder} is not a folder; name the student release to check", file=sys.stderr)
        return 2
    report = check(folder)
    for leak in report.leaks:
        print(f"LEAK {leak}")
    print(report.summary())
    return 1 if report.leaks else 0


if __name__ == "__main__":
    sys.exit(main())

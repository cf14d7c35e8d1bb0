"""A synthetic class of Module 08 submissions, for grading at scale (bench/grading.py, tests).

    .venv/bin/python bench/synthetic_class.py COURSE_ROOT --students 60 [--db URL] [--hanging 1]

Makes COURSE_ROOT a course folder (the repository's modules/ copied in, the assignment
generated with nbgrader into the gradebook: --db, or COURSE_ROOT/gradebook.db) and writes N
students' submissions into COURSE_ROOT/submitted/<student>/08_dataloader/. The same N gives the
same class. In every ten students, in order: the reference solution (the source notebook) at
places 0, 3 and 6, the untouched release (nbgrader's generate_assignment output) at place 9,
and a planted bug at the other six: the next of tests/mutations/'s Module 08 entries, in
their order, applied to the reference as tests/test_grading_integrity.py applies them.
--hanging K makes the last K students' loader cell sleep forever (stopped at the time limit).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # tests/mutations/

# nbgrader starts `alembic` by name: find the one of this interpreter's venv.
os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])

ASSIGNMENT = "08_dataloader"
HANG = "import time\nwhile True:  # a student's endless loop\n    time.sleep(1)\n\n"


def mutations() -> list:
    from mutations import MUTATIONS

    return [m for m in MUTATIONS if m.graded.startswith("08-")]


def kinds(n: int, hanging: int = 0) -> list[str]:
    """The kind of each of n students: reference, release, mutation:<k>, or hang (also made:
    broken, a file that is not a notebook)."""
    found, planted = [], 0
    for i in range(n):
        place = i % 10
        if place in (0, 3, 6):
            found.append("reference")
        elif place == 9:
            found.append("release")
        else:
            found.append(f"mutation:{planted % len(mutations())}")
            planted += 1
    return found[:n - hanging] + ["hang"] * min(hanging, n)


def cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def submission(kind: str, reference, release):
    """The notebook a student of this kind hands in."""
    if kind == "release":
        return nbformat.from_dict(release)
    nb = nbformat.from_dict(reference)
    if kind.startswith("mutation:"):
        m = mutations()[int(kind.split(":")[1])]
        target = cell(nb, m.cell)
        assert target.source.count(m.old) == 1, f"{m.old!r} is not once in {m.cell}"
        target.source = target.source.replace(m.old, m.new)
    elif kind == "hang":
        target = cell(nb, "08-dataloader-loader")
        target.source = HANG + target.source
    elif kind != "reference":
        raise ValueError(f"unknown kind of student {kind!r}")
    return nb


def prepare_course(root: Path, db: str | None = None) -> None:
    """root as an nbgrader course with the assignment generated (into `db` when given)."""
    from nbgrader.apps import NbGraderAPI

    from course.grade_all import make_config

    root.mkdir(parents=True, exist_ok=True)
    if not (root / "modules").is_dir():
        shutil.copytree(ROOT / "modules", root / "modules",
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    config = make_config(root, db, [])
    result = NbGraderAPI(config=config).generate_assignment(ASSIGNMENT)
    if not result["success"]:
        raise RuntimeError(f"generate_assignment {ASSIGNMENT} failed:\n"
                           f"{result.get('error') or result.get('log')}")


def student_name(i: int, kind: str) -> str:
    return f"s{i:04d}-{kind.replace(':', '')}"


def write_class(root: Path, kinds_of_students: list[str]) -> list[str]:
    """Write the submissions into root/submitted/ (replacing a submission of the same name);
    the students' names, in order."""
    reference = nbformat.read(root / "modules" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    release = nbformat.read(root / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    names = []
    for i, kind in enumerate(kinds_of_students):
        name = student_name(i, kind)
        folder = root / "submitted" / name / ASSIGNMENT
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        path = folder / f"{ASSIGNMENT}.ipynb"
        if kind == "broken":  # not a notebook at all: nbgrader refuses it
            path.write_text("this is not a notebook\n")
        else:
            nbformat.write(submission(kind, reference, release), path)
        names.append(name)
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("course_root", type=Path)
    parser.add_argument("--students", type=int, default=60)
    parser.add_argument("--hanging", type=int, default=0,
                        help="students (the last ones) whose loader cell never finishes")
    parser.add_argument("--db", help="the gradebook's URL (default: COURSE_ROOT/gradebook.db)")
    args = parser.parse_args(argv)
    prepare_course(args.course_root, args.db)
    names = write_class(args.course_root, kinds(args.students, args.hanging))
    print(f"{len(names)} submissions of {ASSIGNMENT} in {args.course_root / 'submitted'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

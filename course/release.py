"""Build the student copy of the course in one folder.

    python course/release.py                     -> student-release/ (git-ignored)
    python course/release.py --out DIR           another folder (it must be new or empty)
    python course/release.py --out DIR --force   replace DIR if it holds an older release

The copy holds what a student works with, and nothing else:
    modules/NN_name/NN_name.ipynb   the student notebooks, made by nbgrader's generate_assignment
    tinytorch/                      exported from those notebooks: it imports, its stubs raise
                                    NotImplementedError until the student fills them in
    export.py, milestones/, datasets/tiny/, environment.yml, pyproject.toml
    tests/package/                  the tests a student runs against their own package
    course/self_check.py            the per-module self-check
    README.md                       the student guide, course/student/README.md
    .gitignore                      course/student/gitignore: the venv, caches, downloads

The release is built in a temporary folder beside DIR and renamed to DIR only once it is
complete, its package imports and the leak check (course/leaks.py) has found no solution
line and no hidden-test line in it: a failed build leaves nothing behind.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
import export
from course import leaks

DEFAULT_OUT = ROOT / "student-release"
STUDENT_README = HERE / "student" / "README.md"
STUDENT_GITIGNORE = HERE / "student" / "gitignore"
FILES = ["export.py", "environment.yml", "pyproject.toml", "course/self_check.py"]  # copied as they are
FOLDERS = ["datasets/tiny", "milestones", "tests/package"]
JUNK = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", ".pytest_cache")


class ReleaseError(Exception):
    """Something that stops the build, worded for the person who ran it."""


def generate_notebooks(into: Path, names: list[str] | None = None) -> list[str]:
    """nbgrader's student version of every module (or of the modules named), written to
    into/modules/NN_name/; returns the module names.

    nbgrader runs on a scratch copy of modules/ so that the repository's own release/ folder
    and gradebook are never touched.
    """
    from nbgrader.apps import NbGraderAPI  # slow to import: only a build needs it

    from course.config import course_config  # tests/grading.py (on the path through leaks.py)

    # nbgrader runs the `alembic` command by name: find the one of this Python's environment
    # even when it was started as .venv/bin/python without activating the venv.
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    if names is None:
        names = [path.parent.name for path in export.find_notebooks(ROOT / "modules")]
    with tempfile.TemporaryDirectory(prefix="tinytorch-nbgrader-") as scratch:
        scratch = Path(scratch)
        shutil.copytree(ROOT / "modules", scratch / "modules", ignore=JUNK)
        api = NbGraderAPI(config=course_config(scratch))
        for name in names:
            result = api.generate_assignment(name)
            if not result["success"]:
                raise ReleaseError(f"nbgrader generate_assignment {name} failed:\n"
                                   f"{result.get('log', '')}\n{result.get('error', '')}")
            shutil.copytree(scratch / "release" / name, into / "modules" / name, ignore=JUNK)
    return names


def copy_course_files(into: Path) -> None:
    for name in FILES:
        (into / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, into / name)
    for name in FOLDERS:
        shutil.copytree(ROOT / name, into / name, ignore=JUNK)
    shutil.copy2(STUDENT_README, into / "README.md")
    shutil.copy2(STUDENT_GITIGNORE, into / ".gitignore")


def export_package(into: Path) -> None:
    """Export the release notebooks into the release's tinytorch/, then import it there.

    export.py runs in this process (the release's copy of it is the same file), with its
    folders pointed at the release; the import runs in a fresh Python started in the release.
    """
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        status = export.main(["--modules", str(into / "modules"), "--package", str(into / "tinytorch")])
    if status != 0:
        raise ReleaseError(f"export.py failed on the release notebooks:\n{printed.getvalue()}")
    # -B: no __pycache__ left in the release by this import
    command = [sys.executable, "-B", "-c", "import tinytorch; print(tinytorch.__file__)"]
    done = subprocess.run(command, cwd=into, capture_output=True, text=True)
    if done.returncode != 0:
        raise ReleaseError(f"the release's tinytorch does not import:\n{done.stderr}")
    imported = Path(done.stdout.strip()).resolve()
    if into.resolve() not in imported.parents:
        raise ReleaseError(f"`import tinytorch` in the release loaded {imported} instead of its own")


def unsafe_target(out: Path) -> str | None:
    """Why `out` must not be replaced, or None. The course itself is never at risk."""
    if out == ROOT or out in ROOT.parents:
        return f"{out} holds the course itself"
    if ROOT in out.parents:
        top = out.relative_to(ROOT).parts[0]
        if (ROOT / top).exists() and ROOT / top != DEFAULT_OUT:
            return f"{out} is inside the course's own {top}/"
    if (out / "nbgrader_config.py").exists() or (out / ".git").exists():
        return f"{out} looks like a course or a repository, not a student release"
    return None


def check_target(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise ReleaseError(f"{out} is a file; choose a folder for the release with --out")
    if (reason := unsafe_target(out)) is not None:
        raise ReleaseError(f"{reason}; choose another folder with --out")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise ReleaseError(f"{out} already exists and is not empty; add --force to replace it, "
                           "or choose another folder with --out")


def build(out: Path, force: bool = False) -> tuple[list[str], leaks.Report]:
    """Build the release in `out`; return the module names and the leak check's report."""
    out = Path(out).resolve()
    check_target(out, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.building-"))
    try:
        modules = generate_notebooks(staging)
        copy_course_files(staging)
        export_package(staging)
        report = leaks.check(staging)
        if report.leaks:
            shown = "\n".join(f"  {leak}" for leak in report.leaks)
            raise ReleaseError(f"the release would give answers away:\n{shown}\n{report.summary()}")
        replace(out, staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return modules, report


def replace(out: Path, staging: Path) -> None:
    """Put the finished release at `out`, removing what was there only once it is in place."""
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        out.rename(old)
    staging.rename(out)
    if old is not None:
        shutil.rmtree(old)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="folder to build the release in (default: student-release/ in the repository)")
    parser.add_argument("--force", action="store_true",
                        help="replace the folder if it exists and is not empty")
    args = parser.parse_args(argv)
    try:
        modules, report = build(args.out, args.force)
    except ReleaseError as error:
        print(f"release.py: {error}", file=sys.stderr)
        print("release.py: no release was written", file=sys.stderr)
        return 1
    out = args.out.resolve()
    files = sum(1 for p in out.rglob("*") if p.is_file())
    print(f"release.py: student release in {out}: {files} files, {len(modules)} modules "
          f"({modules[0]} ... {modules[-1]})")
    print(f"release.py: {report.summary()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

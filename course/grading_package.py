"""The package a submission is graded against: nothing of the module being graded.

When nbgrader autogrades Module N, the kernel imports `tinytorch`. If that were the reference
package, a student could import the answers (`from tinytorch.data.loader import DataLoader`
scores full marks in Module 08), and a Module 05 whose engine does not even run would be
graded on the reference engine that `import tinytorch` installs. So grading imports a package
built for the assignment: modules before N exported from the source notebooks (the reference:
a bug in a student's Module 01 does not fail their Module 08), module N and every later one
exported from the student version of its notebook (nbgrader's ClearSolutions), whose stubs
raise NotImplementedError. Module N's code can then only come from the submission itself.

The packages are built once per assignment and state of the source notebooks, under
`<course root>/.grading/`, and reused by every submission.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import shutil
import tempfile
from pathlib import Path

import nbformat

import export

CACHE = ".grading"  # beside the gradebook, in the course root (git-ignored)


def module_number(name: str) -> int:
    match = re.match(r"(\d+)_", name)
    if not match:
        raise ValueError(f"{name!r} is not a module folder name such as 08_dataloader")
    return int(match.group(1))


def student_version(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook with every solution region replaced by nbgrader's stub."""
    from nbgrader.preprocessors import ClearSolutions  # slow to import: only a build needs it

    nb = nbformat.from_dict(nb)
    nb.metadata.setdefault("kernelspec", {"name": "python3", "language": "python",
                                          "display_name": "Python 3"})
    nb, _ = ClearSolutions().preprocess(nb, {})
    return nb


def fingerprint(notebooks: list[Path]) -> str:
    """A short hash of the source notebooks and of the code that builds from them."""
    digest = hashlib.sha256()
    for path in [*notebooks, Path(export.__file__), Path(__file__)]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def build(assignment: str, modules_dir: Path, into: Path) -> Path:
    """Write the grading package of `assignment` to into/tinytorch; return into."""
    graded = module_number(assignment)
    staging = into / "modules"
    for path in export.find_notebooks(modules_dir):
        nb = nbformat.read(path, as_version=4)
        if module_number(path.parent.name) >= graded:
            nb = student_version(nb)
        target = staging / path.parent.name / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, target)
    report = io.StringIO()
    with contextlib.redirect_stdout(report), contextlib.redirect_stderr(report):
        status = export.main(["--modules", str(staging), "--package", str(into / "tinytorch")])
    if status != 0:
        raise RuntimeError(f"the grading package of {assignment} could not be exported from "
                           f"{modules_dir}:\n{report.getvalue()}")
    shutil.rmtree(staging)
    # The dataset locator also looks beside the package: the course's datasets/, or the ones
    # of the repository that export.py belongs to.
    for datasets in (modules_dir.parent / "datasets", Path(export.ROOT) / "datasets"):
        if datasets.is_dir():
            (into / "datasets").symlink_to(datasets.resolve(), target_is_directory=True)
            break
    return into


def readable_by_all(folder: Path) -> None:
    """Let every user read the folder (mkdtemp and export's temporary files are private)."""
    folder.chmod(0o755)
    for parent, folders, files in os.walk(folder):
        for name in folders:
            os.chmod(os.path.join(parent, name), 0o755)
        for name in files:
            os.chmod(os.path.join(parent, name), 0o644)


def grading_package(assignment: str, course_root: Path, modules_dir: Path) -> Path:
    """The folder to put first on the grading kernel's import path (it holds tinytorch/).

    Built on first use, in a temporary folder renamed into place, so a build that fails or
    runs beside another one never leaves half a package to import.
    """
    notebooks = export.find_notebooks(modules_dir)
    folder = Path(course_root) / CACHE / f"{assignment}-{fingerprint(notebooks)}"
    if (folder / "tinytorch" / "__init__.py").is_file():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{assignment}-", dir=folder.parent))
    try:
        build(assignment, modules_dir, scratch)
        readable_by_all(scratch)  # the sandboxed kernel runs as another user
        try:
            os.rename(scratch, folder)
        except OSError:  # another grader built it first: use theirs
            if not (folder / "tinytorch" / "__init__.py").is_file():
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    for older in folder.parent.glob(f"{assignment}-*"):  # built from notebooks since changed
        if older != folder:
            shutil.rmtree(older, ignore_errors=True)
    return folder

"""The student release (`python course/release.py`) and its leak check (course/leaks.py).

The release is built once for this file by release.py's own `main`; only its nbgrader step is
taken from the suite's scratch course, which already holds every module's student version
(one test runs release.py's nbgrader step itself and compares). The tests check what is in the
release and what is not, that the leak check passes on it and fails on every kind of planted
secret, that its package is the student's (stubs that raise, failing the release's own tests),
that the student guide names only files the release has, and that the build never leaves a
half-made or leaking folder behind.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from course.notebooks import HIDDEN, NOTEBOOKS, ROOT, SOLUTION, assignment, read, secret_lines

from course import leaks, release

JUNK = {"__pycache__", ".ipynb_checkpoints", ".pytest_cache"}
# Subprocesses must import the release's tinytorch: nothing from this run may point elsewhere.
# And they run as on a student's machine, where Python writes __pycache__ unless told not to.
CLEAN_ENV = {k: v for k, v in os.environ.items()
             if k not in ("PYTHONPATH", "TINYTORCH_DATASETS", "PYTHONDONTWRITEBYTECODE")}


def files_in(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")
            if p.is_file() and not JUNK & set(p.parts) and p.suffix != ".pyc"}


def copy_generated(course, into: Path) -> list[str]:
    """What release.generate_notebooks does, taken from the suite's scratch course, where
    nbgrader has already generated every module (test_release_generates_... shows they agree)."""
    for path in NOTEBOOKS:
        shutil.copytree(course.release(assignment(path)), into / "modules" / assignment(path))
    return [assignment(p) for p in NOTEBOOKS]


@pytest.fixture(scope="module")
def built(course, tmp_path_factory):
    """(release folder, what the command printed), built once by `release.main(["--out", ...])`.

    nbgrader's part is the suite's `course`: pytest-xdist may run this file's tests on both
    workers, and each has that fixture anyway, so the release costs no second nbgrader run.
    """
    out = tmp_path_factory.mktemp("release") / "student-release"
    printed = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(printed):
        patch.setattr(release, "generate_notebooks", lambda into, names=None: copy_generated(course, into))
        patch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)  # as on a student's machine
        status = release.main(["--out", str(out)])
    assert status == 0, f"the release did not build:\n{printed.getvalue()}"
    return out, printed.getvalue()


def test_release_generates_the_student_notebooks_with_nbgrader(course, tmp_path):
    """release.py's own nbgrader run gives exactly the notebooks of the suite's course.

    Two modules, the first and the last, keep this test short (nbgrader takes 1.5 s or more per
    module); without names, release.py sends every module through the same loop.
    """
    def instructor_folders():  # nbgrader's output in the repository itself must not change
        return {name: files_in(ROOT / name) for name in ("release", "modules")}, (ROOT / "gradebook.db").exists()

    chosen = [NOTEBOOKS[0], NOTEBOOKS[-1]]
    before = instructor_folders()
    assert release.generate_notebooks(tmp_path, [assignment(p) for p in chosen]) == [assignment(p) for p in chosen]
    assert instructor_folders() == before
    assert files_in(tmp_path) == {f"modules/{assignment(p)}/{p.name}" for p in chosen}
    for path in chosen:
        made = read(tmp_path / "modules" / assignment(path) / path.name)
        assert made == read(course.release(assignment(path)) / path.name), f"{path.name} differs"


@pytest.fixture
def copy(built, tmp_path):
    """A copy of the release to plant things in."""
    folder = tmp_path / "copy"
    shutil.copytree(built[0], folder)
    return folder


def longest(lines: set[str]) -> str:
    """A secret line chosen without the leak check's help: the longest (ties: alphabetical)."""
    return min(lines, key=lambda line: (-len(line), line))


def solution_line(module: int) -> str:
    return longest(secret_lines(read(NOTEBOOKS[module - 1]), SOLUTION))


def hidden_line(module: int) -> str:
    return longest(secret_lines(read(NOTEBOOKS[module - 1]), HIDDEN))


# ----- what is in the release ----------------------------------------------------------------

def expected_files() -> set[str]:
    files = {f"modules/{assignment(p)}/{p.name}" for p in NOTEBOOKS}
    files |= {"README.md", ".gitignore", "export.py", "environment.yml", "pyproject.toml", "course/self_check.py",
              release.MANIFEST}
    for folder in ("datasets/tiny", "milestones", "tests/package"):
        files |= {f"{folder}/{name}" for name in files_in(ROOT / folder)}
    files |= {f"tinytorch/{name}" for name in files_in(ROOT / "tinytorch")}  # the same modules
    return files


def test_release_holds_what_a_student_needs_and_nothing_else(built):
    out, printed = built
    assert files_in(out) == set(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()), \
        "the release holds caches (__pycache__, .pyc, checkpoints)"
    found, expected = files_in(out), expected_files()
    assert found == expected, (f"missing: {sorted(expected - found)}; "
                               f"not for students: {sorted(found - expected)}")
    for absent in ("nbgrader_config.py", "tests/conftest.py", "tests/notebooks.py", "course/release.py",
                   "course/leaks.py", "release", "gradebook.db", "bench", "datasets/mnist"):
        assert not (out / absent).exists(), f"{absent} is for instructors, not in a student release"
    assert (out / "README.md").read_text() == (ROOT / "course/student/README.md").read_text()
    assert f"{len(NOTEBOOKS)} modules" in printed and "none found" in printed, printed


def test_release_notebooks_are_the_student_versions(built):
    for path in NOTEBOOKS:
        text = (built[0] / "modules" / assignment(path) / path.name).read_text()
        assert "raise NotImplementedError()" in text and "### BEGIN SOLUTION" not in text
        assert "### BEGIN HIDDEN TESTS" not in text, f"{path.name}: hidden tests in the release"
        assert "nbgrader" in json.loads(text)["cells"][0]["metadata"], "not made by nbgrader"


def test_release_package_imports_and_its_stubs_raise(built):
    code = ("import tinytorch; print(tinytorch.__file__)\n"
            "from tinytorch import Tensor\n"
            "try:\n    Tensor([1, 2]) + Tensor([3, 4])\n"
            "except NotImplementedError:\n    print('stub')\n")
    done = subprocess.run([sys.executable, "-B", "-c", code], cwd=built[0], env=CLEAN_ENV,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    location, outcome = done.stdout.split()
    assert Path(location).resolve().is_relative_to(built[0].resolve()), f"imported {location}"
    assert outcome == "stub", "Tensor arithmetic should raise NotImplementedError in a fresh release"


def run_package_tests(course: Path, *args: str):
    """Run one of the course's package test files, from its folder, on its own tinytorch.

    The package is imported first, in the same process, and its file printed: the editable
    install of the repository (in this venv) cannot be what the tests see.
    """
    code = ("import sys, tinytorch, pytest; print(tinytorch.__file__)\n"
            f"sys.exit(pytest.main(['-q', '-p', 'no:cacheprovider', *{list(args)!r}]))")
    env = {**CLEAN_ENV, "TINYTORCH_EXPECTED_PACKAGE": str(course / "tinytorch")}
    done = subprocess.run([sys.executable, "-B", "-c", code], cwd=course, env=env,
                          capture_output=True, text=True, timeout=300)
    location = done.stdout.splitlines()[0]
    assert Path(location).resolve().is_relative_to(course.resolve()), f"the tests imported {location}"
    return done


def test_every_package_test_file_loads_on_the_stubs(built):
    # A test that builds a Tensor while its file loads would stop the whole file on a stub:
    # the student would see one collection error instead of which tests are not done yet.
    done = run_package_tests(built[0], "--collect-only", "tests/package")
    assert done.returncode == 0, done.stdout[-2000:]
    assert len(list((built[0] / "tests" / "package").glob("test_*.py"))) == len(NOTEBOOKS)


def test_release_package_tests_fail_on_the_stubs_and_pass_once_solved(built, copy):
    done = run_package_tests(built[0], "tests/package/test_01_tensor.py")
    # 1: tests ran and failed (2 would be a file that cannot even be collected, 4 the guard in
    # tests/package/conftest.py refusing to test another package than the release's).
    assert done.returncode == 1 and "NotImplementedError" in done.stdout, done.stdout[-2000:]
    # The same tests in a copy whose Module 01 is solved and exported: they run student code.
    shutil.copy2(NOTEBOOKS[0], copy / "modules" / assignment(NOTEBOOKS[0]))
    assert release.export.main(["--modules", str(copy / "modules"), "--package", str(copy / "tinytorch")]) == 0
    done = run_package_tests(copy, "tests/package/test_01_tensor.py")
    assert done.returncode == 0, done.stdout[-2000:]


def test_a_milestone_on_the_untouched_release_names_the_notebook_to_finish(built, tmp_path):
    """A student who runs a milestone too early sees which notebook to finish, no traceback."""
    command = [sys.executable, "-B", "milestones/01_perceptron.py", "--out", str(tmp_path)]
    done = subprocess.run(command, cwd=built[0], env={**CLEAN_ENV, "PYTHONPATH": str(built[0])},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr[-3000:]
    found = re.search(r"\((tinytorch/[\w/]+\.py), line \d+\) still raises NotImplementedError;\n"
                      r"  it comes from Module (\d\d), (modules/\w+/\w+\.ipynb)\.", done.stderr)
    assert found, done.stderr
    package_file, number, notebook = found.groups()
    header = (built[0] / package_file).read_text().splitlines()[0]
    assert header.startswith(f"# Generated by export.py from {notebook}:") and \
        Path(notebook).name.startswith(number), (header, found.group(0))
    assert "Finish that notebook, run `python export.py`" in done.stderr
    assert "start with the first, modules/01_tensor/01_tensor.ipynb." in done.stderr


# ----- the student README ---------------------------------------------------------------------

def missing_paths(text: str, folder: Path) -> set[str]:
    """Files the text tells a student to run or open that `folder` does not have."""
    named = set(re.findall(r"python (?:-m pytest )?([\w./-]+\.py)\b", text))
    named |= set(re.findall(r"`([\w.-]+(?:/[\w.-]+)+\.(?:py|ipynb|yml|toml|npz|md))`", text))
    return {path for path in named if not (folder / path).is_file()}


def test_student_readme_names_only_files_that_exist_in_the_release(built):
    text = (built[0] / "README.md").read_text()
    for command in ("python export.py", "python course/self_check.py", "jupyter lab",
                    "python milestones/04_cnn.py", "python -m pytest tests/package/test_01_tensor.py"):
        assert command in text, f"the student guide should show `{command}`"
    assert not missing_paths(text, built[0]), missing_paths(text, built[0])
    wrong = "run `python course/grade.py`, open `modules/10_x/10_x.ipynb`"
    assert missing_paths(wrong, built[0]) == {"course/grade.py", "modules/10_x/10_x.ipynb"}


def marked_commands(path: Path, marker: str) -> str:
    """The ```sh block after `<!-- marker -->` in a markdown file, without its indentation."""
    found = re.search(rf"^( *)<!-- {marker} -->\n\1```sh\n(.*?)^\1```", path.read_text(), re.M | re.S)
    assert found, f"{path.name} has no sh block after <!-- {marker} -->"
    return "\n".join(line.removeprefix(found[1]) for line in found[2].splitlines())


@pytest.mark.parametrize("marker", ["student setup", "student first command"])
def test_readme_and_student_guide_give_the_same_setup_steps(marker):
    guide = marked_commands(ROOT / "course/student/README.md", marker)
    assert marked_commands(ROOT / "README.md", marker) == guide
    assert "milestones/" not in guide, "a milestone cannot run before the student writes modules"


# ----- the leak check -------------------------------------------------------------------------

def test_leak_check_passes_on_the_release_and_counts_what_it_checked(built):
    report = leaks.check(built[0])
    assert not report.leaks, "\n".join(map(str, report.leaks))
    assert sorted(report.secrets.per_module) == [assignment(p) for p in NOTEBOOKS]
    assert min(report.secrets.per_module.values()) >= leaks.MIN_SECRETS_PER_MODULE
    tiny = sorted(Path("datasets/tiny") / p.name for p in (ROOT / "datasets" / "tiny").glob("*.npz"))
    assert sorted(report.binary) == tiny == [Path("datasets/tiny/digits_8x8.npz"),
                                             Path("datasets/tiny/shifted_digits.npz")]
    assert report.files == len(files_in(built[0])) - len(tiny), "every text file is read"


def plant_in_cell(folder: Path, line: str) -> Path:
    path = folder / "modules/03_layers/03_layers.ipynb"
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "code" and "# YOUR CODE HERE" in c.source)
    cell.source = cell.source.replace("# YOUR CODE HERE", line, 1)
    nbformat.write(nb, path)
    return path


def plant_in_output(folder: Path, line: str) -> Path:
    """A failing cell's traceback quotes the source, in colour, after a `---->` gutter."""
    path = folder / "modules/02_activations/02_activations.ipynb"
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "code")
    cell.outputs = [nbformat.v4.new_output("error", ename="ValueError", evalue="",
                                           traceback=[f"\x1b[0;32m----> 7\x1b[0m     {line}\n"])]
    nbformat.write(nb, path)
    return path


def plant_in_file(name: str):
    def plant(folder: Path, line: str) -> Path:
        path = folder / name
        path.write_text(path.read_text() + f"\n\ndef helper():\n    {line}\n")
        return path
    return plant


@pytest.mark.parametrize("plant, kind, module", [
    (plant_in_cell, "solution", 1),
    (plant_in_output, "solution", 4),
    (plant_in_file("tinytorch/core/tensor.py"), "solution", 5),
    (plant_in_file("tests/package/test_02_activations.py"), "solution", 9),
    (plant_in_file("milestones/common.py"), "hidden test", 5),
    (plant_in_file("tests/package/test_08_dataloader.py"), "hidden test", 8),
], ids=["notebook-cell", "notebook-output", "tinytorch-file", "tests-file",
        "hidden-test-in-milestones", "hidden-test-in-tests"])
def test_leak_check_finds_a_planted_secret_line(copy, plant, kind, module, capsys):
    line = solution_line(module) if kind == "solution" else hidden_line(module)
    path = plant(copy, line)
    report = leaks.check(copy)
    assert [(leak.path, leak.line) for leak in report.leaks] == [(path.relative_to(copy), line)]
    origin = report.leaks[0].origin
    assert (origin.module, origin.kind) == (assignment(NOTEBOOKS[module - 1]), kind)
    assert leaks.main([str(copy)]) == 1
    shown = capsys.readouterr().out
    assert f"LEAK {path.relative_to(copy).as_posix()}:" in shown and origin.grade_id in shown, shown


def test_leak_check_finds_every_module_in_the_source_notebooks(copy):
    """Shipping the instructor's notebooks by mistake: each module's answers are found."""
    for path in NOTEBOOKS:
        shutil.copy2(path, copy / "modules" / assignment(path) / f"source_{path.name}")
    found = {(leak.origin.module, leak.origin.kind) for leak in leaks.check(copy).leaks}
    assert found == {(assignment(p), kind) for p in NOTEBOOKS for kind in ("solution", "hidden test")}


def test_leak_check_refuses_to_check_almost_nothing(tmp_path):
    """A module whose secret lines are too few or too plain would be 'clean' in name only."""
    path = tmp_path / "99_tiny" / "99_tiny.ipynb"
    path.parent.mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "def f(a, b):\n    ### BEGIN SOLUTION\n    total = a + b\n    return total\n    ### END SOLUTION")])
    nbformat.write(nb, path)
    with pytest.raises(ValueError, match="only 1 secret lines"):
        leaks.secrets([path])
    assert leaks.trivial("return total") and leaks.trivial("else:")
    assert not leaks.trivial("total = a + b") and not leaks.trivial("m *= beta1")


def test_leak_check_command_says_what_is_wrong_with_its_arguments(tmp_path, capsys):
    assert leaks.main([]) == 2 and "usage" in capsys.readouterr().err
    assert leaks.main([str(tmp_path / "nowhere")]) == 2 and "not a folder" in capsys.readouterr().err


# ----- the build never leaves a half-made or leaking release ----------------------------------

@pytest.fixture
def quick_build(built, monkeypatch):
    """release.build with nbgrader's step replaced by a copy of the notebooks it made above;
    `spoil(modules_folder)` runs on the copy, to make the build fail in a chosen way."""
    spoilers = []

    def generate(into: Path) -> list[str]:
        shutil.copytree(built[0] / "modules", into / "modules")
        for spoil in spoilers:
            spoil(into / "modules")
        return [assignment(p) for p in NOTEBOOKS]

    monkeypatch.setattr(release, "generate_notebooks", generate)
    return spoilers


def leak_a_solution(modules: Path) -> None:
    plant_in_cell(modules.parent, solution_line(3))


def break_an_export(modules: Path) -> None:
    path = modules / "01_tensor/01_tensor.ipynb"
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if c.source.startswith("#| export") and "YOUR CODE" in c.source)
    cell.source = cell.source.replace("# YOUR CODE HERE", "x = = 1")
    nbformat.write(nb, path)


@pytest.mark.parametrize("spoil, reason", [(leak_a_solution, "give answers away"),
                                           (break_an_export, "invalid syntax")])
def test_a_failing_build_leaves_nothing_behind(quick_build, tmp_path, spoil, reason):
    quick_build.append(spoil)
    out = tmp_path / "student-release"
    with pytest.raises(release.ReleaseError, match=reason):
        release.build(out)
    assert list(tmp_path.iterdir()) == [], "a failed build left files behind"
    # A forced rebuild that fails keeps the release that was there.
    fake_release(out)
    with pytest.raises(release.ReleaseError, match=reason):
        release.build(out, force=True)
    assert list(tmp_path.iterdir()) == [out]
    assert files_in(out) == {"README.md", "modules/old.txt", release.MANIFEST}


def test_force_replaces_an_older_release(quick_build, tmp_path):
    """Caches a student's Python and pytest made in it are no one's work: they go too."""
    out = tmp_path / "student-release"
    fake_release(out)
    (out / "modules" / "__pycache__").mkdir()
    (out / "modules" / "__pycache__" / "old.cpython-311.pyc").write_bytes(b"\0")
    (out / ".pytest_cache").mkdir()
    (out / ".pytest_cache" / "README.md").write_text("pytest's")
    release.build(out, force=True)
    assert files_in(out) == expected_files()
    assert list(tmp_path.iterdir()) == [out], "the old release or the temporary folder is left over"


def test_refuses_to_overwrite_a_folder_that_is_not_empty(tmp_path):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    done = subprocess.run([sys.executable, "course/release.py", "--out", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "not empty" in done.stderr and "--force" in done.stderr, done.stderr
    assert "no release was written" in done.stderr
    assert files_in(out) == {"notes.txt"} and list(tmp_path.iterdir()) == [out]


@pytest.mark.parametrize("target", [ROOT, ROOT / "modules", ROOT / "tests" / "out", ROOT.parent])
def test_never_replaces_the_course_itself(target, capsys):
    before = files_in(ROOT / "modules")
    assert release.main(["--out", str(target), "--force"]) == 1
    assert "choose another folder" in capsys.readouterr().err
    assert files_in(ROOT / "modules") == before and not (ROOT / "tests" / "out").exists()


def test_the_manifest_lists_every_file_of_the_release_as_written(built):
    """What --force relies on: every file (and only those) with its SHA-256, and its origin."""
    record = json.loads((built[0] / release.MANIFEST).read_text())
    assert record["written_by"] == "course/release.py" and record["course_version"]
    assert set(record["files"]) == files_in(built[0]) - {release.MANIFEST}
    readme = (built[0] / "README.md").read_bytes()
    assert record["files"]["README.md"] == hashlib.sha256(readme).hexdigest()
    assert release.not_replaceable(built[0]) is None


# ----- faults and bad targets: --force, a killed replace, a full disk ------------------------
# Each of these works on small made-up folders: the full build is not the point, and nbgrader
# is never reached (`no_build` makes sure a refusal is not skipped into a real build).

DEAD_PID = 2**31 - 2  # above any pid_max (at most 2**22): no process has it


def fake_release(folder: Path, *files: str) -> Path:
    """A folder as release.py leaves it: a few files and their manifest."""
    for name in files or ("README.md", "modules/old.txt"):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(f"release file {name}\n")
    release.write_manifest(folder)
    return folder


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def no_build(monkeypatch):
    def generate(into, names=None):
        raise AssertionError("release.py went on to build instead of refusing the target")
    monkeypatch.setattr(release, "generate_notebooks", generate)


def thesis(folder: Path) -> str:
    folder.mkdir()
    (folder / "a.tex").write_text("keep")
    return "has no .tinytorch-release.json: it is not a release written by release.py"


def git_repository(folder: Path) -> str:
    (folder / ".git").mkdir(parents=True)
    (folder / "notes.md").write_text("mine")
    return "looks like a course or a repository"


def course_copy(folder: Path) -> str:
    (folder / "modules").mkdir(parents=True)
    (folder / "nbgrader_config.py").write_text("c = get_config()\n")
    return "looks like a course or a repository"


def release_with_students_files(folder: Path) -> str:
    fake_release(folder)
    for name in ("mine.py", "notes/a.md", "notes/b.md", "notes/c.md"):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text("a student's work")
    return "holds 4 files it did not write (mine.py, notes/a.md, notes/b.md and 1 more)"


def release_with_a_changed_file(folder: Path) -> str:
    fake_release(folder)
    (folder / "modules/old.txt").write_text("the student's answer")
    return "holds 1 file changed since (modules/old.txt)"


def release_with_a_foreign_manifest(folder: Path) -> str:
    fake_release(folder)
    (folder / release.MANIFEST).write_text('{"files": {}}')
    return "has no .tinytorch-release.json"


def a_file(path: Path) -> str:
    path.write_text("not a folder")
    return "is a file"


@pytest.mark.parametrize("make", [thesis, git_repository, course_copy, release_with_students_files,
                                  release_with_a_changed_file, release_with_a_foreign_manifest, a_file])
def test_force_replaces_only_a_release_it_wrote_unchanged(make, tmp_path, no_build, capsys):
    out = tmp_path / "x"
    reason = make(out)
    before = snapshot(out) if out.is_dir() else out.read_bytes()
    assert release.main(["--out", str(out), "--force"]) == 1
    said = capsys.readouterr().err
    assert reason in said and "no release was written" in said, said
    assert "folder with --out" in said, said  # and what to do
    assert (snapshot(out) if out.is_dir() else out.read_bytes()) == before
    assert list(tmp_path.iterdir()) == [out], "a refused run left something beside the target"


def test_a_folder_inside_a_file_is_refused(tmp_path, no_build, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    assert release.main(["--out", str(tmp_path / "notes.txt" / "release")]) == 1
    assert f"{tmp_path / 'notes.txt'} is a file, not a folder" in capsys.readouterr().err
    assert (tmp_path / "notes.txt").read_text() == "mine" and len(list(tmp_path.iterdir())) == 1


def test_without_force_an_empty_folder_is_filled_and_a_release_is_kept(tmp_path):
    (tmp_path / "empty").mkdir()
    release.check_target(tmp_path / "empty", force=False)  # no error: it will be filled
    fake_release(tmp_path / "old")
    with pytest.raises(release.ReleaseError, match="holds a release already; add --force"):
        release.check_target(tmp_path / "old", force=False)
    release.check_target(tmp_path / "old", force=True)


# A kill at each step of the replace: a child process replaces a made-up release and dies
# (os._exit, as under kill -9: no cleanup) just before its Nth rename, swap, unlink or rmdir.
KILL_AT_STEP = """
import os, sys
from pathlib import Path
from course import release
out, staging, mode, kill_at = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
steps = 0
def step(real):
    def run(*args, **kwargs):
        global steps
        steps += 1
        if steps == kill_at:
            os._exit(9)
        return real(*args, **kwargs)
    return run
os.rename, os.unlink, os.rmdir = step(os.rename), step(os.unlink), step(os.rmdir)
release.exchange = step(release.exchange) if mode == "exchange" else lambda first, second: False
release.replace(out, staging)
"""


@pytest.mark.parametrize("mode", ["exchange", "two-renames"])
def test_a_kill_at_any_step_of_the_replace_leaves_a_whole_release(mode, tmp_path, capsys):
    probe = [tmp_path / "probe-a", tmp_path / "probe-b"]
    for folder in probe:
        folder.mkdir()
    if mode == "exchange" and not release.exchange(*probe):
        pytest.skip("this file system cannot swap two folders in one step (renameat2)")
    old_files = ("README.md", "modules/a.txt", "modules/b.txt")
    new_files = ("README.md", "tinytorch/x.py")
    outcomes, kill_at = [], 0
    while True:
        kill_at += 1
        place = tmp_path / f"run-{kill_at}"
        place.mkdir()
        out, staging = place / "release", place / f".release.building-{DEAD_PID}-x"
        old, new = snapshot(fake_release(out, *old_files)), snapshot(fake_release(staging, *new_files))
        command = [sys.executable, "-c", KILL_AT_STEP, str(out), str(staging), mode, str(kill_at)]
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert done.returncode in (0, 9), done.stderr
        missing = not out.exists()
        release.recover(out)
        capsys.readouterr()
        assert list(place.iterdir()) == [out], f"killed at step {kill_at}: left {os.listdir(place)}"
        assert snapshot(out) in (old, new), f"killed at step {kill_at}: neither release is whole"
        which = "old" if snapshot(out) == old else "new"
        outcomes.append(f"missing, put back {which}" if missing else which)
        if done.returncode == 0:
            break
    assert outcomes[-1] == "new" and outcomes[0] == "old", outcomes
    assert len(outcomes) >= 6, f"too few steps were killed: {outcomes}"
    # Only the two renames have a moment without a release at `out`; the swap never has one.
    assert any(o.startswith("missing") for o in outcomes) == (mode == "two-renames"), outcomes


def test_the_next_run_puts_back_a_release_a_killed_run_hid(tmp_path, no_build, capsys):
    out = tmp_path / "student-release"
    hidden = fake_release(tmp_path / f".student-release.old-{DEAD_PID}")
    (tmp_path / f".student-release.building-{DEAD_PID}-abc").mkdir()
    before = snapshot(hidden)
    assert release.main(["--out", str(out)]) == 1  # put back: a release, so --force is needed
    said = capsys.readouterr()
    assert f"put {out} back from .student-release.old-{DEAD_PID}" in said.out, said.out
    assert f"removed .student-release.building-{DEAD_PID}-abc" in said.out, said.out
    assert "holds a release already; add --force" in said.err
    assert snapshot(out) == before and list(tmp_path.iterdir()) == [out]


def test_a_leftover_is_removed_only_if_it_is_a_release_and_not_while_its_run_lives(tmp_path, capsys):
    out = fake_release(tmp_path / "student-release")
    # The old release.py moved any folder aside, a thesis too: such a leftover is kept.
    kept = tmp_path / f".student-release.old-{DEAD_PID}"
    thesis(kept)
    gone = fake_release(tmp_path / f".student-release.old-{DEAD_PID - 1}")
    release.recover(out)
    said = capsys.readouterr().out
    assert f"left {kept} in place: an earlier run moved it aside" in said, said
    assert f"removed {gone.name}" in said and not gone.exists() and (kept / "a.tex").exists()
    # A build of a run that is still going (here: this test's parent process) is not touched.
    running = tmp_path / f".student-release.building-{os.getppid()}-abc"
    running.mkdir()
    with pytest.raises(release.ReleaseError, match=f"another release.py \\(process {os.getppid()}\\)"):
        release.recover(out)
    assert running.is_dir()


def no_space_when_copying(monkeypatch, part: str) -> None:
    """ENOSPC for every file copied whose path holds `part`, as a full disk gives. A patch, not a
    small full file system: the suite runs as root, and mounting needs more than that."""
    real = shutil.copyfile

    def copyfile(source, target, *args, **kwargs):
        if part in os.fspath(source):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # sendfile() names no file
        return real(source, target, *args, **kwargs)
    monkeypatch.setattr(shutil, "copyfile", copyfile)


@pytest.mark.parametrize("where, message", [
    ("export.py", "no space left on device while copying {ROOT}/export.py to "),
    ("milestones", "no space left on device while copying {ROOT}/milestones/"),
    ("manifest", "no space left on device while writing the release"),
])
def test_a_full_disk_is_one_line_and_leaves_nothing(where, message, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(release, "generate_notebooks", lambda into, names=None: ["01_tensor"])
    monkeypatch.setattr(release, "export_package", lambda into: None)  # not the point: no disk fault
    if where == "manifest":
        def write_manifest(folder):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        monkeypatch.setattr(release, "write_manifest", write_manifest)
    else:
        no_space_when_copying(monkeypatch, f"{ROOT}/{where}")
    assert release.main(["--out", str(tmp_path / "student-release")]) == 1
    said = capsys.readouterr().err.splitlines()
    assert len(said) == 2 and said[1] == "release.py: no release was written", said
    assert said[0].startswith("release.py: " + message.format(ROOT=ROOT)), said[0]
    assert said[0].endswith("free some space on that disk and run again"), said[0]
    if where == "milestones":
        assert re.search(r"\(and \d+ more files\)", said[0]), said[0]
    assert list(tmp_path.iterdir()) == [], "a staging folder was left behind"


def test_a_full_disk_in_nbgrader_scratch_copy_is_one_line(tmp_path, monkeypatch):
    no_space_when_copying(monkeypatch, f"{ROOT}/modules")
    with pytest.raises(release.ReleaseError, match=r"^no space left on device while copying .*modules"):
        release.generate_notebooks(tmp_path)
    assert list(tmp_path.iterdir()) == []

"""course/self_check.py reports honestly on a student's copy of the course, and tests the
student's code, never the reference package installed in this venv.

The copies have the layout of a student release: modules/ with some modules solved (the
source notebooks) and the rest untouched (nbgrader's release notebooks), export.py,
tests/package/, course/self_check.py, datasets/tiny/, pyproject.toml and a tinytorch/ exported
from the notebooks. Each scenario checks only a few modules: every module's tests cost time.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

from course import self_check as self_check_module
from course.notebooks import NOTEBOOKS, ROOT, assignment
from package.checks import assert_close

import export

SOLVED = {"01_tensor", "02_activations", "03_layers"}
COPIED = ["export.py", "pyproject.toml", "course/self_check.py", "tests/package", "datasets/tiny"]
ADD = "return _elementwise(np.add, self, other)"  # Tensor.__add__ in Module 01


def student_copy(course, folder: Path) -> Path:
    """Modules 01-03 solved, the later ones as released, and tinytorch/ exported from them."""
    for name in COPIED:
        source, target = ROOT / name, folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, target)
    for notebook in NOTEBOOKS:
        name = assignment(notebook)
        chosen = notebook if name in SOLVED else course.release(name) / notebook.name
        (folder / "modules" / name).mkdir(parents=True)
        shutil.copy(chosen, folder / "modules" / name / notebook.name)
    assert export.main(["--modules", str(folder / "modules"),
                        "--package", str(folder / "tinytorch")]) == 0
    return folder


def edit_notebook(folder: Path, module: str, old: str, new: str) -> int:
    """Replace `old` by `new` in the one cell of the module's notebook that holds it; return
    that cell's number (counted from 1, as export.py counts)."""
    path = folder / "modules" / module / f"{module}.ipynb"
    nb = nbformat.read(path, as_version=4)
    found = [i for i, cell in enumerate(nb.cells) if old in cell.source]
    assert len(found) == 1, f"expected '{old}' in exactly one cell of {path}, found {len(found)}"
    nb.cells[found[0]].source = nb.cells[found[0]].source.replace(old, new)
    nbformat.write(nb, path)
    return found[0] + 1


def self_check(folder: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the copy's own course/self_check.py, as a student would, from the copy's folder."""
    env = {k: v for k, v in (env or os.environ).items() if k != "PYTHONDONTWRITEBYTECODE"}
    run = subprocess.run([sys.executable, "course/self_check.py", *args], cwd=folder, env=env,
                         capture_output=True, text=True, timeout=300)
    print(run.stdout, run.stderr)  # shown when a test fails
    return run


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in folder.rglob("*") if p.is_file()}


def row(run: subprocess.CompletedProcess, module: str) -> str:
    """The module's line of the summary table."""
    found = [line for line in run.stdout.splitlines() if line.startswith(module + " ")]
    assert len(found) == 1, f"no single summary row for {module}"
    return re.sub(r"\s+", " ", found[0])


@pytest.fixture(scope="module")
def no_torch(tmp_path_factory) -> dict:
    """An environment where `import torch` fails, as on a student's machine without PyTorch:
    the tests that compare with PyTorch skip, and each run saves PyTorch's start-up time."""
    fake = tmp_path_factory.mktemp("no-torch")
    (fake / "torch").mkdir()
    (fake / "torch" / "__init__.py").write_text(
        "raise ModuleNotFoundError('PyTorch is hidden from this test', name='torch')\n")
    return dict(os.environ) | {"PYTHONPATH": str(fake)}


@pytest.fixture(scope="module")
def half_done(course, tmp_path_factory) -> Path:
    return student_copy(course, tmp_path_factory.mktemp("half-done"))


def test_a_half_done_copy_is_reported_module_by_module(half_done, no_torch):
    """One run, checked in one test: the run costs more than all the checks of its report
    (as separate tests, pytest-xdist could run it once in each worker)."""
    run = self_check(half_done, "01", "03_layers", "04", env=no_torch)
    out = run.stdout
    # Solved modules pass. Module 03's gradient tests need Module 05, which this student has
    # not done: they are reported as waiting for it, not as a failure of Module 03.
    assert re.fullmatch(r"01_tensor ok pass \(\d+ tests\)", row(run, "01_tensor"))
    assert re.fullmatch(r"03_layers ok pass \(\d+ tests, \d+ skipped; \d+ wait for 05_autograd\)",
                        row(run, "03_layers"))
    assert re.search(r"03_layers: \d+ tests also use 05_autograd, which is not done yet", out)
    # The untouched module is not done yet, and the report points at its first stub: the
    # package file of Module 04 and the notebook cell it came from.
    assert re.fullmatch(r"04_losses ok not done yet \(\d+ of \d+ pass\)", row(run, "04_losses"))
    assert re.search(r"04_losses: not done yet: \d+ `raise NotImplementedError\(\)` stubs", out)
    assert re.search(r"  first: [\w ]+(\(.*\))?, tests/package/test_04_losses\.py:\d+\n"
                     r"    NotImplementedError\n"
                     r"    raised in \w+(\.\w+)*: modules/04_losses/04_losses\.ipynb, cell \d+ "
                     r"\(04-[\w-]+\), the line `raise NotImplementedError\(\)`", out)
    # Only the named modules; not all done, so exit 1 and say what comes next.
    assert "02_activations" not in out
    assert run.returncode == 1
    assert "2 of 3 checked modules done. Next: 04_losses: fill in" in out
    assert "out of date" not in out  # the copy's tinytorch/ was exported from its notebooks


def test_a_bug_in_a_solved_module_is_caught_in_that_module(half_done, no_torch, tmp_path):
    """The bug sits only in the notebook: the copy's tinytorch/ and the reference package in
    this venv still add correctly, so the failure proves the notebook's code was tested."""
    buggy = tmp_path / "buggy"
    shutil.copytree(half_done, buggy)
    cell = edit_notebook(buggy, "01_tensor", ADD, ADD.replace("np.add", "np.subtract"))
    before = snapshot(buggy)
    run = self_check(buggy, "01", env=no_torch)
    assert snapshot(buggy) == before  # the check changed none of the student's files
    assert run.returncode == 1
    assert re.fullmatch(r"01_tensor ok FAIL \(\d+ of \d+ pass\)", row(run, "01_tensor"))
    assert re.search(r"01_tensor: \d+ of \d+ tests fail\.", run.stdout)
    # A wrong value: the test's name in words, its line, its own message (expected and got,
    # not numpy's dump), and the cell of the notebook that holds the code the test calls.
    first = re.search(r"  first: (.*)\n    (.*)\n    the test calls (.*)\n", run.stdout)
    assert first, "no first failure with the functions it calls"
    name, message, calls = first.groups()
    assert re.fullmatch(r"[a-z ]+ \(.*add.*\), tests/package/test_01_tensor\.py:\d+", name)
    assert re.search(r"expected .* got ", message)
    assert "AssertionError" not in message and "Not equal to tolerance" not in message
    assert "ACTUAL" not in run.stdout and "DESIRED" not in run.stdout
    assert re.search(rf"Tensor\.__add__.*: modules/01_tensor/01_tensor\.ipynb, cell {cell} "
                     r"\(01-tensor-tensor-class\)", calls)
    relative_paths_only(run, buggy)
    assert "Your tinytorch/ folder is out of date" in run.stdout  # it still has the correct add
    assert "tinytorch/core/tensor.py differs from the notebooks" in run.stdout


def relative_paths_only(run: subprocess.CompletedProcess, folder: Path) -> None:
    """Past its first line (which names the course folder), the report names files from the
    student's course folder: no scratch copy in /tmp, no absolute path."""
    for line in run.stdout.splitlines()[1:]:
        assert str(folder) not in line and "self-check-" not in line, line
        assert not re.search(r"(^|[\s(`'\"])/\w", line), line


def test_an_error_in_the_students_code_names_the_cell_and_line(half_done, no_torch, tmp_path):
    """Raised deep inside numpy, called from the student's code: the report names the last
    frame of the student's code (function, notebook cell, line), not numpy's file."""
    broken = tmp_path / "broken"
    shutil.copytree(half_done, broken)
    wrong = "return Tensor(np.linalg.inv(np.zeros((2, 2))))"
    cell = edit_notebook(broken, "01_tensor", ADD, wrong)
    run = self_check(broken, "01", env=no_torch)
    assert run.returncode == 1
    assert re.search(r"  first: .*, tests/package/test_01_tensor\.py:\d+\n"
                     r"    LinAlgError: Singular matrix\n"
                     rf"    raised in Tensor\.__add__: modules/01_tensor/01_tensor\.ipynb, cell "
                     rf"{cell} \(01-tensor-tensor-class\), the line `{re.escape(wrong)}`\n",
                     run.stdout)
    relative_paths_only(run, broken)


def test_a_notebook_that_does_not_export_is_named_with_its_cell(half_done, no_torch, tmp_path):
    """A syntax error in an exported cell: export.py's message, and the tests run on the last
    export (which was correct), so the module passes its tests but not the check."""
    broken = tmp_path / "broken"
    shutil.copytree(half_done, broken)
    cell = edit_notebook(broken, "01_tensor", ADD, "return _elementwise(np.add, self, other))")
    run = self_check(broken, "01", env=no_torch)
    assert run.returncode == 1
    assert re.fullmatch(r"01_tensor DOES NOT EXPORT pass \(\d+ tests\), on your last export",
                        row(run, "01_tensor"))
    assert (f"01_tensor: does not export: modules/01_tensor/01_tensor.ipynb:cell {cell}: line "
            in run.stdout)
    assert "ran on your last export of it (tinytorch/core/tensor.py)" in run.stdout
    assert "Next: 01_tensor: fix the cell" in run.stdout


def test_a_test_that_never_ends_is_stopped_and_the_next_modules_still_run(half_done, no_torch,
                                                                          tmp_path):
    stuck = tmp_path / "stuck"
    shutil.copytree(half_done, stuck)
    # matmul_loops (Module 01) is used by Module 01's tests only
    check = '    if a.ndim != 2 or b.ndim != 2:\n        raise ValueError(f"matmul_loops needs'
    edit_notebook(stuck, "01_tensor", check, "    while True:\n        pass\n" + check)
    run = self_check(stuck, "01", "02", "--timeout", "3", env=no_torch)
    assert run.returncode == 1
    assert row(run, "01_tensor") == "01_tensor ok could not finish"
    assert re.search(r"01_tensor: the tests could not finish: stopped: test_matmul_loops\w* ran "
                     r"longer than 3 s \(an endless loop\?\)", run.stdout)
    assert row(run, "02_activations").startswith("02_activations ok pass (")


def test_the_repository_passes(no_torch):
    """In the repository (the reference notebooks) the checked modules are all green."""
    run = self_check(ROOT, "01", "13", env=no_torch)
    assert run.returncode == 0, run.stdout
    assert row(run, "01_tensor").startswith("01_tensor ok pass (")
    assert row(run, "13_transformers").startswith("13_transformers ok pass (")
    assert "All 2 checked modules export and pass their tests" in run.stdout


def test_an_unknown_module_is_a_usage_error():
    run = self_check(ROOT, "42")
    assert run.returncode == 2
    assert "no module '42'" in run.stderr and "01_tensor" in run.stderr


# ----- the guard in tests/package/conftest.py ---------------------------------------------

def pytest_run(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | env
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
                          cwd=cwd, env=environment, capture_output=True, text=True, timeout=120)


def test_guard_refuses_to_test_another_package_than_the_expected_one(tmp_path):
    """The expected package is a copy, but nothing puts it on the import path: the tests would
    import the repository's tinytorch/ (or the editable install), and the guard stops them."""
    shutil.copytree(ROOT / "tinytorch", tmp_path / "tinytorch")
    package_tests = ROOT / "tests" / "package"
    run = pytest_run(str(package_tests / "test_01_tensor.py"), "--confcutdir", str(package_tests),
                     cwd=ROOT, TINYTORCH_EXPECTED_PACKAGE=str(tmp_path / "tinytorch"))
    assert run.returncode == 4, run.stdout + run.stderr
    assert (f"would test the tinytorch package at {ROOT / 'tinytorch' / '__init__.py'}, but "
            f"TINYTORCH_EXPECTED_PACKAGE says they must test the one in {tmp_path / 'tinytorch'}"
            in run.stdout + run.stderr)
    assert " passed" not in run.stdout + run.stderr  # no test ran
    # With the copy first on the import path the guard lets the tests run: every self-check
    # above does that (it sets TINYTORCH_EXPECTED_PACKAGE to its scratch package).


def test_guard_checks_the_package_the_tests_actually_imported(tmp_path):
    """Found in the right place before the tests load, but a test module imports another one."""
    for name in ("right", "wrong"):
        (tmp_path / name / "tinytorch").mkdir(parents=True)
        (tmp_path / name / "tinytorch" / "__init__.py").write_text("")
    tests = tmp_path / "tests"
    tests.mkdir()
    shutil.copy(ROOT / "tests" / "package" / "conftest.py", tests)
    (tests / "test_sneaky.py").write_text(
        f"import sys\nsys.path.insert(0, {str(tmp_path / 'wrong')!r})\n"
        "import tinytorch\n\ndef test_nothing():\n    pass\n")
    run = pytest_run(str(tests), cwd=tmp_path, PYTHONPATH=str(tmp_path / "right"),
                     TINYTORCH_EXPECTED_PACKAGE=str(tmp_path / "right" / "tinytorch"))
    assert run.returncode == 4, run.stdout + run.stderr
    assert f"package at {tmp_path / 'wrong' / 'tinytorch'}" in run.stdout + run.stderr


# ----- the words of a failure ------------------------------------------------------------

def failing(check) -> AssertionError:
    with pytest.raises(AssertionError) as caught:
        check()
    return caught.value


def test_numpy_dumps_become_expected_and_got():
    """The test's own message (numpy's err_msg) comes first; numpy's tolerances and dumps go."""
    words = self_check_module.in_words
    assert words(failing(lambda: np.testing.assert_allclose(
        np.float32(-10.0), 13.0, err_msg="expected 13.0 got -10.0"))) == "expected 13.0 got -10.0"
    said = words(failing(lambda: np.testing.assert_allclose(
        np.array([[1.0, 2.0]]), [[1.0, 3.0]], err_msg="add: gradient of input 0")))
    assert said == ("add: gradient of input 0: expected [[1., 3.]] got [[1., 2.]]; 1 of 2 "
                    "values differ, the first at [0, 1]: expected 3.0 got 2.0")
    said = words(failing(lambda: np.testing.assert_array_equal(np.zeros(3), np.zeros((2, 3)))))
    assert said.startswith("expected shape (2, 3) got shape (3,)")
    said = words(failing(lambda: np.testing.assert_allclose(np.ones((50, 50)), np.zeros((50, 50)))))
    assert len(said) < 300 and "2500 of 2500 values differ" in said


def test_a_failed_assert_shows_its_message_not_pytests_explanation():
    words = self_check_module.assertion_words
    assert words("expected 13 got -10\nassert -10 == 13") == "expected 13 got -10"
    assert words("assert (2, 3) == (3, 2)\n  \n  At index 0 diff: 2 != 3") == "assert (2, 3) == (3, 2)"
    assert self_check_module.in_words(NotImplementedError()) == "NotImplementedError"
    assert self_check_module.in_words(TypeError("no\n dtype")) == "TypeError: no dtype"


def test_the_comparison_helper_of_the_package_tests_speaks_the_notebooks_words():
    """tests/package/checks.py ships with the package tests; module tests may use it."""
    assert_close(np.array([1.0, 2.0], np.float32), [1.0, 2.0000001], "close enough")
    said = str(failing(lambda: assert_close(np.array([1, -1]), [4, 6], "Tensor + Tensor")))
    assert said == ("Tensor + Tensor: expected [4, 6] got [1, -1]; 2 of 2 values differ, the "
                    "first at [0]: expected 4 got 1")
    assert str(failing(lambda: assert_close(np.float32(-10), 13.0))) == "expected 13.0 got -10.0"
    said = str(failing(lambda: assert_close(np.zeros((2, 3)), np.zeros((3, 2)), "x.T")))
    assert said.startswith("x.T: expected shape (3, 2) got shape (2, 3)")
    said = str(failing(lambda: assert_close(np.zeros(2), [0, 0], dtype=np.float32)))
    assert said == "expected dtype float32 got float64"
    assert str(failing(lambda: assert_close(None, [1.0]))) == "expected [1.] got None"
    assert str(failing(lambda: assert_close([1, 2], [1, 3]))).startswith("expected [1, 3] got [1, 2]")


# ----- bad arguments ----------------------------------------------------------------------

@pytest.mark.parametrize("value", ["nan", "inf", "=-inf", "0", "-1", "=-0.0", "abc", ""])
def test_timeout_must_be_a_number_of_seconds_above_zero(value, capsys):
    """NaN compares false with every time, so `--timeout nan` never stopped an endless loop.
    Rejected while parsing, before anything runs (the module named does not even exist)."""
    option = ["--timeout" + value] if value.startswith("=") else ["--timeout", value]
    with pytest.raises(SystemExit) as stopped:
        self_check_module.main(["99", *option])
    said = capsys.readouterr().err
    assert stopped.value.code == 2 and "argument --timeout:" in said, said
    assert "above 0" in said or "is not a number of seconds" in said, said
    assert self_check_module.seconds("0.5") == 0.5 and self_check_module.seconds("1e3") == 1000


def test_a_module_named_with_other_digits_is_a_usage_error():
    """'²' passes str.isdigit() but not int(): it raised a traceback instead of the usage error."""
    modules = {"01_tensor": Path("a"), "02_activations": Path("b")}
    for name in ("²", "0", "-1", ""):
        with pytest.raises(ValueError, match=f"no module '{name}'"):
            self_check_module.select([name], modules)
    assert self_check_module.select(["2", "01"], modules) == ["02_activations", "01_tensor"]


def test_a_timeout_under_a_second_is_shown_as_given():
    result = self_check_module.Result("01_tensor", "modules/01_tensor/01_tensor.ipynb")
    started = [{"phase": "start", "test": "tests/package/test_01_tensor.py::test_loop"}]
    assert self_check_module.after_a_hang([result], started, 0.5) == []
    assert "test_loop ran longer than 0.5 s" in result.problem, result.problem

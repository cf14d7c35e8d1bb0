"""Shared fixtures. Tests that take a `notebook` run once per module found in modules/."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

# One BLAS thread per process: the suite runs several processes (pytest workers, notebook
# kernels) on few cores, and threads fighting over them made small matmuls 30-100x slower.
# Set before numpy is imported here; kernels started by the tests inherit it.
for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")

import pytest

from course.notebooks import NOTEBOOKS, ROOT, assignment

# Grading runs every kernel in bubblewrap's sandbox (course/sandbox.py). Without bubblewrap the
# nbgrader tests grade unsandboxed and the sandbox's own tests skip, saying why, unless
# TINYTORCH_REQUIRE_SANDBOX=1 (set by .ci/run) makes them fail.
SANDBOX = shutil.which("bwrap") is not None
if not SANDBOX and os.environ.get("TINYTORCH_REQUIRE_SANDBOX") != "1":
    os.environ["TINYTORCH_GRADING_SANDBOX"] = "0"

# nbgrader runs `alembic` (and kernels) by name: find the ones of this interpreter's venv even
# when the suite is started as .venv/bin/python -m pytest without activating the venv.
os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])


def pytest_generate_tests(metafunc):
    if "notebook" in metafunc.fixturenames:
        metafunc.parametrize("notebook", NOTEBOOKS, ids=[assignment(p) for p in NOTEBOOKS])


@pytest.fixture(scope="session")
def course(tmp_path_factory):
    """A scratch nbgrader course holding every module, with the student versions generated."""
    from grading import Course

    root = tmp_path_factory.mktemp("course")
    shutil.copytree(ROOT / "modules", root / "modules",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    course = Course(root)
    for path in NOTEBOOKS:
        course.generate(assignment(path))
    return course


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL server of Debian's binaries for the session (tests/postgres.py):
    postgres.create_database(name) makes a database and gives its URL. Skips without the
    binaries, unless TINYTORCH_REQUIRE_POSTGRES=1 (set by .ci/run) makes that a failure."""
    from postgres import PostgresServer, PostgresUnavailable

    try:
        server = PostgresServer().start()
    except PostgresUnavailable as why:
        if os.environ.get("TINYTORCH_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"TINYTORCH_REQUIRE_POSTGRES=1, but {why}")
        pytest.skip(str(why))
    yield server
    server.stop()


@pytest.fixture
def artifacts() -> Path:
    """A folder for files worth keeping after a run (screenshots, feedback HTML)."""
    folder = ROOT / "test-artifacts"
    folder.mkdir(exist_ok=True)
    return folder

"""Settings for the package tests that must hold wherever they run: in the repository, and in a
student's copy of the course, which has this folder but not tests/conftest.py."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

# One BLAS thread per process, as in tests/conftest.py (which a student copy does not have):
# several test processes share few cores, and threads fighting over them slow small matmuls
# down many times. Set before the tests import numpy.
for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")

# The self-check (course/self_check.py) exports a student's notebooks into a scratch folder and
# sets this to the package there. An editable install of the reference package, or a
# tinytorch/ in the working directory, could win the import instead: then a student would see
# the reference solution pass, not their own code. The guard makes that an error.
EXPECTED = "TINYTORCH_EXPECTED_PACKAGE"


def _outside(location: str | None, expected: Path) -> bool:
    return location is None or not Path(location).resolve().is_relative_to(expected)


def _refuse(found: str | None, expected: Path) -> None:
    pytest.exit(f"tests/package/conftest.py: refusing to run: these tests would test the tinytorch "
                f"package at {found or 'nowhere (it is not importable)'}, but {EXPECTED} says "
                f"they must test the one in {expected}. Put that package's parent folder first "
                f"on the import path (PYTHONPATH), or unset {EXPECTED}.", returncode=4)


def pytest_configure(config):
    """Before any test module is imported: where would `import tinytorch` come from?"""
    if EXPECTED not in os.environ:
        return
    expected = Path(os.environ[EXPECTED]).resolve()
    spec = importlib.util.find_spec("tinytorch")  # locates the package without running it
    found = spec.origin if spec else None
    if _outside(found, expected):
        _refuse(found, expected)


def pytest_collection_finish(session):
    """After the test modules imported it: the package actually loaded must be the expected one."""
    if EXPECTED not in os.environ or "tinytorch" not in sys.modules:
        return
    expected = Path(os.environ[EXPECTED]).resolve()
    found = getattr(sys.modules["tinytorch"], "__file__", None)
    if _outside(found, expected):
        _refuse(found, expected)

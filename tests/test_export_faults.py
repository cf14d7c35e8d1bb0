"""export.py under faults: a kill at any step, a full disk, a read-only folder.

Whatever happens, `import tinytorch` works afterwards, with the old package or the new one in
full, and the next export cleans up and says so. The kills are real: a child process installs
the package and ends itself with os._exit (no cleanup code runs, as with kill -9) at the Nth
call of one step.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import export
from test_export import make_notebook, run_python, small_course, snapshot  # noqa: F401 (fixture)

# The child: install a planned package, dying at the Nth call of one function.
CHILD = """
import json, os, sys
from pathlib import Path
import export
plan, target, nth, exchange = json.loads(Path(sys.argv[1]).read_text())
module_name, _, attribute = target.rpartition(".")
owner = {"export": export, "shutil": export.shutil, "Path": export.Path}[module_name]
original, calls = getattr(owner, attribute), []
def dying(*args, **kwargs):
    calls.append(1)
    if len(calls) == nth:
        os._exit(9)
    return original(*args, **kwargs)
setattr(owner, attribute, dying)
if not exchange:
    export.exchange = lambda a, b: False
files = {Path(p): text for p, text in plan["files"].items()}
export.install(Path(plan["package"]), files, {Path(p) for p in plan["stale"]})
print("finished")
"""

# (function, which call): every step of an install, in the order they happen
KILLS = [("shutil.copyfile", 2), ("Path.write_text", 1), ("Path.write_text", 3),
         ("export.check_imports", 1), ("Path.touch", 1), ("export.swap", 1),
         ("shutil.rmtree", 1)]
# the two-rename swap (systems without renameat2), killed before it; killed between its two
# renames there is no package for a moment: see the test after this one
FALLBACK_KILLS = [("Path.rename", 1)]


def new_version(modules: Path) -> None:
    """Change both modules, so a half-installed package would be a mix of old and new."""
    make_notebook(modules, "01_alpha", "#| default_exp core.alpha",
                  "#| export\ndef double(x):\n    return x + x\n\nVERSION = 2")
    make_notebook(modules, "02_beta", "#| default_exp data.beta",
                  "#| export\nfrom tinytorch.core.alpha import VERSION\n\nBETA_VERSION = VERSION")


def versions(package: Path) -> str:
    code = ("import tinytorch.core.alpha as a, tinytorch.data.beta as b\n"
            "print(getattr(a, 'VERSION', 1), getattr(b, 'BETA_VERSION', 1))")
    result = run_python(code, package.parent)
    assert result.returncode == 0, f"the package does not import after the kill:\n{result.stderr}"
    return result.stdout.strip()


def kill_install(modules: Path, package: Path, target: str, nth: int, exchange: bool,
                 tmp_path: Path) -> subprocess.CompletedProcess:
    files, stale = export.plan([], modules, package, everything=True)
    plan = {"package": str(package), "files": {str(p): t for p, t in files.items()},
            "stale": [str(p) for p in stale]}
    job = tmp_path / "plan.json"
    job.write_text(json.dumps([plan, target, nth, exchange]))
    return subprocess.run([sys.executable, "-c", CHILD, str(job)], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": str(export.ROOT)})


@pytest.mark.parametrize("exchange, target, nth",
                         [(True, *kill) for kill in KILLS] + [(False, *kill) for kill in FALLBACK_KILLS],
                         ids=[f"{t}#{n}" for t, n in KILLS] + [f"two renames, {t}#{n}" for t, n in FALLBACK_KILLS])
def test_a_kill_at_any_step_leaves_a_whole_package_and_the_next_export_recovers(
        small_course, tmp_path, capsys, exchange, target, nth):
    modules, package = small_course
    new_version(modules)
    killed = kill_install(modules, package, target, nth, exchange, tmp_path)
    assert killed.returncode == 9, f"the kill at {target} #{nth} did not happen:\n{killed.stderr}"
    assert versions(package) in ("1 1", "2 2"), "a kill left a mix of the old and the new package"
    capsys.readouterr()
    assert export.main(["--modules", str(modules), "--package", str(package)]) == 0
    said = capsys.readouterr().out
    assert "left behind by an export that was interrupted" in said, said
    assert versions(package) == "2 2"
    assert not list(package.parent.glob(".tinytorch.export-*"))
    assert export.main(["--check", "--modules", str(modules), "--package", str(package)]) == 0


def test_a_kill_between_the_two_renames_is_finished_by_the_next_run(small_course, tmp_path, capsys):
    """Where folders cannot be swapped in one step, the moment with no package at all is
    repaired by the next export before anything else."""
    modules, package = small_course
    new_version(modules)
    kill_install(modules, package, "Path.rename", 2, False, tmp_path)
    assert not package.exists()
    capsys.readouterr()
    assert export.main(["--modules", str(modules), "--package", str(package)]) == 0
    assert "put back tinytorch/, which an interrupted export had moved aside (the new package)" \
        in capsys.readouterr().out
    assert versions(package) == "2 2"


def test_an_export_at_work_is_left_alone(small_course):
    """Leftovers are removed only when the export that made them is gone."""
    modules, package = small_course
    busy = package.parent / f".tinytorch.export-{os.getppid()}"  # our parent: alive
    busy.mkdir()
    assert export.main(["--modules", str(modules), "--package", str(package)]) == 0
    assert busy.is_dir()


def test_temporary_files_of_older_exports_are_removed(small_course, capsys):
    modules, package = small_course
    (package / "core" / ".alpha.py.k2j4xq.tmp").write_text("half a fi")
    capsys.readouterr()
    assert export.main(["--modules", str(modules), "--package", str(package)]) == 0
    assert "removed 1 temporary file(s) left in tinytorch/" in capsys.readouterr().out
    assert not list(package.rglob("*.tmp"))


def failing_on(call: int, error: OSError):
    """A stand-in for a write that fails at its Nth call."""
    calls = []

    def write(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == call:
            raise error
        return original(self, *args, **kwargs)
    original = Path.write_text
    return write


DISK_FAULTS = {
    "disk full": (OSError(errno.ENOSPC, "No space left on device"), "free some disk space"),
    "quota": (OSError(errno.EDQUOT, "Disk quota exceeded"), "free some disk space"),
    "read-only disk": (OSError(errno.EROFS, "Read-only file system"), "export to a writable disk"),
    "no permission": (OSError(errno.EACCES, "Permission denied"), "make the folder writable"),
}


@pytest.mark.parametrize("fault", DISK_FAULTS, ids=list(DISK_FAULTS))
def test_a_failing_write_is_reported_in_one_line_and_changes_nothing(small_course, monkeypatch,
                                                                     capsys, fault):
    modules, package = small_course
    new_version(modules)
    error, advice = DISK_FAULTS[fault]
    error.filename = str(package.parent / ".tinytorch.export-1" / "tinytorch" / "core" / "alpha.py")
    monkeypatch.setattr(Path, "write_text", failing_on(2, error))
    before = snapshot(package)
    capsys.readouterr()
    assert export.main(["--modules", str(modules), "--package", str(package)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("export.py: could not write ") and advice in err, err
    assert error.strerror in err and "The package was left as it was" in err
    assert "Traceback" not in err and len(err.splitlines()) == 1
    assert snapshot(package) == before
    assert not list(package.parent.glob(".tinytorch.export-*"))


def test_a_full_disk_while_copying_the_old_package_changes_nothing(small_course, monkeypatch, capsys):
    modules, package = small_course
    new_version(modules)

    def full(source, destination, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", destination)
    monkeypatch.setattr(shutil, "copyfile", full)
    before = snapshot(package)
    capsys.readouterr()
    assert export.main(["--modules", str(modules), "--package", str(package)]) == 1
    err = capsys.readouterr().err
    assert "No space left on device" in err and "free some disk space" in err, err
    assert err.startswith("export.py: could not write tinytorch/") and ".export-" not in err, err
    assert snapshot(package) == before
    assert not list(package.parent.glob(".tinytorch.export-*"))


def test_a_read_only_folder_is_respected(small_course, capsys):
    modules, package = small_course
    new_version(modules)
    core = package / "core"
    core.chmod(0o555)
    try:
        before = snapshot(package)
        capsys.readouterr()
        assert export.main(["--modules", str(modules), "--package", str(package)]) == 1
        err = capsys.readouterr().err
        assert f"{core} is read-only" in err and f"chmod u+w {core}" in err, err
        assert snapshot(package) == before
    finally:
        core.chmod(0o755)


def test_the_package_keeps_ordinary_permissions(small_course):
    """Files a student's editor, git and other users can read, like any file they write."""
    _, package = small_course
    umask = os.umask(0)
    os.umask(umask)
    for path in [package, *package.rglob("*")]:
        expected = (0o777 if path.is_dir() else 0o666) & ~umask
        assert path.stat().st_mode & 0o777 == expected, f"{path} has mode {path.stat().st_mode:o}"


def test_kill_9_of_the_command_mid_export(small_course):
    """The case as a user meets it: `kill -9` of `python export.py` while it works."""
    import signal
    import time
    modules, package = small_course
    new_version(modules)
    # a constant that takes a moment to compute holds the export in its import check
    make_notebook(modules, "03_gamma", "#| default_exp core.gamma",
                  "#| export\n_SLOW = sum(range(4 * 10**7))")
    command = [sys.executable, str(export.ROOT / "export.py"), "--modules", str(modules),
               "--package", str(package)]
    running = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not list(package.parent.glob(".tinytorch.export-*/ready")) and time.monotonic() < deadline:
        if list(package.parent.glob(".tinytorch.export-*/tinytorch/core/gamma.py")):
            break
        time.sleep(0.002)
    running.send_signal(signal.SIGKILL)
    running.wait(timeout=30)
    assert running.returncode == -signal.SIGKILL, "export finished before it could be killed"
    assert versions(package) in ("1 1", "2 2")
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "interrupted" in done.stdout, done.stdout + done.stderr
    assert versions(package) == "2 2" and not list(package.parent.glob(".tinytorch.export-*"))


def test_a_file_where_the_package_goes_is_never_replaced(small_course, tmp_path, capsys):
    modules, _ = small_course
    thesis = tmp_path / "thesis.tex"
    thesis.write_text("keep")
    with pytest.raises(SystemExit):
        export.main(["--modules", str(modules), "--package", str(thesis)])
    assert "is a file; name the package folder" in capsys.readouterr().err
    assert thesis.read_text() == "keep"

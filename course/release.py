"""Build the student copy of the course in one folder.

    python course/release.py                     -> student-release/ (git-ignored)
    python course/release.py --out DIR           another folder (it must be new or empty)
    python course/release.py --out DIR --force   replace DIR if it holds an older release,
                                                 unchanged (see "Replacing a release" below)

The copy holds what a student works with, and nothing else:
    modules/NN_name/NN_name.ipynb   the student notebooks, made by nbgrader's generate_assignment
    tinytorch/                      exported from those notebooks: it imports, its stubs raise
                                    NotImplementedError until the student fills them in
    export.py, milestones/, datasets/tiny/, environment.yml, pyproject.toml
    tests/package/                  the tests a student runs against their own package
    course/self_check.py            the per-module self-check
    README.md                       the student guide, course/student/README.md
    .gitignore                      course/student/gitignore: the venv, caches, downloads
    .tinytorch-release.json         the manifest: every file above with its SHA-256, and the
                                    course version and commit it was made from

The release is built in a temporary folder beside DIR (.DIR.building-PID-xxxx) and put in
place only once it is complete, its package imports and the leak check (course/leaks.py) has
found no solution line and no hidden-test line in it: a failed build leaves nothing behind.

Replacing a release. --force replaces DIR only when it is empty, or when it is a release this
tool wrote and still holds nothing but the files of its manifest, unchanged (Python caches
aside): anything else (a student's work, a thesis, a repository) is refused, naming a few of
the files in the way. On Linux the new release and the old one swap places in one step
(renameat2); elsewhere the old one is first renamed to .DIR.old-PID. A run that was killed
leaves these folders behind: the next run puts a missing DIR back from .DIR.old-PID, removes
the leftovers whose process is gone, and says what it did.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import errno
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
import export

# course.leaks is imported by build() only: it loads nbformat, which takes 2 s, and recovering
# an interrupted release or refusing a folder needs none of it.

DEFAULT_OUT = ROOT / "student-release"
STUDENT_README = HERE / "student" / "README.md"
STUDENT_GITIGNORE = HERE / "student" / "gitignore"
FILES = ["export.py", "environment.yml", "pyproject.toml", "course/self_check.py"]  # copied as they are
FOLDERS = ["datasets/tiny", "milestones", "tests/package"]
JUNK = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", ".pytest_cache")
MANIFEST = ".tinytorch-release.json"
# Written by Python and pytest whenever a release is used, and rebuilt by them: never anyone's
# work, so they do not stop --force. (.ipynb_checkpoints/ can hold a student's edits: it does.)
CACHE_FOLDERS = {"__pycache__", ".pytest_cache"}


class ReleaseError(Exception):
    """Something that stops the build, worded for the person who ran it."""


def generate_notebooks(into: Path, names: list[str] | None = None) -> list[str]:
    """nbgrader's student version of every module (or of the modules named), written to
    into/modules/NN_name/; returns the module names.

    nbgrader runs on a scratch copy of modules/ so that the repository's own release/ folder
    and gradebook are never touched.
    """
    # nbgrader runs the `alembic` command by name: find the one of this Python's environment
    # even when it was started as .venv/bin/python without activating the venv.
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    if names is None:
        names = [path.parent.name for path in export.find_notebooks(ROOT / "modules")]
    with tempfile.TemporaryDirectory(prefix="tinytorch-nbgrader-") as scratch:
        scratch = Path(scratch)
        copy(ROOT / "modules", scratch / "modules")
        from nbgrader.apps import NbGraderAPI  # 4 s to import: after the copy, which can fail

        from course.config import course_config  # the course's nbgrader_config.py

        api = NbGraderAPI(config=course_config(scratch))
        for name in names:
            result = api.generate_assignment(name)
            if not result["success"]:
                raise ReleaseError(f"nbgrader generate_assignment {name} failed:\n"
                                   f"{result.get('log', '')}\n{result.get('error', '')}")
            copy(scratch / "release" / name, into / "modules" / name)
    return names


def copy_course_files(into: Path) -> None:
    for name in FILES + FOLDERS:
        copy(ROOT / name, into / name)
    copy(STUDENT_README, into / "README.md")
    copy(STUDENT_GITIGNORE, into / ".gitignore")


def copy(source: Path, target: Path) -> None:
    """Copy a file, or a folder without its caches. A failure (a full disk: one error per file
    of the folder) becomes one line naming the first file that could not be copied."""
    try:
        if source.is_dir():
            shutil.copytree(source, target, ignore=JUNK)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    except shutil.Error as error:
        failures = error.args[0] if error.args and isinstance(error.args[0], list) else []
        if not failures:
            raise ReleaseError(f"copying {source} to {target} failed: {error}") from None
        first, why = failures[0][:2], failures[0][2]
        found = re.search(r"\[Errno (\d+)\]", str(why))
        more = f" (and {len(failures) - 1} more files)" if len(failures) > 1 else ""
        raise ReleaseError(in_words(int(found[1]) if found else None, str(why),
                                    f"while copying {first[0]} to {first[1]}{more}")) from None
    except OSError as error:
        raise ReleaseError(in_words(error.errno, str(error),
                                    f"while copying {source} to {target}")) from None


ADVICE = {errno.ENOSPC: "free some space on that disk and run again",
          errno.EDQUOT: "free some space within your disk quota and run again",
          errno.EROFS: "choose a folder on a writable disk with --out",
          errno.EACCES: "choose a folder you may write in with --out",
          errno.EPERM: "choose a folder you may write in with --out"}


def in_words(code: int | None, said: str, where: str) -> str:
    """An OSError as one line: its cause, where it happened, what to do."""
    if code is None:
        return f"{said} ({where}); fix that and run again"
    cause = os.strerror(code)
    return f"{cause[:1].lower()}{cause[1:]} {where}; {ADVICE.get(code, 'fix that and run again')}"


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


# ----- the manifest: what this tool wrote, so that --force replaces nothing else -------------

def listing(folder: Path) -> dict[str, Path]:
    """Every file under `folder` (and every symbolic link, even to a folder), by its path
    relative to `folder`, caches left out."""
    found = {}
    for top, folders, files in os.walk(folder):
        links = [name for name in folders if os.path.islink(os.path.join(top, name))]
        folders[:] = [name for name in folders if name not in CACHE_FOLDERS and name not in links]
        for name in files + links:
            if not name.endswith(".pyc"):
                path = Path(top, name)
                found[path.relative_to(folder).as_posix()] = path
    return found


def digest(path: Path) -> str | None:
    """SHA-256 of a regular file; None for anything else (a link, a pipe), which no release holds."""
    if path.is_symlink() or not path.is_file():
        return None
    return hashlib.sha256(path.read_bytes()).hexdigest()


def course_version() -> tuple[str | None, str | None]:
    """(version in pyproject.toml, git commit) of the course, each None when unknown."""
    try:
        version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        version = None
    try:
        done = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"],
                              capture_output=True, text=True, timeout=30)
        commit = done.stdout.strip() if done.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired):
        commit = None
    return version, commit


def write_manifest(folder: Path) -> None:
    version, commit = course_version()
    record = {
        "written_by": "course/release.py",
        "about": ("the files of this student release as release.py wrote them, with their "
                  "SHA-256; `release.py --force` replaces this folder only while it holds "
                  "these files, unchanged, and nothing else"),
        "course_version": version,
        "commit": commit,
        "files": {name: digest(path) for name, path in sorted(listing(folder).items())},
    }
    (folder / MANIFEST).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")


def written_files(folder: Path) -> dict[str, str] | None:
    """The files the manifest in `folder` lists, or None if it has no manifest of this tool."""
    try:
        record = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("written_by") != "course/release.py":
        return None
    files = record.get("files")
    return files if isinstance(files, dict) else None


def a_few(names: list[str]) -> str:
    shown = ", ".join(names[:3])
    return shown + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def not_replaceable(folder: Path) -> str | None:
    """Why replacing `folder` would lose something, or None when it is empty or holds a
    release of this tool with nothing added and nothing changed (caches aside)."""
    present = listing(folder)
    if not present:
        return None
    written = written_files(folder)
    if written is None:
        return (f"{folder} is not empty and has no {MANIFEST}: it is not a release written by "
                "release.py (a release made before release.py wrote manifests has none either), "
                "and --force replaces nothing else. Choose another folder with --out, or empty "
                f"{folder} yourself if nothing in it is needed")
    added = sorted(name for name in present if name not in written and name != MANIFEST)
    changed = sorted(name for name in present
                     if name in written and digest(present[name]) != written[name])
    if not added and not changed:
        return None
    found = [f"{plural(len(added), 'file')} it did not write ({a_few(added)})"] if added else []
    found += [f"{plural(len(changed), 'file')} changed since ({a_few(changed)})"] if changed else []
    return (f"{folder} is a release written by release.py, but it now holds {' and '.join(found)}: "
            "someone's work, perhaps, which replacing it would delete. Move those files out of "
            "it, or choose another folder with --out")


# ----- choosing the target and recovering from a run that was killed -----------------------

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
    if (reason := unsafe_target(out)) is not None:
        raise ReleaseError(f"{reason}; choose another folder with --out")
    if file := next((p for p in (out, *out.parents) if p.exists() and not p.is_dir()), None):
        raise ReleaseError(f"{file} is a file, not a folder: choose a folder with --out")
    recover(out)
    if not out.is_dir() or not any(out.iterdir()):
        return
    if (reason := not_replaceable(out)) is not None:
        raise ReleaseError(reason)
    if not force:
        raise ReleaseError(f"{out} is not empty: it holds a release already; add --force to "
                           "replace it, or choose another folder with --out")


def say(message: str) -> None:
    print(f"release.py: {message}", flush=True)


def running(pid: int) -> bool:
    if pid == os.getpid():  # this run has not made anything yet: a leftover of a pid reused
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def leftovers(out: Path) -> list[tuple[Path, str, int]]:
    """(folder, "old" or "building", pid) for each leftover of a replace of `out` beside it."""
    if not out.parent.is_dir():
        return []
    pattern = re.compile(rf"\.{re.escape(out.name)}\.(old|building)-(\d+)(-.*)?")
    found = [(path, match[1], int(match[2])) for path in out.parent.iterdir()
             if (match := pattern.fullmatch(path.name)) and path.is_dir() and not path.is_symlink()]
    return sorted(found, key=lambda entry: entry[0].stat().st_mtime, reverse=True)


def recover(out: Path) -> None:
    """Undo what a killed run left beside `out`: put a missing release back, remove the rest.

    A folder `.NAME.old-PID` is the release that was at `out` before run PID replaced it; if
    `out` is missing, that run was killed between its two renames and the old release goes
    back. A `.NAME.building-PID-xxxx` is an unfinished build (or, after the swap, the old
    release being removed): never anyone's work. Leftovers of a run still going are refused.
    """
    found = leftovers(out)
    for path, _, pid in found:
        if running(pid):
            raise ReleaseError(f"another release.py (process {pid}) is writing {out} ({path.name}); "
                               "wait for it to finish, or if no release.py is running, remove "
                               f"{path} and run again")
    old = [path for path, kind, _ in found if kind == "old"]
    if old and not os.path.lexists(out):
        old[0].rename(out)
        say(f"put {out} back from {old[0].name}: an earlier run was stopped while replacing it")
        old = old[1:]
    for path in old:
        if not_replaceable(path) is not None:
            say(f"left {path} in place: an earlier run moved it aside, and it is not an unchanged "
                "release of this tool, so it may hold someone's work; look at it and remove it yourself")
            continue
        remove_release(path)
        say(f"removed {path.name}, the previous release left by an earlier run that was stopped")
    for path in (path for path, kind, _ in found if kind == "building"):
        shutil.rmtree(path)
        say(f"removed {path.name}, left by an earlier run that was stopped")


def remove_release(folder: Path) -> None:
    """Delete a release with its manifest last: stopped half-way, what is left still proves
    that it is a release, and the next run may finish the job."""
    for path in folder.iterdir():
        if path.name != MANIFEST:
            shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
    (folder / MANIFEST).unlink(missing_ok=True)
    folder.rmdir()


# ----- building and putting it in place ------------------------------------------------------

def build(out: Path, force: bool = False) -> tuple[list[str], "leaks.Report"]:
    """Build the release in `out`; return the module names and the leak check's report."""
    from course import leaks

    out = Path(out).resolve()
    staging = None
    try:
        check_target(out, force)
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.building-{os.getpid()}-"))
        modules = generate_notebooks(staging)
        copy_course_files(staging)
        export_package(staging)
        write_manifest(staging)
        report = leaks.check(staging)
        if report.leaks:
            shown = "\n".join(f"  {leak}" for leak in report.leaks)
            raise ReleaseError(f"the release would give answers away:\n{shown}\n{report.summary()}")
        replace(out, staging)
    except OSError as error:  # making a folder, the manifest, a rename: copies say more (copy())
        where = f"at {error.filename}" if error.filename else "while writing the release"
        raise ReleaseError(in_words(error.errno, str(error), where)) from None
    finally:
        if staging is not None and staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return modules, report


def exchange(first: Path, second: Path) -> bool:
    """Swap two folders in one step (Linux's renameat2 with RENAME_EXCHANGE), so that there is
    no moment without a release at either name. False where the system or the file system
    cannot: the caller then renames twice."""
    if sys.platform != "linux":
        return False
    try:
        call = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):  # a C library without it (glibc before 2.28, musl)
        return False
    call.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    if call(at_fdcwd, os.fsencode(first), at_fdcwd, os.fsencode(second), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):  # kernel or file system without it
        return False
    raise OSError(code, os.strerror(code), str(first), None, str(second))


def replace(out: Path, staging: Path) -> None:
    """Put the finished release at `out`, removing what was there only once it is in place.
    A kill at any point leaves either the old or the new release at `out`, or (between the
    two renames, where there is no swap) the old one in .NAME.old-PID, which recover() puts
    back."""
    if not out.exists():
        staging.rename(out)
    elif exchange(staging, out):
        shutil.rmtree(staging)  # the old release, now under the staging name
    else:
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        out.rename(old)
        try:
            staging.rename(out)
        except BaseException:
            old.rename(out)
            raise
        remove_release(old)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="folder to build the release in (default: student-release/ in the repository)")
    parser.add_argument("--force", action="store_true",
                        help="replace the folder if it holds an unchanged release of this tool")
    args = parser.parse_args(argv)
    try:
        modules, report = build(args.out, args.force)
    except ReleaseError as error:
        print(f"release.py: {error}", file=sys.stderr)
        print("release.py: no release was written", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("release.py: interrupted; no release was written", file=sys.stderr)
        return 130
    out = args.out.resolve()
    files = sum(1 for p in out.rglob("*") if p.is_file())
    print(f"release.py: student release in {out}: {files} files, {len(modules)} modules "
          f"({modules[0]} ... {modules[-1]})")
    print(f"release.py: {report.summary()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

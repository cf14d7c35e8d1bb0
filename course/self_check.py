"""Check your work, module by module: does each notebook export, and does the package exported
from it pass that module's tests?

    python course/self_check.py                  every module, 01 to 09
    python course/self_check.py 03 05_autograd   just these (a number or a folder name)
    python course/self_check.py --verbose        also show export's and pytest's own output

The tests run on YOUR code as your notebooks hold it now: the check copies tinytorch/ into a
scratch folder, exports every notebook that exports cleanly over that copy (a notebook that
does not export keeps its last exported version there), and runs tests/package/test_NN_*.py
against the copy. Your tinytorch/ folder and your notebooks are never changed.

A failing test is shown in its own words (`expected 13.0 got -10.0`), with the notebook cell of
your code that raised the error, or else of the code the test calls.

A test that stops at a `raise NotImplementedError()` of a LATER module (Module 03's gradient
tests need Module 05) waits for that module and does not count against this one.
Exit status: 0 when every checked module exports and passes its tests, 1 otherwise.
Run it with the course's Python, e.g. `.venv/bin/python course/self_check.py`.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib.util
import io
import json
import linecache
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the course folder: modules/, export.py, tests/
PACKAGE_TESTS = ROOT / "tests" / "package"
RECORD = "TINYTORCH_SELF_CHECK_RECORD"  # set in the pytest run; the hooks below write there
EXPECTED = "TINYTORCH_EXPECTED_PACKAGE"  # read by tests/package/conftest.py's guard
STUB = "NotImplementedError"
STARTUP = 120  # seconds pytest may take to import and collect the tests, before the first one


# ----- inside the pytest run: this file is also loaded as a plugin (`-p self_check`) --------
# It writes one JSON line per finished test, so the check knows every outcome, where each
# failure was raised, and which test was running if a module has to be stopped. With TRACE set
# (a second run of a failing test) it also records which functions of the package the test
# called, to name the notebook cells behind a wrong value.

TRACE = "TINYTORCH_SELF_CHECK_TRACE"


def _record(**entry) -> None:
    if RECORD in os.environ:
        with open(os.environ[RECORD], "a", encoding="utf-8") as out:
            out.write(json.dumps(entry) + "\n")


def _inside(filename: str, folder: str | None) -> bool:
    return bool(folder) and filename.startswith(folder + os.sep)


@functools.cache
def _package() -> str | None:
    """The folder of the package under test (the scratch copy), as its code objects name it."""
    return os.path.realpath(os.environ[EXPECTED]) if EXPECTED in os.environ else None


def _failure(report) -> dict:
    """The message and the place of the error that failed a test (or loading a test file), as
    pytest reports it; `explain` below says it better when the exception itself is at hand."""
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash:
        return {"message": crash.message, "path": crash.path, "line": crash.lineno}
    text = str(report.longrepr)  # e.g. "ImportError while importing test module ..."
    errors = [line[1:].strip() for line in text.splitlines() if line.startswith("E ")]
    return {"message": errors[-1] if errors else text.strip(), "path": None, "line": None}


def pytest_runtest_logstart(nodeid, location):
    _record(test=nodeid, phase="start")
    if TRACE in os.environ:
        _CALLED.clear()
        sys.settrace(_trace)


def pytest_runtest_logfinish(nodeid, location):
    if TRACE in os.environ:
        sys.settrace(None)
        _record(test=nodeid, phase="called", functions=list(_CALLED.values()))


def pytest_runtest_logreport(report):
    _record(test=report.nodeid, phase=report.when, outcome=report.outcome,
            **(_failure(report) if report.failed else {}))


def pytest_collectreport(report):
    if report.failed:  # a test file that does not load: a stub called at import, a missing name
        _record(test=report.nodeid, phase="collect", outcome="failed", **_failure(report))


def pytest_exception_interact(node, call, report):
    """Called with the exception of every failure (after the report above): its message in the
    test's words, and the frames of the student's code and of the test it went through."""
    if report.failed and call.excinfo is not None:
        _record(test=report.nodeid, phase="explain", when=report.when,
                **explain(call.excinfo.value))


def explain(error: BaseException) -> dict:
    if type(error).__name__ == "CollectError" and error.__cause__ is not None:
        error = error.__cause__  # "ImportError while importing test module": the ImportError
    package = _package()
    frames = [(frame.f_code, line) for frame, line in traceback.walk_tb(error.__traceback__)]
    raised = [(c, n) for c, n in frames if _inside(os.path.realpath(c.co_filename), package)]
    tests = [(c, n) for c, n in frames if _inside(c.co_filename, str(PACKAGE_TESTS))]
    if raised:
        code, line = raised[-1]
        raised = [os.path.realpath(code.co_filename), line, _qualname(code),
                  linecache.getline(code.co_filename, line).strip()]
    return {"message": relative(in_words(error), package and os.path.dirname(package)),
            "raised": raised or None,
            "at": [tests[-1][0].co_filename, tests[-1][1]] if tests else None}


def _qualname(code) -> str:
    return getattr(code, "co_qualname", code.co_name)  # "Tensor.sum" (Python 3.11+)


_TESTS = str(PACKAGE_TESTS)
_CALLED: dict = {}  # code object -> [file, first line, qualified name], in the order first called


def _trace(frame, event, arg):
    """sys.settrace's function for new frames only (no line events): notes each function of the
    package that the test itself calls (its caller lives in tests/package/)."""
    code = frame.f_code
    if code not in _CALLED and _inside(code.co_filename, _package()):
        caller = frame.f_back
        if caller is not None and _inside(caller.f_code.co_filename, _TESTS):
            _CALLED[code] = [code.co_filename, code.co_firstlineno, _qualname(code)]
    return None


# ----- a failure in the test's words -------------------------------------------------------
# The package tests say what they expected and what came back (`expected 13.0 got -10.0`).
# numpy's assertions wrap that message in their tolerances and a dump of both arrays, and
# pytest appends its own explanation of a failed `assert`: the test's own message comes first.

NUMPY_HEADER = re.compile(r"(Not equal to tolerance|Arrays are not|Items are not equal)")
NUMPY_FACT = re.compile(r"(Mismatched elements|\(shapes |Mismatch at|First \d+ mismatches|"
                        r"Max (absolute|relative) difference|(x and y )?[-+]?(nan|inf) location|"
                        r"\s*(ACTUAL|DESIRED|x|y): )")
SHOWN = 80  # characters of one value shown


def in_words(error: BaseException) -> str:
    """One line: an assertion's message, or `TypeError: its message` for other exceptions."""
    text = str(error)
    if isinstance(error, AssertionError):
        return assertion_words(text) or "AssertionError"
    name = type(error).__name__
    return f"{name}: {' '.join(text.split())}" if text.strip() else name


def assertion_words(text: str) -> str:
    lines = text.splitlines()
    if len(lines) > 1 and not lines[0].strip() and NUMPY_HEADER.match(lines[1]):
        return numpy_words(lines[1:])
    # pytest's `assert x == y, "message"`: the message, then "assert ..." and "+  where ..."
    explanation = next((i for i, line in enumerate(lines) if line.startswith("assert ")),
                       len(lines))
    own = " ".join(" ".join(lines[:explanation]).split())
    if own or explanation == len(lines):
        return own
    where = [line.strip(" +") for line in lines[explanation + 1:] if line.startswith(" +  where")]
    return lines[explanation] + (f" ({where[0]})" if where else "")


def value(text: str) -> str:
    """numpy's `array([1., 2.], dtype=float32)` as `[1., 2.]`, on one line, at most SHOWN long."""
    text = re.sub(r"\[ +", "[", " ".join(text.split()))
    if text.startswith("array(") and not text.endswith("..."):
        text = re.sub(r"(, dtype=\w+)?\)$", "", text)
    text = text.removeprefix("array(")
    return text if len(text) <= SHOWN else text[:SHOWN - 3] + "..."


def numpy_words(lines: list[str]) -> str:
    """numpy.testing's message: the test's own words (err_msg), then expected and got."""
    body = lines[1:]
    end = next((i for i, line in enumerate(body) if NUMPY_FACT.match(line)), len(body))
    own = " ".join(" ".join(body[:end]).split())
    text = "\n".join(body[end:])
    got = re.search(r"^ (?:ACTUAL|x): (.*?)(?=^ (?:DESIRED|y): )", text, re.M | re.S)
    wanted = re.search(r"^ (?:DESIRED|y): (.*)", text, re.M | re.S)
    facts = []
    if shapes := re.search(r"\(shapes (\(.*?\)), (\(.*?\)) mismatch\)", text):
        facts.append(f"expected shape {shapes[2]} got shape {shapes[1]}")
    if "ordered" in lines[0] and got and wanted:  # assert_array_less: no expected value
        facts.append(f"{' '.join(lines[0].split())}: x = {value(got[1])}, y = {value(wanted[1])}")
    elif got and wanted and not ("expected" in own and "got" in own):
        facts.append(f"expected {value(wanted[1])} got {value(got[1])}")
    counts = re.search(r"Mismatched elements: (\d+) / (\d+)", text)
    first = re.search(r"^ \[(.*?)\]: (.*) \(ACTUAL\), (.*) \(DESIRED\)", text, re.M)
    if counts and int(counts[2]) > 1:
        facts.append(f"{counts[1]} of {counts[2]} values differ" + (
            f", the first at [{first[1]}]: expected {first[3]} got {first[2]}" if first else ""))
    if nan := re.search(r"^(?:x and y )?(\S+) location mismatch", text, re.M):
        facts.append(f"{nan[1]} in other places than expected")
    if not facts and not own:
        facts.append(" ".join(lines[0].split()))  # e.g. "Arrays are not strictly ordered"
    return ": ".join(filter(None, [own, "; ".join(facts)]))


# ----- what the check finds ----------------------------------------------------------------

@dataclass
class Failure:
    test: str                    # "test_binary_ops[add]", or the test file if it does not load
    message: str                 # one line, shortened: the test's own words first
    where: str | None = None     # raised in the student's code: "Tensor.sum: modules/01_tensor/
                                 # 01_tensor.ipynb, cell 12 (01-tensor-tensor-class), the line ..."
    origin: str | None = None    # the module whose exported code raised it, e.g. "04_losses"
    loading: bool = False        # the test file itself did not load: its tests could not run
    nodeid: str = ""             # pytest's name of the test, to run it again
    at: str | None = None        # the test's line that failed: "tests/package/test_01_tensor.py:347"
    calls: str | None = None     # raised in the test (a wrong value): the student's functions it
                                 # calls and their cells, found by running the test again

    @property
    def stub(self) -> bool:
        return self.message.startswith(STUB)

    @property
    def name(self) -> str:
        """The test in plain words: "binary ops match numpy (add)"."""
        if self.loading:
            return self.test
        name, _, parameters = self.test.partition("[")
        words = name.removeprefix("test_").replace("_", " ")
        return words + (f" ({parameters.removesuffix(']')})" if parameters else "")


def number(module: str) -> int:
    return int(module.split("_")[0])


@dataclass
class Result:
    module: str                      # "03_layers"
    notebook: str                    # "modules/03_layers/03_layers.ipynb"
    export_error: str | None = None  # export.py's `file:cell N: ...` message
    last_export: str | None = None   # package file the tests used instead, if it did not export
    stubs: int = 0                   # `raise NotImplementedError()` lines left in the tested code
    passed: int = 0
    skipped: int = 0
    failures: list[Failure] = field(default_factory=list)
    problem: str | None = None       # the tests could not run, or were stopped

    @property
    def waiting(self) -> list[Failure]:
        """Tests stopped by a stub of a LATER module (Module 03's gradient tests need Module 05):
        they say nothing yet about this module's code, and run fully once that one is done."""
        return [f for f in self.failures if f.stub and not f.loading
                and f.origin and number(f.origin) > number(self.module)]

    @property
    def blocking(self) -> list[Failure]:
        return [f for f in self.failures if f not in self.waiting]

    @property
    def tests_pass(self) -> bool:
        return self.problem is None and not self.blocking and self.passed > 0

    @property
    def ok(self) -> bool:
        return self.export_error is None and self.tests_pass

    @property
    def not_done(self) -> bool:
        """Failing while exercises are left (a stub's error can also fail a test another way:
        NotImplementedError is a RuntimeError), or only because an earlier module has stubs."""
        return (self.problem is None and bool(self.blocking)
                and (self.stubs > 0 or all(f.stub for f in self.blocking)))

    @property
    def first(self) -> Failure | None:
        """The failure the report shows: the first real one, else the first stub."""
        if self.problem or not self.blocking:
            return None
        stubs = [f for f in self.blocking if f.stub]
        if not self.not_done:
            return next(f for f in self.blocking if not f.stub)
        return (stubs or self.blocking)[0]


def short(message: str, limit: int = 200) -> str:
    text = " ".join(line.strip() for line in message.splitlines() if line.strip())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def load_export():
    """export.py of this course, imported from its file (not from whatever is on sys.path)."""
    sys.dont_write_bytecode = True  # leave no __pycache__/ in the student's course folder
    spec = importlib.util.spec_from_file_location("export", ROOT / "export.py")
    module = sys.modules["export"] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def find_modules(export) -> dict[str, Path]:
    """Module folder name -> its notebook, in course order: export.py's list of notebooks,
    without stray ones (a notebook not named after its folder)."""
    try:
        found = export.find_notebooks(ROOT / "modules")
    except export.ExportError:  # no notebooks at all
        return {}
    return {p.parent.name: p for p in found if p.stem == p.parent.name}


def select(names: list[str], modules: dict[str, Path]) -> list[str]:
    """Resolve `3`, `03`, `03_layers`, `layers` or `modules/03_layers` to module folder names."""
    chosen = []
    for name in names:
        key = Path(name.rstrip("/")).name.removesuffix(".ipynb").lower()
        match = [m for m in modules if key in (m, m.split("_", 1)[-1])
                 or key.isdecimal() and m[:2].isdecimal() and int(key) == number(m)]
        if not match:
            raise ValueError(f"no module '{name}' in {ROOT / 'modules'}; "
                             f"choose from {', '.join(modules)} (or their numbers)")
        chosen += [m for m in match if m not in chosen]
    return chosen or list(modules)


def relative(text: str, scratch: str | Path | None = None) -> str:
    """Messages name files by absolute path; show them from the course folder (and the scratch
    copy's package as tinytorch/...)."""
    for folder in filter(None, [scratch, ROOT]):
        text = text.replace(str(folder) + os.sep, "")
    return text


def export_errors(export, modules: dict[str, Path]) -> dict[str, str]:
    """Module -> export.py's message, for every notebook that does not export."""
    errors = {}
    for module, notebook in modules.items():
        try:
            export.read_module(notebook)
        except export.ExportError as error:
            errors[module] = relative(str(error))
    return errors


def quietly(function, *args) -> tuple[int, str]:
    """Run export.main and keep what it prints (shown with --verbose)."""
    text = io.StringIO()
    with contextlib.redirect_stdout(text), contextlib.redirect_stderr(text):
        status = function(*args)
    return status, relative(text.getvalue())


def build_package(export, modules: dict[str, Path], errors: dict[str, str], scratch: Path) -> str:
    """scratch/tinytorch: a copy of tinytorch/ with every notebook that exports exported over it."""
    if (ROOT / "tinytorch").is_dir():
        shutil.copytree(ROOT / "tinytorch", scratch / "tinytorch",
                        ignore=shutil.ignore_patterns("__pycache__"))
    exportable = [str(p) for m, p in modules.items() if m not in errors]
    if not exportable:  # export.py with no notebooks named would export all of them
        return "(no notebook exports)"
    status, printed = quietly(export.main, [*exportable, "--modules", str(ROOT / "modules"),
                                            "--package", str(scratch / "tinytorch")])
    if status != 0:
        raise SystemExit(f"self_check.py: export.py could not build the package to test:\n"
                         f"{printed}")
    return printed


def last_exports(export, scratch: Path) -> dict[str, tuple[str, int]]:
    """Notebook label -> the package file exported from it and the stubs left in that file
    (nbgrader's `raise NotImplementedError()`), for the files in the scratch copy."""
    found = {}
    for path, (notebook, _, _) in export.on_disk(scratch / "tinytorch").items():
        lines = (scratch / "tinytorch" / path).read_text(encoding="utf-8").splitlines()
        found[notebook] = (f"tinytorch/{path.as_posix()}",
                           sum(line.strip() == f"raise {STUB}()" for line in lines))
    return found


def package_out_of_date(export) -> str | None:
    """export.py --check on the course's own tinytorch/: None when it matches the notebooks,
    else the files it lists (`  tinytorch/core/tensor.py differs from the notebooks`)."""
    status, printed = quietly(export.main, ["--check"])
    listed = [line.strip() for line in printed.splitlines() if line.startswith(" ")]
    return None if status == 0 else "\n".join(listed) or printed.strip()


# ----- running the tests -------------------------------------------------------------------
# One pytest process for all the chosen modules: starting Python, numpy (and PyTorch, which
# some tests compare against) costs more than most modules' tests, so it is paid once.

def tests_of(module: str) -> list[Path]:
    return sorted(PACKAGE_TESTS.glob(f"test_{module.split('_')[0]}_*.py"))


def module_of(nodeid: str) -> str:
    """"tests/package/test_03_layers.py::test_x" -> "03"."""
    return Path(nodeid.split("::")[0]).name.split("_")[1]


def command_for(tests: list[str], verbose: bool) -> list[str]:
    # Tracebacks only when they are shown: formatting hundreds of them (an untouched module
    # fails most of its tests) took 5 times as long as the tests. The record needs none.
    return [sys.executable, "-m", "pytest", *tests, "-p", "self_check",
            "-p", "no:cacheprovider", "--rootdir", str(ROOT), "--confcutdir", str(PACKAGE_TESTS),
            "--continue-on-collection-errors", f"--tb={'short' if verbose else 'no'}", "-q"]


def environment_for(scratch: Path, record: Path, trace: bool = False) -> dict[str, str]:
    """The scratch package first on the import path, and the guard told to insist on it."""
    env = {k: v for k, v in os.environ.items() if k != TRACE}
    if trace:
        env[TRACE] = "1"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(scratch), str(Path(__file__).parent),
                                                       env.get("PYTHONPATH")]))
    env[EXPECTED] = str(scratch / "tinytorch")
    env[RECORD] = str(record)
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # no __pycache__ left in the student's tests/ and course/
    if (ROOT / "datasets" / "tiny").is_dir():  # the tests run in the scratch folder
        env.setdefault("TINYTORCH_DATASETS", str(ROOT / "datasets"))
    return env


def run_pytest(tests: list[str], scratch: Path, record: Path, timeout: float,
               verbose: bool, trace: bool = False) -> tuple[int | None, str]:
    """pytest's exit status (None if a test ran longer than `timeout` seconds, or starting up
    took longer than STARTUP) and its output. `tests`: files, or single tests (`file::name`)."""
    log = record.with_suffix(".out")
    with open(log, "w", encoding="utf-8") as out:
        process = subprocess.Popen(command_for(tests, verbose), cwd=scratch, stdout=out,
                                   stderr=subprocess.STDOUT,
                                   env=environment_for(scratch, record, trace))
        size, changed = -1, time.monotonic()
        while process.poll() is None:  # every finished test adds to the record
            now = record.stat().st_size if record.exists() else 0
            if now != size:
                size, changed = now, time.monotonic()
            elif time.monotonic() - changed > (timeout if size else max(timeout, STARTUP)):
                process.kill()
                process.wait()
                return None, log.read_text(encoding="utf-8", errors="replace")
            time.sleep(0.05)
    return process.returncode, log.read_text(encoding="utf-8", errors="replace")


def run_tests(results: list[Result], scratch: Path, timeout: float, verbose: bool) -> str:
    """Fill in every result's test outcomes; return pytest's output. A module whose test hangs
    is stopped, and the modules after it are run again in a new process."""
    outputs, pending = [], []
    for result in results:
        if tests_of(result.module):
            pending.append(result)
        else:
            result.problem = f"no tests for this module in {relative(str(PACKAGE_TESTS))}/"
    while pending:
        record = scratch / f"record-{len(outputs)}.jsonl"
        status, output = run_pytest([str(t) for r in pending for t in tests_of(r.module)],
                                    scratch, record, timeout, verbose)
        outputs.append(output)
        entries = read_entries(record)
        for result in pending:
            prefix = result.module.split("_")[0]
            read_outcomes(result, [e for e in entries if module_of(e["test"]) == prefix], scratch)
        if status is None:
            pending = after_a_hang(pending, entries, timeout)
            continue
        for result in pending:
            if result.passed == 0 and not result.failures:  # 5: pytest collected no test
                result.problem = ("no test ran" if status in (0, 1, 5) else
                                  short(relative(why_not_run(output, status)), 400))
        pending = []
    find_calls(results, scratch, timeout)
    return "\n".join(outputs)


def find_calls(results: list[Result], scratch: Path, timeout: float) -> None:
    """A test that fails on a wrong value fails in its own assertion, not in the student's code:
    run each module's first such failure again, noting the student's functions it calls, so the
    report can name their notebook cells. One more pytest process, only when there are some."""
    again = {r.module: r.first for r in results
             if r.first and not r.first.where and not r.first.loading and r.first.nodeid}
    if not again:
        return
    record = scratch / "record-calls.jsonl"
    run_pytest([str(ROOT / f.nodeid) for f in again.values()], scratch, record, timeout,
               verbose=False, trace=True)
    called = {e["test"]: e["functions"] for e in read_entries(record) if e["phase"] == "called"}
    for module, first in again.items():
        if called.get(first.nodeid):
            first.calls = calls_in_words(called[first.nodeid], module, scratch)


def after_a_hang(pending: list[Result], entries: list[dict], timeout: float) -> list[Result]:
    """Mark the module whose test was stopped; return the modules that did not start yet."""
    started = [e["test"] for e in entries if e["phase"] == "start"]
    if not started:  # stuck before any test began: nothing more to learn by running again
        for result in pending:
            result.problem = f"pytest did not start a test within {max(timeout, STARTUP):.0f} s"
        return []
    number = module_of(started[-1])
    hung = next(i for i, r in enumerate(pending) if r.module.split("_")[0] == number)
    pending[hung].problem = (f"stopped: {started[-1].partition('::')[2]} ran longer than "
                             f"{timeout:g} s (an endless loop?); `--timeout SECONDS` allows more")
    return pending[hung + 1:]


def why_not_run(output: str, status: int) -> str:
    """The line of pytest's output that says why it stopped (its last error or exit message)."""
    lines = [line.removeprefix("INTERNALERROR> ") for line in output.splitlines() if line.strip()]
    said = [line for line in lines
            if line.startswith("Exit:") or re.match(r"\w+(Error|Exception)\b", line)]
    return (said or lines or [f"pytest exited with status {status}"])[-1]


def read_entries(record: Path) -> list[dict]:
    entries = []
    lines = record.read_text(encoding="utf-8").splitlines() if record.exists() else []
    for line in lines:
        with contextlib.suppress(json.JSONDecodeError):  # a line cut short by a stopped run
            entries.append(json.loads(line))
    return entries


def read_outcomes(result: Result, entries: list[dict], scratch: Path) -> None:
    """Count outcomes per test; keep each failing test's first failure."""
    outcomes: dict[str, str] = {}
    failures: dict[str, Failure] = {}
    explained = {(e["test"], e["when"]): e for e in entries if e["phase"] == "explain"}
    for entry in entries:
        if entry["phase"] in ("start", "explain", "called"):
            continue
        test = entry["test"].partition("::")[2] or Path(entry["test"]).name
        if entry["outcome"] == "failed" and test not in failures:
            failures[test] = failure(test, entry, explained.get((entry["test"], entry["phase"])),
                                     scratch)
        if entry["phase"] in ("call", "collect") or entry["outcome"] != "passed":
            outcomes.setdefault(test, entry["outcome"])
    result.passed = sum(o == "passed" and t not in failures for t, o in outcomes.items())
    result.skipped = sum(o == "skipped" for o in outcomes.values())
    result.failures = list(failures.values())


def failure(test: str, entry: dict, why: dict | None, scratch: Path) -> Failure:
    """A failed test from its record: pytest's report, and the plugin's `explain` of it."""
    loading = entry["phase"] == "collect"
    if why is None:  # no exception at hand: pytest's own summary of the failure
        path, line = entry["path"], entry["line"]
        inside = bool(path) and Path(path).is_relative_to(scratch)
        where, origin = place(path, line, scratch) if inside else (None, None)
        at = f"{relative(path)}:{line}" if path and Path(path).is_relative_to(ROOT) else None
        return Failure(test, short(relative(entry["message"], scratch)), where, origin, loading,
                       entry["test"], at)
    where = origin = None
    if why["raised"]:
        path, line, function, code = why["raised"]
        where, origin = place(path, line, scratch)
        if origin:  # "Tensor.sum: modules/.., cell 12 (..), the line `return ...`"
            where = f"{function}: {where}" + (f", the line `{code}`" if code else "")
    at = why["at"] and f"{relative(why['at'][0])}:{why['at'][1]}"
    return Failure(test, short(why["message"]), where, origin, loading, entry["test"], at)


def place(path: str | None, line: int | None, scratch: Path) -> tuple[str | None, str | None]:
    """The notebook cell that a line of the package came from, and its module: export.py writes
    `# %% modules/NN_name/NN_name.ipynb, cell N (grade-id)` above each exported cell; a line
    outside every cell is named by its file (tinytorch/__init__.py:3)."""
    if not path or line is None or not Path(path).is_relative_to(scratch):
        return None, None
    file = Path(path)
    shown = f"{file.relative_to(scratch).as_posix()}:{line}"
    lines = file.read_text(encoding="utf-8").splitlines()[:line]
    cells = [text[5:] for text in lines if text.startswith("# %% modules/")]
    if not cells:
        return shown, None
    return cells[-1], Path(cells[-1].split(",")[0]).parent.name


def calls_in_words(functions: list, module: str, scratch: Path) -> str | None:
    """"Tensor.__init__, Tensor.__add__: modules/01_tensor/01_tensor.ipynb, cell 12 (...)": the
    student's functions a test called, by cell; those of the tested module only, if it has any."""
    cells: dict[str, list[str]] = {}
    for path, line, function in functions:
        cell, _ = place(path, line, scratch)
        if cell:
            cells.setdefault(cell, []).append(function)
    own = {c: f for c, f in cells.items() if c.startswith(f"modules/{module}/")} or cells
    return "; ".join(f"{', '.join(f[:4])}{', ...' if len(f) > 4 else ''}: {c}"
                     for c, f in list(own.items())[:3]) or None


# ----- the report --------------------------------------------------------------------------

def later_modules(r: Result) -> str:
    return ", ".join(sorted({f.origin for f in r.waiting}))


def tests_cell(r: Result) -> str:
    """The tests column of the summary table."""
    if r.problem:
        return "could not finish"
    if r.tests_pass:
        skipped = f", {r.skipped} skipped" if r.skipped else ""
        wait = f"; {len(r.waiting)} wait for {later_modules(r)}" if r.waiting else ""
        state = f"pass ({r.passed} tests{skipped}{wait})"
    else:
        counts = ("its test file does not load" if any(f.loading for f in r.blocking) else
                  f"{r.passed} of {r.passed + len(r.blocking)} pass")
        state = f"{'not done yet' if r.not_done else 'FAIL'} ({counts})"
    return state + (", on your last export" if r.export_error else "")


def summary(results: list[Result]) -> list[str]:
    width = max(len(r.module) for r in results) + 2
    rows = [f"{'module':<{width}}{'export':<17}tests"]
    for r in results:
        rows.append(f"{r.module:<{width}}{'DOES NOT EXPORT' if r.export_error else 'ok':<17}"
                    f"{tests_cell(r)}")
    return rows


def details(r: Result) -> list[str]:
    """What to look at in a module: the export error, the first failure, what waits."""
    lines = []
    if r.export_error:
        last = r.last_export or "none: the package has no file from it"
        lines += [f"{r.module}: does not export: {r.export_error}",
                  f"  Its tests ran on your last export of it ({last}), not on the notebook as "
                  "it is now."]
    if r.problem:
        return lines + [f"{r.module}: the tests could not finish: {r.problem}"]
    if r.blocking:
        fails = (f"{Path(r.blocking[0].test).name} does not load, so its tests cannot run yet"
                 if any(f.loading for f in r.blocking) else
                 f"{len(r.blocking)} of {r.passed + len(r.blocking)} tests fail")
        first = r.first
        if not r.not_done:
            lines.append(f"{r.module}: {fails}.")
        elif r.stubs:
            lines.append(f"{r.module}: not done yet: {r.stubs} `raise {STUB}()` "
                         f"stub{'s' if r.stubs > 1 else ''} left to fill in; {fails}.")
        else:  # every failure is a stub of an earlier module
            lines.append(f"{r.module}: {fails}: they use {first.origin}, which is not done yet.")
        lines.append(f"  first: {first.name}" + (f", {first.at}" if first.at else ""))
        lines.append(f"    {first.message}")
        if first.where:
            lines.append(f"    raised in {first.where}")
        elif first.calls:
            lines.append(f"    the test calls {first.calls}")
    if r.waiting:
        lines.append(f"{r.module}: {len(r.waiting)} tests also use {later_modules(r)}, which is "
                     "not done yet; they will run once it is.")
    return lines


def next_step(results: list[Result], every_module: bool) -> str:
    todo = [r for r in results if not r.ok]
    if not todo and len(results) == 1:
        return f"{results[0].module} exports and passes its tests. Well done!"
    if not todo:
        return (f"All {len(results)} checked modules export and pass their tests. Well done!"
                + (" Now train a real model on the framework you wrote: "
                   "`python milestones/04_cnn.py`." if every_module else ""))
    first, done = todo[0], len(results) - len(todo)
    head = f"{done} of {len(results)} checked modules done. Next: {first.module}: "
    if first.export_error:
        return head + (f"fix the cell named above in {first.notebook} so that it exports, then run "
                       "this check again.")
    if first.problem:
        return head + "see the message above; `--verbose` shows pytest's whole output."
    if first.not_done:
        stub = first.module if first.stubs else first.blocking[0].origin or first.module
        return head + (f"fill in the `# YOUR CODE HERE` cells of modules/{stub}/{stub}.ipynb, "
                       "running each test cell as you go; this check tells you when the module "
                       "is complete.")
    return head + (f"look at the first failure above (`--verbose` shows them all); the test cells "
                   f"in {first.notebook} show what each exercise expects. You are close!")


def report(results: list[Result], out_of_date: str | None, errors: dict[str, str],
           every_module: bool) -> None:
    print("\n".join(summary(results)) + "\n")
    for result in results:
        if lines := details(result):
            print("\n".join(lines) + "\n")
    for module in sorted(errors.keys() - {r.module for r in results}):  # they matter too
        print(f"{module} (not checked here): does not export: {errors[module]}\n")
    if errors:
        print(f"Once {' and '.join(sorted(errors))} export{'s' if len(errors) == 1 else ''}, run "
              "`python export.py`: the milestones and later notebooks use your tinytorch/ folder, "
              "not this check's copy.\n")
    elif out_of_date:
        print("Your tinytorch/ folder is out of date with your notebooks; the milestones and later "
              "notebooks use it, so run `python export.py`:")
        print("  " + out_of_date.replace("\n", "\n  ") + "\n")
    print(next_step(results, every_module))


def seconds(text: str) -> float:
    """--timeout's value: a number of seconds above 0. NaN compares false with everything, so
    a test would never be found too slow; inf and 0 or less are no limit either."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of seconds (e.g. 60)") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text} is not a time limit: give a number of seconds "
                                         "above 0 (e.g. 60 or 300)")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("modules", nargs="*", metavar="MODULE",
                        help="modules to check, e.g. 03 or 03_layers (default: all)")
    parser.add_argument("--verbose", "-v", action="store_true",
                        help="also show export's and pytest's own output")
    parser.add_argument("--timeout", type=seconds, default=60, metavar="SECONDS",
                        help="seconds (above 0) one test may run before it is stopped "
                             "(default: %(default)s)")
    args = parser.parse_args(argv)
    if importlib.util.find_spec("pytest") is None:
        parser.error(f"pytest is not installed for {sys.executable}; run the check with the "
                     "course's Python (e.g. .venv/bin/python) or `pip install pytest`")
    export = load_export()
    modules = find_modules(export)
    if not modules:
        parser.error(f"no notebooks in {ROOT / 'modules'}: run this from a copy of the course")
    try:
        chosen = select(args.modules, modules)
    except ValueError as error:
        parser.error(str(error))
    which = (f"every module ({chosen[0]} to {chosen[-1]})" if len(chosen) == len(modules) > 1
             else ", ".join(chosen))
    print(f"Self-check of {which} in {ROOT}\nYour notebooks are exported into a "
          "scratch copy of tinytorch/ and tested there; your files are not changed.", flush=True)
    errors = export_errors(export, modules)
    with tempfile.TemporaryDirectory(prefix="tinytorch-self-check-") as folder:
        scratch = Path(folder).resolve()
        printed = build_package(export, modules, errors, scratch)
        if args.verbose:
            print("Export into the scratch copy: " + printed)
        exported = last_exports(export, scratch)
        results = [Result(m, relative(str(modules[m])), errors.get(m),
                          *exported.get(f"modules/{m}/{modules[m].name}", (None, 0)))
                   for m in chosen]
        print(f"Running the tests of {len(results)} module{'s' if len(results) > 1 else ''} "
              "on your code...\n", flush=True)
        output = run_tests(results, scratch, args.timeout, args.verbose)
    if args.verbose:
        print("----- pytest output -----\n" + relative(output, scratch).rstrip() + "\n-----\n")
    every_module = len(chosen) == len(modules) and (ROOT / "milestones" / "04_cnn.py").exists()
    report(results, None if errors else package_out_of_date(export), errors, every_module)
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())

"""Mutation run over the generated package: are the package tests hard on wrong code?

A maintainer tool, not part of the test suite (its own test is tests/test_package_mutants.py):

    .venv/bin/python tests/package_mutants.py [FILE[:FIRST-LAST] ...] [--jobs N] [--timeout S]
        [--all-tests] [--list] [--todo]

FILE is a package file such as tinytorch/core/tensor.py (default: every tinytorch/*.py that
holds code); `:FIRST-LAST` keeps the mutants of those lines only. Each mutant is one small
change a plausible bug would make, written into a SCRATCH copy of the package (the real
tinytorch/ is never touched):

    operators      + <-> -   * <-> /   // -> /   % -> //   ** -> *   @ -> *   a += b -> a = b
    comparisons    < <-> <=   > <-> >=   == <-> !=   is <-> is not   in <-> not in
    constants      0 <-> 1, other numbers n -> n + 1 (so x[0] -> x[1], x[-1] -> x[-2]),
                   True <-> False
    logic          and <-> or, `not x` -> `x`, `-x` -> `x`, an `if` test made False (its branch
                   dropped) or, with an else, True (the else dropped)
    statements     a raise, assert, call, `+=`, `obj.attr = ...`, `a[i] = ...`, break or
                   continue replaced by `pass`; `return x` -> `return None`
    keywords       one keyword argument dropped from a call (keepdims=, dtype=, axis=, ...)

Not mutated: docstrings and other strings, f-strings, type annotations, imports, `__all__`,
and what a raise statement builds (its message); the raise itself is.

For each mutant the package tests of the file's module (tests/package/test_NN_name.py, NN from
the notebook named in the file's header; every package test file with --all-tests) run with
`-x -q -p no:cacheprovider`, the scratch package first on the import path and
TINYTORCH_EXPECTED_PACKAGE naming it (tests/package/conftest.py refuses any other package).
For speed, the tool imports pytest, numpy (and torch, when the tests use it) once, freezes
them out of the garbage collector, and forks one child per mutant, which runs pytest
in-process on the scratch copy; the tests that killed the last mutants run first, and each
child has a timeout. About 100 mutants a minute on one core (loader, autograd, tensor, losses
and spatial: 1,293 mutants in 11-14 minutes with --jobs 1 on a busy 2-core machine). A mutant
is killed when the tests fail or error, survives when they pass, times out when they run past
the timeout. With --all-tests, tensor.py's engine hooks are killed by Module 05's tests.

A surviving mutant that no test can kill, because it behaves the same as the original or
because the module's instructions do not promise the behaviour it changes, is recorded in
tests/package_mutants_equivalent.txt with the reason; it is reported as equivalent. The tool
exits 1 when an unrecorded survivor remains, 0 otherwise; --todo prints the survivors as
entries for that file, with the reason left to write.
"""

from __future__ import annotations

import argparse
import ast
import gc
import os
import re
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

ROOT = Path(__file__).resolve().parent.parent
EXPECTED = "TINYTORCH_EXPECTED_PACKAGE"  # the guard in tests/package/conftest.py
EQUIVALENTS = "tests/package_mutants_equivalent.txt"


# ----- mutants ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Mutant:
    file: str          # relative to the root, e.g. tinytorch/core/tensor.py
    line: int          # first line the change touches
    start: int         # byte offsets of the replaced text in the file
    end: int
    replacement: bytes
    original: str      # the lines touched, whitespace runs collapsed (the key of an equivalent)
    mutant: str        # the same lines after the change

    def apply(self, source: bytes) -> bytes:
        return source[:self.start] + self.replacement + source[self.end:]

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.original} -> {self.mutant}"


BINOPS = {ast.Add: ("+", "-"), ast.Sub: ("-", "+"), ast.Mult: ("*", "/"), ast.Div: ("/", "*"),
          ast.FloorDiv: ("//", "/"), ast.Mod: ("%", "//"), ast.Pow: ("**", "*"),
          ast.MatMult: ("@", "*")}
COMPARES = {ast.Lt: (r"<(?!=)", "<="), ast.LtE: (r"<=", "<"), ast.Gt: (r">(?!=)", ">="),
            ast.GtE: (r">=", ">"), ast.Eq: (r"==", "!="), ast.NotEq: (r"!=", "=="),
            ast.Is: (r"\bis\b", "is not"), ast.IsNot: (r"\bis\s+not\b", "is"),
            ast.In: (r"\bin\b", "not in"), ast.NotIn: (r"\bnot\s+in\b", "in")}
BOOLOPS = {ast.And: (r"\band\b", "or"), ast.Or: (r"\bor\b", "and")}
REMOVABLE = (ast.Raise, ast.Assert, ast.Expr, ast.AugAssign, ast.Break, ast.Continue)


def collapse(text: str) -> str:
    return " ".join(text.split())


class Mutator(ast.NodeVisitor):
    """Finds the mutants of one file, as (start, end, replacement) edits of its bytes."""

    def __init__(self, file: str, source: bytes):
        self.file, self.source = file, source
        self.line_starts = [0]
        for line in source.splitlines(keepends=True):
            self.line_starts.append(self.line_starts[-1] + len(line))
        self.edits: list[tuple[int, int, bytes]] = []

    # positions: ast gives (line, column in UTF-8 bytes), which is what we index
    def offset(self, line: int, column: int) -> int:
        return self.line_starts[line - 1] + column

    def span(self, node: ast.AST) -> tuple[int, int]:
        return (self.offset(node.lineno, node.col_offset),
                self.offset(node.end_lineno, node.end_col_offset))

    def edit(self, start: int, end: int, text: str) -> None:
        self.edits.append((start, end, text.encode()))

    def replace_token(self, after: ast.AST, before: ast.AST, pattern: str, text: str) -> None:
        """Replace the operator matching `pattern` that sits between two nodes."""
        gap_start, gap_end = self.span(after)[1], self.span(before)[0]
        gap = self.source[gap_start:gap_end].decode().split("#")[0]
        found = re.search(pattern, gap)
        if found:
            self.edit(gap_start + len(gap[:found.start()].encode()),
                      gap_start + len(gap[:found.end()].encode()), text)

    # what is never mutated
    def visit_JoinedStr(self, node): pass          # f-strings (positions inside are unreliable)
    def visit_Import(self, node): pass
    def visit_ImportFrom(self, node): pass

    def visit_arg(self, node): pass                # annotations of arguments

    def visit_AnnAssign(self, node):
        if node.value is not None:
            self.visit(node.value)

    def visit_FunctionDef(self, node):
        self.visit(node.args)
        for statement in node.body:
            self.visit(statement)
        for decorator in node.decorator_list:
            self.visit(decorator)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node):
        for statement in node.body:
            self.visit(statement)

    def visit_Assign(self, node):
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            return
        if all(isinstance(t, (ast.Attribute, ast.Subscript)) for t in node.targets):
            self.edit(*self.span(node), "pass")    # the state change never happens
        self.generic_visit(node)

    # statements
    def visit_Raise(self, node):
        self.edit(*self.span(node), "pass")        # not its message: no test may read that

    def visit_Expr(self, node):
        if isinstance(node.value, ast.Constant):
            return                                  # a docstring
        self.edit(*self.span(node), "pass")
        self.generic_visit(node)

    def visit_Return(self, node):
        if node.value is not None and not (isinstance(node.value, ast.Constant)
                                           and node.value.value is None):
            self.edit(*self.span(node.value), "None")
        self.generic_visit(node)

    def visit_If(self, node):
        only_raises = len(node.body) == 1 and isinstance(node.body[0], ast.Raise)
        if not only_raises:                         # removing the raise does that already
            self.edit(*self.span(node.test), "False")
        if node.orelse:
            self.edit(*self.span(node.test), "True")
        self.generic_visit(node)

    def visit_AugAssign(self, node):
        symbol, other = BINOPS.get(type(node.op), (None, None))
        if symbol:
            self.replace_token(node.target, node.value, re.escape(symbol) + "=", other + "=")
            self.replace_token(node.target, node.value, re.escape(symbol) + "=", "=")
        self.edit(*self.span(node), "pass")
        self.generic_visit(node)

    def generic_statement(self, node):
        self.edit(*self.span(node), "pass")
        self.generic_visit(node)

    visit_Assert = visit_Break = visit_Continue = generic_statement

    # expressions
    def visit_BinOp(self, node):
        if type(node.op) in BINOPS:
            symbol, other = BINOPS[type(node.op)]
            pattern = {"*": r"\*(?!\*)", "/": r"/(?!/)"}.get(symbol, re.escape(symbol))
            self.replace_token(node.left, node.right, pattern, other)
        self.generic_visit(node)

    def visit_Compare(self, node):
        left = node.left
        for op, right in zip(node.ops, node.comparators):
            pattern, other = COMPARES[type(op)]
            self.replace_token(left, right, pattern, other)
            left = right
        self.generic_visit(node)

    def visit_BoolOp(self, node):
        pattern, other = BOOLOPS[type(node.op)]
        for left, right in zip(node.values, node.values[1:]):
            self.replace_token(left, right, pattern, other)
        self.generic_visit(node)

    def visit_UnaryOp(self, node):
        if isinstance(node.op, (ast.Not, ast.USub)):
            self.edit(self.span(node)[0], self.span(node.operand)[0], "")
        value = getattr(node.operand, "value", None)
        if isinstance(node.op, ast.USub) and type(value) in (int, float):
            self.edit(*self.span(node), repr(-(value + 1)))  # x[-1] -> x[-2]
        else:
            self.generic_visit(node)

    def visit_Constant(self, node):
        value = node.value
        if isinstance(value, bool):
            self.edit(*self.span(node), str(not value))
        elif isinstance(value, (int, float)) and not isinstance(value, complex):
            new = 1 - value if value in (0, 1) else value + 1
            self.edit(*self.span(node), repr(type(value)(new)))

    def visit_Call(self, node):
        items = sorted(node.args + node.keywords, key=lambda n: (n.lineno, n.col_offset))
        for i, keyword in enumerate(items):
            if not isinstance(keyword, ast.keyword) or keyword.arg is None:
                continue
            start, end = self.span(keyword)
            if i > 0:                               # drop ", name=value"
                start = self.span(items[i - 1])[1]
            elif i + 1 < len(items):                # drop "name=value, "
                end = self.span(items[i + 1])[0]
            self.edit(start, end, "")
        self.generic_visit(node)

    def mutants(self) -> list[Mutant]:
        self.visit(ast.parse(self.source))
        found, seen = [], set()
        for start, end, replacement in sorted(set(self.edits)):
            first = next(i for i, s in enumerate(self.line_starts) if s > start) - 1
            last = next(i for i, s in enumerate(self.line_starts) if s >= end and i > first)
            lines = self.source[self.line_starts[first]:self.line_starts[last]]
            local_start, local_end = start - self.line_starts[first], end - self.line_starts[first]
            changed = lines[:local_start] + replacement + lines[local_end:]
            mutant = Mutant(self.file, first + 1, start, end, replacement,
                            collapse(lines.decode()), collapse(changed.decode()))
            if mutant.original != mutant.mutant and (start, end, replacement) not in seen:
                seen.add((start, end, replacement))
                found.append(mutant)
        return found


def mutants_of(root: Path, file: str, lines: Optional[tuple[int, int]] = None) -> list[Mutant]:
    found = Mutator(file, (root / file).read_bytes()).mutants()
    if lines:
        found = [m for m in found if lines[0] <= m.line <= lines[1]]
    return found


# ----- equivalent mutants -------------------------------------------------------------------

@dataclass(frozen=True)
class Equivalent:
    file: str
    original: str
    mutant: str
    reason: str


def read_equivalents(path: Path) -> dict[tuple[str, str, str], Equivalent]:
    """Entries of `file:`, `original:`, `mutant:`, `reason:` lines, separated by blank lines."""
    found: dict[tuple[str, str, str], Equivalent] = {}
    if not path.exists():
        return found
    text = "\n".join(line for line in path.read_text().splitlines() if not line.startswith("#"))
    for number, block in enumerate(re.split(r"\n\s*\n", text.strip()), 1):
        if not block.strip():
            continue
        fields: dict[str, str] = {}
        key = None
        for line in block.splitlines():
            match = re.match(r"(file|original|mutant|reason):\s?(.*)$", line)
            if match:
                key = match.group(1)
                fields[key] = match.group(2).strip()
            elif key == "reason":                   # a reason may go on over several lines
                fields[key] += " " + line.strip()
            else:
                raise SystemExit(f"{path}: entry {number}: cannot read the line {line!r}")
        if set(fields) != {"file", "original", "mutant", "reason"} or not fields["reason"]:
            raise SystemExit(f"{path}: entry {number} needs file:, original:, mutant: and "
                             f"reason: lines, got {sorted(fields)}")
        entry = Equivalent(fields["file"], collapse(fields["original"]),
                           collapse(fields["mutant"]), fields["reason"])
        found[(entry.file, entry.original, entry.mutant)] = entry
    return found


def todo_entry(mutant: Mutant) -> str:
    return (f"file: {mutant.file}\noriginal: {mutant.original}\nmutant: {mutant.mutant}\n"
            f"reason: TODO (line {mutant.line})\n")


# ----- running the tests on a scratch copy --------------------------------------------------

def test_files_for(root: Path, file: str, all_tests: bool) -> list[str]:
    package_tests = root / "tests" / "package"
    if all_tests:
        return sorted(p.name for p in package_tests.glob("test_*.py"))
    header = (root / file).read_text().splitlines()[0]
    match = re.search(r"modules/(\d+_\w+)/", header)
    if not match or not (package_tests / f"test_{match.group(1)}.py").exists():
        raise SystemExit(f"{file}: no package test file for it (header: {header!r})")
    return [f"test_{match.group(1)}.py"]


class Slot:
    """A scratch copy of the package and its tests, where one mutant at a time is tried."""

    def __init__(self, root: Path, folder: Path):
        self.root, self.folder = root, folder
        shutil.copytree(root / "tinytorch", folder / "tinytorch",
                        ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copytree(root / "tests" / "package", folder / "tests" / "package",
                        ignore=shutil.ignore_patterns("__pycache__"))
        (folder / "pytest.ini").write_text("[pytest]\n")  # the repository's config stays out
        if (root / "datasets").is_dir():  # the bundled datasets, found beside the package
            (folder / "datasets").symlink_to(root / "datasets", target_is_directory=True)
        self.failed = folder / "failed"

    def first_failure(self) -> Optional[str]:
        return self.failed.read_text() if self.failed.exists() else None

    def write(self, file: str, source: bytes) -> None:
        path = self.folder / file
        path.write_bytes(source)
        for stale in (path.parent / "__pycache__").glob(path.stem + ".*.pyc"):
            stale.unlink()  # bytecode of another version could pass for this one

    def start(self, tests: list[str], verbose: bool = False, bytecode: bool = False,
              first: Iterable[str] = (), reverse: bool = False) -> int:
        """Fork a child that runs pytest on this slot; return its pid. The tests named in
        `first` run first (those that killed the last mutants), then the rest in file order
        (or reversed); the first test to fail is written to the file `failed`."""
        self.failed.unlink(missing_ok=True)
        pid = os.fork()
        if pid:
            return pid
        code = 3
        try:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            import pytest
            os.chdir(self.folder)
            sys.path.insert(0, str(self.folder))
            os.environ[EXPECTED] = str(self.folder / "tinytorch")
            os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
            # The mutated module must be compiled from its source each time: never write
            # bytecode for it (the baseline run writes it for the unchanged modules).
            sys.dont_write_bytecode = not bytecode
            if not verbose:
                null = os.open(os.devnull, os.O_WRONLY)
                os.dup2(null, 1)
                os.dup2(null, 2)
            args = [str(self.folder / "tests" / "package" / t) for t in tests]
            code = int(pytest.main(args + ["-x", "-q", "-p", "no:cacheprovider",
                                           "-c", str(self.folder / "pytest.ini"),
                                           "--rootdir", str(self.folder)],
                                   plugins=[Order(list(first), reverse, self.failed)]))
        except BaseException:  # noqa: BLE001  (whatever happens, the child must end here)
            code = 3
        finally:
            sys.stdout.flush()
            os._exit(code)


class Order:
    """A pytest plugin for the children: which tests run first; which one failed."""

    def __init__(self, first: list[str], reverse: bool, failed: Path):
        self.rank = {nodeid: i for i, nodeid in enumerate(first)}
        self.reverse, self.failed = reverse, failed

    def pytest_collection_modifyitems(self, items):
        if self.reverse:
            items.reverse()
        items.sort(key=lambda item: self.rank.get(item.nodeid, len(self.rank)))  # stable

    def pytest_runtest_logreport(self, report):
        if report.failed and not self.failed.exists():
            self.failed.write_text(report.nodeid)


def wait_for(pid: int, deadline: float) -> Optional[int]:
    """The child's exit code, or None when it ran past the deadline (then it is killed)."""
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return None
        time.sleep(0.005)


def run(root: Path, plan: list[tuple[str, list[Mutant], list[str]]], jobs: int,
        timeout: Optional[float]) -> dict[Mutant, str]:
    """Try every mutant; return its outcome: killed, survived or timeout."""
    outcome: dict[Mutant, str] = {}
    running: dict[int, tuple[Slot, Mutant, float]] = {}
    scratch = Path(tempfile.mkdtemp(prefix="package-mutants-"))
    try:
        slots = [Slot(root, scratch / f"slot{i}") for i in range(jobs)]
        for file, mutants, tests in plan:
            original = (root / file).read_bytes()
            started = time.monotonic()
            pid = slots[0].start(tests, bytecode=True)  # unchanged: must pass (and warms caches)
            if wait_for(pid, time.monotonic() + 600) != 0:
                slots[0].start(tests, verbose=True)
                os.wait()
                raise SystemExit(f"{file}: the package tests {tests} fail on the unchanged "
                                 f"package; fix that first")
            baseline = time.monotonic() - started
            # The tests that killed the last mutants run first, which kills most mutants in a
            # test or two. That needs tests that pass in any order: check one other order.
            pid = slots[0].start(tests, reverse=True)
            reorder = wait_for(pid, time.monotonic() + 600) == 0
            if not reorder:
                print(f"{file}: the tests fail in reversed order ({slots[0].first_failure()}): "
                      f"running them in file order only", file=sys.stderr)
            killers: list[str] = []
            limit = timeout or max(30.0, 5 * baseline)  # generous: a busy machine is slow
            for slot in slots[1:]:
                pid = slot.start(tests, bytecode=True)
                wait_for(pid, time.monotonic() + 600)
            print(f"{file}: {len(mutants)} mutants, tests {', '.join(tests)} "
                  f"(unchanged: {baseline:.1f} s, timeout {limit:.0f} s)", file=sys.stderr)
            queue = list(mutants)
            free = list(slots)
            while queue or running:
                while queue and free:
                    slot, mutant = free.pop(), queue.pop(0)
                    slot.write(file, mutant.apply(original))
                    running[slot.start(tests, first=killers)] = (slot, mutant,
                                                                 time.monotonic() + limit)
                for pid, (slot, mutant, deadline) in list(running.items()):
                    done, status = os.waitpid(pid, os.WNOHANG)
                    if not done and time.monotonic() <= deadline:
                        continue
                    if not done:
                        os.kill(pid, signal.SIGKILL)
                        os.waitpid(pid, 0)
                        outcome[mutant] = "timeout"
                    else:
                        code = os.waitstatus_to_exitcode(status)
                        if code in (4, 5):  # usage error, no tests: the run itself is broken
                            raise SystemExit(f"{mutant}: pytest exited {code} (not a test result)")
                        outcome[mutant] = "survived" if code == 0 else "killed"
                        if code == 0:
                            print(f"  survived: {mutant}", file=sys.stderr)
                        killer = slot.first_failure()
                        if killer and reorder:
                            killers = [killer] + [k for k in killers if k != killer][:20]
                    slot.write(file, original)
                    del running[pid]
                    free.append(slot)
                    if len(outcome) % 50 == 0:
                        print(f"  ... {len(outcome)} done", file=sys.stderr)
                if running:
                    time.sleep(0.002)
    finally:  # also when interrupted: no child left running, no scratch copy left behind
        for pid in running:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        shutil.rmtree(scratch, ignore_errors=True)
    return outcome


# ----- command line -------------------------------------------------------------------------

def parse_target(text: str) -> tuple[str, Optional[tuple[int, int]]]:
    match = re.fullmatch(r"(.+?\.py)(?::(\d+)(?:-(\d+))?)?", text)
    if not match:
        raise SystemExit(f"not a package file: {text!r} (expected tinytorch/...py[:FIRST-LAST])")
    file, first, last = match.groups()
    lines = (int(first), int(last or first)) if first else None
    return file, lines


def default_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in (root / "tinytorch").rglob("*.py")
                  if p.name != "__init__.py")


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", help="tinytorch/...py[:FIRST-LAST] (default: all)")
    parser.add_argument("--jobs", type=int, default=1, help="mutants tried at once (default 1)")
    parser.add_argument("--timeout", type=float, help="seconds per mutant (default: 4x the "
                        "unchanged run, at least 30)")
    parser.add_argument("--all-tests", action="store_true",
                        help="run every package test file, not only the module's own")
    parser.add_argument("--list", action="store_true", help="list the mutants, run nothing")
    parser.add_argument("--todo", action="store_true",
                        help="print the survivors as entries for the equivalents file")
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    parser.add_argument("--equivalents", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    root = args.root.resolve()
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy: one thread, safe to fork
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("MKL_NUM_THREADS", "1")
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

    targets = [parse_target(t) for t in args.files] or [(f, None) for f in default_files(root)]
    targets = [(str((root / f).resolve().relative_to(root)), lines) for f, lines in targets]
    plan = []
    for file, lines in targets:
        plan.append((file, mutants_of(root, file, lines), test_files_for(root, file, args.all_tests)))
    if args.list:
        for _, mutants, _ in plan:
            for mutant in mutants:
                print(mutant)
        return 0

    import numpy  # noqa: F401  (imported once, before forking: the children start warm)
    import numpy.testing  # noqa: F401
    import pytest  # noqa: F401
    tests = {root / "tests" / "package" / t for _, _, files in plan for t in files}
    if any(re.search(r"\bimport torch\b|importorskip\(\s*.torch.", t.read_text()) for t in tests):
        try:  # some package tests cross-check with PyTorch: a 3 s import, done once here
            import torch
            import torch.nn.functional  # noqa: F401
            import torch.utils.data  # noqa: F401
            torch.set_num_threads(1)
        except ImportError:
            pass

    # pytest collects garbage when it ends: without this, each child would walk (and copy)
    # every object the parent imported, which took longer than most tests
    gc.freeze()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that `kill` cleans up too
    read_equivalents(args.equivalents or root / EQUIVALENTS)  # a broken file stops us now
    started = time.monotonic()
    outcome = run(root, plan, max(1, args.jobs), args.timeout)
    equivalents = read_equivalents(args.equivalents or root / EQUIVALENTS)  # edited meanwhile?
    minutes = (time.monotonic() - started) / 60
    unrecorded, used = [], set()
    print()
    for file, mutants, _ in plan:
        counts = {"killed": 0, "survived": 0, "timeout": 0, "equivalent": 0}
        survivors, killed_equivalents = [], []
        for mutant in mutants:
            key = (mutant.file, mutant.original, mutant.mutant)
            result = outcome[mutant]
            if key in equivalents:
                used.add(key)
                if result == "survived":
                    result = "equivalent"
                elif result == "killed":
                    killed_equivalents.append(mutant)
            counts[result] += 1
            if result == "survived":
                survivors.append(mutant)
        print(f"{file}: {len(mutants)} mutants: {counts['killed']} killed, "
              f"{counts['survived']} survived, {counts['timeout']} timed out, "
              f"{counts['equivalent']} equivalent (recorded)")
        for mutant in survivors:
            print(f"  SURVIVED {mutant}")
        for mutant in killed_equivalents:
            print(f"  killed, yet recorded as equivalent (remove the entry): {mutant}")
        unrecorded += survivors
    whole = {file for file, lines in targets if lines is None}  # files tried without a filter
    stale = [e for k, e in equivalents.items() if e.file in whole and k not in used]
    for entry in stale:
        print(f"  recorded as equivalent, but no such mutant (remove the entry): "
              f"{entry.file}: {entry.original} -> {entry.mutant}")
    total = len(outcome)
    print(f"{total} mutants in {minutes:.1f} min ({total / max(minutes, 1e-9):.0f} per minute), "
          f"{len(unrecorded)} unrecorded survivors")
    if args.todo and unrecorded:
        print("\n# survivors, as entries for " + EQUIVALENTS + ":\n")
        print("\n".join(todo_entry(m) for m in unrecorded))
    return 1 if unrecorded else 0


if __name__ == "__main__":
    sys.exit(main())

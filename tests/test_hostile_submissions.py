"""Submissions that attack the grader are contained, and the class around them is graded right.

One class of Module 02 is graded with the course's configuration (the sandbox of
course/sandbox.py around every kernel): an honest student, a student with a bug, and one
student per attack. Each attacker solved the module correctly and added one cell of their own
before the last exercise, so the attack is the only thing that differs: contained, it costs and
gains nothing, and the notebook scores full marks. The honest and the buggy student are graded
after all the attackers, and must still get their right grades.

All tests share one grading of the class (the fixture below); xdist keeps them on one worker.
"""

from __future__ import annotations

import hashlib
import http.server
import os
import threading

import nbformat
import pytest

from course.notebooks import HIDDEN, ROOT, graded_cells, nbgrader_meta, read, secret_lines, solution_cells
from mutations import MUTATIONS

pytestmark = [
    pytest.mark.xdist_group("hostile"),
    pytest.mark.skipif(os.environ.get("TINYTORCH_GRADING_SANDBOX") == "0",
                       reason="the grading sandbox needs Debian's bubblewrap (apt-get install "
                              "bubblewrap); TINYTORCH_REQUIRE_SANDBOX=1 makes this fail instead"),
]

MODULE = "02_activations"
SOURCE = ROOT / "modules" / MODULE / f"{MODULE}.ipynb"
TIMEOUT = 15  # seconds per cell here: the reference cells take well under a second
BUG = next(m for m in MUTATIONS if m.graded == "02-activations-test-sigmoid")

ATTACKS = {
    "read-sources": """
import glob, os
root = os.path.abspath("../../..")
found = glob.glob(root + "/modules/*/*.ipynb") + glob.glob(root + "/source/*/*.ipynb")
print("HOSTILE found", len(found), "source notebooks")
for path in found:
    print(open(path).read())
try:
    print(open(root + "/modules/02_activations/02_activations.ipynb").read())
except OSError as error:
    print("HOSTILE denied", type(error).__name__)
""",
    "gradebook": """
import os, sqlite3
path = os.path.abspath("../../../gradebook.db")
print("HOSTILE sees the gradebook:", os.path.exists(path))
try:
    db = sqlite3.connect(path)
    db.execute("update grade set manual_score = 1000")
    db.commit()
    print("HOSTILE wrote the gradebook")
except Exception as error:
    print("HOSTILE denied", type(error).__name__)
""",
    "write-outside": """
import os
for path in ["../../../planted.txt", "../../honest/planted.txt", "planted.txt",
             os.path.expanduser("~/../planted.txt")]:
    try:
        with open(path, "w") as out:
            out.write("planted")
        print("HOSTILE wrote", path)
    except OSError as error:
        print("HOSTILE denied", path, type(error).__name__)
""",
    "delete-others": """
import shutil
for path in ["../../honest", "../../../submitted/honest", "../../../submitted", "../../../modules"]:
    try:
        shutil.rmtree(path)
        print("HOSTILE deleted", path)
    except OSError as error:
        print("HOSTILE denied", path, type(error).__name__)
""",
    "memory-bomb": """
def bomb():
    blocks = []
    while True:
        blocks.append(bytearray(2**28))  # 256 MiB at a time, until something gives
try:
    bomb()
except MemoryError:
    print("HOSTILE stopped by MemoryError")
""",
    "fork-bomb": """
import os
while True:
    os.fork()
""",
    "output-flood": """
import sys
for _ in range(100):
    sys.stdout.write("x" * 2**20 + "\\n")  # 100 MB in all
""",
    "network": """
import socket, urllib.request
try:
    urllib.request.urlopen("http://127.0.0.1:PORT/", timeout=5)
    print("HOSTILE reached the grader's machine")
except OSError as error:
    print("HOSTILE denied", type(error).__name__)
try:
    socket.create_connection(("1.1.1.1", 53), timeout=5)
    print("HOSTILE reached the internet")
except OSError as error:
    print("HOSTILE denied", type(error).__name__)
""",
    "kill-parent": """
import os, signal
try:
    os.kill(os.getppid(), signal.SIGKILL)  # the grader, it hopes
except OSError as error:
    print("HOSTILE denied", type(error).__name__)
os.kill(os.getpid(), signal.SIGKILL)   # and then itself
""",
    "sleep-forever": """
import time
time.sleep(10**9)
""",
}

# Monkey-patching the test helpers: a wrong Sigmoid, and a cell that makes the checks pass anyway.
PATCH_HELPERS = """
import numpy as np
np.testing.assert_allclose = lambda *args, **kwargs: None
np.testing.assert_array_equal = lambda *args, **kwargs: None
np.allclose = lambda *args, **kwargs: True
np.array_equal = lambda *args, **kwargs: True
def expect_error(*args, **kwargs):
    return "anything"
"""


def solved_with(code: str | None = None, bug=None):
    """The solved notebook, with `code` as a cell of the student's own before the last
    exercise, and `bug` (a mutation) made in its solution cell."""
    nb = read(SOURCE)
    if bug:
        target = next(c for c in nb.cells if nbgrader_meta(c).get("grade_id") == bug.cell)
        target.source = target.source.replace(bug.old, bug.new)
    if code:
        nb.cells.insert(nb.cells.index(solution_cells(nb)[-1]), nbformat.v4.new_code_cell(code))
    return nb


def fingerprint(folder) -> dict:
    """path -> hash of every file under folder (what the instructor has)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


class Requests(http.server.BaseHTTPRequestHandler):
    seen = 0

    def do_GET(self):
        Requests.seen += 1
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def graded(course):
    """Grade the class once: student -> (scores, autograded notebook); and what was seen.

    Session-scoped, not module-scoped: pytest-xdist can end a module's fixtures between two
    tests of this file and set them up again, which graded the whole class twice."""
    server = http.server.HTTPServer(("127.0.0.1", 0), Requests)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    course.submit(MODULE, "honest", solved_with())
    course.submit(MODULE, "buggy", solved_with(bug=BUG))
    sources = fingerprint(course.root / "modules")
    results = {}
    students = [(name, code.replace("PORT", str(server.server_port)))
                for name, code in ATTACKS.items()] + [("patch-helpers", PATCH_HELPERS)]
    for student, code in students:
        course.submit(MODULE, student, solved_with(code, bug=BUG if student == "patch-helpers" else None))
        scores = course.autograde(MODULE, student, timeout=TIMEOUT)
        results[student] = (scores, course.autograded(MODULE, student))
    for student in ("honest", "buggy"):  # after every attack
        results[student] = (course.autograde(MODULE, student, timeout=TIMEOUT),
                            course.autograded(MODULE, student))
    server.shutdown()
    return results, sources


def output_of(nb, marker: str) -> str:
    """The outputs of the student's own cell, found by a line of its code."""
    cell = next(c for c in nb.cells if not nbgrader_meta(c) and marker in c.source)
    return "".join(f'{o.get("text", "")} {o.get("ename", "")} {o.get("evalue", "")}'
                   for o in cell.get("outputs", []))


def full_marks(scores) -> bool:
    return len(scores) == len(graded_cells(read(SOURCE))) and all(s == m for s, m in scores.values())


@pytest.mark.parametrize("student", list(ATTACKS))
def test_every_attack_is_contained_and_the_notebook_graded_as_written(graded, student):
    scores, _ = graded[0][student]
    assert full_marks(scores), f"{student}: the attack changed the grade: {scores}"


def test_the_source_notebooks_and_hidden_tests_cannot_be_read_or_printed(graded):
    results, _ = graded
    _, nb = results["read-sources"]
    shown = output_of(nb, "HOSTILE found")
    assert "HOSTILE found 0 source notebooks" in shown and "HOSTILE denied" in shown, shown[:500]
    printed = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    leaked = [line for line in secret_lines(read(SOURCE), HIDDEN) if line in printed]
    assert not leaked, f"hidden test lines in the autograded notebook: {leaked[:3]}"


def test_the_gradebook_can_be_neither_read_nor_written(graded):
    results, _ = graded
    shown = output_of(results["gradebook"][1], "HOSTILE sees the gradebook")
    assert "HOSTILE sees the gradebook: False" in shown and "HOSTILE wrote" not in shown, shown


def test_nothing_is_written_outside_the_sandbox_and_no_work_is_deleted(graded, course):
    results, sources = graded
    for student in ("write-outside", "delete-others"):
        shown = output_of(results[student][1], "HOSTILE")
        assert "HOSTILE wrote" not in shown and "HOSTILE deleted" not in shown, shown
    assert not list(course.root.rglob("planted.txt")), "a file was planted in the course"
    assert fingerprint(course.root / "modules") == sources, "the source notebooks changed"
    assert (course.root / "submitted" / "honest" / MODULE / f"{MODULE}.ipynb").is_file()


def test_a_memory_bomb_gets_a_memory_error(graded):
    shown = output_of(graded[0]["memory-bomb"][1], "def bomb")
    assert "HOSTILE stopped by MemoryError" in shown, shown


def test_a_fork_bomb_is_stopped_and_leaves_no_process(graded, course):
    shown = output_of(graded[0]["fork-bomb"][1], "os.fork()")
    assert "CellTimeoutError" in shown or "BlockingIOError" in shown, shown
    folder = str(course.root / "autograded" / "fork-bomb" / MODULE)
    left = [pid for pid in os.listdir("/proc") if pid.isdigit() and _cwd(pid) == folder]
    assert not left, f"processes of the fork bomb still run: {left}"


def _cwd(pid: str) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        return None


def test_100_mb_of_output_is_cut_short(graded):
    _, nb = graded[0]["output-flood"]
    shown = output_of(nb, "sys.stdout.write")
    assert len(shown) < 4 * 2**20 and "dropped the rest" in shown, len(shown)


def test_no_network_not_even_the_graders_machine(graded):
    shown = output_of(graded[0]["network"][1], "urllib.request")
    assert "HOSTILE reached" not in shown and shown.count("HOSTILE denied") == 2, shown
    assert Requests.seen == 0, "the grader's web server was reached from the sandbox"


def test_a_kernel_killed_by_its_cell_is_restarted_and_the_rest_graded(graded):
    shown = output_of(graded[0]["kill-parent"][1], "SIGKILL")
    assert "stopped Python" in shown, shown


def test_sleeping_forever_is_stopped_at_the_time_limit(graded):
    shown = output_of(graded[0]["sleep-forever"][1], "time.sleep")
    assert "CellTimeoutError" in shown or "KeyboardInterrupt" in shown, shown


def test_monkey_patched_test_helpers_do_not_pass_a_wrong_answer(graded):
    scores, _ = graded[0]["patch-helpers"]
    assert scores[BUG.graded][0] == 0, f"the wrong Sigmoid passed its test: {scores[BUG.graded]}"


def test_the_honest_and_the_buggy_student_keep_their_grades(graded):
    results, _ = graded
    assert full_marks(results["honest"][0]), results["honest"][0]
    buggy = results["buggy"][0]
    assert buggy[BUG.graded][0] == 0 and sum(s for s, _ in buggy.values()) > 0, buggy

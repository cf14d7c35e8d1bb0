"""The course's additions to nbgrader's autograde and feedback (configured in nbgrader_config.py).

- GradingExecute runs a submission as nbgrader's Execute does, with these differences:
  the kernel runs in a sandbox (course/sandbox.py: it sees only its own folder, the grading
  package, the datasets and a private /tmp, has no network and runs under resource limits);
  it imports the assignment's grading package (course/grading_package.py: nothing of the
  module being graded); before every locked or graded cell IPython's hooks are put back
  (course/grading_guard.py), so no student cell can change what the instructor's cells run;
  a cell's output is capped; and a cell that ignores the interrupt at the timeout, or kills
  its kernel, does not cost the whole submission: the kernel is restarted, the earlier cells
  are run again, and grading goes on. A submission has a time limit as a whole too.
- RestoreDeletedCells puts back locked cells a submission deleted.
- HideHiddenTestTracebacks keeps hidden tests out of feedback.
"""

from __future__ import annotations

import ast
import os
import secrets
import shutil
import tempfile
import time
from pathlib import Path

from nbconvert.preprocessors import Preprocessor
from nbformat.v4 import new_code_cell, new_markdown_cell, new_output
from nbgrader.api import Gradebook
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import run_sync
from traitlets import Bool, Integer

import course
from course.grading_package import grading_package
from course.notebooks import nbgrader_meta
from course.sandbox import SandboxedKernelManager, kernel_pid, kill_strays, tools

GUARD = "__import__('course.grading_guard', fromlist=['_']).{call}({token!r})"


def helper_cell(cell) -> bool:
    """A locked cell of the notebook (not exported) that only defines things: the tests'
    helpers. It is run again before every test, so a student cannot redefine a helper."""
    meta = nbgrader_meta(cell)
    if cell.cell_type != "code" or not meta.get("locked") or meta.get("grade") \
            or meta.get("solution") or cell.source.lstrip().startswith("#|"):
        return False
    try:
        body = ast.parse(cell.source).body
    except SyntaxError:
        return False
    return bool(body) and all(isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef,
                                                ast.ClassDef)) for node in body)


def instructor_cell(cell) -> bool:
    """A code cell the student cannot change: a test, or given code that tests rely on."""
    meta = nbgrader_meta(cell)
    return cell.cell_type == "code" and (meta.get("grade") or meta.get("locked")) \
        and not meta.get("solution")


class GradingExecute(Execute):
    """nbgrader's Execute, hardened for grading a submission (see the module docstring)."""

    probe_timeout = Integer(15, help="Seconds a kernel has to answer after an interrupt, "
                                     "before it is restarted").tag(config=True)
    use_grading_package = Bool(True, help="Import the assignment's grading package, which "
                                          "holds nothing of the module being graded").tag(config=True)
    sandbox = Bool(True, help="Run the kernel in the sandbox of course/sandbox.py (bubblewrap); "
                              "False only for trusted notebooks").tag(config=True)
    max_output_bytes = Integer(2 * 2**20, help="Output kept per cell; the rest is dropped, "
                                               "errors excepted").tag(config=True)
    submission_timeout = Integer(1800, help="Seconds a whole submission may run; later cells "
                                            "are not run").tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        self._resources = resources or {}
        self._ran = []  # indices of the code cells run so far that finished
        self._token = secrets.token_hex(8)
        self._deadline = time.monotonic() + self.submission_timeout
        self._guarded = False  # the guard has recorded the clean kernel
        self._kernel_of = (None, None)  # see _kernel()
        self._folder = self._package_folder()
        if self.sandbox:
            tools()  # refuse to grade unsandboxed by accident
        self._runtime = tempfile.mkdtemp(prefix="tinytorch-kernel-")
        try:
            return super().preprocess(nb, resources, km)
        finally:
            shutil.rmtree(self._runtime, ignore_errors=True)

    def create_kernel_manager(self):
        if not self.sandbox:
            return super().create_kernel_manager()
        readable = [str(Path(course.__file__).parent)]  # the grading guard
        if self._folder:
            readable.append(self._folder)
            if (Path(self._folder) / "datasets").exists():
                readable.append(str((Path(self._folder) / "datasets").resolve()))
        cwd = self._resources.get("metadata", {}).get("path") or os.getcwd()
        if not self.kernel_name:  # as nbclient does: the notebook's kernel, else the default
            self.kernel_name = self.nb.metadata.get("kernelspec", {}).get("name") or "python3"
        self.km = SandboxedKernelManager(kernel_name=self.kernel_name, config=self.config,
                                         transport="ipc", ip=os.path.join(self._runtime, "kernel"),
                                         connection_file=os.path.join(self._runtime, "kernel.json"),
                                         runtime=self._runtime, readable=readable,
                                         cwd=os.path.abspath(cwd))
        return self.km

    # ----- the kernel imports the grading package -----------------------------------------
    def _package_folder(self) -> str | None:
        ids = self._resources.get("nbgrader", {})
        if not self.use_grading_package or "assignment" not in ids:
            return None
        from nbgrader.coursedir import CourseDirectory

        coursedir = CourseDirectory(config=self.config)
        modules = Path(coursedir.root) / coursedir.source_directory
        return str(grading_package(ids["assignment"], Path(coursedir.root), modules))

    async def async_start_new_kernel(self, **kwargs):
        env = dict(kwargs.pop("env", None) or os.environ)
        if self._folder:
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [self._folder, env.get("PYTHONPATH")]))
        if self.sandbox:  # the only writable folder is the sandbox's own /tmp
            env.update(HOME="/tmp", MPLCONFIGDIR="/tmp/matplotlib", IPYTHONDIR="/tmp/ipython",
                       PYTHONDONTWRITEBYTECODE="1")
        kwargs["env"] = env
        return await super().async_start_new_kernel(**kwargs)

    start_new_kernel = run_sync(async_start_new_kernel)  # nbclient binds the sync one by name

    # ----- every cell ---------------------------------------------------------------------
    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        if time.monotonic() > self._deadline:
            cell.outputs = [new_output("error", ename="GradingError", evalue=(
                f"not run: the submission used up its {self.submission_timeout} s"), traceback=[])]
            return cell, resources
        if not self._ran and not self._guarded:
            self._guarded = self._call_guard("snapshot", "ready")
            self._kernel()
        if instructor_cell(cell) and not (self._guarded and self._call_guard("restore", "restored")
                                          and self._redefine_helpers(index)):
            cell.outputs = [new_output("error", ename="GradingError", evalue=(
                "the grading kernel was changed by an earlier cell so that this cell "
                "could not be run as written; it scores 0"), traceback=[])]
            self.log.warning("Cell %s was not run: the kernel's hooks could not be restored",
                             nbgrader_meta(cell).get("grade_id", index))
            return cell, resources
        self._output_bytes, self._output_capped = 0, False
        died = False
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
        except CellTimeoutError:  # no end of output after the interrupt: the cell goes on
            cell.outputs.append(new_output("error", **self.error_on_timeout))
        except DeadKernelError:  # the cell killed its kernel (or its memory did)
            died = True
            cell.outputs.append(new_output("error", ename="DeadKernelError", evalue=(
                "Python stopped while this cell ran"), traceback=[]))
        self._kill_strays(cell)
        timed_out = any(o.get("ename") == "CellTimeoutError" for o in cell.get("outputs", []))
        if not (timed_out or died):
            self._ran.append(index)
        elif died or not self._answers():
            self._restart_and_replay(cell, index, "stopped Python" if died else
                                     "did not stop when it was interrupted at the time limit")
        return cell, resources

    def _kernel(self) -> tuple[int | None, int | None]:
        """(the process the kernel manager launched, the kernel's pid), the latter found once
        per kernel, before any cell could fork copies of it."""
        launched = getattr(getattr(self.km, "provisioner", None), "pid", None)
        if launched and self._kernel_of[0] != launched:
            self._kernel_of = (launched, kernel_pid(launched))
        return self._kernel_of

    def _kill_strays(self, cell) -> None:
        launched, kernel = self._kernel()
        if launched and kernel and kill_strays(launched, kernel):
            self.log.warning("Cell %s left processes running: stopped them",
                             nbgrader_meta(cell).get("grade_id", "(a student's cell)"))
            cell.outputs.append(new_output("stream", name="stdout", text=(
                "The grader stopped the processes this cell started and left running.\n")))

    def output(self, outs, msg, display_id, cell_index):
        """Keep at most max_output_bytes of a cell's output (its errors always)."""
        if msg["msg_type"] != "error":
            self._output_bytes += len(str(msg.get("content", "")))
            if self._output_bytes > self.max_output_bytes:
                if not self._output_capped:
                    self._output_capped = True
                    note = new_output("stream", name="stdout", text=(
                        f"\n[the grader kept the first {self.max_output_bytes // 2**20} MB of "
                        "this cell's output and dropped the rest]\n"))
                    outs.append(note)
                return None
        return super().output(outs, msg, display_id, cell_index)

    def _redefine_helpers(self, index: int) -> bool:
        """Run the tests' helper cells above this cell again, as the notebook defines them."""
        if not nbgrader_meta(self.nb.cells[index]).get("grade"):
            return True
        return all(self._run_again(earlier) for earlier in self._ran
                   if helper_cell(self.nb.cells[earlier]))

    def _run_again(self, index: int) -> bool:
        """Run a cell that already ran, unrecorded; whether it finished without an error."""
        reply = self._silent(self.nb.cells[index].source, timeout=self.timeout or 60)
        return bool(reply) and reply["content"].get("status") == "ok"

    def _call_guard(self, call: str, word: str) -> bool:
        expression = GUARD.format(call=call, token=self._token)
        reply = self._silent(user_expressions={"guard": expression})
        value = (reply or {}).get("content", {}).get("user_expressions", {}).get("guard", {})
        return value.get("status") == "ok" and \
            value.get("data", {}).get("text/plain") == repr(f"{self._token}:{word}")

    def _silent(self, code: str = "", timeout: float | None = None, **kwargs) -> dict | None:
        """Run `code` without recording it; the kernel's reply, or None without one in time."""
        return run_sync(self._async_silent)(code, timeout or self.probe_timeout, **kwargs)

    async def _async_silent(self, code, timeout, **kwargs):
        msg_id = self.kc.execute(code, silent=True, store_history=False, **kwargs)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                msg = await self.kc.shell_channel.get_msg(timeout=1)
            except Exception:  # queue.Empty: nothing yet
                continue
            if msg["parent_header"].get("msg_id") == msg_id:
                return msg
        return None

    # ----- a cell that ignores the interrupt ----------------------------------------------
    def _answers(self) -> bool:
        return self._silent("pass") is not None

    def _restart_and_replay(self, cell, index, what: str) -> None:
        """Restart the kernel that did not stop, and run the cells that had finished again."""
        grade_id = nbgrader_meta(cell).get("grade_id", f"number {index + 1}")
        self.log.warning("Cell %s %s: restarting the kernel and running the %d earlier cells "
                         "again", grade_id, what, len(self._ran))
        run_sync(self.km.restart_kernel)(now=True)
        run_sync(self.kc.wait_for_ready)(timeout=self.startup_timeout)
        self._guarded = self._call_guard("snapshot", "ready")
        self._kernel()
        for earlier in self._ran:  # their errors were recorded the first time
            self._run_again(earlier)
        cell.outputs.append(new_output("stream", name="stdout", text=(
            f"This cell {what}, so the grader restarted Python and ran the cells above it "
            "again before going on.\n")))


class RestoreDeletedCells(NbGraderPreprocessor):
    """Put back the locked cells a submission no longer has, so that deleting a test gains nothing.

    nbgrader restores the source of a locked cell a student edited (OverwriteCells), but a
    deleted graded cell is only scored 0 and marked "needs manual grade", with nothing in the
    log, and nbgrader's own add_missing_cells option fails on a test cell that follows a
    locked markdown cell. This inserts every missing locked cell (tests with their hidden
    part, given code, text) after the cell that precedes it in the gradebook's list, which is
    the source notebook's order, so the deleted test runs against the student's code.
    """

    def preprocess(self, nb, resources):
        ids = resources["nbgrader"]
        with Gradebook(ids["db_url"]) as gradebook:
            notebook = gradebook.find_notebook(ids["notebook"], ids["assignment"])
            points = {cell.name: cell.max_score for cell in notebook.grade_cells}
            source = [(cell.name, cell.cell_type, cell.source, cell.checksum, cell.locked)
                      for cell in notebook.source_cells]
        position = -1  # insert after this index: the last source cell found so far
        for name, cell_type, text, checksum, locked in source:
            present = [i for i, cell in enumerate(nb.cells)
                       if nbgrader_meta(cell).get("grade_id") == name]
            if present:
                position = present[0]
            elif locked or name in points:  # nbgrader treats every graded cell as locked
                self.log.warning("Cell %s was deleted from the submission: restored", name)
                nb.cells.insert(position + 1, self._cell(name, cell_type, text, checksum, points))
                position += 1
        return nb, resources

    @staticmethod
    def _cell(name, cell_type, text, checksum, points):
        meta = {"grade": name in points, "grade_id": name, "locked": True, "solution": False,
                "task": False, "schema_version": 3, "checksum": checksum}
        if name in points:
            meta["points"] = points[name]
        note = "This cell was deleted from the submission; nbgrader put it back for grading."
        if cell_type == "code":
            return new_code_cell(f"# {note}\n{text}", metadata={"nbgrader": meta})
        return new_markdown_cell(f"*{note}*\n\n{text}", metadata={"nbgrader": meta})


class HideHiddenTestTracebacks(Preprocessor):
    """Keep hidden tests out of feedback shown in tracebacks.

    ClearHiddenTests removes the hidden region from a cell's source, but when that cell
    failed, IPython's traceback in its output quotes the lines around the failing one,
    hidden tests included. This keeps only the exception's name and message.
    nbconvert's preprocessors are off unless enabled, so this one is on by default.
    """

    enabled = Bool(True).tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and "BEGIN HIDDEN TESTS" in cell.source:
            for output in cell.get("outputs", []):
                if output.output_type == "error":
                    output.traceback = [f"{output.ename}: {output.evalue}"]
        return cell, resources

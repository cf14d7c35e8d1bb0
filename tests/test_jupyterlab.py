"""JupyterLab for real: Module 08 opened and run in a browser, as a student would.

JupyterLab (with nbgrader's extension) serves a scratch copy of the course on 127.0.0.1;
Playwright drives Debian's chromium (never a browser of Playwright's own) to open the
notebook, run every cell from the Run menu and read what the page shows. The server, its
kernels and the browser are stopped whatever happens. Needs `chromium` on PATH and the
`browser` extra (playwright); without them the test skips, unless TINYTORCH_REQUIRE_BROWSER=1
(.ci/run sets it), where it fails and says what to install.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from course.notebooks import ROOT

ARTIFACTS = ROOT / "test-artifacts" / "jupyterlab"  # the `artifacts` fixture's folder
NOTEBOOK = "modules/08_dataloader/08_dataloader.ipynb"
CONTROL = "control/failing.ipynb"  # a deliberately failing cell: the error check must see it
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
# JupyterLab 4 marks each output with the MIME type it rendered, and gives an error no mark of
# its own: it renders the traceback as stderr (seen in 4.6). So any stderr output counts, a
# warning included; the error type is listed too, in case a later version renders it apart.
ERROR_OUTPUT = ", ".join(f'.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.{kind}"]'
                         for kind in ("stderr", "error"))
# Settings for this server only: every cell attached to the page (the default windowing mode
# leaves off-screen cells out of the DOM, where an error could hide), and no news pop-up.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False},
}
PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"  # the notebook on show
# Read from the open notebook: every code cell's prompt ("[3]:", "[*]:", "[ ]:"), the text
# of every error output, the kernel's status and whether nbgrader's Validate button is there.
PAGE_STATE = """() => {
  const panel = document.querySelector('%s');
  if (!panel) return null;
  const all = (selector) => [...panel.querySelectorAll(selector)];
  return {
    prompts: all('.jp-CodeCell .jp-InputArea-prompt').map((p) => p.textContent.trim()),
    errors: all('%s').map((o) => o.textContent.trim()),
    kernel: panel.querySelector('.jp-Notebook-ExecutionIndicator')?.dataset.status ?? null,
    validate: all('.jp-NotebookPanel-toolbar .validate-button')
      .some((b) => b.textContent.trim() === 'Validate' && b.offsetParent !== null),
  };
}""" % (PANEL, ERROR_OUTPUT)
# Done when the kernel is idle, no cell is queued or running, and either every cell ran or a
# cell failed (JupyterLab then drops the queued cells after it, which never get a count).
FINISHED = """(state) => state && state.kernel === 'idle' && state.prompts.length > 0
  && !state.prompts.some((p) => p.includes('*'))
  && (state.prompts.every((p) => /\\d/.test(p)) || state.errors.length > 0)"""


def browser_or_skip() -> str:
    """The chromium to drive; skips (or fails under TINYTORCH_REQUIRE_BROWSER=1) without one."""
    missing = []
    chromium = shutil.which("chromium")
    if not chromium:
        missing.append("Debian's chromium (apt-get install --no-install-recommends chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("playwright in the venv (.venv/bin/pip install -e '.[browser]'; "
                       "never `playwright install`: the test drives the system chromium)")
    if missing:
        message = "the JupyterLab browser test needs " + " and ".join(missing)
        if os.environ.get("TINYTORCH_REQUIRE_BROWSER") == "1":
            pytest.fail(message + " (TINYTORCH_REQUIRE_BROWSER=1 is set, so this is an error)")
        pytest.skip(message)
    return chromium


@dataclass
class Lab:
    url: str
    token: str
    root: Path

    def api(self, method: str, path: str):
        request = urllib.request.Request(f"{self.url}/api/{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shut_down_kernels(self) -> None:
        # Before a page closes: a page that goes away with its kernel still connected can
        # trip a known jupyter_server error ('kernel_ws_protocol' on None).
        try:
            for kernel in self.api("GET", "kernels"):
                self.api("DELETE", f"kernels/{kernel['id']}")
        except OSError:
            pass  # the server is gone, and its kernels are stopped with it (see `stop`)


def course_copy(root: Path) -> None:
    """The course layout JupyterLab serves: Module 08, the tiny datasets, nbgrader's config."""
    shutil.copytree(ROOT / "modules" / "08_dataloader", root / "modules" / "08_dataloader",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    shutil.copytree(ROOT / "datasets" / "tiny", root / "datasets" / "tiny")
    shutil.copy2(ROOT / "nbgrader_config.py", root)
    control = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("print('before the failing cell')"),
        nbformat.v4.new_code_cell("1 / 0"),
        nbformat.v4.new_code_cell("print('never reached')")])
    control.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                      "language": "python"}
    (root / CONTROL).parent.mkdir()
    nbformat.write(control, root / CONTROL)


def lab_environment(state: Path) -> dict:
    """The server's (and so its kernels') environment: one BLAS thread, nothing of the user's."""
    for name, content in LAB_SETTINGS.items():
        (state / "settings" / name).parent.mkdir(parents=True, exist_ok=True)
        (state / "settings" / name).write_text(json.dumps(content))
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
               JUPYTER_CONFIG_DIR=str(state / "config"), JUPYTER_RUNTIME_DIR=str(state / "runtime"),
               JUPYTERLAB_SETTINGS_DIR=str(state / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(state / "workspaces"))
    env.pop("TINYTORCH_DATASETS", None)  # the copy's own datasets/ must be the one found
    return env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_answering(lab: Lab, server: subprocess.Popen, log: Path, timeout=60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"JupyterLab exited with code {server.returncode}:\n"
                        f"{log.read_text()[-3000:]}")
        try:
            lab.api("GET", "status")
            return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"JupyterLab did not answer on {lab.url} within {timeout:.0f} s:\n"
                f"{log.read_text()[-3000:]}")


def stop(server: subprocess.Popen, runtime: Path) -> None:
    """Stop the server's process group, then any kernel it left behind (found by its
    connection file in this server's own runtime folder: nothing else is touched)."""
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
    except ProcessLookupError:
        pass
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if str(runtime).encode() in (proc / "cmdline").read_bytes():
                os.kill(int(proc.name), signal.SIGKILL)
        except OSError:
            pass


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root, state = tmp_path_factory.mktemp("lab-course"), tmp_path_factory.mktemp("lab-state")
    course_copy(root)
    lab = Lab(f"http://127.0.0.1:{free_port()}", secrets.token_hex(16), root)
    log = ARTIFACTS / "server.log"  # kept: the first place to look when this test fails in CI
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ip=127.0.0.1",
             f"--port={lab.url.rsplit(':', 1)[1]}", "--ServerApp.port_retries=0",
             f"--IdentityProvider.token={lab.token}", f"--ServerApp.root_dir={root}"],
            cwd=root, env=lab_environment(state), stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True)
    try:
        wait_until_answering(lab, server, log)
        yield lab
    finally:
        lab.shut_down_kernels()
        stop(server, state / "runtime")


@pytest.fixture(scope="module")
def browser():
    chromium = browser_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def wait_for_kernel(lab: Lab, page, code_cells: int, timeout=60.0) -> None:
    """Until the notebook is on the page and its kernel is up: Run All clicked before the
    kernel is connected does nothing (the page's indicator says idle before it connects)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = page.evaluate(PAGE_STATE)
        try:
            kernels = lab.api("GET", "kernels")
        except urllib.error.HTTPError:  # listing a kernel that is still starting: 500 (seen here)
            kernels = []
        if (state and state["kernel"] == "idle" and len(state["prompts"]) == code_cells
                and kernels and all(k["execution_state"] == "idle" for k in kernels)):
            return
        time.sleep(0.25)
    pytest.fail(f"the notebook's kernel was not ready within {timeout:.0f} s: page {state}, "
                f"server {kernels}")


def run_all_cells(lab: Lab, browser, path: str, screenshot: Path | None = None) -> dict:
    """Open `path` in JupyterLab, run every cell from the Run menu; return what the page shows."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.set_default_timeout(60_000)  # CI runs this beside another test worker on 2 cores
    try:
        page.goto(f"{lab.url}/lab/tree/{path}?reset&token={lab.token}")
        wait_for_kernel(lab, page, code_cell_count(lab.root / path))
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.locator('.lm-Menu-item[data-command="runmenu:run-all"]',
                     has_text="Run All Cells").click()
        try:
            page.wait_for_function(f"({FINISHED})(({PAGE_STATE})())", timeout=120_000, polling=250)
        except PlaywrightTimeout:
            pytest.fail(f"{path}: the cells had not finished after 120 s: "
                        f"{page.evaluate(PAGE_STATE)}")
        state = page.evaluate(PAGE_STATE)
        if screenshot:
            take_screenshot(page, screenshot)
        return state
    finally:
        lab.shut_down_kernels()
        page.close()


def take_screenshot(page, path: Path) -> None:
    """The window, scrolled to the notebook's last output (the integration run on the digits),
    with the toolbar (Validate) and the status bar (kernel idle) in view. JupyterLab scrolls
    the notebook inside a page that always fits the window, so the full page is the window:
    shooting the whole 25,000-pixel notebook piece by piece took 9 s here."""
    page.locator(f"{PANEL} .jp-OutputArea-output").last.scroll_into_view_if_needed()
    partial = path.with_suffix(".partial.png")
    page.screenshot(path=str(partial), full_page=True)
    partial.replace(path)


def problems(state: dict, code_cells: int) -> list[str]:
    """What is wrong with a run, in words; empty when every cell ran without an error."""
    found = [f"error output (a traceback, or a warning on stderr): {text[:800]}"
             for text in state["errors"]]
    if len(state["prompts"]) != code_cells:
        found.append(f"the page shows {len(state['prompts'])} code cells, "
                     f"the notebook has {code_cells}")
    never_ran = [str(i) for i, prompt in enumerate(state["prompts"], start=1)
                 if not any(c.isdigit() for c in prompt)]
    if never_ran:
        found.append(f"code cells with no execution count (never ran): {', '.join(never_ran)}")
    return found


def code_cell_count(path: Path) -> int:
    return sum(c.cell_type == "code" for c in nbformat.read(path, as_version=4).cells)


def test_module_08_runs_in_jupyterlab_without_errors(browser, lab):
    # The control first: a notebook whose second cell fails must be reported, so a clean
    # report for Module 08 below means something.
    control = run_all_cells(lab, browser, CONTROL)
    assert any("ZeroDivisionError: division by zero" in p for p in problems(control, 3)), control

    screenshot = ARTIFACTS / "08_dataloader.png"
    state = run_all_cells(lab, browser, NOTEBOOK, screenshot)
    found = problems(state, code_cell_count(lab.root / NOTEBOOK))
    assert not found, f"{NOTEBOOK} in JupyterLab:\n" + "\n".join(found)
    assert state["validate"], "nbgrader's Validate button is not in the notebook toolbar"
    assert screenshot.stat().st_size > 10_000


def test_cells_that_never_ran_or_are_missing_are_problems():
    # What the page shows when a cell fails during Run All: the cells after it lose their turn.
    state = {"prompts": ["[1]:", "[2]:", "[ ]:", "[ ]:"], "errors": []}
    assert problems(state, 4) == ["code cells with no execution count (never ran): 3, 4"]
    assert problems(state, 5)[0] == "the page shows 4 code cells, the notebook has 5"


@pytest.mark.parametrize("required", ["", "1"], ids=["optional", "required"])
def test_a_missing_browser_skips_or_fails_as_asked(monkeypatch, required):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setenv("TINYTORCH_REQUIRE_BROWSER", required)
    outcome = pytest.fail.Exception if required else pytest.skip.Exception
    with pytest.raises(outcome, match="needs Debian's chromium .apt-get install"):
        browser_or_skip()

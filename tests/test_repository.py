"""Repository-level promises: dependencies agree, CI runs the README's test command."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import tomllib

import pytest

from course.notebooks import ROOT


def normalise(requirement: str) -> str:
    name, spec = re.match(r"([A-Za-z0-9_.\-]+)\s*(.*)", requirement.strip()).groups()
    return re.sub(r"[-_.]+", "-", name).lower() + spec.replace(" ", "")


CI_ONLY_EXTRAS = {"browser"}  # installed by .ci/run for the browser test; students need none


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_environment_yml_and_pyproject_list_the_same_dependencies():
    # Every extra but the CI-only ones belongs in the students' conda environment.
    extras = project()["optional-dependencies"]
    assert CI_ONLY_EXTRAS <= set(extras), f"pyproject.toml lacks {CI_ONLY_EXTRAS - set(extras)}"
    pip_side = {normalise(r) for name, requirements in extras.items() if name not in CI_ONLY_EXTRAS
                for r in requirements} | {normalise(r) for r in project()["dependencies"]}
    conda_side = {normalise(line.split("- ", 1)[1])
                  for line in (ROOT / "environment.yml").read_text()
                  .split("dependencies:", 1)[1].splitlines()
                  if re.match(r"\s+- \S", line)}
    conda_side -= {d for d in conda_side if d == "pip" or d.startswith("python>=")}
    assert pip_side == conda_side, (
        f"only in pyproject.toml: {sorted(pip_side - conda_side)}; "
        f"only in environment.yml: {sorted(conda_side - pip_side)}")


def readme_command(marker: str) -> str:
    text = (ROOT / "README.md").read_text()
    match = re.search(rf"<!-- {marker} -->\n```sh\n(.+)\n```", text)
    assert match, f"README.md has no command after <!-- {marker} -->"
    return match.group(1)


def fake_tool(folder, name: str, script: str) -> None:
    (folder / name).write_text(f"#!/bin/sh\n{script}\n")
    (folder / name).chmod(0o755)


def ci_commands(tmp_path, chromium=True, uid=0, postgres=True,
                bwrap=True) -> list[tuple[str, str]]:
    """Run .ci/run with `bash` replaced by a recorder and a PATH holding only the tools it
    calls itself, faked or real: returns each command it would run, with the browser,
    PostgreSQL and sandbox variables it would run it with."""
    bin = tmp_path / "bin"
    bin.mkdir()
    record = tmp_path / "ran"
    fake_tool(bin, "bash", 'printf "%s\\t%s %s %s %s\\n" "$2" "$TINYTORCH_REQUIRE_BROWSER" '
              '"$PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD" "$TINYTORCH_REQUIRE_POSTGRES" '
              '"$TINYTORCH_REQUIRE_SANDBOX" >> "$RECORD"')
    postgres_bin = tmp_path / "postgres-bin"  # where .ci/run (and tests/postgres.py) look
    postgres_bin.mkdir()
    if postgres:
        fake_tool(postgres_bin, "initdb", "exit 0")
    fake_tool(bin, "id", f"echo {uid}")
    if chromium:
        fake_tool(bin, "chromium", "exit 0")
    if bwrap:
        fake_tool(bin, "bwrap", "exit 0")
    for tool in ("awk", "dirname"):
        (bin / tool).symlink_to(shutil.which(tool))
    subprocess.run(["/bin/bash", str(ROOT / ".ci" / "run")], check=True, capture_output=True,
                   env={"PATH": str(bin), "RECORD": str(record),
                        "TINYTORCH_POSTGRES_BIN": str(postgres_bin)})
    return [tuple(line.split("\t")) for line in record.read_text().splitlines()]


def test_ci_runs_the_readme_test_command(tmp_path):
    assert ci_commands(tmp_path)[-1][0] == readme_command("test command")


def test_ci_installs_the_browser_test_tools_first_and_requires_them(tmp_path):
    commands = ci_commands(tmp_path)
    # exactly the `browser` extra (playwright), into the venv the README command then uses
    extra = project()["optional-dependencies"]["browser"]
    assert any(r.startswith("playwright") for r in extra)
    pip = ".venv/bin/python -m pip install -q "
    browser = [c for c, _ in commands if c.startswith(pip) and "torch" not in c]
    assert [shlex.split(c.removeprefix(pip)) for c in browser] == [extra], commands
    assert [c for c, _ in commands].index(browser[0]) < len(commands) - 1
    # chromium is there (faked here), so apt is left alone; the test may not skip; no
    # browser download: nothing runs `playwright install`, and its downloads are switched off
    assert not [c for c, _ in commands if "apt-get" in c or "playwright install" in c]
    assert {flags for _, flags in commands} == {"1 1 1 1"}


@pytest.mark.parametrize("package, missing", [("chromium", {"chromium": False}),
                                              ("postgresql", {"postgres": False}),
                                              ("bubblewrap", {"bwrap": False})],
                         ids=["chromium", "postgresql", "bubblewrap"])
@pytest.mark.parametrize("uid, sudo", [(0, ""), (1000, "sudo ")], ids=["root", "user"])
def test_ci_installs_a_missing_debian_package_first(tmp_path, package, missing, uid, sudo):
    commands = [c for c, _ in ci_commands(tmp_path, uid=uid, **missing)]
    apt = [c for c in commands if "apt-get install" in c]
    assert apt == [f"{sudo}apt-get update -q && {sudo}env DEBIAN_FRONTEND=noninteractive "
                   f"apt-get install -y -q --no-install-recommends {package}"], commands
    assert commands.index(apt[0]) < len(commands) - 1


def test_readme_commands_set_up_then_run():
    for marker, job in (("main command", "export.py"), ("test command", "pytest")):
        command = readme_command(marker)
        assert command.startswith("python3 -m venv .venv") and job in command


def test_module_tables_give_the_time_and_difficulty_each_notebook_states():
    import nbformat

    stated = {}
    for path in sorted(ROOT.glob("modules/*/*.ipynb")):
        intro = nbformat.read(path, as_version=4).cells[1].source
        found = re.search(r"Time: about ([\d.]+) h\. Difficulty: (\d) of 5", intro)
        assert found, f"{path.name}: the introduction gives no 'Time: about N h. Difficulty: D of 5'"
        stated[path.name[:2]] = found.groups()
    for readme in ("README.md", "course/student/README.md"):
        rows = dict((m[0], (m[1], m[2])) for m in re.findall(
            r"^\| (\d\d) \|.*\| about ([\d.]+) h \| (\d) of 5 \|$", (ROOT / readme).read_text(), re.M))
        assert rows == stated, f"{readme}: the module table's times and difficulties {rows} differ from the notebooks' {stated}"

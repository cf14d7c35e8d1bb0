"""Repository-level promises: dependencies agree, CI runs the README's test command."""

from __future__ import annotations

import re
import subprocess
import tomllib

from notebooks import ROOT


def normalise(requirement: str) -> str:
    name, spec = re.match(r"([A-Za-z0-9_.\-]+)\s*(.*)", requirement.strip()).groups()
    return re.sub(r"[-_.]+", "-", name).lower() + spec.replace(" ", "")


def test_environment_yml_and_pyproject_list_the_same_dependencies():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pip_side = {normalise(r) for r in project["dependencies"] + project["optional-dependencies"]["course"]}
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


def test_ci_runs_the_readme_test_command(tmp_path):
    # Run .ci/run with bash replaced by a recorder, to see the command it would execute.
    fake = tmp_path / "bash"
    fake.write_text('#!/bin/sh\nprintf "%s" "$2" > "$RECORD"\n')  # keeps the last command
    fake.chmod(0o755)
    subprocess.run(["/bin/bash", str(ROOT / ".ci" / "run")], check=True, capture_output=True,
                   env={"PATH": f"{tmp_path}:/usr/bin:/bin", "RECORD": str(tmp_path / "ran")})
    assert (tmp_path / "ran").read_text() == readme_command("test command")


def test_readme_commands_set_up_then_run():
    for marker, job in (("main command", "export.py"), ("test command", "pytest")):
        command = readme_command(marker)
        assert command.startswith("python3 -m venv .venv") and job in command

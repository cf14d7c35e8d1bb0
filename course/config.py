"""The course's nbgrader configuration, loaded as nbgrader loads it."""

from __future__ import annotations

from pathlib import Path

from traitlets.config.loader import PyFileConfigLoader

from course.notebooks import ROOT


def course_config(root: Path, **execute):
    """The repository's own nbgrader_config.py, pointed at another course root.

    Keyword arguments set options of nbgrader's Execute step (timeout=10, ...).
    """
    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    config.CourseDirectory.root = str(root)
    config.Exchange.root = str(Path(root) / "exchange")
    for name, value in execute.items():
        setattr(config.Execute, name, value)
    return config

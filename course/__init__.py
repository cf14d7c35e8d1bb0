"""The course's own tools, and the notions they share with the tests.

    course/notebooks.py   reading the module notebooks: markers, graded cells, secret lines
    course/config.py      the nbgrader configuration of a course folder
    course/release.py     the student copy of the course (a script)
    course/leaks.py       the leak check (a script)
    course/self_check.py  the per-module self-check students run (a script)

`pip install -e .` installs this folder as the `course` package beside `tinytorch` (and
export.py as the module `export`), so the scripts, nbgrader_config.py and the tests all
import the same code by name: `from course.notebooks import secret_lines`, `import export`.
"""

"""Package tests demand only what the student's instructions state.

An error check of tests/package/ may look for a word in the message (`pytest.raises(...,
match="empty")`) only if the student can know it: the word must appear in what the student
version of that module's notebook shows (its text, given code, docstrings and comments,
without the solutions and the hidden tests). Any other wording is the student's choice.
"""

from __future__ import annotations

import ast
import re

import pytest

from course.notebooks import HIDDEN, NOTEBOOKS, ROOT, SOLUTION, module_number, read

PACKAGE_TESTS = sorted((ROOT / "tests" / "package").glob("test_[0-9][0-9]_*.py"))
# Words a test may look for although the notebook does not give them, and why.
GIVEN = {
    ("test_01_tensor.py", "ambiguous"): "numpy's own message, raised by the given __bool__",
}


def student_text(notebook) -> str:
    """Everything the student version of the notebook shows, lower-cased."""
    shown = []
    for cell in read(notebook).cells:
        inside = False
        for line in cell.source.splitlines():
            if line.strip() in (SOLUTION[0], HIDDEN[0]):
                inside = True
            elif line.strip() in (SOLUTION[1], HIDDEN[1]):
                inside = False
            elif not inside:
                shown.append(line)
    return "\n".join(shown).lower()


def matched_words(path) -> list[tuple[int, str]]:
    """(line, word) for each word of a literal `match=` pattern in the file that the test
    does not itself supply elsewhere (an operation it names "frobnicate", say)."""
    found = []
    for test in ast.parse(path.read_text()).body:
        own = " ".join(ast.unparse(n) for n in ast.walk(test)
                       if isinstance(n, ast.Constant) and isinstance(n.value, str))
        for node in ast.walk(test):
            if isinstance(node, ast.Call) and ast.unparse(node.func) in ("pytest.raises", "raises"):
                for keyword in node.keywords:
                    if keyword.arg == "match" and isinstance(keyword.value, ast.Constant) \
                            and isinstance(keyword.value.value, str):
                        pattern = keyword.value.value
                        text = re.sub(r"\\.", " ", pattern)  # regex escapes: \( \d ...
                        found += [(node.lineno, w) for w in re.findall(r"[A-Za-z_]{3,}", text)
                                  if own.count(w) <= ast.unparse(keyword.value).count(w)]
    return found


@pytest.mark.parametrize("path", PACKAGE_TESTS, ids=lambda p: p.stem)
def test_error_checks_look_only_for_words_the_notebook_gives(path):
    notebook = next(n for n in NOTEBOOKS if module_number(n) == path.stem.split("_")[1])
    text = student_text(notebook)
    unknown = [f"{path.name}:{line}: {word!r}" for line, word in matched_words(path)
               if word.lower() not in text and (path.name, word) not in GIVEN]
    assert not unknown, ("error messages checked for words that the student version of "
                         f"{notebook.name} never gives: {unknown}")


def test_the_check_finds_a_phrase_the_notebook_never_gives(tmp_path):
    # The issue's own example: a package test that demanded "unsupported dtype".
    path = tmp_path / "test_01_example.py"
    path.write_text("import pytest\n\ndef test_x():\n"
                    "    with pytest.raises(TypeError, match='unsupported dtype'):\n        f()\n")
    text = student_text(next(n for n in NOTEBOOKS if module_number(n) == "01"))
    flagged = [word for _, word in matched_words(path) if word.lower() not in text]
    assert "unsupported" in flagged, flagged

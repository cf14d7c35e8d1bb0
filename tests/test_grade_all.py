"""Grading a whole class (course/grade_all.py): parallel workers on a PostgreSQL gradebook give
the grades that one worker on SQLite gives, the summary counts what happened, and --shard K/M
splits the class with no student graded twice or missed.

A synthetic class of Module 08 (bench/synthetic_class.py): the reference, the untouched release,
two planted bugs of tests/mutations/, a cell that never finishes (stopped at a 10 s limit),
and a file that is not a notebook (nbgrader refuses it). It is graded once with one worker into
SQLite, and once into a real PostgreSQL server (the `postgres` fixture) as two machines would:
shard 0/2 then shard 1/2, each with two workers.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from nbgrader.api import Gradebook

from course.grade_all import shard_of
from course.notebooks import ROOT, graded_cells, nbgrader_meta, read

sys.path.insert(0, str(ROOT / "bench"))
import synthetic_class  # noqa: E402  (bench/synthetic_class.py)

ASSIGNMENT = synthetic_class.ASSIGNMENT
KINDS = ["reference", "release", "mutation:0", "mutation:8", "hang", "broken"]
TIMEOUT = 10  # seconds per cell: every reference cell of Module 08 finishes well within it


def grade_all(root, *args) -> subprocess.CompletedProcess:
    command = [sys.executable, str(ROOT / "course" / "grade_all.py"), ASSIGNMENT,
               "--course-root", str(root), f"--Execute.timeout={TIMEOUT}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=900)


def grades(url: str) -> dict[str, dict[str, float]]:
    """student -> grade_id -> score, for every submission of the assignment in the gradebook."""
    with Gradebook(url) as gradebook:
        return {s.student.id: {g.name: g.score for n in s.notebooks for g in n.grades}
                for s in gradebook.find_assignment(ASSIGNMENT).submissions}


def reported(stderr: str) -> list[str]:
    """The students named on the progress lines (one per student: stderr is no terminal)."""
    return re.findall(r"\((\S+): (?:graded|failed|timed out), ", stderr)


def summary_counts(stdout: str) -> tuple[int, ...]:
    match = re.search(r"(\d+) graded, (\d+) failed, (\d+) timed out", stdout)
    assert match, stdout
    return tuple(int(n) for n in match.groups())


def test_shards_split_a_class_into_disjoint_parts():
    students = [f"s{i:02d}" for i in range(11)]
    for m in (1, 2, 3, 5, 11, 12):
        parts = [shard_of(students, (k, m)) for k in range(m)]
        assert sorted(s for part in parts for s in part) == students
        assert max(map(len, parts)) - min(map(len, parts)) <= 1


def test_parallel_workers_need_a_gradebook_that_takes_several_writers(tmp_path):
    done = grade_all(tmp_path, "--workers", "2")
    assert done.returncode == 2, done.stderr
    assert "SQLite" in done.stderr and "PostgreSQL" in done.stderr, done.stderr


def test_parallel_grading_on_postgres_gives_the_sequential_grades(tmp_path, postgres):
    sequential, parallel = tmp_path / "sqlite", tmp_path / "postgres"
    url = postgres.create_database("grade_all")
    synthetic_class.prepare_course(sequential)
    synthetic_class.prepare_course(parallel, url)
    students = synthetic_class.write_class(sequential, KINDS)
    assert synthetic_class.write_class(parallel, KINDS) == students
    named = dict(zip(KINDS, students))

    one = grade_all(sequential)
    assert one.returncode == 1, one.stdout + one.stderr  # the broken submission failed
    assert summary_counts(one.stdout) == (5, 1, 1), one.stdout
    assert f"failed     {named['broken']}: nbformat.reader.NotJSONError" in one.stdout, one.stdout
    assert f"timed out  {named['hang']}: 08-dataloader-loader" in one.stdout, one.stdout
    assert sorted(reported(one.stderr)) == students, one.stderr

    shards = [grade_all(parallel, "--db", url, "--workers", "2", "--shard", f"{k}/2")
              for k in range(2)]
    names = [reported(shard.stderr) for shard in shards]
    assert not set(names[0]) & set(names[1]), names  # nobody graded twice ...
    assert sorted(names[0] + names[1]) == students, names  # ... or missed
    counts = [summary_counts(shard.stdout) for shard in shards]
    assert tuple(map(sum, zip(*counts))) == (5, 1, 1), [s.stdout for s in shards]
    assert [s.returncode for s in shards] == [int(named["broken"] in n) for n in names]

    expected = grades(f"sqlite:///{sequential / 'gradebook.db'}")
    assert grades(url) == expected
    reference, release = expected[named["reference"]], expected[named["release"]]
    source = read(ROOT / "modules" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    assert reference == {nbgrader_meta(c)["grade_id"]: nbgrader_meta(c)["points"]
                         for c in graded_cells(source)}, reference  # full marks
    assert not any(release.values()), release
    for kind in ("mutation:0", "mutation:8"):
        wrong = synthetic_class.mutations()[int(kind.split(":")[1])].graded
        assert expected[named[kind]][wrong] == 0, (kind, expected[named[kind]])
    # again without --force: the graded are left as they are, the one that failed is tried again
    again = grade_all(parallel, "--db", url, "--workers", "2")
    assert again.returncode == 1 and reported(again.stderr) == [named["broken"]], again.stderr
    assert summary_counts(again.stdout) == (0, 1, 0) and "5 skipped" in again.stdout, again.stdout

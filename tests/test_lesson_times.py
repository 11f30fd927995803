"""Lesson 0, the README and each lesson's first cell agree on the path and on honest times."""

import json
import re

import pytest
from lesson_times import (
    COURSE_PATH,
    HEADER,
    NOTEBOOKS,
    ROOT,
    Estimate,
    estimate,
    round_to_five,
    stated,
)

LESSONS = {path.name[:2]: path for path in NOTEBOOKS}
TOLERANCE_MINUTES = 5


def first_cell(path) -> str:
    return "".join(json.loads(path.read_text(encoding="utf-8"))["cells"][0]["source"])


def test_the_path_holds_every_lesson_once():
    assert sorted(COURSE_PATH) == sorted(LESSONS)


def test_the_rule_counts_words_code_run_time_and_exercises():
    est = Estimate(lesson="99", words=1400, code_lines=100, run_seconds=60, exercises=3)
    assert (est.read_minutes, est.exercise_minutes, est.total_minutes) == (20, 30, 50)
    assert [round_to_five(m) for m in (0, 2.4, 2.6, 7.4, 7.6)] == [5, 5, 5, 5, 10]


@pytest.mark.parametrize("lesson", sorted(LESSONS))
def test_each_header_states_the_estimate(lesson):
    path = LESSONS[lesson]
    figures = stated(path)
    assert figures is not None, f"{path.name}: first cell lacks {HEADER.pattern!r}"
    total, read, exercises = figures
    est = estimate(path)
    assert total == read + exercises, path.name
    assert abs(read - est.read_minutes) <= TOLERANCE_MINUTES, (
        f"{path.name} says {read} min to read and run, the rule gives {est.read_minutes}: "
        "run `python tests/lesson_times.py --write`"
    )
    assert abs(exercises - est.exercise_minutes) <= TOLERANCE_MINUTES, path.name


@pytest.mark.parametrize("position", range(len(COURSE_PATH)))
def test_each_header_names_its_place_in_the_path(position):
    lesson = COURSE_PATH[position]
    text = first_cell(LESSONS[lesson])
    if position > 0:
        before = int(COURSE_PATH[position - 1])
        assert re.search(rf"Path: after lesson {before}\b", text), (
            f"lesson {lesson} should say it comes after {before}"
        )
    if position + 1 < len(COURSE_PATH):
        after = int(COURSE_PATH[position + 1])
        assert re.search(rf"next: lesson {after}\b", text), (
            f"lesson {lesson} should name lesson {after} as next"
        )


def test_readme_time_table_matches_the_headers():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = re.search(
        r"\| Lesson \|(?P<head>[^\n]+)\n\|[-| ]+\n\| Minutes \|(?P<mins>[^\n]+)", readme
    )
    assert table, "README lost its 'How long each lesson takes' table"
    heads = [h.strip() for h in table["head"].split("|") if h.strip()]
    minutes = [int(m) for m in re.findall(r"\d+", table["mins"])]
    assert heads == COURSE_PATH, "the README's table should list the lessons in path order"
    assert minutes == [stated(LESSONS[h])[0] for h in heads]


def test_lesson_zero_map_lists_the_path_with_the_same_times():
    cells = json.loads(LESSONS["00"].read_text(encoding="utf-8"))["cells"]
    text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    rows = re.findall(r"^\| (\d\d) \| \[[^\]]+\]\([^)]+\) \| (\d+) min \|", text, re.M)
    assert [lesson for lesson, _ in rows] == COURSE_PATH
    assert [int(m) for _, m in rows] == [stated(LESSONS[lesson])[0] for lesson, _ in rows]

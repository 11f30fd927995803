"""Lesson 6's checks pass the reference solutions and fail the stubs and plausible mistakes."""

from __future__ import annotations

import html

import jiter
import pytest
from check_helpers import assert_fails, assert_passes, assert_stub_fails, solution_fixture

from helpers.checks import lesson06

solution = solution_fixture("lesson06")


@pytest.mark.parametrize("number", [1, 2, 3])
def test_stubs_fail(number: int) -> None:
    assert_stub_fails(lesson06, number)


# --------------------------------------------------------------------------- exercise 1


def test_exercise_1_passes_reference(solution):
    assert_passes(lesson06.check_exercise_1(solution.row_final_at), 1)


def test_exercise_1_fails_when_a_row_counts_as_soon_as_it_appears():
    """The classic mistake: trusting the partial parse's last row."""

    def as_soon_as_seen(pieces, arrivals, row):
        text = ""
        for piece, moment in zip(pieces, arrivals, strict=True):
            text += piece
            if text.strip() and len(jiter.from_json(text.encode(), partial_mode=True)) >= row:
                return moment
        return None

    message = lesson06.check_exercise_1(as_soon_as_seen)
    assert_fails(message, 1)
    assert "row 1 is final at 0.4" in message


def test_exercise_1_fails_when_the_closing_bracket_is_ignored(solution):
    """Only 'the next row has begun' counts: the last row is never final."""

    def next_row_only(pieces, arrivals, row):
        text = ""
        for piece, moment in zip(pieces, arrivals, strict=True):
            text += piece
            if text.strip():
                rows = jiter.from_json(text.encode(), partial_mode=True)
                if len(rows) > row:
                    return moment
        return None

    assert_fails(lesson06.check_exercise_1(next_row_only), 1)


# --------------------------------------------------------------------------- exercise 2


def test_exercise_2_passes_reference(solution):
    assert_passes(lesson06.check_exercise_2(solution.row_html), 2)


def cells(row, columns, show):
    return "<tr>" + "".join(f"<td>{show(row.get(c))}</td>" for c in columns) + "</tr>"


def test_exercise_2_fails_unescaped_values():
    def raw(row, columns):  # the lesson's first table_html did this
        return cells(row, columns, lambda v: "" if v is None else str(v))

    assert_fails(lesson06.check_exercise_2(raw), 2, "<img> tag", "escape every value")


def test_exercise_2_fails_escaping_in_the_wrong_order():
    def lt_then_amp(value):  # turns the &lt; it just made into &amp;lt;
        return str(value).replace("<", "&lt;").replace("&", "&amp;")

    def wrong_order(row, columns):
        return cells(row, columns, lambda v: "" if v is None else lt_then_amp(v))

    assert_fails(lesson06.check_exercise_2(wrong_order), 2, "escaped twice")


def test_exercise_2_fails_showing_none_for_a_missing_column():
    def none_shown(row, columns):
        return cells(row, columns, lambda v: html.escape(str(v)))

    assert_fails(lesson06.check_exercise_2(none_shown), 2, "'None'")


# --------------------------------------------------------------------------- exercise 3


def test_exercise_3_passes_reference(solution):
    assert_passes(lesson06.check_exercise_3(solution.strip_code_fence), 3)


def test_exercise_3_reference_output_parses_on_every_prefix(solution):
    """What the check demands is what makes jiter usable: every stripped prefix parses."""
    doc, inner = lesson06.FENCED[0]
    for cut in range(len(doc) + 1):
        stripped = solution.strip_code_fence(doc[:cut])
        if stripped.strip():
            jiter.from_json(stripped.encode(), partial_mode=True)
    assert jiter.from_json(solution.strip_code_fence(doc).encode()) == jiter.from_json(
        inner.encode()
    )


def test_exercise_3_fails_the_naive_prefix_and_suffix_removal():
    def naive(text):
        return text.removeprefix("```json\n").removesuffix("```")

    message = lesson06.check_exercise_3(naive)
    assert_fails(message, 3)
    assert "'`'" in message  # the very first prefix that still looks like a fence


def test_exercise_3_fails_identity():
    assert_fails(lesson06.check_exercise_3(lambda text: text), 3)


def test_exercise_3_fails_a_solution_that_waits_for_the_end(solution):
    """Returning nothing until the answer is complete is not streaming."""

    def waits(text):
        return solution.strip_code_fence(text) if text.rstrip().endswith("```") else ""

    message = lesson06.check_exercise_3(waits)
    assert_fails(message, 3)
    assert "arrived" in message

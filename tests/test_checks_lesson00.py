"""Lesson 0's checks pass the reference solutions and fail the stubs and plausible mistakes."""

from __future__ import annotations

import pytest
from check_helpers import assert_fails, assert_passes, assert_stub_fails, solution_fixture

from helpers.checks import lesson00

solution = solution_fixture("lesson00")


@pytest.mark.parametrize("number", [1, 2])
def test_stubs_fail(number: int) -> None:
    assert_stub_fails(lesson00, number)


def test_exercise_1_passes_reference(solution):
    assert_passes(lesson00.check_exercise_1(solution.visible_text_at), 1)


def test_exercise_1_fails_when_the_boundary_is_exclusive():
    def exclusive(arrivals, moment):
        return "".join(text for arrived, text in arrivals if arrived < moment)

    message = lesson00.check_exercise_1(exclusive)
    assert_fails(message, 1)
    assert "0.31 s" in message


def test_exercise_1_fails_when_showing_everything():
    def everything(arrivals, moment):
        return "".join(text for _, text in arrivals)

    assert_fails(lesson00.check_exercise_1(everything), 1)


def test_exercise_2_passes_reference(solution):
    assert_passes(lesson00.check_exercise_2(solution.first_line_at), 2)


def test_exercise_2_fails_when_only_a_lone_newline_piece_counts():
    def lone_newline(arrivals):  # misses "rain,\none": the newline inside a piece
        text = ""
        for arrived, piece in arrivals:
            if piece == "\n":
                return arrived, text
            text += piece
        return (arrivals[-1][0], text) if arrivals else None

    assert_fails(lesson00.check_exercise_2(lone_newline), 2, "0.32", "newline arrives")


def test_exercise_2_fails_when_the_line_keeps_its_newline_and_what_follows():
    def whole_piece(arrivals):
        text = ""
        for arrived, piece in arrivals:
            text += piece
            if "\n" in piece:
                return arrived, text
        return (arrivals[-1][0], text) if arrivals else None

    assert_fails(lesson00.check_exercise_2(whole_piece), 2, "stops before its newline")


def test_exercise_2_fails_when_the_first_arrival_is_taken_for_the_first_line():
    def first_piece(arrivals):
        return (arrivals[0][0], arrivals[0][1]) if arrivals else None

    assert_fails(lesson00.check_exercise_2(first_piece), 2, "expected (0.35, 'Words arrive')")


def test_exercise_2_fails_when_a_stream_without_newline_has_no_line():
    def needs_newline(arrivals):
        text = ""
        for arrived, piece in arrivals:
            text += piece
            if "\n" in text:
                return arrived, text.split("\n", 1)[0]
        return None

    assert_fails(lesson00.check_exercise_2(needs_newline), 2, "One line only.")


def test_exercise_1_passes_an_answer_that_stops_at_the_first_later_piece():
    """Arrivals come in time order, so a loop may stop at the first piece after `moment`."""

    def until_later(arrivals, moment):
        shown = []
        for arrived, text in arrivals:
            if arrived > moment:
                break
            shown.append(text)
        return "".join(shown)

    assert_passes(lesson00.check_exercise_1(until_later), 1)


def test_exercise_2_passes_an_answer_that_searches_the_joined_text():
    """Another right way: join as you go and look for the first newline with str.find."""

    def by_find(arrivals):
        text = ""
        for arrived, piece in arrivals:
            text += piece
            cut = text.find("\n")
            if cut >= 0:
                return arrived, text[:cut]
        if not arrivals:
            return None
        return arrivals[-1][0], text

    assert_passes(lesson00.check_exercise_2(by_find), 2)

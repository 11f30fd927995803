"""Lesson 5's checks pass the reference solutions and fail the stubs and plausible mistakes."""

from __future__ import annotations

import statistics

import pytest
from check_helpers import assert_fails, assert_passes, assert_stub_fails, solution_fixture

from helpers.checks import lesson05

solution = solution_fixture("lesson05")


@pytest.mark.parametrize("number", [1, 2, 3])
def test_stubs_fail(number: int) -> None:
    assert_stub_fails(lesson05, number)


def test_exercise_1(solution):
    assert_passes(lesson05.check_exercise_1(solution.reader_done), 1)


def test_exercise_1_names_reading_before_arrival_and_starting_at_the_end():
    def no_waiting(timing, speed):  # reads on from the first piece as if all text were there
        return timing.arrivals[0] + sum(map(len, timing.pieces)) / speed

    def starts_at_end(timing, speed):  # treats the stream like a blocking answer
        return timing.total + sum(map(len, timing.pieces)) / speed

    assert_fails(lesson05.check_exercise_1(no_waiting), 1, "expected 2.4", "before it arrives")
    assert_fails(lesson05.check_exercise_1(starts_at_end), 1, "expected 1.3", "first piece")


def test_exercise_2(solution):
    assert_passes(lesson05.check_exercise_2(solution.gap_is_noise), 2)


def test_exercise_2_rejects_one_run_each_and_one_sided_spread():
    def first_runs(blocking_totals, streamed_totals):  # one lucky pair decides
        return abs(blocking_totals[0] - streamed_totals[0]) < 0.1

    def blocking_spread_only(blocking_totals, streamed_totals):
        gap = abs(statistics.median(blocking_totals) - statistics.median(streamed_totals))
        return gap <= max(blocking_totals) - min(blocking_totals)

    assert_fails(lesson05.check_exercise_2(first_runs), 2, "expected True", "blocking runs alone")
    assert_fails(lesson05.check_exercise_2(blocking_spread_only), 2, "streamed runs alone")


def test_exercise_3(solution):
    assert_passes(lesson05.check_exercise_3(solution.time_to_chars), 3)


def test_exercise_3_rejects_counting_pieces_and_off_by_one():
    def pieces_not_chars(timing, n):
        return timing.arrivals[n - 1] if n <= len(timing.arrivals) else None

    def strictly_more(timing, n):
        visible = 0
        for piece, arrival in zip(timing.pieces, timing.arrivals, strict=True):
            visible += len(piece)
            if visible > n:
                return arrival
        return None

    assert_fails(lesson05.check_exercise_3(pieces_not_chars), 3, "count characters")
    assert_fails(lesson05.check_exercise_3(strictly_more), 3, "for n=6 expected 0.4")

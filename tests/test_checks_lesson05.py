"""Lesson 5's checks pass the reference solutions and fail the stubs and plausible mistakes."""

from __future__ import annotations

import pytest
from check_helpers import assert_fails, assert_passes, assert_stub_fails, solution_fixture

from helpers.checks import lesson05

solution = solution_fixture("lesson05")


@pytest.mark.parametrize("number", [1, 2, 3])
def test_stubs_fail(number: int) -> None:
    assert_stub_fails(lesson05, number)


def test_exercise_1(solution):
    assert_passes(lesson05.check_exercise_1(solution.perceived_saving), 1)


def test_exercise_1_rejects_comparing_totals():
    def totals(blocking, streamed):  # "streaming is not faster": true, but not the question
        return blocking.total - streamed.total

    assert_fails(lesson05.check_exercise_1(totals), 1, "expected 1.7")


def test_exercise_1_accepts_blocking_ttft_because_it_is_the_total():
    def first_tokens(blocking, streamed):  # a blocking answer's first text *is* its end
        return blocking.ttft - streamed.ttft

    assert_passes(lesson05.check_exercise_1(first_tokens), 1)


def test_exercise_2(solution):
    assert_passes(lesson05.check_exercise_2(solution.streaming_wins), 2)


def test_exercise_2_rejects_ties_as_wins_and_total_vs_total():
    def ties_count(blocking_runs, streamed_runs):
        pairs = list(zip(blocking_runs, streamed_runs, strict=True))
        return sum(1 for b, s in pairs if s.ttft <= b.total), len(pairs)

    def totals(blocking_runs, streamed_runs):
        pairs = list(zip(blocking_runs, streamed_runs, strict=True))
        return sum(1 for b, s in pairs if s.total < b.total), len(pairs)

    assert_fails(lesson05.check_exercise_2(ties_count), 2, "got (3, 4)")
    assert_fails(lesson05.check_exercise_2(totals), 2, "expected (2, 4)")


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

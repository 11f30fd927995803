"""Lesson 5's checks pass the reference solutions and fail the stubs and plausible mistakes."""

from __future__ import annotations

import statistics
from itertools import pairwise

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


def test_exercise_1_rejects_two_bounds_instead_of_a_piece_by_piece_reader():
    """The later of "read everything from the first piece on" and "read the last piece when it
    came" is right for one or two pieces, wrong when the reader still has a backlog at the end."""

    def two_bounds(timing, speed):
        everything = timing.arrivals[0] + len(timing.text) / speed
        last_piece = timing.arrivals[-1] + len(timing.pieces[-1]) / speed
        return max(everything, last_piece)

    assert_fails(lesson05.check_exercise_1(two_bounds), 1, "expected 2.8, got 2.5",
                 "go piece by piece")


def test_exercise_1_accepts_a_reader_simulated_character_by_character():
    def by_character(timing, speed):
        clock = 0.0
        for piece, arrival in zip(timing.pieces, timing.arrivals, strict=True):
            for _char in piece:
                clock = max(clock, arrival) + 1 / speed
        return clock

    message = lesson05.check_exercise_1(by_character)
    assert_passes(message, 1)


def test_exercise_2(solution):
    assert_passes(lesson05.check_exercise_2(solution.stalls), 2)


def test_exercise_2_accepts_the_interpolated_median_and_lists():
    def with_statistics_median(timing, factor=4.0):
        gaps = timing.gaps
        if len(gaps) < 2:
            return []
        limit = factor * statistics.median(gaps)
        stops = timing.arrivals[:-1]
        return [[stop, gap] for stop, gap in zip(stops, gaps, strict=True) if gap > limit]

    assert_passes(lesson05.check_exercise_2(with_statistics_median), 2)


def test_exercise_2_rejects_the_ttft_as_a_gap_the_mean_and_the_end_moment():
    def ttft_counts(timing, factor=4.0):  # measures gaps from the request, not between pieces
        moments = [0.0, *timing.arrivals]
        gaps = [b - a for a, b in pairwise(moments)]
        limit = factor * statistics.median(gaps)
        return [(a, g) for a, g in zip(moments, gaps, strict=False) if g > limit]

    def mean_gap(timing, factor=4.0):
        gaps = timing.gaps
        if not gaps:
            return []
        limit = factor * statistics.mean(gaps)
        return [(a, g) for a, g in zip(timing.arrivals, gaps, strict=False) if g > limit]

    def resumed_at(timing, factor=4.0):  # the moment the text started again
        gaps = timing.gaps
        if not gaps:
            return []
        limit = factor * statistics.median(gaps)
        return [(a, g) for a, g in zip(timing.arrivals[1:], gaps, strict=True) if g > limit]

    def fixed_factor(timing, factor=4.0):  # ignores the factor it was given
        gaps = timing.gaps
        if not gaps:
            return []
        limit = 4 * statistics.median(gaps)
        return [(a, g) for a, g in zip(timing.arrivals, gaps, strict=False) if g > limit]

    assert_fails(lesson05.check_exercise_2(ttft_counts), 2, "TTFT, not a gap")
    assert_fails(lesson05.check_exercise_2(mean_gap), 2, "two stalls", "stalls pull a mean up")
    assert_fails(lesson05.check_exercise_2(resumed_at), 2, "the piece before the gap")
    assert_fails(lesson05.check_exercise_2(fixed_factor), 2, "factor=40")


def test_exercise_3(solution):
    assert_passes(lesson05.check_exercise_3(solution.waiting_time), 3)


def test_exercise_3_accepts_reader_done_minus_the_reading(solution):
    def from_exercise_1(timing, speed):  # the reader is always either reading or waiting
        return solution.reader_done(timing, speed) - len(timing.text) / speed

    assert_passes(lesson05.check_exercise_3(from_exercise_1), 3)


def test_exercise_3_rejects_the_arrivals_alone_and_a_reader_without_backlog():
    def last_arrival(timing, speed):  # every gap counts, as if nobody were reading
        return timing.arrivals[-1]

    def ttft_only(timing, speed):
        return timing.arrivals[0]

    def no_backlog(timing, speed):  # compares each gap with the previous piece only
        waited = timing.arrivals[0]
        for piece, earlier, later in zip(
            timing.pieces, timing.arrivals, timing.arrivals[1:], strict=False
        ):
            waited += max(0.0, (later - earlier) - len(piece) / speed)
        return waited

    assert_fails(lesson05.check_exercise_3(last_arrival), 3, "fast text", "is no wait")
    assert_fails(lesson05.check_exercise_3(ttft_only), 3, "slow text", "catch up")
    assert_fails(lesson05.check_exercise_3(no_backlog), 3, "a stall hidden by reading")

"""Lesson 8's checks pass the reference solutions and fail the stubs and plausible mistakes."""

from __future__ import annotations

import pytest
from check_helpers import assert_fails, assert_passes, assert_stub_fails, solution_fixture

from helpers.checks import lesson08

solution = solution_fixture("lesson08")


@pytest.mark.parametrize("number", [1, 2, 3])
def test_stubs_fail(number: int) -> None:
    assert_stub_fails(lesson08, number)


def test_exercise_1_passes_reference(solution) -> None:
    assert_passes(lesson08.check_exercise_1(solution.count_lost_and_duplicated), 1)


def test_exercise_1_fails_length_based_audit() -> None:
    def by_length(numbers):  # plausible: "expected max+1 events, got len(numbers)"
        return (max(numbers, default=-1) + 1 - len(numbers), 0)

    assert_fails(lesson08.check_exercise_1(by_length), 1, "expected (lost, duplicated)")


def test_exercise_1_fails_when_counting_distinct_repeats_once() -> None:
    def distinct_repeats(numbers):
        lost = (max(numbers) - min(numbers) + 1 - len(set(numbers))) if numbers else 0
        return lost, len({n for n in numbers if numbers.count(n) > 1})

    assert_fails(lesson08.check_exercise_1(distinct_repeats), 1, "[0, 1, 4, 2, 2, 2]")


def test_exercise_2_passes_reference(solution) -> None:
    assert_passes(lesson08.check_exercise_2(solution.backoff_delays), 2)


def test_exercise_2_fails_without_jitter() -> None:
    def no_jitter(attempts, base, cap, rng):
        return [min(cap, base * 2**n) for n in range(attempts)]

    assert_fails(lesson08.check_exercise_2(no_jitter), 2, "no jitter", "same moment")


def test_exercise_2_fails_without_a_cap() -> None:
    def no_cap(attempts, base, cap, rng):
        return [rng.uniform(0, base * 2**n) for n in range(attempts)]

    assert_fails(lesson08.check_exercise_2(no_cap), 2, "exceed the cap")


def test_exercise_2_fails_equal_jitter() -> None:
    def equal_jitter(attempts, base, cap, rng):  # half fixed, half random: not "full" jitter
        bounds = [min(cap, base * 2**n) for n in range(attempts)]
        return [b / 2 + rng.uniform(0, b / 2) for b in bounds]

    assert_fails(lesson08.check_exercise_2(equal_jitter), 2, "expected [0.125, 0.25")


def test_exercise_2_fails_ignoring_the_rng() -> None:
    import random

    def own_random(attempts, base, cap, rng):
        return [random.uniform(0, min(cap, base * 2**n)) for n in range(attempts)]

    assert_fails(lesson08.check_exercise_2(own_random), 2, "the rng you are given")


def test_exercise_3_passes_reference(solution) -> None:
    assert_passes(lesson08.check_exercise_3(solution.ids_to_replay), 3)


def test_exercise_3_fails_when_replaying_the_last_seen_event_again() -> None:
    def inclusive(ids, last):
        return ids[ids.index(last):] if last else list(ids)

    assert_fails(lesson08.check_exercise_3(inclusive), 3, "Last-Event-ID '2'")


def test_exercise_3_fails_when_an_unknown_id_replays_everything() -> None:
    def everything_if_unknown(ids, last):
        return ids[ids.index(last) + 1:] if last in ids else list(ids)

    assert_fails(lesson08.check_exercise_3(everything_if_unknown), 3, "must raise LookupError")


def test_exercise_3_fails_when_the_error_does_not_name_the_id() -> None:
    def vague(ids, last):
        if last and last not in ids:
            raise KeyError("unknown")
        return ids[ids.index(last) + 1:] if last else list(ids)

    assert_fails(lesson08.check_exercise_3(vague), 3, "should name it")

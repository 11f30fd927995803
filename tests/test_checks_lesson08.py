"""Lesson 8's checks pass the reference solutions and fail the stubs and plausible mistakes."""

from __future__ import annotations

import random

import pytest
from check_helpers import assert_fails, assert_passes, assert_stub_fails, solution_fixture

from helpers.checks import lesson08
from helpers.resume import FINAL_EVENT_TYPES, gaps_and_repeats

solution = solution_fixture("lesson08")


@pytest.mark.parametrize("number", [1, 2, 3])
def test_stubs_fail(number: int) -> None:
    assert_stub_fails(lesson08, number)


# --------------------------------------------------------------------------- exercise 1


def test_exercise_1_passes_reference(solution) -> None:
    assert_passes(lesson08.check_exercise_1(solution.audit), 1)


def test_exercise_1_passes_an_answer_that_sorts_and_walks() -> None:
    def walk(events):
        numbers = sorted({e["sequence_number"] for e in events})
        missing, expected = [], 0
        for number in numbers:
            missing += range(expected, number)
            expected = number + 1
        ended = any(e["type"] in FINAL_EVENT_TYPES for e in events)
        return missing, not ended

    assert_passes(lesson08.check_exercise_1(walk), 1)


def test_exercise_1_fails_the_imported_gap_counter() -> None:
    """gaps_and_repeats (section 2) sees no loss in a stream cut before its final event."""

    def by_numbers(events):
        numbers = [e["sequence_number"] for e in events]
        lost, _ = gaps_and_repeats(numbers)
        low = min(numbers, default=0)
        return [n for n in range(low, max(numbers, default=-1) + 1) if n not in numbers], lost > 0

    assert_fails(lesson08.check_exercise_1(by_numbers), 1, "no final event")


def test_exercise_1_fails_counting_from_the_smallest_number_received(solution) -> None:
    def from_smallest(events):
        numbers = {e["sequence_number"] for e in events}
        missing = [n for n in range(min(numbers, default=0), max(numbers, default=-1) + 1)
                   if n not in numbers]
        return missing, solution.audit(events)[1]

    assert_fails(lesson08.check_exercise_1(from_smallest), 1, "starts at 0")


def test_exercise_1_fails_reading_the_end_from_the_last_arrival(solution) -> None:
    def last_arrival(events):
        ended = bool(events) and events[-1]["type"] in FINAL_EVENT_TYPES
        return solution.audit(events)[0], not ended

    assert_fails(lesson08.check_exercise_1(last_arrival), 1, "need not be in order")


def test_exercise_1_fails_when_only_completed_counts_as_an_end(solution) -> None:
    def completed_only(events):
        ended = any(e["type"] == "response.completed" for e in events)
        return solution.audit(events)[0], not ended

    assert_fails(lesson08.check_exercise_1(completed_only), 1, "response.failed")


# --------------------------------------------------------------------------- exercise 2


def test_exercise_2_passes_reference(solution) -> None:
    assert_passes(lesson08.check_exercise_2(solution.reconnect_delays), 2)


def test_exercise_2_passes_a_bound_that_halves_down_from_the_cap() -> None:
    """Another right answer: keep the bound itself, double it on failure, reset on progress."""

    def kept_bound(delivered, base, cap, rng):
        delays, bound = [], base
        for events in delivered:
            bound = base if events else min(cap, bound * 2)
            delays.append(rng.uniform(0, bound))
        return delays

    assert_passes(lesson08.check_exercise_2(kept_bound), 2)


def test_exercise_2_fails_a_backoff_that_never_starts_again() -> None:
    def by_attempt(delivered, base, cap, rng):  # lesson 8's section 4 recipe, by attempt number
        return [rng.uniform(0, min(cap, base * 2**n)) for n in range(len(delivered))]

    assert_fails(lesson08.check_exercise_2(by_attempt), 2, "expected")


def test_exercise_2_fails_one_doubling_too_few() -> None:
    def late(delivered, base, cap, rng):
        delays, failures = [], 0
        for events in delivered:
            bound = min(cap, base * 2 ** max(failures, 0))
            failures = failures + 1 if events == 0 else 0
            delays.append(rng.uniform(0, bound))
        return delays

    assert_fails(lesson08.check_exercise_2(late), 2, "[0, 0, 0, 0, 0, 0]")


def test_exercise_2_fails_without_jitter(solution) -> None:
    class Upper:
        def uniform(self, a, b):
            return b

    def no_jitter(delivered, base, cap, rng):
        return solution.reconnect_delays(delivered, base, cap, Upper())

    assert_fails(lesson08.check_exercise_2(no_jitter), 2, "no jitter")


def test_exercise_2_fails_without_a_cap() -> None:
    def no_cap(delivered, base, cap, rng):
        delays, failures = [], 0
        for events in delivered:
            failures = failures + 1 if events == 0 else 0
            delays.append(rng.uniform(0, base * 2**failures))
        return delays

    assert_fails(lesson08.check_exercise_2(no_cap), 2, "exceed the cap")


def test_exercise_2_fails_ignoring_the_rng(solution) -> None:
    def own_random(delivered, base, cap, rng):
        return solution.reconnect_delays(delivered, base, cap, random.Random())

    assert_fails(lesson08.check_exercise_2(own_random), 2, "the rng you are given")


# --------------------------------------------------------------------------- exercise 3


def test_exercise_3_passes_reference(solution) -> None:
    assert_passes(lesson08.check_exercise_3(solution.resume_plan), 3)


def test_exercise_3_passes_an_answer_written_from_the_other_end() -> None:
    def by_cases(stored, finished, after):
        if after is None:
            return 0
        if after < 0 or (finished and after > len(stored) - 1):
            return "error"
        return "204" if finished and after == len(stored) - 1 else after + 1

    assert_passes(lesson08.check_exercise_3(by_cases), 3)


def test_exercise_3_fails_refusing_an_event_this_copy_has_not_seen_yet(solution) -> None:
    """ReplayBuffer's rule (an unknown id is an error) is wrong for a copy that lags."""

    def unknown_is_error(stored, finished, after):
        if after is not None and after >= 0 and after not in stored:
            return "error"
        return solution.resume_plan(stored, finished, after)

    assert_fails(lesson08.check_exercise_3(unknown_is_error), 3, "this copy lags")


def test_exercise_3_fails_204_for_a_live_stream(solution) -> None:
    def caught_up_means_done(stored, finished, after):
        if after is not None and after == stored[-1]:
            return "204"
        return solution.resume_plan(stored, finished, after)

    assert_fails(lesson08.check_exercise_3(caught_up_means_done), 3, "still being generated")


def test_exercise_3_fails_replaying_the_event_the_client_has(solution) -> None:
    def inclusive(stored, finished, after):
        plan = solution.resume_plan(stored, finished, after)
        return plan - 1 if isinstance(plan, int) and after is not None else plan

    assert_fails(lesson08.check_exercise_3(inclusive), 3, "expected 11")


def test_exercise_3_fails_an_end_past_the_final_event(solution) -> None:
    def never_error(stored, finished, after):
        plan = solution.resume_plan(stored, finished, after)
        return after + 1 if plan == "error" and after > 0 else plan

    assert_fails(lesson08.check_exercise_3(never_error), 3, "never existed")

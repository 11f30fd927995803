"""Lesson 9's checks pass the reference solutions and fail the stubs and plausible mistakes."""

from __future__ import annotations

import pytest
from check_helpers import assert_fails, assert_passes, assert_stub_fails, solution_fixture

from helpers.checks import lesson09

solution = solution_fixture("lesson09")


@pytest.mark.parametrize("number", [1, 2, 3])
def test_stubs_fail(number: int) -> None:
    assert_stub_fails(lesson09, number)


def test_reference_solutions_pass(solution) -> None:
    assert_passes(lesson09.check_exercise_1(solution.steer_outcome), 1)
    assert_passes(lesson09.check_exercise_2(solution.tokens_after_stop), 2)
    assert_passes(lesson09.check_exercise_3(solution.finish_sentence), 3)


def _first_of(events, rules, default="waiting"):
    """The outcome of the first rule whose event type occurs in `events`."""
    kinds = [e["type"] for e in events]
    return next((outcome for kind, outcome in rules if kind in kinds), default)


ACCEPTED_COMMITS = [("response.steer.failed", "failed"), ("response.steer.pending", "pending"),
                    ("response.steer.accepted", "committed")]
ANY_CREATED_COMMITS = [("response.steer.failed", "failed"), ("response.created", "committed"),
                       ("response.steer.pending", "pending")]


STEERED_END_COMMITS = [("response.steer.failed", "failed"), ("response.incomplete", "committed"),
                       ("response.steer.pending", "pending")]


def ignores_failed(events):  # reads only what follows `accepted`, so misses a late failure
    kinds = [e["type"] for e in events]
    if "response.steer.accepted" not in kinds:
        return "waiting"
    after = events[kinds.index("response.steer.accepted"):]
    rules = [("response.created", "committed"), ("response.steer.pending", "pending")]
    return _first_of(after, rules)


@pytest.mark.parametrize(
    ("wrong", "named"),
    [
        (lambda events: _first_of(events, ACCEPTED_COMMITS), "accepted is not the commit point"),
        (lambda events: _first_of(events, ANY_CREATED_COMMITS), "running response's own"),
        (ignores_failed, "send it as a new request"),
        (lambda events: _first_of(events, STEERED_END_COMMITS), "only the successor's"),
    ],
    ids=["accepted-as-commit", "any-created", "ignores-failed", "steered-end-as-commit"],
)
def test_exercise_1_names_each_misreading(wrong, named) -> None:
    assert_fails(lesson09.check_exercise_1(wrong), 1, named)


def test_exercise_1_passes_an_answer_that_reads_from_the_end() -> None:
    """Another right answer: failed anywhere wins; else look for a response.created after the
    first accepted or pending, then for a pending."""

    def from_the_end(events):
        kinds = [e["type"] for e in events]
        if "response.steer.failed" in kinds:
            return "failed"
        answers = [i for i, k in enumerate(kinds) if k.startswith("response.steer.")]
        if not answers:
            return "waiting"
        if "response.created" in kinds[answers[0]:]:
            return "committed"
        return "pending" if "response.steer.pending" in kinds else "waiting"

    assert_passes(lesson09.check_exercise_1(from_the_end), 1)


def test_exercise_2_passes_a_step_by_step_simulation() -> None:
    """Another right answer: send tokens one gap apart and count those sent before the stop."""

    def simulate(way, one_way, rate, handshakes):
        if way == "hang up":
            return 0
        waits = 1 + (handshakes if way == "cancel" else 0)
        window = waits * 2 * one_way  # from the first token in flight to the stop's arrival
        count, sent_at = 0, 1 / rate
        while sent_at <= window:
            count, sent_at = count + 1, sent_at + 1 / rate
        return count

    assert_passes(lesson09.check_exercise_2(simulate), 2)


def test_exercise_2_rejects_forgetting_the_tokens_already_in_flight() -> None:
    def one_way_only(way, one_way, rate, handshakes):
        if way == "hang up":
            return 0
        return int(rate * one_way * (1 + (2 * handshakes if way == "cancel" else 0)))

    assert_fails(lesson09.check_exercise_2(one_way_only), 2, "already on their way")


def test_exercise_2_rejects_a_cancel_without_the_handshake() -> None:
    def no_handshake(way, one_way, rate, handshakes):
        return 0 if way == "hang up" else int(rate * 2 * one_way)

    assert_fails(lesson09.check_exercise_2(no_handshake), 2, "TCP's handshake")


def test_exercise_2_rejects_rounding_to_the_nearest() -> None:
    def nearest(way, one_way, rate, handshakes):
        if way == "hang up":
            return 0
        return round(rate * 2 * one_way * (1 + (handshakes if way == "cancel" else 0)))

    assert_fails(lesson09.check_exercise_2(nearest), 2, "expected")


def test_exercise_2_rejects_a_hang_up_that_counts_like_a_steer(solution) -> None:
    def hang_up_like_steer(way, one_way, rate, handshakes):
        way = "steer" if way == "hang up" else way
        return solution.tokens_after_stop(way, one_way, rate, handshakes)

    assert_fails(lesson09.check_exercise_2(hang_up_like_steer), 2, "stops showing at once")


def test_exercise_2_reports_a_crash_without_raising() -> None:
    def crashes(way, one_way, rate, handshakes):
        return [][0]

    assert_fails(lesson09.check_exercise_2(crashes), 2, "IndexError")


def test_exercise_3_rejects_stopping_at_any_full_stop() -> None:
    def first_full_stop(shown, remaining):
        for index, token in enumerate(remaining):
            if token.rstrip().endswith((".", "!", "?")) or "\n" in token:
                return remaining[: index + 1]
        return remaining

    assert_fails(lesson09.check_exercise_3(first_full_stop), 3, "expected")


def test_exercise_3_rejects_ignoring_a_sentence_that_just_ended(solution) -> None:
    def always_finish(shown, remaining):
        return solution.finish_sentence([], remaining) if remaining else []

    assert_fails(lesson09.check_exercise_3(always_finish), 3, "expected ''")


def test_exercise_3_passes_an_answer_that_reads_the_text() -> None:
    """Another right answer: find the sentence end in the joined text, then count whole tokens."""
    import re

    def by_text(shown, remaining):
        ends = re.compile(r"[.!?](?= |$)|\n")
        after = "".join(remaining)
        ended = bool(re.search(r"[.!?] *$", shown[-1])) if shown else False
        if shown and ("\n" in shown[-1] or (ended and (not after or after[0].isspace()))):
            return []
        found = ends.search(after)
        if found is None:
            return list(remaining)
        taken, length = [], 0
        for token in remaining:
            taken.append(token)
            length += len(token)
            if length > found.start():
                return taken
        return taken

    assert_passes(lesson09.check_exercise_3(by_text), 3)

"""Lesson 10's checks pass the reference solutions and fail the stubs and plausible mistakes."""

from __future__ import annotations

import json

import pytest
from check_helpers import assert_fails, assert_passes, assert_stub_fails, solution_fixture

from helpers.checks import lesson10

solution = solution_fixture("lesson10")


@pytest.mark.parametrize("number", [1, 2])
def test_stubs_fail(number: int) -> None:
    assert_stub_fails(lesson10, number)


def test_reference_solutions_pass(solution) -> None:
    assert_passes(lesson10.check_exercise_1(solution.text_deltas), 1)
    assert_passes(lesson10.check_exercise_2(solution.unify), 2)


def test_exercise_1_rejects_parsing_done_as_json() -> None:
    def every_frame_is_json(dialect, events):
        for event in events:
            payload = json.loads(event.data)  # Chat's last frame is `[DONE]`, not JSON
            if payload.get("type") == "response.output_text.delta":
                yield payload["delta"]

    assert_fails(lesson10.check_exercise_1(every_frame_is_json), 1, "expected")


def test_exercise_1_rejects_a_quiet_end_on_an_error_frame(solution) -> None:
    def ignores_errors(dialect, events):
        quiet = [e for e in events if e.event != "error" and "error" not in e.data]
        yield from solution.text_deltas(dialect, quiet)

    assert_fails(lesson10.check_exercise_1(ignores_errors), 1, "nothing raised")


def test_exercise_2_rejects_usage_from_message_start_only(solution) -> None:
    def first_usage_wins(dialect, events):
        for kind, value in solution.unify(dialect, events):
            if kind == "usage" and dialect == "messages":
                value = {"input_tokens": 4, "output_tokens": 1}  # message_start's count
            yield kind, value

    assert_fails(lesson10.check_exercise_2(first_usage_wins), 2, "messages")


def test_exercise_2_rejects_chat_usage_names_left_as_they_are(solution) -> None:
    def raw_names(dialect, events):
        for kind, value in solution.unify(dialect, events):
            if kind == "usage" and dialect == "chat":
                value = {"prompt_tokens": value["input_tokens"], "completion_tokens": 1}
            yield kind, value

    assert_fails(lesson10.check_exercise_2(raw_names), 2, "chat")

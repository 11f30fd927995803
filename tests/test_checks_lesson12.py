"""Lesson 12's checks pass the reference solutions and fail the stubs and plausible mistakes."""

from __future__ import annotations

from typing import Any

import jiter
import pytest
from check_helpers import assert_fails, assert_passes, assert_stub_fails, solution_fixture

from helpers.checks import lesson12

solution = solution_fixture("lesson12")


@pytest.mark.parametrize("number", [1, 2])
def test_stubs_fail(number: int) -> None:
    assert_stub_fails(lesson12, number)


def test_reference_solutions_pass(solution) -> None:
    assert_passes(lesson12.check_exercise_1(solution.accumulate_tool_calls), 1)
    assert_passes(lesson12.check_exercise_2(solution.final_fields), 2)


def test_exercise_1_rejects_joining_by_arrival_order() -> None:
    def by_arrival(chunks: list[dict[str, Any]]) -> list[dict[str, str]]:
        calls: list[dict[str, str]] = []
        for chunk in chunks:
            for piece in chunk["choices"][0]["delta"].get("tool_calls") or []:
                if piece.get("id"):  # a new call: assume the pieces that follow are its own
                    calls.append({"id": piece["id"], "name": piece["function"]["name"],
                                  "arguments": ""})
                calls[-1]["arguments"] += piece["function"]["arguments"]
        return calls

    assert_fails(lesson12.check_exercise_1(by_arrival), 1, "[0, 1, 0, 1, 1, 0]")


def test_exercise_1_rejects_a_name_taken_from_every_piece(solution) -> None:
    def last_name_wins(chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
        calls = solution.accumulate_tool_calls(chunks)
        return [{**c, "name": None} for c in calls]  # later pieces carry no name

    assert_fails(lesson12.check_exercise_1(last_name_wins), 1, "expected")


def test_exercise_2_rejects_showing_every_parsed_field() -> None:
    def everything(buffer: str, done: bool) -> dict[str, Any]:
        return jiter.from_json(buffer.encode(), partial_mode="trailing-strings") if buffer else {}

    assert_fails(lesson12.check_exercise_2(everything), 2, "'name': ''")


def test_exercise_2_rejects_waiting_for_the_end(solution) -> None:
    def only_at_the_end(buffer: str, done: bool) -> dict[str, Any]:
        return solution.final_fields(buffer, done) if done else {}

    assert_fails(lesson12.check_exercise_2(only_at_the_end), 2, "'name': 'Ada, Countess'")

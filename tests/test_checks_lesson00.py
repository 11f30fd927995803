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
    assert_passes(lesson00.check_exercise_2(solution.which_backend), 2)


def test_exercise_2_fails_when_the_key_is_checked_before_the_base_url():
    def key_first(env):
        if env.get("KIT_BACKEND"):
            return env["KIT_BACKEND"]
        if env.get("OPENAI_API_KEY"):
            return "openai"
        return "compatible" if env.get("OPENAI_BASE_URL") else "local"

    message = lesson00.check_exercise_2(key_first)
    assert_fails(message, 2)
    assert "11434" in message


def test_exercise_2_fails_when_kit_backend_is_ignored():
    def ignores_override(env):
        if env.get("OPENAI_BASE_URL"):
            return "compatible"
        return "openai" if env.get("OPENAI_API_KEY") else "local"

    assert_fails(lesson00.check_exercise_2(ignores_override), 2)


def test_exercise_2_fails_when_an_empty_key_counts():
    def empty_counts(env):
        if env.get("KIT_BACKEND"):
            return env["KIT_BACKEND"]
        if env.get("OPENAI_BASE_URL"):
            return "compatible"
        return "openai" if "OPENAI_API_KEY" in env else "local"

    message = lesson00.check_exercise_2(empty_counts)
    assert_fails(message, 2)
    assert "''" in message

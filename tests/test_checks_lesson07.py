"""Lesson 7's checks pass the reference solutions and fail the stubs and plausible mistakes."""

from __future__ import annotations

import re

import pytest
from check_helpers import assert_fails, assert_passes, assert_stub_fails, solution_fixture, stub

from helpers.checks import lesson07
from helpers.guardrails import HoldBack, StreamGuard, Violation

solution = solution_fixture("lesson07")


class StubGuard(StreamGuard):
    """The notebook's stub for exercise 3."""

    def check_upto(self, final):
        raise NotImplementedError  # your code here

    def release_upto(self, final):
        raise NotImplementedError  # your code here


@pytest.mark.parametrize(
    ("number", "learner"), [(1, stub), (2, stub), (3, StubGuard)], ids=["1", "2", "3"]
)
def test_stubs_fail(number: int, learner) -> None:
    assert_stub_fails(lesson07, number, learner)


# --------------------------------------------------------------------------- exercise 1


def test_exercise_1_passes_reference(solution):
    assert_passes(lesson07.check_exercise_1(solution.smallest_safe_window), 1)


def test_exercise_1_fails_a_window_sized_for_the_shortest_phrase():
    message = lesson07.check_exercise_1(lambda phrases: min(map(len, phrases)) - 1)
    assert_fails(message, 1)
    assert "too small" in message


def test_exercise_1_fails_a_safe_but_wasteful_window():
    message = lesson07.check_exercise_1(lambda phrases: max(map(len, phrases)))
    assert_fails(message, 1)
    assert "is safe, but" in message


def test_exercise_1_fails_without_the_empty_list_error(solution):
    def no_error(phrases):
        return solution.smallest_safe_window(phrases) if phrases else 0

    assert_fails(lesson07.check_exercise_1(no_error), 1)


def test_the_leak_simulation_agrees_with_the_guardrails_helper():
    """The check's notion of 'safe' is HoldBack's: window L - 1 is safe, L - 2 leaks."""
    phrases = ["Project Bluebird", "Bluebird"]
    assert lesson07.leaks(phrases, len("Project Bluebird") - 1) is None
    assert lesson07.leaks(phrases, len("Project Bluebird") - 2) is not None


# --------------------------------------------------------------------------- exercise 2


def test_exercise_2_passes_reference(solution):
    assert_passes(lesson07.check_exercise_2(solution.no_account_numbers), 2)


def test_exercise_2_fails_seven_digits():
    def seven(text):
        found = re.search(r"\d{7,}", text)
        return found and Violation("number", found.start(), found.end())

    message = lesson07.check_exercise_2(seven)
    assert_fails(message, 2)
    assert "Call 1234567 today." in message


def test_exercise_2_fails_an_inclusive_end():
    def inclusive(text):
        found = re.search(r"\d{8,}", text)
        return found and Violation("number", found.start(), found.end() - 1)

    message = lesson07.check_exercise_2(inclusive)
    assert_fails(message, 2)
    assert "expected span 16:24, got 16:23" in message


def test_exercise_2_fails_a_bool():
    assert_fails(lesson07.check_exercise_2(lambda text: bool(re.search(r"\d{8,}", text))), 2)


# --------------------------------------------------------------------------- exercise 3


def test_exercise_3_passes_reference(solution):
    assert_passes(lesson07.check_exercise_3(solution.WordRelease), 3)


def test_exercise_3_fails_plain_hold_back_releases():
    """Releasing everything at once splits words."""

    class Everything(StreamGuard):
        def check_upto(self, final):
            return len(self.text)

        def release_upto(self, final):
            return len(self.text)

    message = lesson07.check_exercise_3(Everything)
    assert_fails(message, 3)
    assert "ends inside a word" in message


def test_exercise_3_fails_checking_only_at_the_end(solution):
    class Lazy(solution.WordRelease):
        def check_upto(self, final):
            return len(self.text) if final else None

    message = lesson07.check_exercise_3(Lazy)
    assert_fails(message, 3)
    assert "check after every piece" in message


def test_exercise_3_fails_a_guard_that_holds_back_a_finished_word(solution):
    """Stopping at the last *space* only: a newline also ends a word."""

    class SpacesOnly(solution.WordRelease):
        def release_upto(self, final):
            return len(self.text) if final else max(self.released, self.text.rfind(" ") + 1)

    message = lesson07.check_exercise_3(SpacesOnly)
    assert_fails(message, 3)
    assert "every word is whole" in message


def test_exercise_3_fails_a_class_that_is_not_a_guard():
    message = lesson07.check_exercise_3(dict)
    assert_fails(message, 3)


def test_exercise_3_fails_a_guard_that_needs_more_arguments():
    assert_fails(lesson07.check_exercise_3(HoldBack), 3)

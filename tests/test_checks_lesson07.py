"""Lesson 7's checks pass the reference solutions and fail the stubs and plausible mistakes."""

from __future__ import annotations

import re

import pytest
from check_helpers import assert_fails, assert_passes, assert_stub_fails, solution_fixture, stub

from helpers.checks import lesson07
from helpers.guardrails import HoldBack, StreamGuard, Violation, banned_phrases, hold_back_window

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


def _regex_check(pattern):
    def check(text):
        found = re.search(pattern, text)
        return found and Violation("number", found.start(), found.end())

    return check


def test_exercise_1_passes_reference(solution):
    assert_passes(lesson07.check_exercise_1(solution.no_account_numbers), 1)


def test_exercise_1_passes_a_scanner_without_regex():
    """Another right answer: walk the text, counting digits and single separators."""

    def scanner(text):
        i = 0
        while i < len(text):
            if not text[i].isascii() or not text[i].isdigit():
                i += 1
                continue
            start = end = i
            digits, j = 1, i + 1
            while j < len(text):
                if text[j].isascii() and text[j].isdigit():
                    digits, end, j = digits + 1, j, j + 1
                elif text[j] in " -" and j + 1 < len(text) and text[j + 1].isdigit():
                    j += 1
                else:
                    break
            if digits >= 8:
                return Violation("account number", start, end + 1)
            i = j
        return None

    assert_passes(lesson07.check_exercise_1(scanner), 1)


def test_exercise_1_passes_the_same_rule_written_the_other_way_round():
    assert_passes(lesson07.check_exercise_1(_regex_check(r"(?:\d[ -]?){7,}\d")), 1)


def test_exercise_1_fails_digits_only():
    message = lesson07.check_exercise_1(_regex_check(r"\d{8,}"))
    assert_fails(message, 1, "Ref 1234 5678 ok")


def test_exercise_1_fails_counting_characters_not_digits():
    message = lesson07.check_exercise_1(_regex_check(r"\d[\d -]{6,}\d"))
    assert_fails(message, 1, "Two spaces")


def test_exercise_1_fails_any_whitespace_as_a_separator():
    message = lesson07.check_exercise_1(_regex_check(r"\d(?:[\s-]?\d){7,}"))
    assert_fails(message, 1, "Two lines")


def test_exercise_1_fails_a_trailing_separator_in_the_span():
    message = lesson07.check_exercise_1(_regex_check(r"(?:\d[ -]?){8,}"))
    assert_fails(message, 1, "expected span")


def test_exercise_1_fails_one_kind_of_separator_per_number():
    message = lesson07.check_exercise_1(_regex_check(r"\d(?: ?\d){7,}|\d(?:-?\d){7,}"))
    assert_fails(message, 1, "Tel 12 34-56 78 ok")


def test_exercise_1_fails_a_number_that_must_start_a_word():
    """\\b before the first digit misses digits glued to letters, as in an IBAN's DE89."""
    message = lesson07.check_exercise_1(_regex_check(r"\b\d(?:[ -]?\d){7,}\b"))
    assert_fails(message, 1, "DE89")


def test_exercise_1_fails_a_bool():
    assert_fails(lesson07.check_exercise_1(lambda text: bool(re.search(r"\d{8,}", text))), 1)


# --------------------------------------------------------------------------- exercise 2


def test_exercise_2_passes_reference(solution):
    assert_passes(lesson07.check_exercise_2(solution.account_window), 2)


def test_exercise_2_passes_a_window_measured_from_the_worst_case_text():
    def measured(min_digits):
        if min_digits < 1:
            raise ValueError("no digits")
        return len("-".join("9" * min_digits)) - 1

    assert_passes(lesson07.check_exercise_2(measured), 2)


def test_exercise_2_fails_the_digits_only_window():
    """min_digits - 1 is right for plain runs, and lets a digit out once separators come."""
    message = lesson07.check_exercise_2(lambda n: n - 1 if n > 0 else int("x"))
    assert_fails(message, 2, "too small")


def test_exercise_2_fails_no_window_at_all():
    """The old claim: a pattern with no longest match has no safe window."""

    def none(min_digits):
        return None

    assert_fails(lesson07.check_exercise_2(none), 2, "non-negative int")


def test_exercise_2_fails_a_safe_but_wasteful_window():
    message = lesson07.check_exercise_2(lambda n: 2 * n - 1)
    assert_fails(message, 2, "is safe, but")


def test_exercise_2_fails_a_constant_for_eight_digits():
    message = lesson07.check_exercise_2(lambda n: 14)
    assert_fails(message, 2, "for 4 digits is safe, but")


def test_exercise_2_fails_without_the_value_error(solution):
    def no_error(min_digits):
        return solution.account_window(min_digits) if min_digits > 0 else 0

    assert_fails(lesson07.check_exercise_2(no_error), 2, "raise ValueError")


def test_the_leak_simulation_agrees_with_the_guardrails_helper():
    """The check's notion of 'safe' is HoldBack's: phrases, window L - 1 is safe, L - 2 leaks."""
    phrases = ["Project Bluebird", "Bluebird"]
    check = banned_phrases(*phrases)
    longest = len("Project Bluebird")
    assert lesson07.leaks(check, phrases, hold_back_window(longest)) is None
    assert lesson07.leaks(check, phrases, hold_back_window(longest) - 1) is not None


def test_a_run_of_eight_or_more_digits_has_a_window():
    """Review 2026-12-04 N2: `\\d{8,}` has no longest match, yet window 7 never shows a digit."""
    runs = ["12345678", "1234567890123"]
    assert lesson07.leaks(_regex_check(r"\d{8,}"), runs, 7) is None
    assert lesson07.leaks(_regex_check(r"\d{8,}"), runs, 6) is not None


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

"""Checks for lesson 7's exercises (validating partial output).

Each check returns the line the notebook prints (helpers.checks says why it never raises).
The expected answers are found by running the kit's own guards (helpers.guardrails), not typed in.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial
from typing import Any

from helpers.checks import call, failed, passed, with_args
from helpers.guardrails import (
    HoldBack,
    Release,
    Retract,
    StreamGuard,
    Violation,
    apply_actions,
    banned_phrases,
)

_call = partial(call, show_call=with_args)  # a crash's message shows the arguments


# --------------------------------------------------------------------------- exercise 1

# (text, (start, end) of the expected violation, or None)
ACCOUNT_CASES: list[tuple[str, tuple[int, int] | None]] = [
    ("Your account is 12345678.", (16, 24)),
    ("Call 1234567 today.", None),  # seven digits: a phone extension, not an account
    ("Ref 1234 5678 ok", (4, 13)),  # a single space between digits
    ("IBAN 12-34-56-78-90.", (5, 19)),  # dashes; the whole run, not its first eight digits
    ("Tel 12 34-56 78 ok", (4, 15)),  # spaces and dashes mixed in one number
    ("Pay to DE89 3704 0044 0532 0130 00 today", (9, 34)),  # an IBAN: digits after letters
    ("Two spaces: 1234  5678", None),  # two separators in a row end a run
    ("A dash and a space: 1234 -5678", None),
    ("Two lines: 1234\n5678", None),  # a line break is not a space
    ("Order 12345678- shipped", (6, 14)),  # a trailing dash is not part of the number
    ("First 1111 2222, then 3333 4444", (6, 15)),  # the first one
    ("Seven: 123 4567, eight: 1234 5678", (24, 33)),
    ("Version 2 of 3 apps, 4 5 6 7 8 9 0", None),  # seven digits after the comma
    ("1 2 3 4 5 6 7 8", (0, 15)),
    ("No numbers here.", None),
]


def check_exercise_1(no_account_numbers: Callable[[str], Violation | None]) -> str:
    """Exercise 1: flag 8+ digits, single spaces or dashes allowed between them, with the span."""
    for text, span in ACCOUNT_CASES:
        result, error = _call(1, no_account_numbers, text)
        if error:
            return error
        if span is None:
            if result is not None:
                return failed(1, f"{text!r} holds no account number, got {result!r}")
            continue
        if not isinstance(result, Violation):
            return failed(1, f"for {text!r} expected a Violation, got {result!r}")
        if (result.start, result.end) != span or not result.reason:
            got = f"{result.start}:{result.end} ({text[result.start : result.end]!r})"
            want = f"{span[0]}:{span[1]} ({text[span[0] : span[1]]!r})"
            return failed(1, f"for {text!r} expected span {want}, got {got}")
    return passed(1)


# --------------------------------------------------------------------------- exercise 2


def account_numbers(min_digits: int) -> Callable[[str], Violation | None]:
    """The kit's check for exercise 2: `min_digits`+ digits, a space or dash between two."""
    pattern = re.compile(r"\d(?:[ -]?\d){" + str(min_digits - 1) + ",}")

    def check(text: str) -> Violation | None:
        found = pattern.search(text)
        if found is None:
            return None
        return Violation("account number", found.start(), found.end())

    return check


def _runs(min_digits: int) -> list[str]:
    """Account numbers written every way the check allows, a little longer than needed."""
    digits = "1234567890" * 2
    run = digits[: min_digits + 2]
    groups = " ".join(run[i : i + 4] for i in range(0, len(run), 4))
    return [run, " ".join(run), "-".join(run), groups]


def leaks(check: Callable[[str], Violation | None], runs: list[str], window: int) -> str | None:
    """Stream text holding each run one character at a time through HoldBack(window).

    Returns what leaked (a description), or None if no character of any run was ever shown.
    One character per piece is the hardest case: the most text arrives before the check can
    flag the run.
    """
    for run in runs:
        text = "Ref: " + run + " thanks"
        start = text.index(run)
        guard, visible = HoldBack(check, window), ""
        for char in text:
            actions = guard.feed(char)
            visible = apply_actions(visible, actions)
            if len(visible) > start or any(isinstance(a, Retract) for a in actions):
                return f"{visible!r} was shown while {run!r} arrived"
            if guard.violation is not None:
                break
    return None


WINDOW_DIGITS = [8, 4, 2, 1]


def check_exercise_2(account_window: Callable[[int], int]) -> str:
    """Exercise 2: the smallest HoldBack window that never shows a digit of an account number."""
    for min_digits in WINDOW_DIGITS:
        window, error = _call(2, account_window, min_digits)
        if error:
            return error
        if isinstance(window, bool) or not isinstance(window, int) or window < 0:
            return failed(2, f"for {min_digits} digits expected a non-negative int (a window in "
                             f"characters), got {window!r}")
        check, runs = account_numbers(min_digits), _runs(min_digits)
        leaked = leaks(check, runs, window)
        if leaked:
            return failed(2, f"window {window} for {min_digits} digits is too small: {leaked}")
        if window > 0 and leaks(check, runs, window - 1) is None:
            return failed(2, f"window {window} for {min_digits} digits is safe, but {window - 1} "
                             "is too")
    try:
        result = account_window(0)
    except ValueError:
        return passed(2)
    except Exception as error:
        return failed(2, f"0 digits should raise ValueError, not {type(error).__name__}")
    return failed(2, f"0 digits is not an account number: raise ValueError (got {result!r})")


# --------------------------------------------------------------------------- exercise 3

WORD_TEXTS = [
    "Streaming shows text early. It cannot be reviewed first!\nNew line  two spaces.",
    "Our plan, code-named Project Bluebird, ships soon.",
    "short",
]
WORD_CHECK = banned_phrases("Project Bluebird", "Bluebird")


def _pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def _run(guard_class: type, step: Callable, *args: Any) -> tuple[Any, str | None]:
    """One call into the learner's guard, with the failure named after their class."""
    method = f"{guard_class.__name__}.{step.__name__}"
    return call(3, step, *args, label=guard_class.__name__,
                show_call=lambda _label, args, kwargs: with_args(method, args, kwargs))


def _word_failure(guard_class: type, text: str, size: int) -> str | None:
    guard, error = _run(guard_class, guard_class, WORD_CHECK)
    if error:
        return error
    if not isinstance(guard, StreamGuard):
        return failed(3, f"{guard_class.__name__} must subclass StreamGuard")
    visible = ""
    for piece in _pieces(text, size):
        actions, error = _run(guard_class, guard.feed, piece)
        if error:
            return error
        for action in actions:
            if isinstance(action, Release) and not action.text[-1].isspace():
                return failed(3, f"released {action.text!r}, which ends inside a word")
        visible = apply_actions(visible, actions)
        if WORD_CHECK(guard.text) is not None and guard.violation is None:
            return failed(3, f"{guard.text!r} holds a banned phrase: check after every piece")
        if guard.violation is None and guard.text[-1].isspace() and visible != guard.text:
            why = f"after {guard.text!r} every word is whole, but only {visible!r} was shown"
            return failed(3, why)
    actions, error = _run(guard_class, guard.finish)
    if error:
        return error
    visible = apply_actions(visible, actions)
    violation = WORD_CHECK(text)
    if violation is None and visible != text:
        return failed(3, f"at the end all of {text!r} should be shown, got {visible!r}")
    if violation is not None and len(visible) > violation.start:
        return failed(3, f"{visible!r} is still shown: it holds part of a banned phrase")
    return None


def check_exercise_3(guard_class: type) -> str:
    """Exercise 3: a strategy that checks every piece and releases whole words only."""
    for text in WORD_TEXTS:
        for size in (1, 3, 7, len(text)):
            failure = _word_failure(guard_class, text, size)
            if failure:
                return failure
    return passed(3)

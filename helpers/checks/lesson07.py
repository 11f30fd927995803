"""Checks for lesson 7's exercises (validating partial output).

Each check returns the line the notebook prints (helpers.checks says why it never raises).
The expected answers are found by running the kit's own guards (helpers.guardrails), not typed in.
"""

from __future__ import annotations

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

PHRASE_LISTS = [
    ["bluebird"],
    ["Project Bluebird", "Bluebird"],
    ["a"],
    ["no", "abcdef", "xyz"],  # no phrase starts another one: each needs its own cover
]


def leaks(phrases: list[str], window: int) -> str | None:
    """Stream text holding each phrase one character at a time through HoldBack(window).

    Returns what leaked (a description), or None if no character of any phrase was ever
    shown. One character per piece is the hardest case: the most text arrives before a
    phrase is complete.
    """
    check = banned_phrases(*phrases)
    for phrase in phrases:
        text = "--- " + phrase + " ---"
        start = text.index(phrase)
        guard, visible = HoldBack(check, window), ""
        for char in text:
            actions = guard.feed(char)
            visible = apply_actions(visible, actions)
            if len(visible) > start or any(isinstance(a, Retract) for a in actions):
                return f"{visible!r} was shown while {phrase!r} arrived"
            if guard.violation is not None:
                break
    return None


def check_exercise_1(smallest_safe_window: Callable[[list[str]], int]) -> str:
    """Exercise 1: the smallest HoldBack window that never shows any part of a phrase."""
    for phrases in PHRASE_LISTS:
        window, error = _call(1, smallest_safe_window, phrases)
        if error:
            return error
        if isinstance(window, bool) or not isinstance(window, int) or window < 0:
            return failed(1, f"for {phrases} expected a non-negative int, got {window!r}")
        leaked = leaks(phrases, window)
        if leaked:
            return failed(1, f"window {window} for {phrases} is too small: {leaked}")
        if window > 0 and leaks(phrases, window - 1) is None:
            return failed(1, f"window {window} for {phrases} is safe, but {window - 1} is too")
    try:
        result = smallest_safe_window([])
    except ValueError:
        return passed(1)
    except Exception as error:
        return failed(1, f"an empty list should raise ValueError, not {type(error).__name__}")
    return failed(1, f"an empty list has no safe window: raise ValueError (got {result!r})")


# --------------------------------------------------------------------------- exercise 2

# (text, (start, end) of the expected violation, or None)
ACCOUNT_CASES: list[tuple[str, tuple[int, int] | None]] = [
    ("Your account is 12345678.", (16, 24)),
    ("Call 1234567 today.", None),  # seven digits: a phone extension, not an account
    ("Ref 123456789012 ok", (4, 16)),  # the whole run, not only its first eight digits
    ("87654321 is on file", (0, 8)),
    ("Split 1234 5678 is fine", None),
    ("First 11112222, then 33334444", (6, 14)),  # the first one
    ("No numbers here.", None),
]


def check_exercise_2(no_account_numbers: Callable[[str], Violation | None]) -> str:
    """Exercise 2: a check that flags a run of eight or more digits, with its span."""
    for text, span in ACCOUNT_CASES:
        result, error = _call(2, no_account_numbers, text)
        if error:
            return error
        if span is None:
            if result is not None:
                return failed(2, f"{text!r} holds no account number, got {result!r}")
            continue
        if not isinstance(result, Violation):
            return failed(2, f"for {text!r} expected a Violation, got {result!r}")
        if (result.start, result.end) != span or not result.reason:
            got = f"{result.start}:{result.end} ({text[result.start : result.end]!r})"
            return failed(2, f"for {text!r} expected span {span[0]}:{span[1]}, got {got}")
    return passed(2)


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

"""Checks for lesson 0's exercises (start here).

Each check returns the line the notebook prints (helpers.checks says why it never raises).
"""

from __future__ import annotations

from collections.abc import Callable

from helpers.checks import call, failed, passed

ARRIVALS = [(0.31, "Words"), (0.34, " arrive"), (0.36, " like"), (0.40, " rain"), (0.42, ",")]
MOMENTS = {
    0.0: "",
    0.3: "",
    0.31: "Words",
    0.35: "Words arrive",
    0.40: "Words arrive like rain",
    5.0: "Words arrive like rain,",
}


def check_exercise_1(visible_text_at: Callable[[list[tuple[float, str]], float], str]) -> str:
    """Exercise 1: the text a reader of the stream can see at a given moment."""
    for moment, want in MOMENTS.items():
        result, error = call(1, visible_text_at, list(ARRIVALS), moment)
        if error:
            return error
        if result != want:
            return failed(1, f"at {moment} s the reader sees {want!r}, you returned {result!r}")
    result, error = call(1, visible_text_at, [], 1.0)
    if error:
        return error
    if result != "":
        return failed(1, f"with no arrivals nothing is visible, you returned {result!r}")
    return passed(1)


# Exercise 2: tokens are not lines. A newline may arrive alone, inside a piece, or never.
LINE_CASES = [
    ([(0.3, "Words"), (0.32, " arrive"), (0.35, "\n"), (0.4, "one")], (0.35, "Words arrive")),
    ([(0.3, "Words"), (0.32, " rain,\none"), (0.4, " small\n")], (0.32, "Words rain,")),
    ([(0.3, "One line"), (0.5, " only.")], (0.5, "One line only.")),  # ends without a newline
    ([(0.2, "\nafter a blank")], (0.2, "")),  # the first line is empty
    ([], None),  # nothing arrived: nothing to read
]


def check_exercise_2(first_line_at: Callable[[list[tuple[float, str]]], object]) -> str:
    """Exercise 2: when the first whole line is readable, and what it says."""
    for arrivals, want in LINE_CASES:
        result, error = call(2, first_line_at, list(arrivals))
        if error:
            return error
        if result != want:
            hint = ""
            if want and isinstance(result, tuple) and result and result[0] != want[0]:
                hint = " (the line is whole when the piece holding its newline arrives)"
            elif want and isinstance(result, tuple) and len(result) == 2 and "\n" in str(result[1]):
                hint = " (the line stops before its newline)"
            return failed(2, f"for {arrivals} expected {want!r}, got {result!r}{hint}")
    return passed(2)

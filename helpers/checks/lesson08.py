"""Checks for lesson 8's exercises (reconnect and resume).

Each check returns the line the notebook prints (helpers.checks says why it never raises).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from helpers.checks import call, failed, passed, with_args_tuple

_call = partial(call, show_call=with_args_tuple)  # a crash's message shows the arguments


# (sequence numbers as received, expected (lost, duplicated))
AUDIT_CASES = [
    ([0, 1, 2, 3, 4], (0, 0)),
    ([0, 1, 2, 2, 3, 4], (0, 1)),  # a replay that started one event too early
    ([0, 1, 3, 4], (1, 0)),  # a replay that started one event too late
    ([0, 1, 4, 2, 2, 2], (1, 2)),  # out of order, 3 never came, 2 three times
    ([5, 6, 7], (0, 0)),  # a stream resumed from the middle starts there
    ([], (0, 0)),
]


def check_exercise_1(count_lost_and_duplicated: Callable[[list[int]], tuple[int, int]]) -> str:
    """Exercise 1: audit a stream's sequence numbers: (lost, duplicated)."""
    for numbers, want in AUDIT_CASES:
        got, error = _call(1, count_lost_and_duplicated, list(numbers))
        if error:
            return error
        if not isinstance(got, (tuple, list)) or tuple(got) != want:
            return failed(1, f"for {numbers} expected (lost, duplicated) = {want}, got {got!r}")
    return passed(1)


class MiddleOfRange:
    """A stand-in for random.Random that always picks the middle, and notes what it was asked."""

    def __init__(self) -> None:
        self.ranges: list[tuple[float, float]] = []

    def uniform(self, a: float, b: float) -> float:
        self.ranges.append((a, b))
        return (a + b) / 2


def _rounded(delays: object) -> object:
    if isinstance(delays, list | tuple):
        return [round(d, 6) if isinstance(d, int | float) else d for d in delays]
    return delays


def check_exercise_2(backoff_delays: Callable[..., list[float]]) -> str:
    """Exercise 2: exponential backoff with full jitter, capped, drawn from the given rng."""
    bounds = [0.25, 0.5, 1.0, 2.0, 2.0, 2.0]  # base 0.25 doubling, capped at 2.0
    rng = MiddleOfRange()
    got, error = _call(2, backoff_delays, 6, 0.25, 2.0, rng)
    if error:
        return error
    got = _rounded(got)
    want = [b / 2 for b in bounds]
    if got == want:
        if rng.ranges and any(low != 0 for low, _ in rng.ranges):
            return failed(2, f"full jitter draws from 0 up to the bound, not from {rng.ranges}")
    elif got == bounds:
        return failed(2, f"got {got}: no jitter, so every client that dropped at the same moment "
                         "reconnects at the same moment again (draw each delay with rng.uniform)")
    elif not rng.ranges:
        return failed(2, f"got {got}: draw each delay from the rng you are given (rng.uniform), "
                         "so it can be tested and seeded")
    elif isinstance(got, list) and any(isinstance(d, int | float) and d > 2.0 for d in got):
        return failed(2, f"got {got}: no delay may exceed the cap (2.0 s)")
    else:
        return failed(2, f"with base 0.25 s and cap 2.0 s the bounds are {bounds}; with an rng "
                         f"that picks the middle of uniform(0, bound), expected {want}, got {got}")
    got, error = _call(2, backoff_delays, 0, 0.25, 2.0, MiddleOfRange())
    if error:
        return error
    if list(got) != []:
        return failed(2, f"0 attempts need no delays: expected [], got {got!r}")
    return passed(2)


IDS = ["0", "1", "2", "3", "4"]


def check_exercise_3(ids_to_replay: Callable[[list[str], str | None], list[str]]) -> str:
    """Exercise 3: the server side: which buffered ids a reconnecting client must get."""
    cases = [("2", ["3", "4"]), ("0", ["1", "2", "3", "4"]), ("4", []), (None, IDS), ("", IDS)]
    for last, want in cases:
        got, error = _call(3, ids_to_replay, list(IDS), last)
        if error:
            return error
        if not isinstance(got, (list, tuple)) or list(got) != want:
            return failed(3, f"after Last-Event-ID {last!r} expected {want}, got {got!r}")
    try:
        got = ids_to_replay(list(IDS), "7")
    except NotImplementedError:
        return failed(3, "ids_to_replay still raises NotImplementedError")
    except LookupError as error:
        if "7" not in str(error):
            return failed(3, f"the error for an unknown id should name it ('7'): {error}")
        return passed(3)
    except Exception as error:
        return failed(3, f"an unknown id should raise LookupError, not {type(error).__name__}")
    return failed(
        3, f"an unknown id ('7') must raise LookupError naming it, not return {got!r}: "
        "replaying everything would duplicate, replaying nothing would lose"
    )

"""Checks for lesson 8's exercises (reconnect and resume).

Each check returns the line the notebook prints (helpers.checks says why it never raises).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from helpers.checks import call, failed, passed, with_args, with_args_tuple

_call = partial(call, show_call=with_args_tuple)  # a crash's message shows the arguments


# --------------------------------------------------------------------------- exercise 1


def _stream(*pairs: tuple[int, str]) -> list[dict[str, Any]]:
    return [{"type": kind, "sequence_number": number} for number, kind in pairs]


def _plain(numbers: list[int], last: str | None = "response.completed") -> list[dict[str, Any]]:
    """Events with these numbers; the highest number is `last` (None: a delta like the rest)."""
    top = max(numbers, default=-1)
    kind = "response.output_text.delta"
    return _stream(*((n, last if (n == top and last) else kind) for n in numbers))


# (what the client received, in arrival order; expected (missing, tail_lost); why)
AUDIT_CASES: list[tuple[list[dict[str, Any]], tuple[list[int], bool], str]] = [
    (_plain([0, 1, 2, 3, 4, 5]), ([], False), "a whole stream"),
    (_plain([0, 1, 2, 3, 4], last=None), ([], True),
     "no final event: the connection ended and the numbers alone look fine"),
    (_plain([0, 1, 3, 4]), ([2], False), "a resume that started one event too late"),
    (_plain([0, 1, 2, 2, 3]), ([], False), "a resume that started one event too early: a repeat "
     "loses nothing"),
    (_plain([2, 3, 4, 5]), ([0, 1], False), "every stream starts at 0 (response.created)"),
    (_stream((0, "response.created"), (1, "response.in_progress"), (3, "response.completed"),
             (2, "response.output_text.delta")), ([], False),
     "records merged from two connections need not be in order"),
    (_plain([0, 1, 2], last="response.failed"), ([], False), "response.failed ends a stream too"),
    (_plain([0, 1, 2], last="response.incomplete"), ([], False), "so does response.incomplete"),
    (_plain([0, 2, 5], last=None), ([1, 3, 4], True), "gaps, and the end is lost too"),
    ([], ([], True), "nothing arrived: even event 0 is missing, and so is the end"),
]


def check_exercise_1(audit: Callable[[list[dict[str, Any]]], tuple[list[int], bool]]) -> str:
    """Exercise 1: what a client is missing: the numbers never received, and a lost end."""
    for events, want, why in AUDIT_CASES:
        got, error = _call(1, audit, [dict(e) for e in events])
        if error:
            return error
        if not isinstance(got, tuple | list) or len(got) != 2:
            return failed(1, f"return (missing, tail_lost), got {got!r:.80}")
        missing, tail_lost = got
        right = isinstance(missing, list | tuple) and list(missing) == want[0]
        if not right or not isinstance(tail_lost, int) or bool(tail_lost) is not want[1]:
            shown = [(e["sequence_number"], e["type"].removeprefix("response.")) for e in events]
            return failed(1, f"{why}. For {shown} expected {want}, got {got!r:.60}")
    return passed(1)


# --------------------------------------------------------------------------- exercise 2


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


BASE, CAP = 0.25, 2.0
# (events each connection delivered before it ended, the bound of the wait after each one)
DELAY_CASES: list[tuple[list[int], list[float]]] = [
    ([0, 0, 0, 0, 0, 0], [0.5, 1.0, 2.0, 2.0, 2.0, 2.0]),  # a server that is down
    ([12, 0, 0, 30, 0, 5], [0.25, 0.5, 1.0, 0.25, 0.5, 0.25]),  # progress starts again at base
    ([40, 40, 40, 40], [0.25, 0.25, 0.25, 0.25]),  # a train in tunnels: every reconnect works
    ([], []),
]


def check_exercise_2(reconnect_delays: Callable[..., list[float]]) -> str:
    """Exercise 2: full-jitter backoff that starts again after a connection that made progress."""
    for delivered, bounds in DELAY_CASES:
        rng = MiddleOfRange()
        got, error = call(2, reconnect_delays, list(delivered), BASE, CAP, rng,
                          show_call=with_args)
        if error:
            return error
        got, want = _rounded(got), [b / 2 for b in bounds]
        if got == want and not any(low != 0 for low, _ in rng.ranges):
            continue
        if got == want:
            return failed(2, f"full jitter draws from 0 up to the bound, not from {rng.ranges}")
        if got == bounds and bounds:
            return failed(2, f"for {delivered} got {got}: no jitter, so clients that dropped "
                             "together reconnect together (draw each wait with rng.uniform)")
        if not rng.ranges and bounds:
            return failed(2, f"for {delivered} got {got}: draw each wait from the rng you are "
                             "given (rng.uniform), so it can be tested and seeded")
        if isinstance(got, list) and any(isinstance(d, int | float) and d > CAP for d in got):
            return failed(2, f"for {delivered} got {got}: no wait may exceed the cap ({CAP} s)")
        return failed(2, f"events per connection {delivered}, base {BASE} s, cap {CAP} s: the "
                         f"bounds are {bounds}; with an rng that picks the middle of uniform(0, "
                         f"bound) expected {want}, got {got}")
    return passed(2)


# --------------------------------------------------------------------------- exercise 3

LIVE = list(range(41))  # this server's copy holds events 0..40 of an answer still generating
DONE = list(range(51))  # ...and here 0..50, event 50 being response.completed

# (stored, finished, starting_after, expected, why)
PLAN_CASES: list[tuple[list[int], bool, int | None, int | str, str]] = [
    (LIVE, False, None, 0, "no starting_after: the whole stream"),
    (LIVE, False, 10, 11, "the events after the one the client has"),
    (DONE, True, 49, 50, "the last event is still to send"),
    (DONE, True, 50, "204", "the client has the final event: nothing more will ever come"),
    (LIVE, False, 40, 41, "the answer is still being generated: send 41 when it comes"),
    (LIVE, False, 45, 46, "this copy lags: the client read 45 from a server whose copy is "
     "ahead; wait for 46, do not refuse"),
    (DONE, True, 51, "error", "the stream ended at 50: event 51 never existed"),
    (LIVE, False, -3, "error", "no event has a negative number"),
    (DONE, True, None, 0, "no starting_after: the whole stream, also when it is over"),
]


def check_exercise_3(resume_plan: Callable[[list[int], bool, int | None], int | str]) -> str:
    """Exercise 3: a resume served from one server's copy of the store: from where, 204, error."""
    for stored, finished, after, want, why in PLAN_CASES:
        got, error = call(3, resume_plan, list(stored), finished, after, show_call=with_args)
        if error:
            return error
        if got != want or isinstance(got, bool):
            held = f"events 0..{stored[-1]}" + (" (the last one final)" if finished else "")
            return failed(3, f"holding {held}, starting_after={after}: expected {want!r}, "
                             f"got {got!r:.40} ({why})")
    return passed(3)

"""Checks for lesson 4's exercises (live tokens: what is visible when, throttling, stopping).

Each check returns the line the notebook prints (helpers.checks says why it never raises).
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise
from types import SimpleNamespace
from typing import Any

from helpers.checks import call, failed, failed_with, passed
from helpers.timing import StreamTiming

TOLERANCE = 1e-9  # float sums like 0.1 + 0.05 are not exact


def _timing(pieces: list[str], arrivals: list[float]) -> StreamTiming:
    timing = StreamTiming(started=0.0)
    for piece, moment in zip(pieces, arrivals, strict=True):
        timing.record(piece, now=moment)
    timing.finish(completed=True, now=arrivals[-1] if arrivals else 0.0)
    return timing


# --- Exercise 1: what is on screen at time t, behind a throttle? ---------------------------------

PIECES = ["Hel", "lo", ", wor", "ld"]
ARRIVALS = [0.2, 0.25, 0.3, 0.5]
REDRAWS = [0.2, 0.3, 0.5]  # leading + trailing throttle, 0.1 s interval: 0.25 waits for 0.3
SCREEN_CASES = [
    (0.0, ""),
    (0.2, "Hel"),  # a redraw exactly at t is on screen
    (0.27, "Hel"),  # "lo" has arrived but is not drawn yet
    (0.3, "Hello, wor"),  # the redraw at 0.3 draws everything that arrived by then
    (0.45, "Hello, wor"),
    (9.0, "Hello, world"),
]


def check_exercise_1(screen_text_at: Callable[[StreamTiming, list[float], float], str]) -> str:
    """Exercise 1: the text on screen at ``t``: what had arrived by the last redraw up to ``t``."""
    timing = _timing(PIECES, ARRIVALS)
    for moment, expected in SCREEN_CASES:
        result, error = call(1, screen_text_at, timing, list(REDRAWS), moment,
                             label="screen_text_at")
        if error:
            return error
        if result != expected:
            arrived = "".join(p for p, a in zip(PIECES, ARRIVALS, strict=True) if a <= moment)
            hint = ""
            if result == arrived:
                hint = " (that is what had arrived; the screen shows it only at the next redraw)"
            return failed(1, f"pieces {PIECES} at {ARRIVALS}, redraws at {REDRAWS}, t={moment}: "
                             f"expected {expected!r}, got {result!r}{hint}")
    return passed(1)


# --- Exercise 2: a leading + trailing throttle ----------------------------------------------------

THROTTLE_CASES = [
    ([0.1], 0.05),
    ([0.1, 0.11, 0.12, 0.13], 0.05),  # a burst: one redraw now, one for the rest
    ([0.0, 0.2, 0.4], 0.05),  # slow tokens: every one drawn at once
    ([0.0, 0.01, 0.02, 0.2, 0.21, 0.5], 0.05),
    ([i * 0.001 for i in range(300)], 0.05),  # 1000 tokens/s
    ([0.3, 0.3, 0.3], 0.1),  # simultaneous arrivals
]


def throttle_problem(arrivals: list[float], interval: float, redraws: list[float]) -> str | None:
    """What is wrong with these redraw moments, or None. The rules, one per check below."""
    if list(redraws) != sorted(redraws):
        return f"redraw times must be in order, got {redraws}"
    for earlier, later in pairwise(redraws):
        if later - earlier < interval - TOLERANCE:
            return f"redraws at {earlier:.3f} and {later:.3f} are closer than {interval}"
    for moment in arrivals:
        if not any(moment - TOLERANCE <= r <= moment + interval + TOLERANCE for r in redraws):
            return f"the piece arriving at {moment:.3f} is not drawn within {interval} s"
    previous = float("-inf")
    for redraw in redraws:
        if not any(previous < a <= redraw + TOLERANCE for a in arrivals):
            return f"the redraw at {redraw:.3f} shows nothing new (wasted message)"
        previous = redraw
    return None


def check_exercise_2(redraw_times: Callable[[list[float], float], list[float]]) -> str:
    """Exercise 2: redraw moments that follow the three throttle rules for every case."""

    def listed(arrivals: list[float], interval: float) -> list[float]:
        """list() inside the call: a result that is not a sequence of times fails as theirs."""
        return list(redraw_times(arrivals, interval))

    for arrivals, interval in THROTTLE_CASES:
        redraws, error = call(2, listed, list(arrivals), interval, label="redraw_times")
        if error:
            return error
        problem = throttle_problem(arrivals, interval, redraws)
        if problem:
            shown = arrivals if len(arrivals) < 8 else f"{len(arrivals)} arrivals"
            return failed(2, f"for {shown} every {interval} s: {problem}")
    return passed(2)


# --- Exercise 3: stop after n tokens, and close the stream --------------------------------------


def _event(kind: str, delta: str | None = None) -> SimpleNamespace:
    return SimpleNamespace(type=kind, delta=delta)


class _SDKLikeStream:
    """Like the SDK's AsyncStream: events around the text deltas, ``await close()`` (and its
    alias ``aclose()``), ``async with``. Records what was read and when it was closed."""

    WORDS = ("Streams ", "can ", "be ", "stopped ", "early ", "by ", "the ", "client.")

    def __init__(self, log: dict[str, Any]) -> None:
        self._events = iter([
            _event("response.created"),
            _event("response.in_progress"),
            *(_event("response.output_text.delta", word) for word in self.WORDS),
            _event("response.completed"),
        ])
        self._log = log
        log.update(deltas_read=0, closed_after=None, exhausted=False)

    def __aiter__(self) -> _SDKLikeStream:
        return self

    async def __anext__(self) -> Any:
        try:
            event = next(self._events)
        except StopIteration:
            self._log["exhausted"] = True
            await self.close()  # like the SDK: a stream read to its end closes itself
            raise StopAsyncIteration from None
        if event.type == "response.output_text.delta":
            self._log["deltas_read"] += 1
        return event

    async def close(self) -> None:
        if self._log["closed_after"] is None:
            self._log["closed_after"] = self._log["deltas_read"]

    async def aclose(self) -> None:
        await self.close()

    async def __aenter__(self) -> _SDKLikeStream:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()


async def check_exercise_3(first_n_tokens: Callable[..., Any]) -> str:
    """Exercise 3: the first n text pieces, reading no further, and the stream closed.

    A stream read to its end closes itself, so "closed" alone cannot tell an answer that stopped
    early from one that read everything and kept ``[:n]``: the fake stream counts the text pieces
    read before it was closed.
    """
    words = _SDKLikeStream.WORDS
    for n in (3, 1, len(words), len(words) + 5):
        expected = "".join(words[:n])
        log: dict[str, Any] = {}
        try:
            result = await first_n_tokens(lambda log=log: _SDKLikeStream(log), n)
        except Exception as error:
            return failed_with(3, error, "first_n_tokens", f"first_n_tokens(open_stream, n={n})")
        if result != expected:
            return failed(3, f"n={n}: expected {expected!r}, got {result!r} "
                             "(count only output_text.delta events)")
        wanted = min(n, len(words))
        if log["deltas_read"] > wanted:
            return failed(3, f"n={n}: the text is right, but you read {log['deltas_read']} text "
                             f"pieces of {len(words)}: stop reading once you have {n} (every piece "
                             "after that is a token you wait for and pay for, but never show)")
        if log["closed_after"] is None:
            return failed(3, f"n={n}: the text is right, but the stream was not closed: "
                             "breaking out of `async for` leaves an async stream open "
                             "(`await stream.close()` in a `finally`, or `async with`)")
    return passed(3)

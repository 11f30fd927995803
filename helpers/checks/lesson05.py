"""Checks for lesson 5's exercises (perceived vs actual latency).

Each check returns the line the notebook prints (helpers.checks says why it never raises).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from helpers.checks import call, failed, passed
from helpers.timing import StreamTiming


def made_up(pieces: list[str], arrivals: list[float], total: float, label: str) -> StreamTiming:
    """A timing with chosen numbers, so every expected answer below is exact."""
    timing = StreamTiming(label=label, started=0.0)
    for piece, moment in zip(pieces, arrivals, strict=True):
        timing.record(piece, now=moment)
    timing.finish(completed=True, now=total)
    return timing


def blocking(total: float, text: str = "The whole answer.") -> StreamTiming:
    return made_up([text], [total], total, "blocking")


def streamed(ttft: float, total: float, text: str = "The whole answer.") -> StreamTiming:
    words = text.split(" ")
    pieces = [w if i == 0 else " " + w for i, w in enumerate(words)]
    step = (total - ttft) / max(1, len(pieces) - 1)
    return made_up(pieces, [ttft + i * step for i in range(len(pieces))], total, "streamed")


def _close(a: Any, b: float) -> bool:
    return isinstance(a, int | float) and math.isclose(a, b, abs_tol=1e-9)


# --- Exercise 1 ---------------------------------------------------------------------------------


def check_exercise_1(reader_done: Callable[[StreamTiming, float], float]) -> str:
    """Exercise 1: when a reader at `chars_per_second` finishes: never before text arrives."""
    cases = [
        # a blocking answer: wait for all 17 characters, then read them (17 / 10 s)
        (blocking(2.0), 10.0, 3.7),
        # text faster than the reader: the reader never waits after the first piece
        (made_up(["abcd", "efgh"], [0.5, 0.6], 0.6, "streamed"), 10.0, 1.3),
        # text slower than the reader: the reader catches up and waits for the next piece
        (made_up(["abcd", "efgh"], [0.5, 2.0], 2.0, "streamed"), 10.0, 2.4),
        # a catch-up in the middle: the reader waits for "efgh" (0.9 -> 2.0), then has a backlog:
        # "ijkl" arrives at 2.1, while "efgh" is still being read (until 2.4)
        (made_up(["abcd", "efgh", "ijkl"], [0.5, 2.0, 2.1], 2.1, "streamed"), 10.0, 2.8),
    ]
    for timing, speed, expected in cases:
        result, error = call(1, reader_done, timing, speed)
        if error:
            return error
        if _close(result, expected):
            continue
        why = f"pieces {timing.pieces} at {timing.arrivals}, reading {speed} chars/s: expected " \
              f"{expected}, got {result!r}"
        if _close(result, timing.arrivals[0] + sum(map(len, timing.pieces)) / speed):
            why += " (the reader cannot read a piece before it arrives: wait for it)"
        elif _close(result, timing.total + sum(map(len, timing.pieces)) / speed) and len(
            timing.pieces
        ) > 1:
            why += " (a streaming reader starts on the first piece, not at the end)"
        elif _close(result, timing.arrivals[-1] + len(timing.pieces[-1]) / speed):
            why += (" (that is the last piece read as soon as it came: here the reader was still"
                    " reading the one before; go piece by piece)")
        return failed(1, why)
    return passed(1)


# --- Exercise 2 ---------------------------------------------------------------------------------


def _even(ttft: float, gaps: list[float], label: str = "streamed") -> StreamTiming:
    """A timing whose pieces ("w0 ", "w1 ", ...) arrive after ttft and then these gaps."""
    arrivals = [ttft]
    for gap in gaps:
        arrivals.append(arrivals[-1] + gap)
    pieces = [f"w{i} " for i in range(len(arrivals))]
    return made_up(pieces, arrivals, arrivals[-1], label)


def _as_pairs(result: Any) -> list[tuple[float, float]] | None:
    """The learner's stalls as (moment, seconds) floats, or None if it is not such a list."""
    try:
        pairs = [(float(moment), float(seconds)) for moment, seconds in result]
    except (TypeError, ValueError):
        return None
    return pairs


def _same_pairs(got: list[tuple[float, float]], expected: list[tuple[float, float]]) -> bool:
    return len(got) == len(expected) and all(
        math.isclose(a, c, abs_tol=1e-6) and math.isclose(b, d, abs_tol=1e-6)
        for (a, b), (c, d) in zip(got, expected, strict=True)
    )


STEADY = [0.01] * 4
STALL_CASES: list[tuple[StreamTiming, float, list[tuple[float, float]], str]] = [
    # a slow first token is not a stall: the TTFT is its own number, not a gap
    (_even(0.5, [*STEADY, 0.3, *STEADY]), 4.0, [(0.54, 0.3)], "one stall after a slow start"),
    # two stalls pull the mean gap up so far that 4 x mean misses both; the p50 does not move
    (_even(0.1, [0.01, 0.01, 0.01, 0.2, 0.01, 0.01, 0.01, 0.2]), 4.0, [(0.13, 0.2), (0.36, 0.2)],
     "two stalls"),
    (_even(0.1, [0.008, 0.012, 0.009, 0.011, 0.010, 0.012, 0.008]), 4.0, [], "jitter, no stall"),
    (_even(0.5, [*STEADY, 0.3, *STEADY]), 40.0, [], "the same stall with factor=40 (30 x p50)"),
    (blocking(2.0), 4.0, [], "a blocking answer: one piece, no gaps"),
]


def check_exercise_2(stalls: Callable[..., Any]) -> str:
    """Exercise 2: gaps between text pieces longer than factor x the p50 gap, (start, length)."""
    for timing, factor, expected, what in STALL_CASES:
        result, error = call(2, stalls, timing, factor)
        if error:
            return error
        got = _as_pairs(result)
        if got is None:
            return failed(2, f"{what}: stalls returned {result!r}, not a list of (moment, seconds)")
        if _same_pairs(got, expected):
            continue
        why = (f"{what} (pieces at {[round(a, 3) for a in timing.arrivals]}, factor={factor}): "
               f"expected {expected}, got {[(round(m, 3), round(g, 3)) for m, g in got]}")
        if any(math.isclose(m, 0.0, abs_tol=1e-9) for m, _ in got):
            why += " (the wait before the first piece is the TTFT, not a gap)"
        elif len(got) == len(expected) and expected and any(
            math.isclose(m, e_m + e_g, abs_tol=1e-6) for (m, _), (e_m, e_g) in zip(
                got, expected, strict=True)
        ):
            why += " (the moment is when the text stopped: the piece before the gap)"
        elif len(got) < len(expected):
            why += " (compare with the p50 gap: stalls pull a mean up)"
        return failed(2, why)
    return passed(2)


# --- Exercise 3 ---------------------------------------------------------------------------------


def check_exercise_3(waiting_time: Callable[[StreamTiming, float], float]) -> str:
    """Exercise 3: how long a reader at `chars_per_second` had nothing new to read."""
    cases = [
        # blocking: nothing to read until the whole answer lands
        (blocking(2.0), 10.0, 2.0, "a blocking answer"),
        # text faster than the reader: only the wait for the first piece
        (made_up(["abcd", "efgh"], [0.5, 0.6], 0.6, "streamed"), 10.0, 0.5, "fast text"),
        # text slower than the reader: the reader catches up at 0.9 and waits until 2.0
        (made_up(["abcd", "efgh"], [0.5, 2.0], 2.0, "streamed"), 10.0, 1.6, "slow text"),
        # a stall behind a backlog: still reading "a" * 20 (until 2.2) when "c" arrives at 1.0
        (made_up(["a" * 20, "b", "c"], [0.2, 0.25, 1.0], 1.0, "streamed"), 10.0, 0.2,
         "a stall hidden by reading"),
        # a stall after the reader caught up: reads "a" * 5 and "b" until 0.8, waits until 1.5
        (made_up(["a" * 5, "b", "c"], [0.2, 0.25, 1.5], 1.5, "streamed"), 10.0, 0.9,
         "a stall the reader sees"),
    ]
    for timing, speed, expected, what in cases:
        result, error = call(3, waiting_time, timing, speed)
        if error:
            return error
        if _close(result, expected):
            continue
        why = (f"{what}: pieces {[p if len(p) < 8 else p[:5] + '...' for p in timing.pieces]} at "
               f"{timing.arrivals}, reading {speed} chars/s: expected {expected:g}, got "
               f"{round(result, 6) if isinstance(result, int | float) else repr(result)}")
        if _close(result, timing.arrivals[-1]):
            why += " (a gap the reader spends reading earlier text is no wait)"
        elif _close(result, timing.arrivals[0]):
            why += " (the reader also waits whenever they catch up with the stream)"
        return failed(3, why)
    return passed(3)

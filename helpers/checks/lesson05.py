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
        return failed(1, why)
    return passed(1)


# --- Exercise 2 ---------------------------------------------------------------------------------


def check_exercise_2(gap_is_noise: Callable[[list[float], list[float]], bool]) -> str:
    """Exercise 2: a gap between medians no wider than either kind's own spread is noise."""
    cases = [
        ([0.55, 0.70, 0.52], [0.60, 0.58, 0.66], True, "runs of one kind vary by 0.18 s"),
        ([1.00, 1.02, 1.01], [1.20, 1.21, 1.19], False, "each kind varies by 0.02 s only"),
        ([0.45, 0.90, 0.52], [0.60, 0.61, 0.62], True, "the blocking runs alone vary by 0.45 s"),
        ([0.60, 0.61, 0.62], [0.50, 0.90, 0.52], True, "the streamed runs alone vary by 0.4 s"),
        ([0.50], [0.90], False, "one run each has no spread to compare with"),
    ]
    for block, stream, expected, why in cases:
        result, error = call(2, gap_is_noise, block, stream)
        if error:
            return error
        if result is not expected:
            return failed(2, f"blocking totals {block}, streamed totals {stream}: expected "
                             f"{expected}, got {result!r} ({why})")
    return passed(2)


# --- Exercise 3 ---------------------------------------------------------------------------------


def check_exercise_3(time_to_chars: Callable[[StreamTiming, int], float | None]) -> str:
    """Exercise 3: when the user could first read at least n characters (None if never)."""
    timing = made_up(["Stream", "ing ", "is ", "nice."], [0.4, 0.5, 0.9, 1.0], 1.1, "streamed")
    cases = [(1, 0.4), (6, 0.4), (7, 0.5), (10, 0.5), (11, 0.9), (18, 1.0), (19, None)]
    for n, expected in cases:
        result, error = call(3, time_to_chars, timing, n)
        if error:
            return error
        ok = result is None if expected is None else _close(result, expected)
        if not ok:
            return failed(3, f"pieces {timing.pieces} at {timing.arrivals}: for n={n} expected "
                             f"{expected}, got {result!r} (count characters, not pieces)")
    return passed(3)

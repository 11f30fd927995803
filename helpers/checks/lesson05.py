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


def check_exercise_1(perceived_saving: Callable[[StreamTiming, StreamTiming], float]) -> str:
    """Exercise 1: how much sooner the user sees text = blocking total - streamed TTFT."""
    cases = [
        (blocking(2.0), streamed(0.3, 2.05), 1.7),
        (blocking(1.2), streamed(1.0, 1.25), 0.2),  # a long first-token wait: little to gain
        (blocking(0.5), streamed(0.1, 0.9), 0.4),  # even when the stream ends later
    ]
    for block, stream, expected in cases:
        result, error = call(1, perceived_saving, block, stream)
        if error:
            return error
        if not _close(result, expected):
            return failed(1, f"blocking total {block.total} s, streamed TTFT {stream.ttft} s "
                             f"(total {stream.total} s): expected {expected}, got {result!r}")
    return passed(1)


# --- Exercise 2 ---------------------------------------------------------------------------------


def check_exercise_2(
    streaming_wins: Callable[[list[StreamTiming], list[StreamTiming]], tuple[int, int]],
) -> str:
    """Exercise 2: in how many paired runs did streamed text appear before the blocking answer?"""
    blocking_runs = [blocking(t) for t in (1.0, 1.1, 0.9, 1.0)]
    streamed_runs = [streamed(*pair) for pair in ((0.2, 1.2), (1.2, 1.3), (0.3, 1.0), (1.0, 1.1))]
    # run 1: 0.2 < 1.0 yes; run 2: 1.2 < 1.1 no; run 3: 0.3 < 0.9 yes; run 4: 1.0 < 1.0 no (a tie)
    result, error = call(2, streaming_wins, blocking_runs, streamed_runs)
    if error:
        return error
    if result != (2, 4):
        return failed(2, f"expected (2, 4): streamed TTFT beats the blocking total in runs 1 and "
                         f"3 only (run 4 is a tie, not a win), got {result!r}")
    result, error = call(2, streaming_wins, blocking_runs[:1], streamed_runs[:1])
    if error:
        return error
    if result != (1, 1):
        return failed(2, f"one run that streaming wins: expected (1, 1), got {result!r}")
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

"""Reference solutions for lesson 5's exercises (perceived vs actual latency)."""

from __future__ import annotations

import statistics

from helpers.timing import StreamTiming


def reader_done(timing: StreamTiming, chars_per_second: float) -> float:
    """When a reader finishes: each piece is read after it arrives and after the one before."""
    done = 0.0
    for piece, arrival in zip(timing.pieces, timing.arrivals, strict=True):
        done = max(done, arrival) + len(piece) / chars_per_second
    return done


def gap_is_noise(blocking_totals: list[float], streamed_totals: list[float]) -> bool:
    """True when the medians differ by no more than the runs of one kind differ among themselves."""
    gap = abs(statistics.median(blocking_totals) - statistics.median(streamed_totals))
    spread = max(max(runs) - min(runs) for runs in (blocking_totals, streamed_totals))
    return gap <= spread


def time_to_chars(timing: StreamTiming, n: int) -> float | None:
    """The arrival of the piece that brought the visible text to n characters."""
    visible = 0
    for piece, arrival in zip(timing.pieces, timing.arrivals, strict=True):
        visible += len(piece)
        if visible >= n:
            return arrival
    return None

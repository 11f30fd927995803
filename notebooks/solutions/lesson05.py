"""Reference solutions for lesson 5's exercises (perceived vs actual latency)."""

from __future__ import annotations

from helpers.timing import StreamTiming, percentile


def reader_done(timing: StreamTiming, chars_per_second: float) -> float:
    """When a reader finishes: each piece is read after it arrives and after the one before."""
    done = 0.0
    for piece, arrival in zip(timing.pieces, timing.arrivals, strict=True):
        done = max(done, arrival) + len(piece) / chars_per_second
    return done


def stalls(timing: StreamTiming, factor: float = 4.0) -> list[tuple[float, float]]:
    """Gaps between text pieces longer than factor x the p50 gap: (when the text stopped, length).

    The p50 is the yardstick because stalls pull a mean up; the wait before the first piece is
    the time to first token, not a gap.
    """
    gaps = timing.gaps
    if not gaps:
        return []
    limit = factor * percentile(gaps, 50)
    return [
        (stopped, gap)
        for stopped, gap in zip(timing.arrivals, gaps, strict=False)
        if gap > limit
    ]


def waiting_time(timing: StreamTiming, chars_per_second: float) -> float:
    """Time with nothing new to read: before the first piece, and whenever the reader caught up."""
    done, waited = 0.0, 0.0
    for piece, arrival in zip(timing.pieces, timing.arrivals, strict=True):
        waited += max(0.0, arrival - done)
        done = max(done, arrival) + len(piece) / chars_per_second
    return waited

"""Reference solutions for lesson 5's exercises (perceived vs actual latency)."""

from __future__ import annotations

from helpers.timing import StreamTiming


def perceived_saving(blocking: StreamTiming, streamed: StreamTiming) -> float:
    """Seconds sooner the first text shows: the blocking user sees text only at the end."""
    return blocking.total - streamed.ttft


def streaming_wins(
    blocking_runs: list[StreamTiming], streamed_runs: list[StreamTiming]
) -> tuple[int, int]:
    """(runs where streamed text appeared strictly before the blocking answer, runs)."""
    pairs = list(zip(blocking_runs, streamed_runs, strict=True))
    return sum(1 for b, s in pairs if s.ttft < b.total), len(pairs)


def time_to_chars(timing: StreamTiming, n: int) -> float | None:
    """The arrival of the piece that brought the visible text to n characters."""
    visible = 0
    for piece, arrival in zip(timing.pieces, timing.arrivals, strict=True):
        visible += len(piece)
        if visible >= n:
            return arrival
    return None

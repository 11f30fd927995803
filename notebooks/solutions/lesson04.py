"""Reference solutions for lesson 4's exercises (live tokens)."""

from __future__ import annotations

from typing import Any

from helpers.timing import StreamTiming, atimed_stream


def screen_text_at(timing: StreamTiming, redraws: list[float], t: float) -> str:
    """The screen changes only at a redraw, and a redraw shows everything arrived by then."""
    drawn = [r for r in redraws if r <= t]
    if not drawn:
        return ""
    last = drawn[-1]
    return "".join(p for p, a in zip(timing.pieces, timing.arrivals, strict=True) if a <= last)


def redraw_times(arrivals: list[float], interval: float) -> list[float]:
    """Leading + trailing throttle: draw at once if allowed, else once the interval has passed."""
    redraws: list[float] = []
    pending = False  # pieces have arrived that are not drawn yet
    for moment in arrivals:
        if pending and redraws[-1] + interval <= moment:
            redraws.append(redraws[-1] + interval)  # the trailing redraw came due before this
            pending = False
        if not redraws or moment - redraws[-1] >= interval:
            redraws.append(moment)
        elif moment > redraws[-1]:  # arriving at the very moment of a redraw counts as drawn
            pending = True
    if pending:
        redraws.append(redraws[-1] + interval)
    return redraws


async def first_n_tokens(open_stream: Any, n: int) -> str:
    """Read until n text pieces have arrived; `async with` closes the stream when we leave."""
    async with atimed_stream(open_stream) as timed:
        async for _item in timed:
            if len(timed.timing.pieces) >= n:
                break
    return timed.timing.text

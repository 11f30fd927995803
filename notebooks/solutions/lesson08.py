"""Reference solutions for lesson 8 (reconnect and resume)."""

from __future__ import annotations

import random

FINAL = {"response.completed", "response.incomplete", "response.failed"}


def audit(events: list[dict]) -> tuple[list[int], bool]:
    """(missing, tail_lost): numbers never received below the highest, and whether the end is.

    Every stream starts at 0, so the count starts there, not at the smallest number received.
    The numbers alone cannot show a lost end: only a final event proves nothing came after it.
    """
    received = {event["sequence_number"] for event in events}
    top = max(received, default=-1)
    missing = [number for number in range(top + 1) if number not in received]
    tail_lost = not any(event["type"] in FINAL for event in events)
    return missing, tail_lost


def reconnect_delays(
    delivered: list[int], base: float, cap: float, rng: random.Random
) -> list[float]:
    """Full jitter over a bound that doubles per connection that failed to make progress.

    A connection that delivered events proves the server is up: the next wait starts at
    `base` again, so a long stream that drops now and then never waits the cap.
    """
    delays, failures = [], 0
    for events in delivered:
        failures = failures + 1 if events == 0 else 0
        delays.append(rng.uniform(0, min(cap, base * 2**failures)))
    return delays


def resume_plan(stored: list[int], finished: bool, starting_after: int | None) -> int | str:
    """The first event to send, "204" when nothing more will come, or "error"."""
    if starting_after is None:
        return 0
    if starting_after < 0:
        return "error"
    last = stored[-1] if stored else -1
    if finished and starting_after == last:
        return "204"
    if finished and starting_after > last:
        return "error"  # the stream is over and never had that event
    return starting_after + 1  # stored: send now; not yet (generating, or this copy lags): wait

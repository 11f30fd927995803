"""Reference solutions for lesson 8 (reconnect and resume)."""

from __future__ import annotations

import random


def count_lost_and_duplicated(sequence_numbers: list[int]) -> tuple[int, int]:
    """(lost, duplicated): numbers missing between the first and last seen, and extra arrivals."""
    seen: set[int] = set()
    duplicated = 0
    for number in sequence_numbers:
        if number in seen:
            duplicated += 1
        seen.add(number)
    if not seen:
        return 0, 0
    lost = (max(seen) - min(seen) + 1) - len(seen)
    return lost, duplicated


def backoff_delays(attempts: int, base: float, cap: float, rng: random.Random) -> list[float]:
    """Full jitter: wait anywhere from 0 to a doubling, capped bound, so clients spread out."""
    return [rng.uniform(0, min(cap, base * 2**n)) for n in range(attempts)]


def ids_to_replay(buffered_ids: list[str], last_event_id: str | None) -> list[str]:
    """The ids a client that saw `last_event_id` has not seen yet; no id means all of them."""
    if not last_event_id:
        return list(buffered_ids)
    if last_event_id not in buffered_ids:
        raise LookupError(f"no event with id {last_event_id!r} in this response")
    return buffered_ids[buffered_ids.index(last_event_id) + 1 :]

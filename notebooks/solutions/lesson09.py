"""Reference solutions for lesson 9 (WebSockets: the two-way case)."""

from __future__ import annotations

import math


def steer_outcome(events: list[dict]) -> str:
    """A steer's fate: the successor's response.created commits it; failed means resend."""
    answered = False  # accepted (or pending) seen: a response.created from now on is the successor
    outcome = "waiting"
    for event in events:
        kind = event["type"]
        if kind == "response.steer.failed":
            return "failed"
        if kind in ("response.steer.accepted", "response.steer.pending"):
            answered = True
            outcome = "pending" if kind == "response.steer.pending" else outcome
        elif kind == "response.created" and answered:
            return "committed"
    return outcome


def tokens_after_stop(way: str, one_way: float, tokens_per_second: float, handshakes: int) -> int:
    """Tokens the user still sees after clicking Stop on a link `one_way` seconds each way.

    At the click, every token the server sent in the last `one_way` seconds is still on its
    way. The stop then needs `one_way` to reach the server, which goes on writing until it
    arrives; a cancel on a new connection first waits `handshakes` round trips. Everything
    sent before the stop arrives is shown: rate x (time in flight + time until the stop
    lands). Hanging up shows nothing more: the client simply stops reading.
    """
    if way == "hang up":
        return 0
    round_trips = 1 + (handshakes if way == "cancel" else 0)
    return math.floor(tokens_per_second * round_trips * 2 * one_way)


def _ends_sentence(token: str, next_token: str | None) -> bool:
    if "\n" in token:
        return True
    if not token.rstrip(" ").endswith((".", "!", "?")):
        return False
    return next_token is None or next_token[:1].isspace()


def finish_sentence(shown: list[str], remaining: list[str]) -> list[str]:
    """The tokens up to the end of the sentence in progress; [] if one just ended."""
    if shown and _ends_sentence(shown[-1], remaining[0] if remaining else None):
        return []
    for index, token in enumerate(remaining):
        next_token = remaining[index + 1] if index + 1 < len(remaining) else None
        if _ends_sentence(token, next_token):
            return remaining[: index + 1]
    return list(remaining)

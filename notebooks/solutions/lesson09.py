"""Reference solutions for lesson 9 (WebSockets: the two-way case)."""

from __future__ import annotations


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


def split_at_steer(events: list[dict]) -> tuple[str, str]:
    """(text of the steered response, text of its successor).

    The split is the steered response's own end (response.incomplete), not the
    steer.accepted event: deltas the server sent before it handled the steer belong before.
    """
    before: list[str] = []
    after: list[str] = []
    current, ended = before, False
    for event in events:
        if event["type"] == "response.incomplete":
            ended = True
        elif event["type"] == "response.created" and ended:
            current = after
        elif event["type"] == "response.output_text.delta":
            current.append(event["delta"])
    return "".join(before), "".join(after)


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

"""Reference solutions for lesson 6's exercises (when not to stream; partial JSON)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

import jiter


def rows_so_far(text: str) -> tuple[list, object]:
    """(final rows, the row still being written or None), as in the lesson's section 4."""
    if not text.strip():
        return [], None
    try:
        return jiter.from_json(text.encode()), None
    except ValueError:
        pass
    rows = jiter.from_json(text.encode(), partial_mode="trailing-strings")
    if not isinstance(rows, list):
        raise TypeError(f"expected a JSON array, the answer starts with {text[:20]!r}")
    return rows[:-1], (rows[-1] if rows else None)


def rows_closed(text: str) -> int:
    """How many rows of a JSON array have their closing brace in `text` (a prefix).

    A small scanner: depth counts the open brackets; inside a string nothing counts, and a
    backslash hides the next character (so an escaped quote does not end the string).
    """
    depth, closed, in_string, escaped = 0, 0, False, False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
            if char == "}" and depth == 1:  # back to the array's own level: a row ended
                closed += 1
    return closed


def row_final_at(pieces: list[str], arrivals: list[float], row: int) -> float | None:
    """The arrival of the piece that brought row number `row`'s closing brace."""
    text = ""
    for piece, moment in zip(pieces, arrivals, strict=True):
        text += piece
        if rows_closed(text) >= row:
            return moment
    return None


def rows_as_final(pieces: Iterable[str], key: str) -> Iterator[dict]:
    """Rows of the array at `key` as they become final (section 4's rule); strict check at the end.

    While the text is arriving, every row but the last one partial mode shows is final (the next
    one has begun). The last row is final only when the whole text parses strictly, and that
    strict parse is also what raises ValueError for a text that was cut short or has garbage.
    """
    text, sent = "", 0
    for piece in pieces:
        text += piece
        if not text.strip():
            continue
        value = jiter.from_json(text.encode(), partial_mode="trailing-strings")
        rows = value.get(key, []) if isinstance(value, dict) else []
        for row in rows[sent : len(rows) - 1]:
            yield row
            sent += 1
    whole = jiter.from_json(text.encode())  # ValueError unless the whole text is valid JSON
    rows = whole.get(key) if isinstance(whole, dict) else None
    if not isinstance(rows, list):
        raise ValueError(f"no array at {key!r} in the answer")
    yield from rows[sent:]


_OPENING_LINE = re.compile(r"```[^\n]*\n")
_CLOSING_TICKS = re.compile(r"`{1,3}\s*$")


def strip_code_fence(text: str) -> str:
    """The JSON inside a (possibly still arriving) Markdown fence; other text unchanged."""
    stripped = text.lstrip()
    if not stripped.startswith("```"):
        # "`" or "``" may still become a fence: show nothing of it yet.
        return "" if stripped and "```".startswith(stripped) else text
    opening = _OPENING_LINE.match(stripped)
    if opening is None:
        return ""  # the opening line ("```json") is still arriving
    # Trailing backticks may be the closing fence (or its start): hold them back.
    return _CLOSING_TICKS.sub("", stripped[opening.end() :])

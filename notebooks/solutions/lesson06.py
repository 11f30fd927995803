"""Reference solutions for lesson 6's exercises (when not to stream; partial JSON)."""

from __future__ import annotations

import html
import re

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


def row_final_at(pieces: list[str], arrivals: list[float], row: int) -> float | None:
    """Replay the pieces; the first arrival after which `row` is among the final rows."""
    text = ""
    for piece, moment in zip(pieces, arrivals, strict=True):
        text += piece
        final, _ = rows_so_far(text)
        if len(final) >= row:
            return moment
    return None


def row_html(row: dict, columns: list[str]) -> str:
    """One <tr>: every value escaped, because model output is text, not markup."""
    cells = "".join(
        f"<td>{html.escape('' if row.get(c) is None else str(row.get(c)))}</td>" for c in columns
    )
    return f"<tr>{cells}</tr>"


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

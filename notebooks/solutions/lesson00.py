"""Reference solutions for lesson 0's exercises (start here)."""

from __future__ import annotations


def visible_text_at(arrivals: list[tuple[float, str]], moment: float) -> str:
    """Everything that has arrived by `moment` (inclusive) is on screen."""
    return "".join(text for arrived, text in arrivals if arrived <= moment)


def first_line_at(arrivals: list[tuple[float, str]]) -> tuple[float, str] | None:
    """The first line is readable when the piece that holds its newline arrives (a newline can
    sit inside a piece); a stream that never sends one ends its only line at its last piece."""
    text = ""
    for arrived, piece in arrivals:
        text += piece
        if "\n" in text:
            return arrived, text.split("\n", 1)[0]
    return (arrivals[-1][0], text) if arrivals else None

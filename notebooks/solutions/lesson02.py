"""Reference solutions for lesson 2's exercises (Server-Sent Events by hand)."""

from __future__ import annotations

import re
import zlib

LINE_ENDING = re.compile(r"\r\n|\r|\n")  # the only three line endings SSE knows


def format_sse(data: str, event: str | None = None, id: str | None = None) -> bytes:
    """One `data:` line per line of data; a line break in `event` would end the field early."""
    if event is not None and LINE_ENDING.search(event):
        raise ValueError(f"event type must not contain a line break: {event!r}")
    lines = []
    if event is not None:
        lines.append(f"event: {event}")
    if id is not None:
        lines.append(f"id: {id}")
    lines += [f"data: {line}" for line in LINE_ENDING.split(data)]
    return ("\n".join(lines) + "\n\n").encode("utf-8")


def parse_sse(text: str) -> list[tuple[str, str]]:
    """The WHATWG steps for data and event only: split on CRLF/CR/LF (not str.splitlines,
    which also splits on U+2028 and friends), strip one space, dispatch at a blank line."""
    events = []
    data_lines: list[str] = []
    event_type = ""
    *lines, _unfinished = LINE_ENDING.split(text)  # the part after the last line ending
    for line in lines:
        if not line:
            if data_lines:
                events.append((event_type or "message", "\n".join(data_lines)))
            data_lines, event_type = [], ""
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            data_lines.append(value)
        elif name == "event":
            event_type = value
    return events


def gzip_for_streaming(events: list[bytes]) -> list[bytes]:
    """Z_SYNC_FLUSH after each event pushes out everything compressed so far, so the client
    can decompress that event now; the final flush adds the gzip trailer."""
    compressor = zlib.compressobj(wbits=31)
    pieces = [compressor.compress(event) + compressor.flush(zlib.Z_SYNC_FLUSH) for event in events]
    pieces[-1] += compressor.flush()
    return pieces

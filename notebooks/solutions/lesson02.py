"""Reference solutions for lesson 2's exercises (Server-Sent Events by hand)."""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable, Iterator

LINE_ENDING = re.compile(r"\r\n|\r|\n")  # the only three line endings SSE knows


def format_sse(data: str, event: str | None = None, id: str | None = None) -> bytes:
    """One `data:` line per line of data, cut at every line ending a reader knows (a lone CR
    too: sent as it is, it would end the line and the reader would lose the rest). A line break
    in `event` or `id` would end that field early, so it is refused."""
    for name, value in (("event", event), ("id", id)):
        if value is not None and LINE_ENDING.search(value):
            raise ValueError(f"{name} must not contain a line break: {value!r}")
    lines = []
    if event is not None:
        lines.append(f"event: {event}")
    if id is not None:
        lines.append(f"id: {id}")
    lines += [f"data: {line}" for line in LINE_ENDING.split(data)]
    return ("\n".join(lines) + "\n\n").encode("utf-8")


def parse_sse(text: str) -> tuple[list[tuple[str, str]], str]:
    """The WHATWG steps for data, event and id: split on CRLF/CR/LF (not str.splitlines,
    which also splits on U+2028 and friends), strip one space, dispatch at a blank line.
    An id: line only fills a buffer; every blank line (data or not) copies the buffer to the
    last event ID, so an id in the unfinished last block does not count yet. Section 3's
    parse_lines set the ID as soon as it read the id: line."""
    events = []
    data_lines: list[str] = []
    event_type, id_buffer, last_event_id = "", "", ""
    *lines, _unfinished = LINE_ENDING.split(text)  # the part after the last line ending
    for line in lines:
        if not line:
            last_event_id = id_buffer
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
        elif name == "id" and "\0" not in value:  # an id with NUL is ignored
            id_buffer = value
    return events, last_event_id


def sse_lines(reads: Iterable[bytes]) -> Iterator[str]:
    """Cut an event stream into lines as the reads arrive. An incremental UTF-8 decoder keeps
    half a character until the rest comes; a CR ends its line at once, and `after_cr`
    remembers to skip an LF that follows it, even at the start of the next read (waiting to
    see whether an LF follows would hold the event back until the server writes again)."""
    utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
    line, after_cr, at_start = "", False, True
    for data in reads:
        text = utf8.decode(data)
        if at_start and text:  # the first decoded character decides (a BOM may be split)
            at_start = False
            text = text.removeprefix("\ufeff")
        if not text:
            continue  # half a character: nothing to cut yet
        if after_cr:
            text = text.removeprefix("\n")
        after_cr = text.endswith("\r")
        *complete, rest = LINE_ENDING.split(text)  # only CRLF, CR and LF end lines
        for piece in complete:
            yield line + piece
            line = ""
        line += rest
    # a last line without its line ending is not a line

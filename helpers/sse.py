"""Server-Sent Events: write them, and read them exactly as a browser does.

The reading side follows the WHATWG HTML standard, section "Event stream interpretation"
(https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation).
It is sans-IO: you feed it bytes in whatever pieces the network hands you, it gives back
events. Nothing here opens a socket, so the same decoder works under any HTTP client.

Why not copy a client library's decoder? Several popular ones (the openai SDK's included)
depart from the standard on edge cases: a byte order mark, a block with only `id:`, invalid
UTF-8, the last event ID carried by later events. Lesson 2 shows those differences.
"""

from __future__ import annotations

import codecs
import json
import re
from dataclasses import dataclass
from typing import Any

__all__ = ["SSEDecoder", "ServerSentEvent", "format_comment", "format_event"]

# The standard's three line endings. str.splitlines() is wrong here: it also splits on
# \x0b, \x0c, \x1c-\x1e, \x85, \u2028 and \u2029, which are ordinary characters in SSE.
_LINE_ENDING = re.compile(r"\r\n|\r|\n")
_BOM = "\ufeff"


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    """One dispatched event, with the same three fields a browser's MessageEvent exposes."""

    event: str = "message"
    data: str = ""
    id: str = ""  # the last event ID in force at dispatch, like the browser's `lastEventId`

    def json(self) -> Any:
        """Parse `data` as JSON: most LLM APIs put one JSON object in each event."""
        return json.loads(self.data)


# --------------------------------------------------------------------------- writing


def _field_line(name: str, value: str) -> str:
    # The reader strips exactly one space after the colon, so "name: value" round-trips
    # even when the value itself starts with a space.
    return f"{name}: {value}\n" if value else f"{name}:\n"


def format_event(
    data: str,
    *,
    event: str | None = None,
    id: str | None = None,
    retry: int | None = None,
) -> bytes:
    """Encode one event as UTF-8 bytes ready to write to the response body.

    Order: event, id, retry, one `data:` line per line of `data`, then the blank line that
    makes the reader dispatch. CR, LF and CRLF inside `data` all become line breaks (the
    reader gives them back as LF). `event` and `id` cannot contain a line break (it would
    end the field early), and an `id` with NULL would be ignored by the reader: both raise.
    """
    if not isinstance(data, str):
        raise TypeError(f"data must be str, not {type(data).__name__}: {data!r}")
    lines: list[str] = []
    if event is not None:
        if "\r" in event or "\n" in event:
            raise ValueError(f"event type must not contain CR or LF: {event!r}")
        lines.append(_field_line("event", event))
    if id is not None:
        if "\r" in id or "\n" in id or "\0" in id:
            raise ValueError(f"event id must not contain CR, LF or NULL: {id!r}")
        lines.append(_field_line("id", id))
    if retry is not None:
        if isinstance(retry, bool) or not isinstance(retry, int) or retry < 0:
            raise ValueError(f"retry must be a non-negative int (milliseconds): {retry!r}")
        lines.append(_field_line("retry", str(retry)))
    if data and "\n" not in data and "\r" not in data:  # one line: the common case, no regex
        lines.append(f"data: {data}\n\n")
    else:
        lines.extend(_field_line("data", line) for line in _LINE_ENDING.split(data))
        lines.append("\n")
    return "".join(lines).encode("utf-8")


def format_comment(text: str = "") -> bytes:
    """Encode a comment, e.g. a heartbeat that keeps proxies from closing an idle stream.

    A comment is a line starting with ':'. We send the comment line(s) only, with no blank
    line after: a reader ignores comment lines entirely, so this never dispatches an event
    and never disturbs an event being built. Multi-line text becomes several comment lines.
    """
    return "".join(f": {line}\n" if line else ":\n" for line in _LINE_ENDING.split(text)).encode(
        "utf-8"
    )


# --------------------------------------------------------------------------- reading


def _parse_retry(value: str) -> int | None:
    """The spec's rule: a retry value counts only if it is all ASCII digits.

    str.isdigit() alone would also accept "²" or "٣", and int() would accept "-1", "+5",
    " 5" and "1_000". Python refuses int() on more than 4300 digits; a value that long
    means nothing anyway, so it is ignored rather than allowed to raise.
    """
    if not (value.isascii() and value.isdigit()):
        return None
    significant = value.lstrip("0") or "0"
    return int(significant) if len(significant) <= 4000 else None


class SSEDecoder:
    """Turn an event stream's bytes into events, per the WHATWG algorithm, chunk by chunk.

    State kept between chunks: the UTF-8 decoder (a character may be split across
    chunks), the incomplete last line, whether the text so far ended with CR (so that an
    LF at the start of the next chunk is not a second line ending), and the standard's
    buffers: data, event type, last event ID.
    """

    def __init__(self) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._at_stream_start = True  # still looking for the one BOM we may strip
        self._partial_line: list[str] = []  # text of the unfinished last line, in pieces
        self._ended_with_cr = False
        self._closed = False
        # The standard's buffers.
        self._data_lines: list[str] = []  # joined with LF at dispatch
        self._event_type = ""
        self._last_event_id_buffer = ""
        self.last_event_id = ""  # set from the buffer at each blank line; sent on reconnect
        self.retry: int | None = None  # reconnection time in ms, once a valid `retry:` is seen

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Decode `chunk` and return the events it completed (often none, sometimes many)."""
        if self._closed:
            raise RuntimeError("SSEDecoder.feed() called after close()")
        return self._feed_text(self._utf8.decode(chunk))

    def close(self) -> list[ServerSentEvent]:
        """End the stream. A final event without its blank line is dropped, as the spec says."""
        if self._closed:
            return []
        events = self._feed_text(self._utf8.decode(b"", True))  # flush: may add U+FFFD
        self._closed = True
        self._partial_line = []
        self._data_lines = []
        self._event_type = ""
        return events

    def _feed_text(self, text: str) -> list[ServerSentEvent]:
        if not text:
            return []
        if self._at_stream_start:
            self._at_stream_start = False
            if text.startswith(_BOM):
                text = text[1:]
        if self._ended_with_cr and text.startswith("\n"):
            text = text[1:]  # the LF of a CRLF split across two chunks
        self._ended_with_cr = False
        if not text:
            return []
        has_cr = "\r" in text
        if not has_cr and "\n" not in text:
            # No line ends here: keep the piece (joining now would be quadratic when a
            # long line arrives in many small reads).
            self._partial_line.append(text)
            return []
        self._ended_with_cr = text.endswith("\r")
        if self._partial_line:
            text = "".join(self._partial_line) + text
        lines = _LINE_ENDING.split(text) if has_cr else text.split("\n")  # fast path: LF only
        last = lines.pop()  # no line ending after it (yet)
        self._partial_line = [last] if last else []
        return self._process_lines(lines)

    def _process_lines(self, lines: list[str]) -> list[ServerSentEvent]:
        events: list[ServerSentEvent] = []
        for line in lines:
            if not line:
                event = self._dispatch()
                if event is not None:
                    events.append(event)
                continue
            if line[0] == ":":
                continue  # a comment
            name, _, value = line.partition(":")  # no colon: the whole line is the name
            if value.startswith(" "):
                value = value[1:]  # exactly one space
            self._process_field(name, value)
        return events

    def _process_field(self, name: str, value: str) -> None:
        if name == "data":
            self._data_lines.append(value)
        elif name == "event":
            self._event_type = value
        elif name == "id" and "\0" not in value:  # an id with NULL is ignored
            self._last_event_id_buffer = value
        elif name == "retry" and (milliseconds := _parse_retry(value)) is not None:
            self.retry = milliseconds
        # Any other field (and any invalid id or retry) is ignored.

    def _dispatch(self) -> ServerSentEvent | None:
        # The last event ID is committed at every blank line, even if nothing dispatches,
        # and the buffer is never reset: later events keep carrying it.
        self.last_event_id = self._last_event_id_buffer
        if not self._data_lines:
            self._event_type = ""
            return None
        event = ServerSentEvent(
            self._event_type or "message", "\n".join(self._data_lines), self.last_event_id
        )
        self._data_lines = []
        self._event_type = ""
        return event

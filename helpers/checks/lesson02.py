"""Checks for lesson 2's exercises (Server-Sent Events by hand).

The reference for "what a reader sees" is helpers.sse.SSEDecoder, which follows the WHATWG
algorithm; each check compares the learner's function with it on cases chosen to catch the
usual shortcuts (str.splitlines, strip(), split("\\n") only, dispatching empty blocks, joining
every read before splitting, holding a line back to see whether an LF follows its CR).
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterable

from helpers.checks import call, drain_counted, failed, names_used, outcome, passed
from helpers.sse import ServerSentEvent, SSEDecoder


def decode_all(stream: bytes) -> list[ServerSentEvent]:
    """What a spec-following reader dispatches for a whole stream."""
    decoder = SSEDecoder()
    return decoder.feed(stream) + decoder.close()


# --------------------------------------------------------------------------- exercise 1

LINE_ENDING = re.compile(r"\r\n|\r|\n")  # the only line endings a reader knows

FORMAT_CASES: list[tuple[str, dict[str, str]]] = [
    ("Hello", {}),
    ("line one\nline two", {"event": "delta", "id": "7"}),
    (" starts with a space", {}),
    ("", {"event": "ping"}),
    ('{"delta": "é"}', {"id": "42"}),
    ("a\rb", {}),  # a lone CR ends a line for the reader too
    ("one\r\ntwo\rthree\nfour", {"event": "delta"}),
    ("keeps \u2028 and \x0b\x0c\x85 inside", {}),  # not line endings in SSE
]
BAD_FIELDS: list[dict[str, str]] = [
    {"event": "two\nlines"},
    {"event": "two\rlines"},
    {"event": "two\r\nlines"},
    {"id": "7\n8"},
    {"id": "7\r8"},
]


def check_exercise_1(format_sse: Callable[..., bytes]) -> str:
    """Exercise 1: an event the reader gets back exactly (data's line breaks as LF), ending with
    its blank line; a line break in `event` or `id` is refused."""
    if helper := names_used(format_sse, {"format_event", "format_comment"}):
        return failed(1, f"format_sse calls helpers.sse.{helper}, the answer this exercise asks "
                         "you to write: build the lines yourself")
    for data, fields in FORMAT_CASES:
        encoded, error = call(1, format_sse, data, **fields)
        if error:
            return error
        if not isinstance(encoded, bytes) or not encoded.endswith(b"\n\n"):
            return failed(1, f"format_sse({data!r}) must be bytes ending with a blank line: "
                             f"{encoded!r}")
        read_back = LINE_ENDING.sub("\n", data)
        want = [ServerSentEvent(fields.get("event", "message"), read_back, fields.get("id", ""))]
        got = decode_all(encoded)
        if got != want:
            return failed(1, f"format_sse({data!r}) gave {encoded!r}, which a reader reads as "
                             f"{got}, expected {want}")
    for fields in BAD_FIELDS:
        ((name, value),) = fields.items()
        encoded, error = outcome(format_sse, "x", **fields)
        if isinstance(error, ValueError):
            continue
        if error:
            return failed(1, f"{name}={value!r} (a line break) should raise ValueError, not "
                             f"{error!r}")
        return failed(1, f"{name}={value!r} contains a line break, which would end the field "
                         f"early: raise ValueError (you returned {encoded!r})")
    return passed(1)


# --------------------------------------------------------------------------- exercise 2

PARSE_CASES = [  # each one a stream as read so far: a reader's events and the ID it would send
    "data: hello\n\n",
    "event: delta\ndata: a\ndata: b\n\nevent: done\ndata: [DONE]\n\n",
    ": heartbeat\n\ndata: after a comment\n\n",
    "data:no space\ndata:  two spaces\n\n",
    "data: crlf\r\n\r\ndata: lone cr\r\rdata: mixed\n\r\n",
    "event: empty-block\n\ndata: type was reset\n\n",
    "data\n\n",
    "data: keeps \u2028 and \x0b inside\n\n",
    "data: first\n\ndata: no blank line at the end",
    # the last event ID: committed at each blank line, not when the id: line is read
    "id: 1\ndata: a\n\nid: 2\ndata: b (the stream was cut here",
    "id: 3\r\ndata: a\r\n\r\nid: 4\r\n\r\n",  # a block with only an id: moves the ID
    "id: 5\ndata: a\n\nid\ndata: b\n\n",  # an empty id resets it
    "id: 6\ndata: a\n\nid: 7\0x\ndata: b\n\n",  # an id with NUL is ignored
    "id: 8\ndata: a\n\ndata: b\n\n",  # the ID sticks to later events
]


def read_so_far(text: str) -> tuple[list[tuple[str, str]], str]:
    """The (event type, data) pairs a spec-following reader dispatched from `text`, and the
    Last-Event-ID it would send if it reconnected now."""
    decoder = SSEDecoder()
    events = decoder.feed(text.encode())
    return [(event.event, event.data) for event in events], decoder.last_event_id


def check_exercise_2(
    parse_sse: Callable[[str], tuple[list[tuple[str, str]], str]],
) -> str:
    """Exercise 2: (event type, data) pairs exactly as a spec-following reader sees them, and
    the last event ID it would send on reconnecting (committed at blank lines only)."""
    if helper := names_used(parse_sse, {"SSEDecoder", "OpenAISSEDecoder", "decode_all"}):
        return failed(2, f"parse_sse uses {helper}, a decoder that already does this exercise: "
                         "parse the lines yourself")
    for text in PARSE_CASES:
        result, error = call(2, parse_sse, text)
        if error:
            return error
        want_events, want_id = want = read_so_far(text)
        if not (isinstance(result, tuple) and len(result) == 2):
            return failed(2, f"parse_sse({text!r}) should return (events, last_event_id), got "
                             f"{result!r}")
        events, last_id = result
        if events != want_events:
            return failed(2, f"parse_sse({text!r}) returned the events {events!r}, expected "
                             f"{want_events!r}")
        if last_id != want_id:
            return failed(2, f"after {text!r} a reader that reconnects sends Last-Event-ID "
                             f"{want_id!r}, you returned {last_id!r} (expected {want!r})")
    return passed(2)


# --------------------------------------------------------------------------- exercise 3


def lines_as_they_complete(reads: list[bytes]) -> list[tuple[str, int]]:
    """The spec's lines, each with the number of reads after which it is complete."""
    utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
    lines: list[tuple[str, int]] = []
    pending, after_cr, at_start = "", False, True
    for number, data in enumerate(reads, start=1):
        text = utf8.decode(data)
        if at_start and text:
            at_start = False
            text = text.removeprefix("\ufeff")
        for char in text:
            if after_cr and char == "\n":  # the LF of a CRLF, maybe one read later
                after_cr = False
                continue
            after_cr = char == "\r"
            if char in "\r\n":
                lines.append((pending, number))
                pending = ""
            else:
                pending += char
    return lines  # `pending`, a line without its ending, is not a line


LINE_CASES: list[tuple[str, list[bytes]]] = [
    ("two events", [b"data: a\n\n", b"event: x\ndata: b\n\n"]),
    ("a CRLF split across reads", [b"data: one\r", b"\ndata: two\r\n\r\n"]),
    ("lone CRs at the end of a read", [b"data: x\r\r", b": a heartbeat, seconds later\n"]),
    ("a UTF-8 character split across reads", [b"data: caf\xc3", b"\xa9\n\n"]),
    ("U+2028, U+0085, \\x0b and \\x0c inside a line",
     ["data: a\u2028b\x85c\x0bd\x0ce\n\n".encode()]),
    ("a byte order mark split across reads", [b"\xef\xbb", b"\xbfdata: hi\n\n"]),
    ("a second byte order mark (kept)", [b"\xef\xbb\xbf\xef\xbb\xbfdata: hi\n\n"]),
    ("a byte order mark after the start (kept)", [b"data: a\n", b"\xef\xbb\xbfdata: b\n\n"]),
    ("invalid UTF-8", [b"data: caf\xff\n\n"]),
    ("no line ending after the last line", [b"data: done\n", b"data: never fini", b"shed"]),
    ("every ending, one byte per read",
     [bytes([b]) for b in "data: é\r\n\r\nevent: e\rdata: x\n\n".encode()]),
]


def check_exercise_3(sse_lines: Callable[[Iterable[bytes]], Iterable[str]]) -> str:
    """Exercise 3: the lines of an event stream, each out as soon as it is complete."""
    for name, reads in LINE_CASES:
        want = lines_as_they_complete(reads)
        got, raised, error = drain_counted(3, sse_lines, reads)
        if error:
            return error
        if raised:
            return failed(3, f"{name} {reads!r}: {type(raised).__name__}: {raised}")
        lines = [line for line, _taken in got]
        want_lines = [line for line, _needed in want]
        if lines != want_lines:
            return failed(3, f"{name} {reads!r}: expected the lines {want_lines!r}, got {lines!r}")
        for (line, taken), (_line, needed) in zip(got, want, strict=True):
            if taken > needed:
                return failed(3, f"{name} {reads!r}: the line {line!r} was complete after read "
                                 f"{needed} but came out only after read {taken}: yield each line "
                                 "as soon as its line ending arrives (the next read may be a "
                                 "heartbeat 15 s later)")
    return passed(3)

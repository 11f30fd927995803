"""Checks for lesson 2's exercises (Server-Sent Events by hand).

The reference for "what a reader sees" is helpers.sse.SSEDecoder, which follows the WHATWG
algorithm; each check compares the learner's function with it on cases chosen to catch the
usual shortcuts (str.splitlines, strip(), dispatching empty blocks, gzip without flushing).
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable

from helpers.checks import call, failed, passed
from helpers.sse import ServerSentEvent, SSEDecoder


def decode_all(stream: bytes) -> list[ServerSentEvent]:
    """What a spec-following reader dispatches for a whole stream."""
    decoder = SSEDecoder()
    return decoder.feed(stream) + decoder.close()


# --------------------------------------------------------------------------- exercise 1

FORMAT_CASES: list[tuple[str, dict[str, str]]] = [
    ("Hello", {}),
    ("line one\nline two", {"event": "delta", "id": "7"}),
    (" starts with a space", {}),
    ("", {"event": "ping"}),
    ('{"delta": "é"}', {"id": "42"}),
]


def check_exercise_1(format_sse: Callable[..., bytes]) -> str:
    """Exercise 1: an event the reader gets back exactly, ending with its blank line."""
    for data, fields in FORMAT_CASES:
        encoded, error = call(1, format_sse, data, **fields)
        if error:
            return error
        if not isinstance(encoded, bytes) or not encoded.endswith(b"\n\n"):
            return failed(1, f"format_sse({data!r}) must be bytes ending with a blank line: "
                             f"{encoded!r}")
        want = [ServerSentEvent(fields.get("event", "message"), data, fields.get("id", ""))]
        got = decode_all(encoded)
        if got != want:
            return failed(1, f"{encoded!r} is read back as {got}, expected {want}")
    try:
        encoded = format_sse("x", event="two\nlines")
    except ValueError:
        return passed(1)
    except Exception as error:
        return failed(1, f"an event name with a line break should raise ValueError: {error!r}")
    return failed(1, f"an event name with a line break must raise ValueError, got {encoded!r}")


# --------------------------------------------------------------------------- exercise 2

PARSE_CASES = [
    "data: hello\n\n",
    "event: delta\ndata: a\ndata: b\n\nevent: done\ndata: [DONE]\n\n",
    ": heartbeat\n\ndata: after a comment\n\n",
    "data:no space\ndata:  two spaces\n\n",
    "data: crlf\r\n\r\ndata: lone cr\r\rdata: mixed\n\r\n",
    "event: empty-block\n\ndata: type was reset\n\n",
    "data\n\n",
    "data: keeps \u2028 and \x0b inside\n\n",
    "data: first\n\ndata: no blank line at the end",
]


def check_exercise_2(parse_sse: Callable[[str], list[tuple[str, str]]]) -> str:
    """Exercise 2: (event type, data) pairs, exactly as a spec-following reader sees them."""
    for text in PARSE_CASES:
        result, error = call(2, parse_sse, text)
        if error:
            return error
        want = [(event.event, event.data) for event in decode_all(text.encode())]
        if result != want:
            return failed(2, f"parse_sse({text!r}) returned {result!r}, expected {want!r}")
    return passed(2)


# --------------------------------------------------------------------------- exercise 3

GZIP_EVENTS = [b"data: Hello\n\n", b"data: , streaming\n\n", b"data:  world!\n\n"]


def check_exercise_3(gzip_for_streaming: Callable[[list[bytes]], list[bytes]]) -> str:
    """Exercise 3: each event decompressible as soon as its piece arrives; a valid gzip body."""
    pieces, error = call(3, gzip_for_streaming, list(GZIP_EVENTS))
    if error:
        return error
    if not isinstance(pieces, list) or len(pieces) not in (len(GZIP_EVENTS), len(GZIP_EVENTS) + 1):
        return failed(3, f"expected one piece per event (and maybe one to end), got {pieces!r}")
    reader = zlib.decompressobj(wbits=31)  # 31: expect a gzip header and trailer
    for number, (event, piece) in enumerate(zip(GZIP_EVENTS, pieces, strict=False), start=1):
        readable = reader.decompress(piece)
        if readable != event:
            return failed(3, f"after piece {number} the reader can decode {readable!r}, "
                             f"expected {event!r}: was the compressor flushed?")
    try:
        whole = gzip.decompress(b"".join(pieces))
    except Exception as error:
        return failed(3, f"the pieces together are not one valid gzip body: {error}")
    if whole != b"".join(GZIP_EVENTS):
        return failed(3, f"the whole body decompresses to {whole!r}")
    return passed(3)

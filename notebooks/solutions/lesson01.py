"""Reference solutions for lesson 1's exercises (raw chunked HTTP)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import BinaryIO

SIZE_LINE = re.compile(rb"([0-9A-Fa-f]+)[ \t]*(;[^\r\n]*)?\r\n")


def parse_size_line(line: bytes) -> int:
    """Check the digits ourselves: int(x, 16) also takes "0x1f", "+1f", "1_f" and " 1f".
    readline() returns a line without b"\n" (b"" at the least) only when the server closed:
    that is a cut connection, not a malformed size."""
    if not line.endswith(b"\n"):
        raise ConnectionError(f"the server closed the connection in a size line: {line!r}")
    match = SIZE_LINE.fullmatch(line)
    if not match:
        raise ValueError(f"not a chunk-size line: {line!r}")
    return int(match.group(1), 16)


def frame_json_lines(reads: Iterable[bytes]) -> Iterator[dict]:
    """Buffer bytes across reads and cut only at b"\\n", so a split message or a split UTF-8
    character is never parsed half-way; yield each message as soon as its line is complete."""
    buffer = b""
    for data in reads:
        buffer += data
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            if line.strip():
                yield json.loads(line)
    if buffer:
        raise ValueError(f"stream ended inside a message; leftover bytes: {buffer!r}")


def read_chunked(wire: BinaryIO) -> Iterator[bytes]:
    """The hand client's frame loop, strict: every size line through parse_size_line, the CRLF
    after each payload checked, trailer fields read up to the blank line that ends the body,
    and a close anywhere before that blank line a ConnectionError. read(n) returns fewer than
    n bytes only when the server closed. Each payload is yielded as soon as its frame is read,
    and nothing past the body is read: on a kept-alive connection the next response follows."""
    while True:
        size = parse_size_line(wire.readline())
        if size == 0:
            break
        payload = wire.read(size)
        if len(payload) < size:
            raise ConnectionError(f"the server closed after {len(payload)} of {size} bytes")
        crlf = wire.read(2)
        if len(crlf) < 2:
            raise ConnectionError(f"the server closed before the CRLF after {payload!r}")
        if crlf != b"\r\n":
            raise ValueError(f"a {size}-byte chunk is followed by {crlf!r}, not CRLF")
        yield payload
    while (line := wire.readline()) != b"\r\n":  # trailer fields, then the blank line
        if not line.endswith(b"\n"):
            raise ConnectionError(f"the server closed before the body's final blank line: {line!r}")
        if not line.endswith(b"\r\n"):
            raise ValueError(f"a trailer line must end with CRLF: {line!r}")

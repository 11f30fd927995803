"""Reference solutions for lesson 1's exercises (raw chunked HTTP)."""

from __future__ import annotations

import json
import re

SIZE_LINE = re.compile(rb"([0-9A-Fa-f]+)[ \t]*(;[^\r\n]*)?\r\n")


def parse_size_line(line: bytes) -> int:
    """Check the digits ourselves: int(x, 16) also takes "0x1f", "+1f", "1_f" and " 1f".
    b"" is what readline() gives after the server closed: an error, not a size."""
    if line == b"":
        raise ConnectionError("the server closed the connection before the last chunk")
    match = SIZE_LINE.fullmatch(line)
    if not match:
        raise ValueError(f"not a chunk-size line: {line!r}")
    return int(match.group(1), 16)


def frame_json_lines(reads: list[bytes]) -> list[dict]:
    """Buffer bytes across reads and cut only at b"\\n", so a split message or a split
    UTF-8 character is never parsed half-way."""
    buffer = b""
    messages = []
    for data in reads:
        buffer += data
        *lines, buffer = buffer.split(b"\n")
        messages += [json.loads(line) for line in lines if line]
    if buffer:
        raise ValueError(f"stream ended inside a message; leftover bytes: {buffer!r}")
    return messages


def decode_chunked_body(body: bytes) -> bytes:
    """Walk the frames by their sizes (never split the payload on CRLF: it may contain CRLF)."""
    payload = b""
    position = 0
    while True:
        line_end = body.find(b"\r\n", position)
        if line_end < 0:
            raise ValueError(f"no CRLF after a chunk size at byte {position}: {body[position:]!r}")
        size_text = body[position:line_end].split(b";")[0].strip()
        size = int(size_text, 16)
        start = line_end + 2
        if size == 0:
            return payload
        end = start + size
        if body[end : end + 2] != b"\r\n":
            raise ValueError(f"chunk of {size} bytes at byte {start} is cut short or not closed")
        payload += body[start:end]
        position = end + 2

"""HTTP/2 on the wire: a tiny cleartext (h2c) client that records every frame of one request.

Why: over HTTP/1.1 a streamed body is chunked (a size line before every piece, lesson 1). HTTP/2
has no chunked coding at all: the body travels as DATA frames, each with a 9-byte frame header,
interleaved with other requests' frames on one shared connection. Seeing the frames is the
clearest way to see that a stream is still a stream through an HTTP/2 proxy.

    timeline = h2c_post(proxy.base_url + "/responses", {"model": m, "input": q, "stream": True})
    [f.type for f in timeline.frames]   # SETTINGS, ..., HEADERS, DATA, DATA, ...

Deliberately minimal (no dependency): "prior knowledge" h2c only (no TLS, no Upgrade), one
request on stream 1, request headers sent as HPACK literals without Huffman coding. The
response headers are not decoded except `:status`, which servers send as an indexed field.
"""

from __future__ import annotations

import json
import socket
import struct
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from helpers.sse import SSEDecoder

__all__ = ["Frame", "H2Timeline", "h2c_post"]

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
TYPES = {0: "DATA", 1: "HEADERS", 3: "RST_STREAM", 4: "SETTINGS", 6: "PING", 7: "GOAWAY",
         8: "WINDOW_UPDATE", 9: "CONTINUATION"}  # fmt: skip
END_STREAM, ACK, END_HEADERS = 0x1, 0x1, 0x4
STATIC_STATUS = {8: 200, 9: 204, 10: 206, 11: 304, 12: 400, 13: 404, 14: 500}  # RFC 7541 App. A


@dataclass
class Frame:
    """One frame: seconds after the request was sent, its type, flags, stream id and payload."""

    at: float
    type: str
    flags: int
    stream: int
    payload: bytes


@dataclass
class H2Timeline:
    """Every frame the server sent for one request, in order."""

    frames: list[Frame] = field(default_factory=list)

    @property
    def status(self) -> int | None:
        headers = [f for f in self.frames if f.type == "HEADERS" and f.stream == 1]
        return _status(headers[0].payload) if headers else None

    @property
    def data(self) -> list[Frame]:
        """The response body's DATA frames (stream 1), empty ones included."""
        return [f for f in self.frames if f.type == "DATA" and f.stream == 1]

    @property
    def body(self) -> bytes:
        return b"".join(f.payload for f in self.data)

    def events_per_frame(self) -> list[list[str]]:
        """The SSE event types each DATA frame completed."""
        decoder = SSEDecoder()
        return [[e.event for e in decoder.feed(f.payload)] for f in self.data]


def _header(kind: int, flags: int, stream: int, payload: bytes = b"") -> bytes:
    """The 9-byte frame header: payload length, type, flags, stream id (the payload follows)."""
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream)


def _hpack_int(value: int, prefix_bits: int = 7) -> bytes:
    """RFC 7541 5.1 integer, high bit (Huffman flag) left 0."""
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([value])
    out, value = bytearray([limit]), value - limit
    while value >= 128:
        out.append(value % 128 + 128)
        value //= 128
    return bytes([*out, value])


def _literal(name: str, value: str) -> bytes:
    """A header as 'literal without indexing, new name' (0x00), no Huffman: readable bytes."""
    n, v = name.encode(), value.encode()
    return b"\x00" + _hpack_int(len(n)) + n + _hpack_int(len(v)) + v


def _status(block: bytes) -> int | None:
    """`:status` if sent as an indexed static field (how nginx sends 200, 404, 500...)."""
    return STATIC_STATUS.get(block[0] & 0x7F) if block and block[0] & 0x80 else None


def request_bytes(url: str, body: bytes) -> bytes:
    """Preface, empty SETTINGS, HEADERS and DATA for one POST on stream 1."""
    parts = urlsplit(url)
    headers = b"".join(
        _literal(name, value)
        for name, value in [
            (":method", "POST"),
            (":scheme", "http"),
            (":authority", parts.netloc),
            (":path", parts.path or "/"),
            ("content-type", "application/json"),
            ("content-length", str(len(body))),
        ]
    )
    settings = _header(4, 0, 0)
    return (
        PREFACE
        + settings
        + _header(1, END_HEADERS, 1, headers)
        + headers
        + _header(0, END_STREAM, 1, body)
        + body
    )


def split_frames(buffer: bytes) -> tuple[list[tuple[int, int, int, bytes]], bytes]:
    """Whole frames (type, flags, stream, payload) at the front of `buffer`, and the rest."""
    frames = []
    while len(buffer) >= 9:
        length = int.from_bytes(buffer[:3], "big")
        if len(buffer) < 9 + length:
            break
        kind, flags = buffer[3], buffer[4]
        stream = int.from_bytes(buffer[5:9], "big") & 0x7FFFFFFF
        frames.append((kind, flags, stream, buffer[9 : 9 + length]))
        buffer = buffer[9 + length :]
    return frames, buffer


def _answer(kind: int, flags: int, stream: int, payload: bytes) -> bytes:
    """What the client must send back: ACK the server's SETTINGS, return flow-control credit."""
    if kind == 4 and not flags & ACK:
        return _header(4, ACK, 0)
    if kind == 0 and payload:
        credit = struct.pack(">I", len(payload))
        return _header(8, 0, 0, credit) + credit + _header(8, 0, stream, credit) + credit
    return b""


def h2c_post(url: str, body: dict[str, Any], timeout: float = 60.0) -> H2Timeline:
    """POST `body` as JSON over HTTP/2 without TLS; record frames until stream 1 ends."""
    parts = urlsplit(url)
    timeline = H2Timeline()
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        sent = time.perf_counter()
        sock.sendall(request_bytes(url, json.dumps(body).encode()))
        buffer, done = b"", False
        while not done:
            chunk = sock.recv(65536)
            if not chunk:
                break
            at = time.perf_counter() - sent
            frames, buffer = split_frames(buffer + chunk)
            for kind, flags, stream, payload in frames:
                name = TYPES.get(kind, f"type {kind}")
                timeline.frames.append(Frame(at, name, flags, stream, payload))
                sock.sendall(_answer(kind, flags, stream, payload))
                ended = stream == 1 and kind in (0, 1) and flags & END_STREAM
                done = done or bool(ended) or kind in (3, 7)
    return timeline

"""Every recv() of a streamed HTTP response: when it arrived and which SSE events it completed.

Why: a proxy that buffers does not change *what* arrives, only *when*, and the clearest way to
see it is not a stopwatch but a count: unbuffered, each token's event arrives in its own read;
buffered, they all arrive in one or two. Counting reads is also what the tests compare, since
a count does not depend on how busy the machine is.

This client is deliberately raw (a socket, `helpers.chunked`, `helpers.sse`, zlib for gzip):
an SDK would hide exactly the framing and compression we want to look at.

    timeline = timed_reads(proxy.base_url + "/responses", {"model": m, "input": q, "stream": True})
    timeline.status, len(timeline.reads_with("response.output_text.delta"))
"""

from __future__ import annotations

import json
import socket
import time
import zlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from helpers.chunked import ChunkedDecoder
from helpers.sse import ServerSentEvent, SSEDecoder

__all__ = ["Read", "ReadTimeline", "streamed_request", "timed_reads"]


@dataclass
class Read:
    """One recv(): seconds after the request was sent, bytes on the wire, events completed."""

    at: float
    size: int
    events: list[ServerSentEvent] = field(default_factory=list)


@dataclass
class ReadTimeline:
    """A response as it arrived: status line facts, then the body's reads in order."""

    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    reads: list[Read] = field(default_factory=list)
    body: bytes = b""  # the decoded body (de-chunked, decompressed)
    complete: bool = False  # the body ended properly (last chunk seen)

    def reads_with(self, event_type: str) -> list[Read]:
        """The reads that completed at least one event of this type."""
        return [read for read in self.reads if any(e.event == event_type for e in read.events)]

    def arrivals(self, event_type: str) -> list[float]:
        """One arrival time per event of this type (events of one read share its time)."""
        return [read.at for read in self.reads for e in read.events if e.event == event_type]

    def comments(self) -> int:
        """How many SSE comment lines (heartbeats) the body held."""
        return sum(1 for line in self.body.split(b"\n") if line.startswith(b":"))


def streamed_request(tokens: int, **simulation: object) -> dict[str, Any]:
    """A streamed Responses request for `tokens` tokens at 30 tokens/s, without jitter.

    Why: two timelines (direct and through a proxy) compare only if the server was asked for
    the same schedule; `simulation` overrides keys such as `ttft` or `heartbeat`.
    """
    return {
        "model": "kit-sim-1",
        "input": "Why stream?",
        "stream": True,
        "max_output_tokens": tokens,
        "simulation": {"ttft": 0.05, "tokens_per_second": 30, "jitter": 0, **simulation},
    }


def _request_bytes(url: str, payload: dict[str, Any], gzip: bool) -> tuple[str, int, bytes]:
    parts = urlsplit(url)
    body = json.dumps(payload).encode()
    head = [
        f"POST {parts.path or '/'} HTTP/1.1",
        f"Host: {parts.netloc}",
        "Content-Type: application/json",
        "Accept: text/event-stream",
        f"Content-Length: {len(body)}",
        "Connection: close",
    ]
    if gzip:
        head.append("Accept-Encoding: gzip")
    raw = ("\r\n".join(head) + "\r\n\r\n").encode() + body
    return parts.hostname or "127.0.0.1", parts.port or 80, raw


def _parse_head(head: bytes, timeline: ReadTimeline) -> None:
    status_line, *lines = head.decode("latin-1").split("\r\n")
    timeline.status = int(status_line.split()[1])
    for line in lines:
        name, _, value = line.partition(":")
        timeline.headers[name.strip().lower()] = value.strip()


class _Body:
    """Undo the transfer coding, then the content coding, then decode SSE: one read at a time."""

    def __init__(self, headers: dict[str, str]) -> None:
        chunked = headers.get("transfer-encoding", "").lower() == "chunked"
        self.chunks = ChunkedDecoder() if chunked else None
        gz = headers.get("content-encoding", "").lower() == "gzip"
        self.inflate = zlib.decompressobj(16 + zlib.MAX_WBITS) if gz else None
        self.sse = SSEDecoder()
        self.body = bytearray()

    def feed(self, data: bytes) -> list[ServerSentEvent]:
        payload = b"".join(self.chunks.feed(data)) if self.chunks else data
        if self.inflate is not None:
            payload = self.inflate.decompress(payload)
        self.body += payload
        return self.sse.feed(payload)

    @property
    def done(self) -> bool:
        return self.chunks is not None and self.chunks.done


def timed_reads(
    url: str, payload: dict[str, Any], *, gzip: bool = False, timeout: float = 60.0
) -> ReadTimeline:
    """POST `payload` as JSON to `url`; time every recv() until the server closes or ends the body.

    `gzip=True` sends `Accept-Encoding: gzip`, so a proxy with gzip on compresses the stream.
    `timeout` is a per-recv limit (socket.timeout if the stream stalls that long).
    """
    host, port, request = _request_bytes(url, payload, gzip)
    timeline, pending, body = ReadTimeline(), b"", None
    with socket.create_connection((host, port), timeout=timeout) as sock:
        started = time.perf_counter()
        sock.sendall(request)
        while True:
            data = sock.recv(65536)
            now = time.perf_counter() - started
            if not data:
                break
            if body is None:  # still reading the head
                pending += data
                if b"\r\n\r\n" not in pending:
                    continue
                head, _, data = pending.partition(b"\r\n\r\n")
                _parse_head(head, timeline)
                body = _Body(timeline.headers)
                if not data:
                    continue
            timeline.reads.append(Read(now, len(data), body.feed(data)))
            if body.done:
                break
    if body is not None:
        timeline.body = bytes(body.body)
        timeline.complete = body.done
    return timeline

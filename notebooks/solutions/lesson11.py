"""Reference solutions for lesson 11's exercises (streaming through the real web)."""

from __future__ import annotations

import asyncio
import codecs
import json
from collections.abc import AsyncIterator, Iterable, Iterator


def streaming_location() -> str:
    """Keep the team's gzip and header lines; `proxy_buffering off` makes nginx pass each read on.

    nginx then flushes the gzip stream on every read from the server, so each event leaves
    compressed at once (a buffered response is flushed only when a buffer fills or at the end).
    """
    return """
        proxy_pass http://kit_upstream;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_ignore_headers X-Accel-Buffering;
        gzip on;
        gzip_types text/event-stream;
        gzip_proxied any;
        proxy_buffering off;
    """


END = object()


async def with_heartbeats(frames: AsyncIterator[bytes], interval: float) -> AsyncIterator[bytes]:
    """Keep one read of `frames` pending; each time it has not finished within `interval`
    seconds, send a comment and go on waiting for the *same* read.

    Not `asyncio.wait_for(anext(frames), interval)`: on timeout it cancels the read, and a
    cancelled async generator is closed, so every later frame is lost.
    """
    pending = asyncio.ensure_future(anext(frames, END))
    try:
        while True:
            done, _ = await asyncio.wait({pending}, timeout=interval)
            if not done:
                yield b": keep-alive\n\n"
                continue
            frame = pending.result()
            if frame is END:
                return
            yield frame
            pending = asyncio.ensure_future(anext(frames, END))
    finally:
        pending.cancel()  # the reader left early: stop waiting for the next frame


TERMINAL = {"response.completed", "response.incomplete", "response.failed"}


def text_from_reads(reads: Iterable[bytes]) -> Iterator[str]:
    """What the demo page's fetch() panel does: decode incrementally, split at blank lines,
    and hand on each delta as soon as its event is complete; at the end, refuse a body that
    stopped before a terminal event.

    The incremental decoder keeps a character cut between two reads (TextDecoder's
    `{stream: true}`); only text before a blank line is a complete event; comments have no data.
    A proxy may end a cut body cleanly (jupyter-server-proxy even appends "Connection closed",
    which never becomes an event: no blank line follows it), so the end of the reads proves
    nothing: only a terminal event says the answer is whole.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    pending, ended = "", False
    for read in reads:
        pending += decoder.decode(read)
        *blocks, pending = pending.split("\n\n")
        for block in blocks:
            data = "\n".join(
                line[5:].removeprefix(" ") for line in block.split("\n") if line.startswith("data:")
            )
            if data:
                event = json.loads(data)
                if event["type"] == "response.output_text.delta":
                    yield event["delta"]
                ended = ended or event["type"] in TERMINAL
    if not ended:
        raise ConnectionError("the body ended before a terminal event: the answer was cut")

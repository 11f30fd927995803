"""Layer: transport. May import: helpers.server.dialects, helpers.server.model, helpers.sse.

SSE heartbeats: a comment line whenever a stream has been quiet for `interval` seconds.

Why: proxies and load balancers close a connection that carries no bytes for a while (nginx's
`proxy_read_timeout` is 60 s by default, many load balancers 60 s, CDNs about 100 s), and a
reasoning model can think longer than that before its first token. The client then gets a 504
(nginx; 524 at Cloudflare) or, when the response had already started, a 200 whose body is cut
short (lesson 11 shows both through a real nginx). A comment line (`: keep-alive`) is bytes on
the wire, so the proxy's idle timer restarts, and every SSE reader ignores it (the WHATWG
algorithm, the openai SDK, the kit's helpers.sse), so the events a client sees do not change.
Off by default; on with `--heartbeat-seconds`, `LocalServer(heartbeat=...)` or
`simulation: {"heartbeat": N}`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from helpers.sse import format_comment, format_event

HEARTBEAT = format_comment("keep-alive")  # b": keep-alive\n": a comment line, no event
# Anthropic's stream keeps itself alive with `ping` events instead (its SDK skips them), and its
# SDK skips frames without an `event:` line anyway, so the Messages route beats with these.
PING_EVENT = format_event('{"type": "ping"}', event="ping")  # as the real stream's own ping


def with_heartbeat(
    frames: AsyncIterator[bytes], interval: float | None, beat: bytes = HEARTBEAT
) -> AsyncIterator[bytes]:
    """`frames` as they are, plus `beat` after every `interval` seconds without a frame."""
    if interval is None:
        return frames
    return _beating(frames, interval, beat)


async def _beating(
    frames: AsyncIterator[bytes], interval: float, beat: bytes
) -> AsyncIterator[bytes]:
    # The next frame is awaited in its own task, so a heartbeat can go out while it is pending
    # without cancelling it (cancelling would abandon the token being waited for).
    pending = asyncio.ensure_future(anext(frames))
    try:
        while True:
            done, _ = await asyncio.wait({pending}, timeout=interval)
            if not done:
                yield beat
                continue
            try:
                frame = pending.result()
            except StopAsyncIteration:
                return
            yield frame
            pending = asyncio.ensure_future(anext(frames))
    finally:
        # The client left or the stream ended: stop generating, now, not at garbage collection.
        pending.cancel()
        await asyncio.gather(pending, return_exceptions=True)
        close = getattr(frames, "aclose", None)
        if close is not None:
            await close()

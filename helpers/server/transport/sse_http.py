"""Layer: transport. May import: helpers.server.dialects, helpers.server.model, helpers.sse.

Sending an answer over HTTP: SSE framing, and ASGI responses that stop when the client leaves.

Used by the app's endpoints for every API (and by the background responses and the demo). The
events come from helpers.server.dialects as (type, payload) pairs; this module only reads the
request body and turns the events into bytes on a socket.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from helpers.server.dialects.common import Event
from helpers.server.dialects.requests import MAX_BODY_BYTES
from helpers.server.model.source import RequestError
from helpers.server.model.tokens import DropConnection
from helpers.sse import format_event


def error_response(error: RequestError) -> JSONResponse:
    """The OpenAI error JSON with its status (and headers such as retry-after-ms)."""
    return JSONResponse(error.body(), status_code=error.status, headers=error.headers)


async def read_body(request: Request) -> bytes:
    """The body, refusing more than MAX_BODY_BYTES so a client cannot exhaust memory."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise RequestError(
                f"The request body is larger than {MAX_BODY_BYTES} bytes.", status=413
            )
        chunks.append(chunk)
    return b"".join(chunks)


def sse_frame(
    event_type: str | None, payload: dict[str, Any] | str, event_id: str | None = None
) -> bytes:
    """One SSE frame, written by the kit's own SSE module; an `id:` line only if given one.

    The OpenAI routes give none: no real Responses or Chat Completions stream has `id:` lines
    (data/real_streams/), and a Responses client resumes with `starting_after`, the
    `sequence_number` it read from the JSON.

    The JSON is compact with UTF-8 kept as is, like the real API's. orjson writes it about ten
    times faster than the json module (0.7 µs against 6.6 µs for a delta event, measured here),
    which matters at 10,000 events per second.
    """
    data = payload if isinstance(payload, str) else orjson.dumps(payload).decode()
    return format_event(data, event=event_type, id=event_id)


# Events that the Responses stream always sends back to back with the next one: the opening
# events before the first delta, the closing ones before the final event, `error` before
# `response.failed`. Holding them for one socket write instead of one each costs the client
# nothing (they would arrive within microseconds anyway) and saves the server a send per event.
_SENT_WITH_THE_NEXT = frozenset(
    {
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "error",
    }
)


async def _held_with_the_next(
    events: AsyncIterator[Event], frame_of: Callable[[str, Any], bytes], held: frozenset[str]
) -> AsyncIterator[bytes]:
    """Each event's frame, except that the types in `held` wait to go out in one write with the
    next frame (or at the end): fewer, fuller writes, and the reader sees no difference."""
    waiting = b""
    async for event_type, payload in events:
        frame = frame_of(event_type, payload)
        if event_type in held:
            waiting += frame
            continue
        yield waiting + frame
        waiting = b""
    if waiting:
        yield waiting


def responses_frames(events: AsyncIterator[Event]) -> AsyncIterator[bytes]:
    """Responses API framing: `event:` names the type, no `id:` lines (the real API sends none:
    the event's place is the `sequence_number` in its JSON)."""

    def frame_of(event_type: str, payload: Any) -> bytes:
        return sse_frame(event_type, payload)

    return _held_with_the_next(events, frame_of, _SENT_WITH_THE_NEXT)


async def chat_frames(events: AsyncIterator[Event]) -> AsyncIterator[bytes]:
    """Chat Completions framing: data-only events (no `event:`, no `id:` lines, as on the real
    API), then `data: [DONE]` unless an error ended it.

    The chunks after the last token (finish reason, usage) go out in one write with [DONE].
    """
    held = b""
    async for event_type, payload in events:
        frame = sse_frame(None, payload)
        if event_type == "error":
            yield held + frame
            return
        if payload["choices"] and payload["choices"][0]["finish_reason"] is None:
            yield held + frame
            held = b""
        else:
            held += frame
    yield held + sse_frame(None, "[DONE]")


# The Messages stream's opening frames travel with its first text delta, like the Responses
# stream's (see above); the closing ones go out in one write with message_stop.
_MESSAGES_HELD = frozenset(
    {"message_start", "content_block_start", "ping", "content_block_stop", "message_delta"}
)


ANTHROPIC_PING = '{"type": "ping"}'
"""The ping as the real API writes it: with a space after the colon, unlike every other event."""


def messages_frames(
    events: AsyncIterator[Event], padding_seed: int | None = None
) -> AsyncIterator[bytes]:
    """Anthropic Messages framing: `event:` equals the JSON `type`, no `id:` lines.

    As on the real API, every JSON but the ping's is padded with 0-15 spaces before its final
    `}` (`{"type":"message_stop"   }`): still valid JSON, but no longer byte-for-byte what a
    serializer writes. The widths come from `padding_seed` (None: no padding), so the same
    request gets the same bytes and saved notebook outputs can be compared.
    """
    widths = random.Random(padding_seed) if padding_seed is not None else None

    def frame_of(event_type: str, payload: Any) -> bytes:
        if event_type == "ping":
            return format_event(ANTHROPIC_PING, event=event_type)
        data = orjson.dumps(payload).decode()
        if widths is not None:
            data = data[:-1] + " " * widths.randrange(16) + "}"
        return format_event(data, event=event_type)

    return _held_with_the_next(events, frame_of, _MESSAGES_HELD)


async def _wait_for_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def run_unless_hangup(
    work: Coroutine[Any, Any, Any],
    receive: Receive,
    live: dict[str, asyncio.Task[Any]],
    key: str,
    *,
    grace: float = 0.0,
    on_hangup: Callable[[], None] | None = None,
) -> asyncio.Task[Any] | None:
    """Run `work` as a task listed in `live` under `key`; cancel it if the client hangs up first.

    Two tasks race: the work, and a wait for `http.disconnect`. Whichever finishes first cancels
    the other, so an abandoned request never keeps generating. Returns the finished work task,
    or None when the client left.

    `grace` (seconds, on the local server only): after the hang-up the work carries on that long
    before it is cancelled, as a real server generates (and bills) until it notices; what it
    writes meanwhile goes nowhere. `on_hangup` is called the moment the hang-up is seen.
    """
    task = asyncio.create_task(work)
    hangup = asyncio.create_task(_wait_for_disconnect(receive))
    live[key] = task
    try:
        await asyncio.wait({task, hangup}, return_when=asyncio.FIRST_COMPLETED)
        if hangup.done() and not task.done():
            if on_hangup is not None:
                on_hangup()
            if grace > 0:
                await asyncio.wait({task}, timeout=grace)
    finally:
        task.cancel()
        hangup.cancel()
        await asyncio.gather(task, hangup, return_exceptions=True)
        live.pop(key, None)
    return None if task.cancelled() else task


class EventStream:
    """An ASGI response that sends SSE frames and stops generating the moment the client leaves
    (or `hangup_grace` seconds later; `on_hangup` is told when it left)."""

    def __init__(
        self,
        frames: AsyncIterator[bytes],
        live: dict[str, Any],
        key: str,
        *,
        hangup_grace: float = 0.0,
        on_hangup: Callable[[], None] | None = None,
    ) -> None:
        self.frames, self.live, self.key = frames, live, key
        self.hangup_grace, self.on_hangup = hangup_grace, on_hangup

    async def _pump(self, send: Send) -> None:
        async for frame in self.frames:
            await send({"type": "http.response.body", "body": frame, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [
            (b"content-type", b"text/event-stream; charset=utf-8"),
            (b"cache-control", b"no-cache"),
            (b"x-accel-buffering", b"no"),  # ask nginx-style proxies not to buffer
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        task = await run_unless_hangup(
            self._pump(send),
            receive,
            self.live,
            self.key,
            grace=self.hangup_grace,
            on_hangup=self.on_hangup,
        )
        if task is not None and task.exception() is not None:
            raise task.exception()  # DropConnection: uvicorn then closes the socket mid-body


class CollectedAnswer:
    """An ASGI response for stream=false: the whole answer as JSON once it is generated."""

    def __init__(
        self,
        work: Coroutine[Any, Any, Any],
        live: dict[str, Any],
        key: str,
        render_error: Callable[[RequestError], JSONResponse] = error_response,
    ) -> None:
        self.work, self.live, self.key = work, live, key
        self.render_error = render_error  # each API's own error shape

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        task = await run_unless_hangup(self.work, receive, self.live, self.key)
        if task is None:
            return  # the client left; nobody to answer
        error = task.exception()
        if isinstance(error, RequestError):
            await self.render_error(error)(scope, receive, send)
        elif isinstance(error, DropConnection):
            # Start the response, then hang up: the client sees a body cut short.
            headers = [(b"content-type", b"application/json")]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            raise error
        elif error is not None:
            raise error
        else:
            await JSONResponse(task.result())(scope, receive, send)


class _HideDropConnection(logging.Filter):
    """uvicorn logs every exception that ends a response; an injected drop is not news."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], DropConnection))

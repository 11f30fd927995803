"""Layer: app (the top). May import: every layer below, and the lesson helpers (helpers.sse).

POST /v1/responses/{id}/cancel, as the API reference says: "Only responses created with the
`background` parameter set to `true` can be cancelled."

With one-way streaming (SSE) the client cannot speak on the stream it is reading, so stopping
the server takes either a second request (this endpoint; the SDK calls it
``client.responses.cancel(id)``) or hanging up. Lesson 09 measures both against the WebSocket's
in-band ``response.steer``. What the endpoint answers:

- a background response still generating (``app.background``): generation stops at the next
  token boundary, its stream ends with ``response.incomplete`` carrying ``status: "cancelled"``
  (the API has no ``response.cancelled`` event, see ``dialects.responses.cancelled_events``), and
  the answer is that cancelled Response; ``client.responses.retrieve(id)`` says so afterwards.
  Cancelling it again gives the same Response;
- a background response that already finished otherwise: 400, naming its status;
- a foreground response still streaming (over HTTP or the WebSocket mode): 400; its stream is
  not touched and goes on to ``response.completed``;
- a foreground response that has already ended: the same 400 (the real API stores every
  response, so it knows the id and refuses); the local server remembers the ids it issued;
- an id this server never issued: 404.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from helpers.server.app.replay import ReplayBuffer, ReplayRegistry, UnknownResponse
from helpers.server.dialects.common import Event
from helpers.server.dialects.responses import cancelled_events
from helpers.server.dialects.responses_items import SoFar
from helpers.server.model.source import RequestError
from helpers.server.transport.sse_http import error_response

CANCEL_PATH = "/v1/responses/{response_id}/cancel"
STOP_WAIT_SECONDS = 10.0
"""How long the endpoint waits for a cancelled generation to write its last event."""


# --------------------------------------------------------------------------- the generation side


async def until_cancelled(
    events: AsyncIterator[Event], stop: asyncio.Event, input_tokens: int
) -> AsyncIterator[Event]:
    """Pass `events` on until `stop` is set, then close the open item and end as cancelled.

    The next event and the stop signal race, so a stream parked between two tokens (a stalled
    model) stops at once. An event that is ready wins a tie: nothing already written is lost.
    """
    so_far = SoFar()
    stopped = asyncio.ensure_future(stop.wait())
    try:
        while True:
            step = asyncio.ensure_future(anext(events))
            await asyncio.wait({step, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if not step.done():
                step.cancel()
                with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                    await step
                break
            try:
                event = step.result()
            except StopAsyncIteration:
                return
            so_far.note(*event)
            yield event
    finally:
        stopped.cancel()
    with contextlib.suppress(Exception):
        await events.aclose()  # type: ignore[attr-defined]
    if so_far.response is None:  # pragma: no cover - response.created is awaited before a cancel
        return
    for event in cancelled_events(so_far, input_tokens):
        yield event


# --------------------------------------------------------------------------- reading a buffer


def _data_of(frame: bytes) -> dict[str, Any]:
    lines = frame.split(b"\n")
    return json.loads(b"\n".join(line[6:] for line in lines if line.startswith(b"data: ")))


def latest_response(buffer: ReplayBuffer) -> dict[str, Any]:
    """The newest Response snapshot a background stream carried (what `retrieve` answers)."""
    for event in reversed(buffer.events):
        if b'"response":{' in event.frame:
            data = _data_of(event.frame)
            if isinstance(data.get("response"), dict):
                return data["response"]
    raise LookupError(f"response {buffer.response_id} has no Response event yet")


# --------------------------------------------------------------------------- the endpoint


def _refusal(message: str, status: int, code: str | None) -> Response:
    return error_response(RequestError(message, status=status, param="response_id", code=code))


def is_foreground(state: Any, response_id: str) -> bool:
    """Still streaming on this server, but not as a background response."""
    ws_stats = getattr(state, "ws_stats", None)
    over_websocket = ws_stats is not None and response_id in ws_stats.in_flight
    return over_websocket or response_id in getattr(state, "live_streams", {})


def _finished_foreground(state: Any, response_id: str) -> bool:
    """Issued by this server, not as a background response, and already ended: the real API,
    which stores every response, refuses its cancel with the same 400, so the answer does not
    depend on whether the cancel arrived before or after the stream's last token."""
    registry: ReplayRegistry | None = getattr(state, "replay", None)
    if registry is not None:
        with contextlib.suppress(UnknownResponse):
            registry.get(response_id)
            return False  # a background response: cancel_response handles it
    return response_id in getattr(state, "response_ids", ())


async def _stopped(buffer: ReplayBuffer) -> None:
    """Wait until the generation has written its last event."""
    async for _frame in buffer.follow(len(buffer.events)):
        pass


async def cancel_response(request: Request) -> Response:
    """Cancel a background response; 400 for a foreground one (running or not), 404 for an
    unknown id."""
    response_id = request.path_params["response_id"]
    state = request.app.state
    if is_foreground(state, response_id) or _finished_foreground(state, response_id):
        return _refusal(
            f"Response '{response_id}' cannot be cancelled: only responses created with "
            "'background': true can be cancelled. This one was not, so it goes on to the end; "
            "to stop reading it, close the stream.",
            400, None,
        )
    registry: ReplayRegistry | None = getattr(state, "replay", None)
    try:
        if registry is None:
            raise UnknownResponse(response_id)
        buffer = registry.get(response_id)
    except UnknownResponse:
        return _refusal(
            f"No response with id '{response_id}' found on this server (the local server keeps "
            "only background responses, for a few minutes after they end).",
            404, "response_not_found",
        )
    if not buffer.finished:
        buffer.stop.set()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(STOP_WAIT_SECONDS):
                await _stopped(buffer)
    final = latest_response(buffer)
    if final["status"] != "cancelled":
        return _refusal(
            f"Response '{response_id}' cannot be cancelled: it has already ended with status "
            f"'{final['status']}'.",
            400, None,
        )
    return JSONResponse(final)


def install(app: Starlette) -> None:
    """Add the route (POST only; the SDK's ``client.responses.cancel(id)`` calls it)."""
    app.router.routes.append(Route(CANCEL_PATH, cancel_response, methods=["POST"]))

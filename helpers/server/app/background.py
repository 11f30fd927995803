"""Layer: app (the top). May import: every layer below, and the lesson helpers (helpers.sse).

Resumable Responses on the local server: `background: true`, then resume from any event.

What the real Responses API offers, served offline:

    POST /v1/responses {"stream": true, "background": true, ...}     first connection
    GET  /v1/responses/{id}?stream=true&starting_after=N              resume after event N
    GET  /v1/responses/{id}                                           the Response as it is now
    POST /v1/responses/{id}/cancel                                    stop it (app.cancel)

As on the real API, the stream has no SSE `id:` lines: a client knows where it is from each
event's `sequence_number` (in the JSON) and resumes with `starting_after=N`. A `Last-Event-ID`
header is ignored here, as the real API has no use for it (`EventSource`'s own reconnects, with
that header, are the demo route's protocol: app.demo).

Our choice for "who keeps generating when the client hangs up": only a response created with
`background: true`. It generates into a replay buffer in its own task, for at most
`ReplayRegistry.max_generation_seconds`, and stays resumable for `keep_seconds` after it ends.
Every other response still stops generating the moment its client leaves.

The fault `"drop"` means something else for a background response: the *connection* is cut
after `fault_after` tokens (uvicorn closes the socket mid-body) while generation carries on.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from helpers.server.app.cancel import latest_response, until_cancelled
from helpers.server.app.replay import (
    ReplayBuffer,
    ReplayRegistry,
    UnknownEventId,
    UnknownResponse,
)
from helpers.server.app.routes import answer, raise_pre_stream_fault, simulation_for
from helpers.server.dialects.common import ReasoningLinks, new_id
from helpers.server.dialects.requests import parse_json_body, parse_responses_request
from helpers.server.dialects.responses import response_events
from helpers.server.model.source import RequestError, SimRequest
from helpers.server.model.tokens import DropConnection
from helpers.server.transport.arrival_clock import arrival_time
from helpers.server.transport.sse_http import EventStream, error_response, read_body, sse_frame

__all__ = ["RETRY_MS", "install_resumable_responses", "replay_registry"]

RETRY_MS = 250
"""Sent as `retry:` at the start of every connection: how long a client waits to reconnect."""

RETRY_LINE = f"retry: {RETRY_MS}\n".encode()
"""Put in front of a connection's first event. Not as a block of its own: the openai SDK's
decoder turns a block holding only `retry:` into an event with empty data and fails on it."""


def replay_registry(app: Starlette) -> ReplayRegistry:
    """The app's registry of resumable responses, created on first use."""
    registry = getattr(app.state, "replay", None)
    if registry is None:
        registry = app.state.replay = ReplayRegistry()
    return registry


async def numbered_frames(
    sim: SimRequest, stop: asyncio.Event, links: ReasoningLinks | None = None
) -> AsyncIterator[tuple[str, bytes]]:
    """(sequence number, frame) pairs of one Responses stream: the buffer keys each event by its
    `sequence_number`, what `starting_after` names; the frame itself has no `id:` line.

    Setting `stop` (a cancel) ends the stream early, as a cancelled Response (app.cancel).
    """
    events = response_events(sim, links=links)
    async for event_type, payload in until_cancelled(events, stop, sim.input_tokens):
        yield str(payload["sequence_number"]), sse_frame(event_type, payload)


async def follow_with_retry(
    buffer: ReplayBuffer, position: int, *, cut_after_deltas: int | None = None
) -> AsyncIterator[bytes]:
    """One connection's body: the buffer from `position`, the first event carrying `retry:`.

    `cut_after_deltas` injects a dropped connection after that many text deltas.
    """
    deltas = 0
    prefix = RETRY_LINE
    async for frame in buffer.follow(position):
        yield prefix + frame
        prefix = b""
        if b"event: response.output_text.delta\n" in frame:
            deltas += 1
            if cut_after_deltas is not None and deltas >= cut_after_deltas:
                raise DropConnection(f"injected fault 'drop' after {deltas} tokens")


def _stream_response(request: Request, frames: AsyncIterator[bytes]) -> Any:
    return EventStream(frames, request.app.state.live_streams, new_id("stream_"))


async def create_response_or_background(request: Request) -> Any:
    """POST /v1/responses: `background: true` goes to the replay buffer, the rest unchanged."""
    received_at = arrival_time(request.scope)  # the TTFT clock starts at arrival
    try:
        body = parse_json_body(await read_body(request))
        background = body.get("background")
        if background is not None and not isinstance(background, bool):
            raise RequestError(
                f"Invalid type for 'background': expected a boolean, but got {background!r}.",
                param="background",
                code="invalid_type",
            )
        if not background:
            return await answer(request, "responses", body, received_at)
        sim = parse_responses_request(body, simulation_for(request))
        request.app.state.response_ids.check_previous(body)
        request.app.state.reasoning_links.check(body)
        raise_pre_stream_fault(sim)  # "429" / "500" come before any stream, background or not
        if not sim.stream:
            raise RequestError(
                "This server supports 'background': true only with 'stream': true.",
                param="stream",
            )
    except RequestError as error:
        return error_response(error)
    cut = sim.simulation.fault_after if sim.simulation.fault == "drop" else None
    if cut is not None:  # the drop hits the connection, not the generation
        sim = replace(sim, simulation=replace(sim.simulation, fault=None))
    stop = asyncio.Event()
    frames = numbered_frames(sim, stop, request.app.state.reasoning_links)
    first_id, first_frame = await anext(frames)  # response.created carries the response id
    response_id = _response_id_of(first_frame)
    request.app.state.response_ids.add(response_id)
    registry = replay_registry(request.app)
    try:
        buffer = registry.start(response_id, _prepend((first_id, first_frame), frames), stop)
    except OverflowError as exc:
        await frames.aclose()
        return error_response(RequestError(str(exc), status=429, code="too_many_responses"))
    return _stream_response(request, follow_with_retry(buffer, 0, cut_after_deltas=cut))


async def resume_response(request: Request) -> Any:
    """GET /v1/responses/{id}?stream=true&starting_after=N: the events after sequence number N
    (all of them without N). A `Last-Event-ID` header is ignored, as on the real API.

    Without `stream=true` (`client.responses.retrieve(id)`): the newest Response snapshot,
    whose status says `in_progress`, `completed`, `cancelled`, ...
    """
    response_id = request.path_params["response_id"]
    try:
        stream = request.query_params.get("stream", "false")
        if stream not in ("true", "false"):
            raise RequestError(
                f"Invalid 'stream': expected true or false, got {stream!r}.", param="stream"
            )
        if stream == "false":
            return JSONResponse(latest_response(replay_registry(request.app).get(response_id)))
        starting_after = request.query_params.get("starting_after")
        if starting_after is not None and not starting_after.isdigit():
            raise RequestError(
                f"Invalid 'starting_after': expected a sequence number, got {starting_after!r}.",
                param="starting_after",
            )
        buffer = replay_registry(request.app).get(response_id)
        position = buffer.position_after(starting_after)
    except UnknownResponse as exc:
        return error_response(RequestError(str(exc), status=404, code="response_not_found"))
    except UnknownEventId as exc:
        return error_response(RequestError(str(exc), param="starting_after"))
    except RequestError as error:
        return error_response(error)
    if buffer.is_delivered(position):
        return Response(status_code=204)  # EventSource's signal: stop reconnecting
    return _stream_response(request, follow_with_retry(buffer, position))


def _response_id_of(frame: bytes) -> str:
    data = b"".join(
        line[len(b"data: ") :] for line in frame.split(b"\n") if line.startswith(b"data: ")
    )
    return json.loads(data)["response"]["id"]


async def _prepend(
    first: tuple[str, bytes], rest: AsyncIterator[tuple[str, bytes]]
) -> AsyncIterator[tuple[str, bytes]]:
    yield first
    async for item in rest:
        yield item


def install_resumable_responses(app: Starlette) -> None:
    """Put our two routes in front of the server's own POST /v1/responses (once)."""
    if any(getattr(r, "endpoint", None) is resume_response for r in app.router.routes):
        return
    replay_registry(app)
    app.router.routes[0:0] = [
        Route("/v1/responses", create_response_or_background, methods=["POST"]),
        Route("/v1/responses/{response_id}", resume_response, methods=["GET"]),
    ]

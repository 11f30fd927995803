"""Layer: app (the top). May import: every layer below, and the lesson helpers (helpers.sse).

Anthropic's Messages endpoint on the same local server: `POST /v1/messages`, streamed or not,
errors in Anthropic's shape, and the key check (`x-api-key` or `Authorization: Bearer`) when the
server has one. The official
`anthropic` SDK takes the server root as its base URL: `Anthropic(base_url="http://127.0.0.1:N")`.

The body is checked and the events built by `dialects.anthropic`; the bytes are sent by
`transport.sse_http`, which also stops generating when the client hangs up.
"""

from __future__ import annotations

import hmac
from dataclasses import replace
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from helpers.server.app.routes import simulation_for
from helpers.server.dialects.anthropic import (
    collect_message,
    error_body,
    message_events,
    padding_seed,
    parse_messages_request,
    pre_stream_fault,
)
from helpers.server.dialects.common import new_id
from helpers.server.dialects.requests import parse_json_body
from helpers.server.model.source import RequestError
from helpers.server.model.tokens import admit
from helpers.server.transport.arrival_clock import arrival_time
from helpers.server.transport.heartbeat import PING_EVENT, with_heartbeat
from helpers.server.transport.sse_http import (
    CollectedAnswer,
    EventStream,
    messages_frames,
    read_body,
)

PATH = "/v1/messages"


def anthropic_error(error: RequestError) -> JSONResponse:
    """Anthropic's `{"type": "error", "error": {...}}` with the status and headers."""
    return JSONResponse(error_body(error), status_code=error.status, headers=error.headers)


async def create_message(request: Request) -> Any:
    received_at = arrival_time(request.scope)  # the TTFT clock starts at arrival
    try:
        body = parse_json_body(await read_body(request))
        parsed = parse_messages_request(body, simulation_for(request), _betas(request))
        fault = pre_stream_fault(parsed.sim)
        if fault is not None:
            raise fault
        sim = await admit(replace(parsed.sim, received_at=received_at))
    except RequestError as error:
        return anthropic_error(error)
    parsed = replace(parsed, sim=sim)
    message_id = new_id("msg_")
    live = request.app.state.live_streams
    if not sim.stream:
        work = collect_message(parsed, message_id)
        return CollectedAnswer(work, live, message_id, render_error=anthropic_error)
    frames = messages_frames(message_events(parsed, message_id), padding_seed(parsed))
    beating = with_heartbeat(frames, sim.simulation.heartbeat, beat=PING_EVENT)
    return EventStream(beating, live, message_id)


def _betas(request: Request) -> tuple[str, ...]:
    """The `anthropic-beta` header's values (the SDK sends one header, comma-separated)."""
    values = ",".join(request.headers.getlist("anthropic-beta"))
    return tuple(value.strip() for value in values.split(",") if value.strip())


async def not_found(request: Request) -> JSONResponse:
    """Other paths and methods under /v1/messages, answered in Anthropic's shape."""
    if request.url.path == PATH:
        message = f"Method {request.method} is not allowed on {PATH}; use POST."
        return anthropic_error(RequestError(message, status=405))
    message = f"Not Found: {request.method} {request.url.path} (the kit serves POST {PATH})."
    return anthropic_error(RequestError(message, status=404))


ROUTES = [
    Route(PATH, create_message, methods=["POST"]),
    Route(PATH + "{rest:path}", not_found, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
]


def key_refusal(headers: dict[bytes, bytes], api_key: str) -> JSONResponse | None:
    """None when the key matches, else the 401 Anthropic sends.

    The key may travel in `x-api-key` (Anthropic's documented header, curl examples) or in
    `Authorization: Bearer` (what the anthropic SDK 2.15 sends for `api_key=`): both count.
    """
    given = headers.get(b"x-api-key", b"")
    bearer = headers.get(b"authorization", b"")
    if hmac.compare_digest(given, api_key.encode()) or hmac.compare_digest(
        bearer, f"Bearer {api_key}".encode()
    ):
        return None
    message = "invalid x-api-key" if given or bearer else "x-api-key header is required"
    return anthropic_error(RequestError(message, status=401))

"""Layer: app (the top). May import: every layer below, and the lesson helpers (helpers.sse).

The OpenAI endpoints of the local server: POST /v1/responses, POST /v1/chat/completions (both
with stream true/false), GET /v1/models, and errors in OpenAI's shape. Each endpoint reads the
body (transport), checks it and builds the events in its API's dialect, and answers with an SSE
stream or one JSON object (transport). Any model name is accepted and echoed back.

The background responses (`app.background`) and the classroom demo (`app.demo`) reuse `answer`,
`simulation_for` and `raise_pre_stream_fault`; `app.server` mounts all of them.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from helpers.server.dialects.chat import chat_events, collect_chat
from helpers.server.dialects.common import new_id
from helpers.server.dialects.requests import (
    parse_chat_request,
    parse_json_body,
    parse_responses_request,
)
from helpers.server.dialects.responses import collect_response, response_events
from helpers.server.model.simulated import MODEL_ID
from helpers.server.model.source import RequestError, SimRequest, Simulation, TokenTally
from helpers.server.model.tokens import admit
from helpers.server.transport.arrival_clock import arrival_time
from helpers.server.transport.heartbeat import with_heartbeat
from helpers.server.transport.sse_http import (
    CollectedAnswer,
    EventStream,
    chat_frames,
    error_response,
    read_body,
    responses_frames,
)

# --------------------------------------------------------------------------- errors


async def http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 and friends, in OpenAI's error shape so the SDK maps them."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        message = f"Unknown request URL: {request.method} {request.url.path}."
        return error_response(RequestError(message, status=404, code="unknown_url"))
    message = f"{exc.detail} ({request.method} {request.url.path})."
    return error_response(RequestError(message, status=exc.status_code))


async def unexpected_error(request: Request, exc: Exception) -> Response:
    message = f"The server had an error processing your request ({type(exc).__name__})."
    return error_response(
        RequestError(message, status=500, type="server_error", code="server_error")
    )


# --------------------------------------------------------------------------- endpoints


def simulation_for(request: Request) -> Simulation:
    """The server's settings, with a server-wide fault used up after `fault_count` requests."""
    state = request.app.state
    simulation: Simulation = state.simulation
    if simulation.fault is not None and state.fault_budget is not None:
        if state.fault_budget <= 0:
            return replace(simulation, fault=None)
        state.fault_budget -= 1
    return simulation


def raise_pre_stream_fault(sim: SimRequest) -> None:
    fault = sim.simulation.fault
    if fault == "429":
        wait_ms = sim.simulation.retry_after_ms
        raise RequestError(
            f"Rate limit reached for {sim.model} (simulated fault '429'). "
            f"Please try again in {wait_ms}ms.",
            status=429,
            type="requests",
            code="rate_limit_exceeded",
            headers={"retry-after-ms": str(wait_ms)},
        )
    if fault == "500":
        raise RequestError(
            "The server had an error while processing your request (simulated fault '500').",
            status=500,
            type="server_error",
            code="server_error",
        )
    if fault == "529":  # Anthropic's "overloaded" status; the openai SDK treats it as any 5xx
        raise RequestError(
            "The server is overloaded (simulated fault '529').",
            status=529,
            type="server_error",
            code="overloaded",
        )


async def create_response(request: Request) -> Any:
    return await _read_and_answer(request, "responses")


async def create_chat_completion(request: Request) -> Any:
    return await _read_and_answer(request, "chat")


async def _read_and_answer(request: Request, api: str) -> Any:
    received_at = arrival_time(request.scope)  # the TTFT clock starts at arrival
    try:
        body = parse_json_body(await read_body(request))
    except RequestError as error:
        return error_response(error)
    return await answer(request, api, body, received_at)


# For each API: check the body, the answer's events, the whole answer, the SSE framing.
_APIS = {
    "responses": (parse_responses_request, response_events, collect_response, responses_frames),
    "chat": (parse_chat_request, chat_events, collect_chat, chat_frames),
}


async def answer(request: Request, api: str, body: dict[str, Any], received_at: float) -> Any:
    """Shared by both APIs: check the request, inject pre-stream faults, stream or collect."""
    parse, events, collect, frames = _APIS[api]
    try:
        sim = parse(body, simulation_for(request))
        request.app.state.response_ids.check_previous(body)  # (Chat refused the field already)
        if api == "responses":  # a reasoning model's call sent back without its reasoning
            request.app.state.reasoning_links.check(body)
        sim = replace(sim, received_at=received_at)
        raise_pre_stream_fault(sim)
        sim = await admit(sim)  # a real model counts the prompt and refuses one too long
    except RequestError as error:
        return error_response(error)
    answer_id = new_id("resp_" if api == "responses" else "chatcmpl-")
    if api == "responses" and body.get("store") is not False:  # store: false keeps no id
        request.app.state.response_ids.add(answer_id)
    live = request.app.state.live_streams
    if api == "responses":  # the calls it issues, and the reasoning item each one needs back
        events = partial(events, links=request.app.state.reasoning_links)
        collect = partial(collect, links=request.app.state.reasoning_links)
    if not sim.stream:
        return CollectedAnswer(collect(sim, answer_id), live, answer_id)
    tally = remember_tally(request.app.state, answer_id)
    sim = replace(sim, tally=tally)
    stream = with_heartbeat(frames(events(sim, answer_id)), sim.simulation.heartbeat)
    return EventStream(
        stream,
        live,
        answer_id,
        hangup_grace=request.app.state.hangup_grace,
        on_hangup=tally.client_left,
    )


# --------------------------------------------------------------------------- token tallies

TALLIES_KEPT = 1000  # the latest streamed answers' tallies; older ones are forgotten


def remember_tally(state: Any, answer_id: str) -> TokenTally:
    """A new tally for a streamed answer, kept (with the latest TALLIES_KEPT) for /kit/tokens."""
    tallies = state.token_tallies
    tallies[answer_id] = tally = TokenTally()
    while len(tallies) > TALLIES_KEPT:
        tallies.pop(next(iter(tallies)))
    return tally


async def token_tally(request: Request) -> JSONResponse:
    """GET /kit/tokens/{id}, on the local server only (lesson 13): how many tokens a streamed
    answer generated, and how many of them after its client hung up."""
    answer_id = request.path_params["answer_id"]
    tally = request.app.state.token_tallies.get(answer_id)
    if tally is None:
        message = f"No streamed answer with id {answer_id!r} (the latest {TALLIES_KEPT} are kept)."
        return error_response(RequestError(message, status=404, code="not_found"))
    return JSONResponse({"id": answer_id, **tally.as_dict()})


async def list_models(request: Request) -> JSONResponse:
    """The server's model first; a server running a real model also answers the simulated one."""
    source = request.app.state.simulation.model_source
    ids = [MODEL_ID] if source is None else [source.model_id, MODEL_ID]
    created = int(request.app.state.started_at)
    models = [
        {"id": model_id, "object": "model", "created": created, "owned_by": "streaming-llm-kit"}
        for model_id in ids
    ]
    return JSONResponse({"object": "list", "data": models})

"""Layer: dialects. May import: helpers.server.model, other dialects modules. No I/O.

The Responses API dialect: an answer as the OpenAI Responses stream events, independent of any
transport. `response_events()` yields `(event_type, payload)` pairs in the same order and shapes
as the OpenAI Responses API. The SSE endpoint, the non-streamed endpoint (`collect_response`)
and any later transport (a replay buffer) all consume this generator, so they can never
disagree about the answer. The WebSocket mode (`responses_websocket`) shares the Response
fields and text parts defined here.

The tokens and their timing come from helpers.server.model.tokens, stream faults included:
an injected "error" becomes an `error` event then `response.failed`. The `error` event nests its
fields as the real API does (`{"type": "error", "sequence_number": n, "error": {"type", "code",
"message", "param"}}`, data/real_streams/openai-responses-error-1.sse), not at the top level as
the openai SDK's `ResponseErrorEvent` declares them: the SDK (3.63) raises `openai.APIError` on
any event whose data has an `error` object, so a client meets the failure as it would on the API.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator
from typing import Any

from helpers.server.dialects.common import Event, ReasoningLinks, new_id
from helpers.server.dialects.obfuscation import obfuscation_for
from helpers.server.dialects.responses_items import OutputItems, SoFar
from helpers.server.dialects.responses_items import text_part as text_part  # the WebSocket's
from helpers.server.model.source import Generation, RequestError, SimRequest, StreamFailed
from helpers.server.model.tokens import answer_pieces, planned_calls

# Fields of a Response that the simulated model never varies. The SDK validates each `response`
# object against its `Response` model, so even fields the kit does not simulate (sampling
# settings, tools) must be present. Keeping them here means the HTTP stream and the WebSocket
# mode cannot drift apart.
FIXED_RESPONSE_FIELDS: dict[str, Any] = {
    "object": "response",
    "error": None,
    "metadata": {},
    "parallel_tool_calls": True,
    "temperature": 1.0,
    "text": {"format": {"type": "text"}},
    "tool_choice": "auto",
    "tools": [],
    "top_p": 1.0,
    "truncation": "disabled",
}


# --------------------------------------------------------------------------- Responses API


def _usage(
    input_tokens: int, output_tokens: int, cached_tokens: int = 0, reasoning_tokens: int = 0
) -> dict[str, Any]:
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": cached_tokens, "cache_write_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
        "total_tokens": input_tokens + output_tokens,
    }


# Fields the real Response object carries (recordings from 2025-07 on) with their values when
# the request does not set them; a request that sets one gets it echoed (requests._ECHOED).
DEFAULT_ECHOED_FIELDS: dict[str, Any] = {
    "background": False,
    "frequency_penalty": 0.0,
    "max_tool_calls": None,
    "moderation": None,
    "presence_penalty": 0.0,
    "prompt_cache_retention": None,
    "prompt_cache_key": None,
    "safety_identifier": None,
    "service_tier": "auto",
    "store": True,
    "top_logprobs": 0,
    "user": None,
}


def final_service_tier(requested: Any) -> str:
    """The tier a finished response reports: "auto" (or none asked) was served as "default"."""
    return "default" if requested in (None, "auto") else str(requested)


def _response_object(
    request: SimRequest, response_id: str, created_at: int, status: str, **fields: Any
) -> dict[str, Any]:
    """A Response object with every field the SDK's model requires, and those the real API
    sends beside them (background, store, service_tier, user, ...)."""
    echo = request.echo
    reasoning = {"effort": None, "summary": None, **(echo.get("reasoning") or {})}
    response = {
        **FIXED_RESPONSE_FIELDS,
        **DEFAULT_ECHOED_FIELDS,
        "id": response_id,
        "created_at": created_at,
        "status": status,
        "completed_at": None,
        "incomplete_details": None,
        "instructions": request.instructions,
        "max_output_tokens": request.max_tokens,
        "model": request.model,
        "output": [],
        "previous_response_id": None,
        "usage": None,
        **echo,  # tools, tool_choice, text, parallel_tool_calls, store, user, ... as sent
        "reasoning": reasoning,
        "text": {"format": {"type": "text"}, "verbosity": "medium", **(echo.get("text") or {})},
        **fields,
    }
    if status not in ("queued", "in_progress"):
        response["service_tier"] = final_service_tier(echo.get("service_tier"))
    if status == "completed":
        response["completed_at"] = int(time.time())
    return response


async def response_events(
    request: SimRequest, response_id: str | None = None, links: ReasoningLinks | None = None
) -> AsyncIterator[Event]:
    """The Responses API stream: created, in_progress, then each output item (reasoning,
    function calls or a message) added, its deltas, its done events; then the final event.
    `links` learns which reasoning item each function call needs back (dialects.common)."""
    generation = Generation()
    response_id = response_id or new_id("resp_")
    created_at = int(time.time())
    sequence = itertools.count()
    reasoning = request.features.reasoning_effort not in (None, "none")
    items = OutputItems(planned_calls(request), reasoning,
                        "reasoning.encrypted_content" in request.include, links)

    def event(event_type: str, **fields: Any) -> Event:
        return event_type, {"type": event_type, "sequence_number": next(sequence), **fields}

    def response(status: str, **fields: Any) -> dict[str, Any]:
        return _response_object(request, response_id, created_at, status, **fields)

    yield event("response.created", response=response("in_progress"))
    yield event("response.in_progress", response=response("in_progress"))
    for event_type, fields in items.opening():
        yield event(event_type, **fields)
    obfuscation = obfuscation_for(request)
    try:
        async for kind, index, piece in answer_pieces(request, generation):
            for event_type, fields in items.piece(kind, index, piece):
                if obfuscation and event_type.endswith(".delta"):
                    fields["obfuscation"] = obfuscation.for_delta(fields["delta"])
                yield event(event_type, **fields)
    except StreamFailed as failure:
        error = {"code": "server_error", "message": str(failure)}
        yield event("error", error={"type": "server_error", **error, "param": None})
        yield event("response.failed", response=response("failed", error=error,
                                                          output=items.output()))
        return
    status = "incomplete" if generation.truncated else "completed"
    for event_type, fields in items.close(status):
        yield event(event_type, **fields)
    usage = _usage(request.input_tokens, generation.output_tokens, generation.cached_tokens,
                   generation.reasoning_tokens)
    final = response(status, output=items.output(), usage=usage)
    if generation.truncated:
        final["incomplete_details"] = {"reason": "max_output_tokens"}
        yield event("response.incomplete", response=final)
    else:
        yield event("response.completed", response=final)


async def collect_response(
    request: SimRequest, response_id: str | None = None, links: ReasoningLinks | None = None
) -> dict[str, Any]:
    """The non-streamed answer: the final Response object of the very same event stream."""
    async for event_type, payload in response_events(request, response_id, links):
        if event_type == "error":
            raise RequestError(
                payload["error"]["message"], status=500, type="server_error", code="server_error"
            )
        if event_type in ("response.completed", "response.incomplete"):
            return payload["response"]
    raise AssertionError("response_events ended without a final event")  # pragma: no cover


def cancelled_events(so_far: SoFar, input_tokens: int) -> list[Event]:
    """How a cancelled background stream ends: each open item closes, then the final event.

    The API has no `response.cancelled` event (the openai SDK's event union has none, so it
    could not parse one). The final event is `response.incomplete` whose Response says
    `status: "cancelled"`: the SDK parses it, a loop that waits for any of the three terminal
    events ends on it, and a response cut short by a steer ends with the same event.
    """
    sequence = itertools.count(so_far.next_seq)

    def event(event_type: str, **fields: Any) -> Event:
        return event_type, {"type": event_type, "sequence_number": next(sequence), **fields}

    events = [event(event_type, **fields) for event_type, fields in so_far.close_open("incomplete")]
    assert so_far.response is not None
    usage = _usage(input_tokens, sum(map(len, so_far.pieces.values())))
    final = {**so_far.response, "status": "cancelled", "output": so_far.output(), "usage": usage}
    events.append(event("response.incomplete", response=final))
    return events

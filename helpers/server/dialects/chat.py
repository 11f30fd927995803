"""Layer: dialects. May import: helpers.server.model, other dialects modules. No I/O.

The Chat Completions dialect: an answer as `chat.completion.chunk` events, independent of any
transport. `chat_events()` yields `(event_type, payload)` pairs; the SSE transport frames them
(data-only, then `data: [DONE]`) and `collect_chat` assembles the non-streamed completion from
the very same chunks.

The tokens and their timing come from helpers.server.model.tokens, stream faults included:
an injected "error" becomes a `{"error": ...}` chunk.

Function calls stream as `delta.tool_calls`, one piece per chunk as the real API sends them: the
first piece of call `i` carries `index: i`, its `id`, `type` and `function.name` (arguments ""),
later pieces only `index` and `function.arguments`; the last chunk says `finish_reason:
"tool_calls"`. A client (or the SDK's `chat.completions.stream()`) joins the arguments by
`index`, never by arrival order.

A Structured Outputs refusal (model.refusal) streams as the live-API snapshot in openai-python
recorded it (`.inline-snapshot/external/173417d5….bin`, gpt-4o-2024-08-06, 2024-09-26): a first
delta `{"role": "assistant", "content": null, "refusal": ""}`, then `{"refusal": piece}` deltas,
then `finish_reason: "stop"`; the completion's message has `content: null` and the sentence in
`refusal` (the same repository's non-streamed snapshot).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

from helpers.server.dialects.common import Event, new_id
from helpers.server.dialects.obfuscation import obfuscation_for
from helpers.server.model.source import Generation, RequestError, SimRequest, StreamFailed
from helpers.server.model.tokens import answer_pieces, planned_calls

# --------------------------------------------------------------------------- Chat Completions


def _chat_usage(generation: Generation, input_tokens: int) -> dict[str, Any]:
    output_tokens = generation.output_tokens
    return {
        "prompt_tokens": input_tokens,
        "completion_tokens": output_tokens,
        "total_tokens": input_tokens + output_tokens,
        "prompt_tokens_details": {"cached_tokens": generation.cached_tokens, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": generation.reasoning_tokens, "audio_tokens": 0,
            "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0,
        },
    }


def service_tier(request: SimRequest) -> str:
    """The tier a chunk reports: "auto" (or none asked) is served as "default"."""
    requested = request.echo.get("service_tier")
    return "default" if requested in (None, "auto") else str(requested)


def _tool_call_deltas(
    index: int, piece: str, started: dict[int, str], name: str
) -> list[dict[str, Any]]:
    """A call opens with a piece naming it (index, id, name, arguments ""), as the real API
    sends it; every piece after that carries only `index` and `function.arguments`."""
    opening = []
    if index not in started:
        started[index] = new_id("call_")
        opening = [{"index": index, "id": started[index], "type": "function",
                    "function": {"name": name, "arguments": ""}}]
    return [*opening, {"index": index, "function": {"arguments": piece}}]


async def chat_events(
    request: SimRequest, completion_id: str | None = None
) -> AsyncIterator[Event]:
    """Chat Completions chunks as ("chat.completion.chunk" | "error", payload) pairs.

    The transport adds the final `data: [DONE]` (after a normal end, not after an error).
    """
    generation = Generation()
    chunk_id, created = completion_id or new_id("chatcmpl-"), int(time.time())
    tier = service_tier(request)
    obfuscation = obfuscation_for(request)

    def chunk(delta: dict[str, Any] | None, finish_reason: str | None = None,
              usage: dict[str, Any] | None = None) -> Event:
        choices = [] if delta is None else [
            {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        ]
        payload: dict[str, Any] = {
            "id": chunk_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": request.model,
            "service_tier": tier,
            "system_fingerprint": None,
            "choices": choices,
        }
        if request.include_usage:
            payload["usage"] = usage
        if obfuscation:
            payload["obfuscation"] = obfuscation.for_chunk(choices)
        return "chat.completion.chunk", payload

    the_plan = planned_calls(request)
    calls, refused = the_plan.calls, the_plan.refusal == "part"
    yield chunk({"role": "assistant", "content": None if calls or refused else "",
                 "refusal": "" if refused else None})
    started: dict[int, str] = {}  # call index -> its id, once its first piece went out
    try:
        async for kind, index, piece in answer_pieces(request, generation):
            if kind == "call":
                for call in _tool_call_deltas(index, piece, started, calls[index].name):
                    yield chunk({"tool_calls": [call]})
            elif kind == "text":
                yield chunk({"content": piece})
            elif kind == "refusal":
                yield chunk({"refusal": piece})
    except StreamFailed as failure:
        error = {
            "message": str(failure),
            "type": "server_error",
            "param": None,
            "code": "server_error",
        }
        yield "error", {"error": error}
        return
    finish = "length" if generation.truncated else "tool_calls" if calls else "stop"
    yield chunk({}, finish)
    if request.include_usage:
        yield chunk(None, usage=_chat_usage(generation, request.input_tokens))


async def collect_chat(request: SimRequest, completion_id: str | None = None) -> dict[str, Any]:
    """The non-streamed chat completion, assembled from the same chunks (usage: the last one)."""
    pieces: list[str] = []
    refusal: list[str] | None = None  # the refusal's pieces, once its first delta said ""
    calls: dict[int, dict[str, Any]] = {}
    finish_reason, first, usage = None, None, None
    with_usage = replace(request, include_usage=True)  # the last chunk then carries the usage
    async for event_type, payload in chat_events(with_usage, completion_id):
        if event_type == "error":
            raise RequestError(
                payload["error"]["message"], status=500, type="server_error", code="server_error"
            )
        first = first or payload
        usage = payload.get("usage") or usage
        for choice in payload["choices"]:
            delta = choice["delta"]
            if "content" in delta and "role" not in delta:  # the first chunk only names the role
                pieces.append(delta["content"])
            if delta.get("refusal") is not None:
                refusal = [*(refusal or []), delta["refusal"]]
            for call in delta.get("tool_calls", ()):
                _add_call_piece(calls, call)
            finish_reason = choice["finish_reason"] or finish_reason
    assert first is not None
    message: dict[str, Any] = {"role": "assistant", "content": "".join(pieces), "refusal": None}
    if refusal is not None:
        message.update(content=None, refusal="".join(refusal))
    if calls:
        message.update(content=None, tool_calls=[calls[index] for index in sorted(calls)])
    return {
        "id": first["id"],
        "object": "chat.completion",
        "created": first["created"],
        "model": request.model,
        "service_tier": first["service_tier"],
        "system_fingerprint": None,
        "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}
        ],
        "usage": usage,
    }


def _add_call_piece(calls: dict[int, dict[str, Any]], piece: dict[str, Any]) -> None:
    """Join a streamed tool call by its `index`: the first piece opens it, the rest append."""
    function = piece["function"]
    if piece["index"] not in calls:
        calls[piece["index"]] = {
            "id": piece["id"], "type": "function",
            "function": {"name": function["name"], "arguments": ""},
        }
    calls[piece["index"]]["function"]["arguments"] += function["arguments"]

"""The simulated model's answer as OpenAI-shaped stream events, independent of any transport.

`response_events()` yields `(event_type, payload)` pairs in the same order and shapes as the
OpenAI Responses API; `chat_events()` does the same for Chat Completions chunks. The SSE
endpoint, the non-streamed endpoint (`collect_*`) and any later transport (a WebSocket, a
replay buffer) all consume these generators, so they can never disagree about the answer.

Tokens leave at absolute deadlines measured from the start of the stream (see
`LatencyProfile.schedule`), so a slow event loop delays one token, not every token after it.

Stream faults (from the request's `Simulation`), applied after `fault_after` tokens, or after
the last token if the answer is shorter:
- "error": an `error` event (Responses: then `response.failed`; Chat: a `{"error": ...}` chunk);
- "drop":  raises `DropConnection`, and the transport closes the socket mid-body;
- "stall": pauses `stall_seconds`, then carries on.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

from helpers.model_source import Generation, StreamFailed
from helpers.response_shapes import FIXED_RESPONSE_FIELDS, text_part
from helpers.sim_requests import RequestError, SimRequest, Simulation
from helpers.simulated_model import Answer, answer_prompt

Event = tuple[str, dict[str, Any]]
INJECTED_ERROR_MESSAGE = "The simulated model failed mid-stream (injected fault 'error')."


class DropConnection(Exception):
    """Raised mid-stream so the transport hangs up without finishing the response body."""


class _InjectedError(StreamFailed):
    """Internal: the 'error' fault fired; each API reports it in its own shape."""

    def __init__(self) -> None:
        super().__init__(INJECTED_ERROR_MESSAGE)


def new_id(prefix: str) -> str:
    """Random ids like the real API's ("resp_…", "msg_…", "chatcmpl-…"); notebooks mask them."""
    return prefix + secrets.token_hex(12)


def answer_for(request: SimRequest) -> Answer:
    return answer_prompt(
        request.prompt, seed=request.simulation.seed, max_tokens=request.max_tokens
    )


async def timed_tokens(request: SimRequest, answer: Answer) -> AsyncIterator[str]:
    """Yield each token when it is due; inject the request's stream fault on the way."""
    sim = request.simulation
    loop = asyncio.get_running_loop()
    start = loop.time() if request.received_at is None else request.received_at
    schedule = sim.latency.schedule(
        len(answer.tokens), input_tokens=request.input_tokens, seed=sim.seed
    )
    fault_at = (
        min(sim.fault_after, len(answer.tokens)) if sim.fault in ("error", "drop", "stall") else -1
    )
    for index in range(len(answer.tokens) + 1):
        if index == fault_at:
            if sim.fault == "stall":
                await asyncio.sleep(sim.stall_seconds)
                start += sim.stall_seconds  # later tokens keep their spacing after the stall
            elif sim.fault == "drop":
                raise DropConnection(f"injected fault 'drop' after {index} tokens")
            else:
                raise _InjectedError
        if index == len(answer.tokens):
            return
        # Sleep until the token is due; when already late, still yield once to the event loop
        # so that one late stream cannot starve the others while it catches up.
        await asyncio.sleep(max(0.0, start + schedule[index] - loop.time()))
        yield answer.tokens[index]


async def _simulated_tokens(request: SimRequest, generation: Generation) -> AsyncIterator[str]:
    answer = answer_for(request)
    generation.truncated = answer.truncated
    async for token in timed_tokens(request, answer):
        generation.output_tokens += 1
        yield token


async def with_stream_fault(tokens: AsyncIterator[str], request: SimRequest) -> AsyncIterator[str]:
    """The request's stream fault for a model whose tokens are not scheduled here (a real one):
    after `fault_after` pieces, or after the last one if the answer is shorter."""
    sim = request.simulation
    fault_at = sim.fault_after if sim.fault in ("error", "drop", "stall") else None
    count = 0
    try:
        async for token in tokens:
            if count == fault_at:
                await _fire(sim, count)
            yield token
            count += 1
        if fault_at is not None and count <= fault_at:
            await _fire(sim, count)
    finally:
        close = getattr(tokens, "aclose", None)
        if close is not None:
            await close()  # the model stops at once, not whenever this is garbage-collected


async def _fire(sim: Simulation, index: int) -> None:
    if sim.fault == "stall":
        await asyncio.sleep(sim.stall_seconds)
    elif sim.fault == "drop":
        raise DropConnection(f"injected fault 'drop' after {index} tokens")
    else:
        raise _InjectedError


def answer_tokens(request: SimRequest, generation: Generation) -> AsyncIterator[str]:
    """The answer's text pieces from the request's model source (by default the simulated one).

    One code path builds the events for every source, so a real model (helpers.real_model)
    streams exactly the shapes the simulated one does; only the text and the counts differ.
    """
    source = request.simulation.model_source
    if source is None:
        return _simulated_tokens(request, generation)
    return with_stream_fault(source.generate(request, generation), request)


async def admit(request: SimRequest) -> SimRequest:
    """Before the response starts: a real model counts the prompt with its own tokenizer and
    refuses one that does not fit (a 400, not a broken stream). The simulated model: as is."""
    source = request.simulation.model_source
    return request if source is None else await source.admit(request)


# --------------------------------------------------------------------------- Responses API


def _usage(input_tokens: int, output_tokens: int, cached_tokens: int = 0) -> dict[str, Any]:
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": cached_tokens, "cache_write_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": input_tokens + output_tokens,
    }


def _message_item(message_id: str, status: str, text: str | None) -> dict[str, Any]:
    content = [] if text is None else [text_part(text)]
    return {
        "id": message_id,
        "type": "message",
        "status": status,
        "role": "assistant",
        "content": content,
    }


def _response_object(
    request: SimRequest, response_id: str, created_at: int, status: str, **fields: Any
) -> dict[str, Any]:
    """A Response object with every field the SDK's model requires."""
    return {
        **FIXED_RESPONSE_FIELDS,
        "id": response_id,
        "created_at": created_at,
        "status": status,
        "incomplete_details": None,
        "instructions": request.instructions,
        "max_output_tokens": request.max_tokens,
        "model": request.model,
        "output": [],
        "previous_response_id": None,
        "usage": None,
        **fields,
    }


async def response_events(
    request: SimRequest, response_id: str | None = None
) -> AsyncIterator[Event]:
    """The Responses API stream: created, in_progress, item/part added, deltas, done events."""
    generation = Generation()
    response_id, message_id = response_id or new_id("resp_"), new_id("msg_")
    created_at = int(time.time())
    sequence = itertools.count()
    where = {"item_id": message_id, "output_index": 0, "content_index": 0}

    def event(event_type: str, **fields: Any) -> Event:
        return event_type, {"type": event_type, "sequence_number": next(sequence), **fields}

    def response(status: str, **fields: Any) -> dict[str, Any]:
        return _response_object(request, response_id, created_at, status, **fields)

    yield event("response.created", response=response("in_progress"))
    yield event("response.in_progress", response=response("in_progress"))
    yield event(
        "response.output_item.added",
        output_index=0,
        item=_message_item(message_id, "in_progress", None),
    )
    yield event("response.content_part.added", **where, part=text_part(""))
    pieces: list[str] = []
    try:
        async for token in answer_tokens(request, generation):
            pieces.append(token)
            yield event("response.output_text.delta", **where, delta=token, logprobs=[])
    except StreamFailed as failure:
        yield event("error", code="server_error", message=str(failure), param=None)
        partial = _message_item(message_id, "incomplete", "".join(pieces))
        error = {"code": "server_error", "message": str(failure)}
        yield event("response.failed", response=response("failed", error=error, output=[partial]))
        return
    text = "".join(pieces)
    yield event("response.output_text.done", **where, text=text, logprobs=[])
    yield event("response.content_part.done", **where, part=text_part(text))
    status = "incomplete" if generation.truncated else "completed"
    item = _message_item(message_id, status, text)
    yield event("response.output_item.done", output_index=0, item=item)
    usage = _usage(request.input_tokens, generation.output_tokens, generation.cached_tokens)
    final = response(status, output=[item], usage=usage)
    if generation.truncated:
        final["incomplete_details"] = {"reason": "max_output_tokens"}
        yield event("response.incomplete", response=final)
    else:
        yield event("response.completed", response=final)


async def collect_response(request: SimRequest, response_id: str | None = None) -> dict[str, Any]:
    """The non-streamed answer: the final Response object of the very same event stream."""
    async for event_type, payload in response_events(request, response_id):
        if event_type == "error":
            raise RequestError(
                payload["message"], status=500, type="server_error", code="server_error"
            )
        if event_type in ("response.completed", "response.incomplete"):
            return payload["response"]
    raise AssertionError("response_events ended without a final event")  # pragma: no cover


# --------------------------------------------------------------------------- Chat Completions


def _chat_usage(input_tokens: int, output_tokens: int, cached_tokens: int = 0) -> dict[str, Any]:
    return {
        "prompt_tokens": input_tokens,
        "completion_tokens": output_tokens,
        "total_tokens": input_tokens + output_tokens,
        "prompt_tokens_details": {"cached_tokens": cached_tokens},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }


async def chat_events(
    request: SimRequest, completion_id: str | None = None
) -> AsyncIterator[Event]:
    """Chat Completions chunks as ("chat.completion.chunk" | "error", payload) pairs.

    The transport adds the final `data: [DONE]` (after a normal end, not after an error).
    """
    generation = Generation()
    chunk_id, created = completion_id or new_id("chatcmpl-"), int(time.time())

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> Event:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        payload: dict[str, Any] = {
            "id": chunk_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": request.model,
            "system_fingerprint": None,
            "choices": [choice],
        }
        if request.include_usage:
            payload["usage"] = None
        return "chat.completion.chunk", payload

    yield chunk({"role": "assistant", "content": "", "refusal": None})
    try:
        async for token in answer_tokens(request, generation):
            yield chunk({"content": token})
    except StreamFailed as failure:
        error = {
            "message": str(failure),
            "type": "server_error",
            "param": None,
            "code": "server_error",
        }
        yield "error", {"error": error}
        return
    yield chunk({}, "length" if generation.truncated else "stop")
    if request.include_usage:
        _, last = chunk({})
        usage = _chat_usage(
            request.input_tokens, generation.output_tokens, generation.cached_tokens
        )
        yield "chat.completion.chunk", {**last, "choices": [], "usage": usage}


async def collect_chat(request: SimRequest, completion_id: str | None = None) -> dict[str, Any]:
    """The non-streamed chat completion, assembled from the same chunks (usage: the last one)."""
    pieces: list[str] = []
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
            finish_reason = choice["finish_reason"] or finish_reason
    assert first is not None
    message = {"role": "assistant", "content": "".join(pieces), "refusal": None}
    return {
        "id": first["id"],
        "object": "chat.completion",
        "created": first["created"],
        "model": request.model,
        "system_fingerprint": None,
        "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}
        ],
        "usage": usage,
    }

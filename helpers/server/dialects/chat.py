"""Layer: dialects. May import: helpers.server.model, other dialects modules. No I/O.

The Chat Completions dialect: an answer as `chat.completion.chunk` events, independent of any
transport. `chat_events()` yields `(event_type, payload)` pairs; the SSE transport frames them
(data-only, then `data: [DONE]`) and `collect_chat` assembles the non-streamed completion from
the very same chunks.

The tokens and their timing come from helpers.server.model.tokens, stream faults included:
an injected "error" becomes a `{"error": ...}` chunk.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

from helpers.server.dialects.common import Event, new_id
from helpers.server.model.source import Generation, RequestError, SimRequest, StreamFailed
from helpers.server.model.tokens import answer_tokens

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

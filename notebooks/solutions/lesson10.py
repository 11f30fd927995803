"""Reference solutions for lesson 10 (same stream, three dialects)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from helpers.sse import ServerSentEvent


class StreamError(RuntimeError):
    """The stream did not end as a whole answer, although its HTTP status was 200."""


WHOLE = {"responses": {"completed"}, "chat": {"stop"}, "messages": {"end_turn", "stop_sequence"}}
CUT = {"responses": {"max_output_tokens"}, "chat": {"length"}, "messages": {"max_tokens"}}


def _read(dialect: str, events: Iterable[ServerSentEvent]) -> Iterator[tuple[str, Any]]:
    """("text", piece) as each arrives; at the end ("usage", {...}) and ("stop", "stop" or
    "length"). Raises StreamError on an error frame, any other ending, or no end frame."""
    usage: dict[str, int] = {}
    reason, ended = None, False
    for event in events:
        if dialect == "chat" and event.data == "[DONE]":
            ended = True
            break
        if event.event == "ping":
            continue
        data = json.loads(event.data)
        if event.event == "error" or "error" in data:  # all three nest it under "error"
            error = data.get("error")
            raise StreamError(str(error.get("message") if isinstance(error, dict) else error))
        if dialect == "responses":
            kind = data["type"]
            if kind == "response.output_text.delta" and data["delta"]:
                yield "text", data["delta"]
            elif kind in ("response.completed", "response.incomplete", "response.failed"):
                response = data["response"]
                details = response.get("incomplete_details") or {}
                reason = details.get("reason") or response["status"]
                found = response.get("usage") or {}
                usage = {k: found[k] for k in ("input_tokens", "output_tokens") if k in found}
                ended = True
        elif dialect == "chat":
            if data.get("usage"):
                found = data["usage"]
                usage = {"input_tokens": found["prompt_tokens"],
                         "output_tokens": found["completion_tokens"]}
            for choice in data.get("choices") or []:
                if choice["delta"].get("content"):
                    yield "text", choice["delta"]["content"]
                reason = choice.get("finish_reason") or reason
        else:
            kind = data["type"]
            if kind == "message_start":
                found = data["message"]["usage"]
                usage = {"input_tokens": found["input_tokens"],
                         "output_tokens": found["output_tokens"]}
            elif kind == "content_block_delta" and data["delta"]["type"] == "text_delta":
                if data["delta"]["text"]:
                    yield "text", data["delta"]["text"]
            elif kind == "message_delta":
                reason = data["delta"]["stop_reason"]
                usage["output_tokens"] = data["usage"]["output_tokens"]  # cumulative: the total
            elif kind == "message_stop":
                ended = True
    if not ended:
        raise StreamError("the stream ended before its end frame: the connection was cut")
    if reason in WHOLE[dialect]:
        stop = "stop"
    elif reason in CUT[dialect]:
        stop = "length"
    else:
        raise StreamError(f"the stream ended with {reason!r}, not a whole answer")
    yield "usage", usage
    yield "stop", stop


def text_deltas(dialect: str, events: Iterable[ServerSentEvent]) -> Iterator[str]:
    """The answer's text pieces, whichever API sent them; raises unless the answer was whole."""
    for kind, value in _read(dialect, events):
        if kind == "text":
            yield value
        elif kind == "stop" and value != "stop":
            raise StreamError("the answer was cut by the token limit")


def unify(dialect: str, events: Iterable[ServerSentEvent]) -> Iterator[tuple[str, Any]]:
    """("text", piece) for each piece, then ("usage", {"input_tokens", "output_tokens"}) and
    ("stop", "stop" or "length"); raises on an error, a failure or a cut connection."""
    yield from _read(dialect, events)

"""Reference solutions for lesson 10 (same stream, three dialects)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from helpers.sse import ServerSentEvent


class StreamError(RuntimeError):
    """The stream reported an error after it began (HTTP status already 200)."""


def _payloads(dialect: str, events: Iterable[ServerSentEvent]) -> Iterator[dict[str, Any]]:
    """Each frame's JSON; stops at Chat's [DONE]; raises on any dialect's error frame."""
    for event in events:
        if dialect == "chat" and event.data == "[DONE]":
            return
        if dialect == "messages" and event.event == "ping":
            continue
        payload = json.loads(event.data)
        if event.event == "error" or "error" in payload:  # all three nest it under "error"
            error = payload.get("error")
            raise StreamError(str(error.get("message") if isinstance(error, dict) else error))
        yield payload


def _text_of(dialect: str, payload: dict[str, Any]) -> str:
    if dialect == "responses" and payload["type"] == "response.output_text.delta":
        return payload["delta"]
    if dialect == "chat" and payload["choices"]:
        return payload["choices"][0]["delta"].get("content") or ""
    if dialect == "messages" and payload["type"] == "content_block_delta":
        return payload["delta"].get("text", "")
    return ""


def text_deltas(dialect: str, events: Iterable[ServerSentEvent]) -> Iterator[str]:
    """The answer's text pieces, whichever API sent them."""
    for payload in _payloads(dialect, events):
        if text := _text_of(dialect, payload):
            yield text


def _usage_in(dialect: str, payload: dict[str, Any], usage: dict[str, int]) -> dict[str, int]:
    """`usage` updated with what this frame says (Anthropic's output count is cumulative)."""
    if dialect == "responses" and payload["type"] in ("response.completed", "response.incomplete"):
        found = payload["response"]["usage"]
        return {"input_tokens": found["input_tokens"], "output_tokens": found["output_tokens"]}
    if dialect == "chat" and payload.get("usage"):
        found = payload["usage"]
        return {"input_tokens": found["prompt_tokens"], "output_tokens": found["completion_tokens"]}
    if dialect == "messages" and payload["type"] == "message_start":
        return {**usage, **payload["message"]["usage"]}
    if dialect == "messages" and payload["type"] == "message_delta":
        return {**usage, "output_tokens": payload["usage"]["output_tokens"]}
    return usage


def unify(dialect: str, events: Iterable[ServerSentEvent]) -> Iterator[tuple[str, Any]]:
    """("text", piece) for each piece, then ("usage", {"input_tokens", "output_tokens"})."""
    usage: dict[str, int] = {}
    for payload in _payloads(dialect, events):
        if text := _text_of(dialect, payload):
            yield "text", text
        usage = _usage_in(dialect, payload, usage)
    yield "usage", {"input_tokens": usage["input_tokens"], "output_tokens": usage["output_tokens"]}

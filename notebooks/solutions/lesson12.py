"""Reference solutions for lesson 12 (tool calls, structured output and reasoning)."""

from __future__ import annotations

from typing import Any

import jiter


def accumulate_tool_calls(chunks: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Join Chat tool-call deltas by `index`: the first piece names the call, the rest append."""
    calls: dict[int, dict[str, str]] = {}
    for chunk in chunks:
        for choice in chunk["choices"]:
            for piece in choice["delta"].get("tool_calls") or []:
                entry = calls.setdefault(piece["index"], {"id": "", "name": "", "arguments": ""})
                if piece.get("id"):
                    entry["id"] = piece["id"]
                function = piece.get("function") or {}
                if function.get("name"):
                    entry["name"] = function["name"]
                entry["arguments"] += function.get("arguments") or ""
    return [calls[index] for index in sorted(calls)]


def final_fields(buffer: str, done: bool) -> dict[str, Any]:
    """The fields of a streamed JSON object that can no longer change.

    A field is final once a later key has started (or the stream is done): until then, "4" may
    become "42" and "Ada" may become "Ada, Countess".
    """
    if not buffer:
        return {}
    partial = jiter.from_json(buffer.encode(), partial_mode="trailing-strings")
    if not isinstance(partial, dict):
        return {}
    keys = list(partial)
    return {key: partial[key] for key in (keys if done else keys[:-1])}

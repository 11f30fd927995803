"""Reference solutions for lesson 12 (tool calls, structured output and reasoning)."""

from __future__ import annotations

import json
from typing import Any


def assistant_message(chunks: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The assistant message a Chat tool loop appends before its `role: "tool"` messages.

    Calls are joined by `index` (only a call's first piece carries its id and name); every
    choice of every chunk is read, so the usage chunk (`choices: []`) adds nothing. Without
    `finish_reason: "tool_calls"` there is nothing to run: a `length` cut leaves arguments that
    are not JSON, and a `stop` is an answer.
    """
    text: list[str] = []
    calls: dict[int, dict[str, str]] = {}
    finish = None
    for chunk in chunks:
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            text.append(delta.get("content") or "")
            for piece in delta.get("tool_calls") or []:
                entry = calls.setdefault(piece["index"], {"id": "", "name": "", "arguments": ""})
                function = piece.get("function") or {}
                entry["id"] = piece.get("id") or entry["id"]
                entry["name"] = function.get("name") or entry["name"]
                entry["arguments"] += function.get("arguments") or ""
            finish = choice.get("finish_reason") or finish
    if finish != "tool_calls":
        return None
    tool_calls = [
        {"id": entry["id"], "type": "function",
         "function": {"name": entry["name"], "arguments": entry["arguments"]}}
        for _, entry in sorted(calls.items())
    ]
    return {"role": "assistant", "content": "".join(text) or None, "tool_calls": tool_calls}


def final_fields(buffer: str) -> dict[str, Any]:
    """The fields of a streamed JSON object that can no longer change.

    A field is final once the `,` or `}` that ends its value has arrived, counted only outside
    strings (mind `\\"`) and outside nested arrays and objects. Everything before the last such
    delimiter is a whole JSON object once closed with `}`.
    """
    depth, in_string, escaped, last = 0, False, False, None
    for position, char in enumerate(buffer):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
            if depth == 0:
                last = position  # the object's own closing brace
        elif char == "," and depth == 1:
            last = position
    if last is None:
        return {}
    return json.loads(buffer[:last] + "}")

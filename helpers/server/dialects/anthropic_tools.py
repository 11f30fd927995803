"""Layer: dialects. May import: helpers.server.model, other dialects modules. No I/O.

Tool use on Anthropic's Messages API, read into the model's `Features` so the same auto rule
and the same JSON generator (helpers.server.model.tool_use) answer all three dialects.

Anthropic spells the OpenAI ideas its own way, and checks them before any stream starts:
- a tool is `{"name", "description", "input_schema"}` (no `"type": "function"` wrapper), its
  `input_schema.type` must be "object";
- `tool_choice` is an object: `{"type": "auto" | "any" | "tool" | "none"}`, `"name"` for
  "tool", and `disable_parallel_tool_use` (OpenAI's `parallel_tool_calls: false`);
- the client sends a function's output back as a `tool_result` block in the next user message,
  naming the `tool_use` block of the assistant message just before it by `tool_use_id`.
"""

from __future__ import annotations

import re
from typing import Any

from helpers.server.dialects.strict_schema import generator_limits
from helpers.server.model.source import RequestError
from helpers.server.model.tool_use import Features, FunctionTool, ToolResult

NAME_PATTERN = "^[a-zA-Z0-9_-]{1,64}$"
TOOL_FIELDS = {
    "type", "name", "description", "input_schema", "cache_control", "strict",
    "input_examples", "defer_loading", "eager_input_streaming", "allowed_callers",
}
CHOICES = {"auto": "auto", "any": "required", "none": "none"}  # Anthropic -> the model's words
TOOL_BLOCK = {"assistant": "tool_use", "user": "tool_result"}  # the block each role may send


def _bad(message: str) -> RequestError:
    return RequestError(message, status=400)


# --------------------------------------------------------------------------- tools


def _typed(spec: dict[str, Any], key: str, at: str, kind: type, what: str) -> Any:
    """A required field of the given type, refused in the real API's words."""
    value = spec.get(key)
    if value is None:
        raise _bad(f"{at}.{key}: Field required")
    if not isinstance(value, kind):
        raise _bad(f"{at}.{key}: Input should be {what}")
    return value


def _tool(spec: Any, at: str) -> FunctionTool:
    """One custom tool, checked as the real API checks it (its paths say `.custom.`)."""
    if not isinstance(spec, dict):
        raise _bad(f"{at}: Input should be a valid dictionary or object")
    if spec.get("type") not in (None, "custom"):
        raise _bad(
            f"{at}.type: server and client tools of type {spec['type']!r} are part of the real "
            "Messages API but are not simulated on the kit's local server (custom tools only)"
        )
    at = f"{at}.custom"
    extra = sorted(set(spec) - TOOL_FIELDS)
    if extra:
        raise _bad(f"{at}.{extra[0]}: Extra inputs are not permitted")
    name = _typed(spec, "name", at, str, "a valid string")
    if not re.match(NAME_PATTERN, name):
        raise _bad(f"{at}.name: String should match pattern '{NAME_PATTERN}'")
    description = spec.get("description", "")
    if not isinstance(description, str):
        raise _bad(f"{at}.description: Input should be a valid string")
    schema = _typed(spec, "input_schema", at, dict, "a valid dictionary or object")
    if schema.get("type") != "object":
        raise _bad(f"{at}.input_schema.type: Input should be 'object'")
    if not isinstance(spec.get("strict", False), bool):
        raise _bad(f"{at}.strict: Input should be a valid boolean")
    try:
        generator_limits(schema, f"tool '{name}'", f"{at}.input_schema")
    except RequestError as error:
        raise _bad(f"{error.param}: {error.message}") from None
    return FunctionTool(name, description, schema, bool(spec.get("strict", False)))


def _tools(raw: Any) -> tuple[FunctionTool, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise _bad("tools: Input should be a valid list")
    tools = tuple(_tool(spec, f"tools.{index}") for index, spec in enumerate(raw))
    names = [tool.name for tool in tools]
    if len(set(names)) != len(names):
        raise _bad("tools: Tool names must be unique.")
    return tools


def _tool_choice(raw: Any, tools: tuple[FunctionTool, ...]) -> tuple[str, bool]:
    """(the model's tool_choice: "auto", "required", "none" or a tool's name, parallel?)."""
    if raw is None:
        return "auto", True
    if not isinstance(raw, dict):
        raise _bad("tool_choice: Input should be a valid dictionary or object")
    kind = raw.get("type")
    if kind not in ("auto", "any", "tool", "none"):
        raise _bad("tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'")
    allowed = {"type"} | ({"name"} if kind == "tool" else set())
    allowed |= set() if kind == "none" else {"disable_parallel_tool_use"}
    extra = sorted(set(raw) - allowed)
    if extra:
        raise _bad(f"tool_choice.{kind}.{extra[0]}: Extra inputs are not permitted")
    disable = raw.get("disable_parallel_tool_use", False)
    if not isinstance(disable, bool):
        raise _bad(f"tool_choice.{kind}.disable_parallel_tool_use: Input should be a valid boolean")
    if not tools and kind != "none":
        raise _bad("tool_choice may only be specified while providing tools.")
    if kind != "tool":
        return CHOICES[kind], not disable
    name = raw.get("name")
    if not isinstance(name, str):
        raise _bad("tool_choice.tool.name: Field required" if name is None else
                   "tool_choice.tool.name: Input should be a valid string")
    if name not in {tool.name for tool in tools}:
        available = ", ".join(repr(tool.name) for tool in tools)
        raise _bad(
            f"tool_choice.name: tool {name!r} was not found in tools (tools has {available})"
        )
    return name, not disable


# --------------------------------------------------------------------------- tool blocks


def _blocks(message: Any) -> list[Any]:
    content = message.get("content") if isinstance(message, dict) else None
    return content if isinstance(content, list) else []


def _result_text(content: Any, at: str) -> str:
    """A tool_result's content: a string or text blocks (the kit simulates no images here)."""
    if content is None or isinstance(content, str):
        return content or ""
    if not isinstance(content, list):
        raise _bad(f"{at}.content: Input should be a valid string or a list of content blocks")
    texts = []
    for index, block in enumerate(content):
        if not isinstance(block, dict) or block.get("type") != "text":
            raise _bad(
                f"{at}.content.{index}: tool_result content other than text is not simulated on "
                "the kit's local server (only 'text')"
            )
        if not isinstance(block.get("text"), str):
            raise _bad(f"{at}.content.{index}.text: Input should be a valid string")
        texts.append(block["text"])
    return "\n".join(texts)


def check_tool_block(block: dict[str, Any], at: str, role: str) -> None:
    """A tool_use or tool_result block's own fields (pairing is checked by `tool_results`)."""
    kind = block.get("type")
    if kind != TOOL_BLOCK[role]:
        raise _bad(f"{at}.type: {kind} blocks may only appear in "
                   f"{'assistant' if kind == 'tool_use' else 'user'} messages")
    fields = ("id", "name") if kind == "tool_use" else ("tool_use_id",)
    for name in fields:
        if not isinstance(block.get(name), str):
            raise _bad(f"{at}.{name}: Field required")
    if kind == "tool_use" and not isinstance(block.get("input"), dict):
        raise _bad(f"{at}.input: Input should be a valid dictionary")
    if kind == "tool_result":
        if not isinstance(block.get("is_error", False), bool):
            raise _bad(f"{at}.is_error: Input should be a valid boolean")
        _result_text(block.get("content"), at)


def tool_results(messages: list[Any]) -> tuple[ToolResult, ...]:
    """The tool_result blocks of the last message, each paired with a tool_use of the one before.

    The real API's pairing rule, both ways: every tool_result names a tool_use of the assistant
    message just before it, and every tool_use is answered in the message right after it.
    """
    calls: dict[str, str] = {}  # tool_use id -> tool name, of the previous assistant message
    results: list[ToolResult] = []
    for index, message in enumerate(messages):
        blocks = [b for b in _blocks(message) if isinstance(b, dict)]
        if message.get("role") == "assistant":
            calls = {b["id"]: b["name"] for b in blocks if b.get("type") == "tool_use"}
            results = []
            continue
        answered, results = set(), []
        for at, block in enumerate(blocks):
            if block.get("type") != "tool_result":
                continue
            call_id = block["tool_use_id"]
            if call_id not in calls:
                raise _bad(
                    f"messages.{index}.content.{at}: unexpected `tool_use_id` found in "
                    f"`tool_result` blocks: {call_id}. Each `tool_result` block must have a "
                    "corresponding `tool_use` block in the previous message."
                )
            answered.add(call_id)
            text = _result_text(block.get("content"), f"messages.{index}.content.{at}")
            results.append(ToolResult(calls[call_id], text))
        missing = [call_id for call_id in calls if call_id not in answered]
        if missing:
            raise _bad(
                f"messages.{index - 1}: `tool_use` ids were found without `tool_result` blocks "
                f"immediately after: {', '.join(missing)}. Each `tool_use` block must have a "
                "corresponding `tool_result` block in the next message."
            )
        calls = {}
    return tuple(results)


def _has_tool_blocks(messages: list[Any]) -> bool:
    return any(
        isinstance(b, dict) and b.get("type") in ("tool_use", "tool_result")
        for message in messages for b in _blocks(message)
    )


def messages_features(body: dict[str, Any]) -> Features:
    """Features of a /v1/messages request (messages already checked block by block)."""
    tools = _tools(body.get("tools"))
    choice, parallel = _tool_choice(body.get("tool_choice"), tools)
    messages = body["messages"]
    if _has_tool_blocks(messages) and not tools:
        raise _bad("Requests which include `tool_use` or `tool_result` blocks must define tools.")
    return Features(
        tools=tools,
        tool_choice=choice,
        parallel_tool_calls=parallel,
        tool_results=tool_results(messages),
        asked_by=("tools",) if tools else (),
    )

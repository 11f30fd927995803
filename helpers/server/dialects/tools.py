"""Layer: dialects. May import: helpers.server.model, other dialects modules. No I/O.

The request fields that ask for more than plain text, read for each API into the model's
`Features`: tools and tool_choice, parallel_tool_calls, the output format (Responses
`text.format`, Chat `response_format`), reasoning, and the function outputs a client sends
back (Responses `function_call_output` items, Chat `role: "tool"` messages).

Why a module of its own: the two APIs spell the same things differently (a Responses tool is
`{"type": "function", "name": ...}`, a Chat tool `{"type": "function", "function": {...}}`),
and every mistake must be a 400 naming the field before any stream starts, as the real API
does: a tool_choice naming an unknown function, a strict schema with a keyword strict mode
refuses, `json_object` without the word "JSON" in the input.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from helpers.server.dialects.params import boolean, one_of, string
from helpers.server.dialects.strict_schema import check_strict, generator_limits, strict_or_loose
from helpers.server.model.prompt_schema import schema_in_prompt
from helpers.server.model.source import RequestError
from helpers.server.model.tool_use import Features, FunctionTool, ToolResult

_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")
_EMPTY_PARAMETERS: dict[str, Any] = {"type": "object", "properties": {}}


def _object(value: Any, param: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RequestError(
            f"Invalid type for '{param}': expected an object.", param=param, code="invalid_type"
        )
    return value


def _required(container: dict[str, Any], key: str, param: str) -> Any:
    if container.get(key) is None:
        raise RequestError(
            f"Missing required parameter: '{param}.{key}'.",
            param=f"{param}.{key}",
            code="missing_required_parameter",
        )
    return container[key]


def _local_only(param: str, what: str) -> RequestError:
    return RequestError(
        f"The local simulated model does not support {what} ('{param}'); it calls function "
        "tools only. Run this cell against the real API for the others.",
        param=param,
        code="unsupported_parameter",
    )


def _schema_strictness(
    spec: dict[str, Any], schema: Any, auto: bool, where: str, param: str, key: str, code: str
) -> tuple[Any, bool]:
    """(schema, strict) as the API applies `spec["strict"]` to `spec[key]`. `strict: true` must
    be met (else a 400); left out (or null), Responses normalizes the schema into strict mode
    when it can and falls back to non-strict when it cannot (`auto`); Chat Completions stays
    non-strict."""
    strict = spec.get("strict")
    if strict is None:
        if auto:
            return strict_or_loose(schema, where, f"{param}.{key}", code)
        return schema, False
    boolean(strict, f"{param}.strict")
    if strict:
        check_strict(schema, where, f"{param}.{key}", code)
    return schema, strict


def _function_tool(spec: dict[str, Any], param: str, strict_auto: bool) -> FunctionTool:
    """A function's name, description and schema; its schema checked as the real API does."""
    name = _required(spec, "name", param)
    string(name, f"{param}.name")
    if not _NAME.match(name):
        raise RequestError(
            f"Invalid '{param}.name': string does not match pattern. Expected a string that "
            f"matches the pattern '^[a-zA-Z0-9_-]+$' (1 to 64 characters), got {name!r}.",
            param=f"{param}.name",
            code="invalid_value",
        )
    description = spec.get("description") or ""
    string(description, f"{param}.description")
    parameters = spec.get("parameters")
    parameters = _EMPTY_PARAMETERS if parameters is None else _object(
        parameters, f"{param}.parameters"
    )
    where = f"function '{name}'"
    parameters, strict = _schema_strictness(
        spec, parameters, strict_auto, where, param, "parameters", "invalid_function_parameters"
    )
    generator_limits(parameters, where, f"{param}.parameters")
    return FunctionTool(name, description, parameters, strict)


def _tool_list(raw: Any, read_one: Any) -> tuple[FunctionTool, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise RequestError(
            "Invalid type for 'tools': expected an array.", param="tools", code="invalid_type"
        )
    tools = tuple(read_one(_object(spec, f"tools[{i}]"), f"tools[{i}]") for i, spec in
                  enumerate(raw))
    names = [tool.name for tool in tools]
    for index, name in enumerate(names):
        if name in names[:index]:
            raise RequestError(
                f"Invalid 'tools': duplicate function name {name!r}.",
                param=f"tools[{index}].name",
                code="invalid_value",
            )
    return tools


def _tool_choice(
    raw: Any, named: str | None, tools: tuple[FunctionTool, ...], without_tools: tuple[str, ...]
) -> str:
    """"auto", "none", "required" or the name of a function that is in `tools`."""
    if raw is None:
        return "auto"
    if not tools and raw not in without_tools:
        raise RequestError(
            "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are "
            "specified.",
            param="tool_choice",
            code="invalid_value",
        )
    if isinstance(raw, str):
        one_of("none", "auto", "required")(raw, "tool_choice")
        return raw
    if named is None:
        raise _local_only("tool_choice", f"tool_choice of type {raw.get('type')!r}")
    if named not in {tool.name for tool in tools}:
        available = ", ".join(repr(tool.name) for tool in tools)
        raise RequestError(
            f"Invalid value for 'tool_choice': function {named!r} was not found in 'tools' "
            f"(tools has {available}).",
            param="tool_choice",
            code="invalid_value",
        )
    return named


def _tools_and_choice(
    body: dict[str, Any], read_tool: Any, named_in: Any, without_tools: tuple[str, ...]
) -> tuple[tuple[FunctionTool, ...], str]:
    tools = _tool_list(body.get("tools"), read_tool)
    raw_choice = body.get("tool_choice")
    named = None
    if isinstance(raw_choice, dict) and raw_choice.get("type") == "function":
        named = named_in(raw_choice)
    return tools, _tool_choice(raw_choice, named, tools, without_tools)


def _responses_named(choice: dict[str, Any]) -> Any:
    return _required(choice, "name", "tool_choice")


def _chat_named(choice: dict[str, Any]) -> Any:
    function = _object(_required(choice, "function", "tool_choice"), "tool_choice.function")
    return _required(function, "name", "tool_choice.function")


_NO_JSON_WORD = {
    "response_format": "'messages' must contain the word 'json' in some form, to use "
    "'response_format' of type 'json_object'.",
    # Responses looks at the input messages only, not `instructions` (pydantic-ai moves its
    # instructions into a system message for this: pydantic_ai/models/openai.py).
    "text.format": "Response input messages must contain the word 'json' in some form to use "
    "'text.format' of type 'json_object'.",
}


def _needs_json_word(text: str, format_param: str) -> None:
    """JSON mode needs the word in the prompt (the real API's rule, in its words)."""
    if "json" not in text.lower():
        raise RequestError(_NO_JSON_WORD[format_param], param=format_param, code="invalid_value")


def _json_schema_format(
    spec: dict[str, Any], param: str, strict_auto: bool
) -> tuple[dict[str, Any], bool]:
    """(schema, strict) of a `json_schema` output format, checked as the real API does."""
    name = _required(spec, "name", param)
    string(name, f"{param}.name")
    schema = _object(_required(spec, "schema", param), f"{param}.schema")
    where = f"response_format '{name}'"
    schema, strict = _schema_strictness(
        spec, schema, strict_auto, where, param, "schema", "invalid_json_schema"
    )
    generator_limits(schema, where, f"{param}.schema")
    return schema, strict


def _shared(
    body: dict[str, Any], tools: tuple[FunctionTool, ...], choice: str, kind: str,
    schema: dict[str, Any] | None,
) -> dict[str, Any]:
    """The Features fields both APIs fill in the same way."""
    return {
        "tools": tools, "tool_choice": choice, "output_schema": schema,
        "parallel_tool_calls": body.get("parallel_tool_calls") is not False,
        "json_object": kind == "json_object",
    }


SCHEMA_ROLES = ("system", "developer", "user")
"""The messages a schema in the prompt is looked for in: never the model's own turns or tool
outputs (a JSON Schema a tool returned is data, not an instruction)."""


def with_prompt_schema(features: Features, texts: list[str | None]) -> Features:
    """`features` with the JSON Schema the instructions, system, developer and user texts show,
    when the request asks for JSON (model.prompt_schema); a `json_schema` format wins."""
    if features.output_schema is not None:
        return features
    text = "\n".join(t for t in texts if t)
    schema = schema_in_prompt(text, json_format=features.json_object)
    return features if schema is None else replace(features, prompt_schema=schema)


def _asked_by(features: dict[str, Any]) -> tuple[str, ...]:
    return tuple(param for param, asked in features.items() if asked)


# --------------------------------------------------------------------------- Responses


def _responses_tool(spec: dict[str, Any], param: str) -> FunctionTool:
    if spec.get("type") != "function":
        raise _local_only(f"{param}.type", f"tools of type {spec.get('type')!r}")
    return _function_tool(spec, param, strict_auto=True)


def _responses_results(raw_input: Any, has_previous: bool) -> tuple[ToolResult, ...]:
    """The function outputs after the last user message, each named by its call's `call_id`."""
    if not isinstance(raw_input, list):
        return ()
    names: dict[str, str] = {}
    results: list[ToolResult] = []
    for index, item in enumerate(raw_input):
        if not isinstance(item, dict):
            continue
        if item.get("role") == "user":
            results = []
        if item.get("type") == "function_call":
            names[str(item.get("call_id"))] = str(item.get("name"))
        if item.get("type") == "function_call_output":
            call_id = str(item.get("call_id"))
            if call_id not in names and not has_previous:
                raise RequestError(
                    f"No tool call found for function call output with call_id {call_id}.",
                    param=f"input[{index}].call_id",
                    code="invalid_value",
                )
            output = item.get("output")
            text = output if isinstance(output, str) else str(output)
            results.append(ToolResult(names.get(call_id, "the function"), text))
    return tuple(results)


def responses_features(body: dict[str, Any], input_text: str) -> Features:
    """Features of a Responses request; `input_text` is the input messages' text, joined
    (without `instructions`: the `json_object` rule does not count them)."""
    tools, choice = _tools_and_choice(body, _responses_tool, _responses_named, ("auto", "none"))
    text = body.get("text") or {}
    fmt = text.get("format") or {"type": "text"}
    kind = _object(fmt, "text.format").get("type")
    one_of("text", "json_schema", "json_object")(kind, "text.format.type")
    schema = _json_schema_format(fmt, "text.format", True)[0] if kind == "json_schema" else None
    if kind == "json_object":
        _needs_json_word(input_text, "text.format")
    reasoning = _object(body.get("reasoning") or {}, "reasoning")
    effort = reasoning.get("effort")
    if effort is not None:
        one_of(*EFFORTS)(effort, "reasoning.effort")
    summary = reasoning.get("summary") or reasoning.get("generate_summary")
    if summary is not None:
        one_of("auto", "concise", "detailed")(summary, "reasoning.summary")
    effort = effort or ("medium" if summary else None)
    return Features(
        **_shared(body, tools, choice, kind, schema),
        reasoning_effort=effort,
        reasoning_summary=summary,
        tool_results=_responses_results(body.get("input"), bool(body.get("previous_response_id"))),
        asked_by=_asked_by({
            "tools": tools, "text.format": kind != "text",
            "reasoning": effort not in (None, "none"),
        }),
    )


def responses_echo(body: dict[str, Any], features: Features) -> dict[str, Any]:
    """`tools` and `text` as a Response echoes them: after the strict rule, as the real API
    sends them back (a tool sent without `strict` comes back `"strict": true` with
    `additionalProperties: false` added, or `"strict": false`; a `json_schema` format gains
    `"description": null` and its `strict`). Call after `responses_features` checked the body."""
    echo: dict[str, Any] = {}
    if features.tools:
        echo["tools"] = [
            {"type": "function", "description": spec.get("description"), "name": tool.name,
             "parameters": tool.parameters, "strict": tool.strict}
            for spec, tool in zip(body["tools"], features.tools, strict=True)
        ]
    text = body.get("text")
    fmt = (text or {}).get("format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        schema, strict = _json_schema_format(fmt, "text.format", True)
        echo["text"] = {**text, "format": {  # type: ignore[dict-item]
            "type": "json_schema", "description": fmt.get("description"), "name": fmt["name"],
            "schema": schema, "strict": strict,
        }}
    return echo


# --------------------------------------------------------------------------- Chat Completions


def _chat_tool(spec: dict[str, Any], param: str) -> FunctionTool:
    if spec.get("type") != "function":
        raise _local_only(f"{param}.type", f"tools of type {spec.get('type')!r}")
    function = _object(_required(spec, "function", param), f"{param}.function")
    return _function_tool(function, f"{param}.function", strict_auto=False)


def _chat_results(messages: list[Any]) -> tuple[ToolResult, ...]:
    """The tool messages that answer the last assistant message with `tool_calls`."""
    names: dict[str, str] = {}
    results: list[ToolResult] = []
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            continue
        role = message.get("role")
        if role == "assistant" and message.get("tool_calls"):
            results = []
            for call in message["tool_calls"]:
                if isinstance(call, dict):
                    names[str(call.get("id"))] = str((call.get("function") or {}).get("name"))
        elif role == "tool":
            call_id = str(message.get("tool_call_id"))
            if call_id not in names:
                raise RequestError(
                    "Invalid parameter: messages with role 'tool' must be a response to a "
                    "preceding message with 'tool_calls'.",
                    param=f"messages.[{index}].role",
                    code="invalid_value",
                )
            content = message.get("content")
            text = content if isinstance(content, str) else " ".join(
                str(part.get("text", "")) for part in content or [] if isinstance(part, dict)
            )
            results.append(ToolResult(names[call_id], text))
        else:
            results = []
    return tuple(results)


def chat_features(body: dict[str, Any], messages_text: str) -> Features:
    """Features of a Chat Completions request; `messages_text` is every message, joined."""
    tools, choice = _tools_and_choice(body, _chat_tool, _chat_named, ())
    fmt = _object(body.get("response_format") or {"type": "text"}, "response_format")
    kind = fmt.get("type")
    one_of("text", "json_schema", "json_object")(kind, "response_format.type")
    schema = None
    if kind == "json_schema":
        spec = _object(_required(fmt, "json_schema", "response_format"), "response_format")
        schema = _json_schema_format(spec, "response_format.json_schema", False)[0]
    if kind == "json_object":
        _needs_json_word(messages_text, "response_format")
    effort = body.get("reasoning_effort")
    if effort is not None:
        one_of(*EFFORTS)(effort, "reasoning_effort")
    messages = body.get("messages") if isinstance(body.get("messages"), list) else []
    return Features(
        **_shared(body, tools, choice, kind, schema),
        reasoning_effort=effort,
        tool_results=_chat_results(messages),
        asked_by=_asked_by({
            "tools": tools, "response_format": kind != "text",
            "reasoning_effort": effort not in (None, "none"),
        }),
    )

"""Layer: dialects. May import: helpers.server.model, other dialects modules. No I/O.

Check an OpenAI-style request body and turn it into what the simulated model needs: a
`SimRequest` (defined with the model, in helpers.server.model.source, which only reads it).

Every check names the offending field the way the OpenAI API does (`param`), so the SDK raises
its usual `BadRequestError` with a message a learner can act on. Nothing here does I/O.

The one extension to the OpenAI request format is the `simulation` object, which the SDK sends
through `extra_body={"simulation": {...}}`. It overrides the server's latency settings or
injects a fault for this request only. Keys (all optional):

    ttft, think_time (seconds)   tokens_per_second, prefill_tokens_per_second, jitter
    seed (int)                   fault: "error" | "drop" | "stall" | "429" | "500" | "529"
    fault_after (tokens, default 5)   stall_seconds (default 3600)   retry_after_ms (for 429)
    heartbeat (seconds > 0, or null: off; on the local server only)
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from typing import Any

from helpers.server.dialects.params import check_chat_body, check_responses_body
from helpers.server.dialects.tools import (
    SCHEMA_ROLES,
    chat_features,
    responses_echo,
    responses_features,
    with_prompt_schema,
)
from helpers.server.model.simulated import count_tokens
from helpers.server.model.source import RequestError, SimRequest, Simulation

MAX_BODY_BYTES = 4 * 1024 * 1024
FAULTS = ("error", "drop", "stall", "429", "500", "529")
CHAT_ROLES = ("system", "developer", "user", "assistant", "tool", "function")
_ECHOED = (
    "tools", "tool_choice", "parallel_tool_calls", "text", "reasoning", "metadata", "truncation",
    "background", "max_tool_calls", "prompt_cache_key", "prompt_cache_retention",
    "safety_identifier", "service_tier", "store", "top_logprobs", "user",
)
"""Request fields the Responses API echoes back in every Response object."""


# --------------------------------------------------------------------------- raw body


def parse_json_body(body: bytes) -> dict[str, Any]:
    """Decode the body, naming the offending bytes when it is not a JSON object."""
    if not body.strip():
        raise RequestError("The request body is empty; send a JSON object.")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = body[exc.start : exc.end]
        raise RequestError(
            f"The request body is not valid UTF-8: byte(s) {bad!r} at offset {exc.start}."
        ) from None
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        near = text[max(0, exc.pos - 20) : exc.pos + 20]
        raise RequestError(
            f"We could not parse the JSON body of your request: {exc.msg} at line {exc.lineno} "
            f"column {exc.colno} (char {exc.pos}), near {near!r}."
        ) from None
    except RecursionError:
        raise RequestError("The JSON body is nested too deeply to parse.") from None
    if not isinstance(parsed, dict):
        raise RequestError(
            f"The request body must be a JSON object, not a JSON {type(parsed).__name__}."
        )
    return parsed


# --------------------------------------------------------------------------- field checks


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _optional_bool(body: dict[str, Any], field: str) -> bool:
    value = body.get(field)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise RequestError(
            f"Invalid type for '{field}': expected a boolean, but got {_type_name(value)} "
            f"({value!r}).",
            param=field,
            code="invalid_type",
        )
    return value


def _optional_positive_int(body: dict[str, Any], field: str) -> int | None:
    value = body.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise RequestError(
            f"Invalid type for '{field}': expected an integer, but got {_type_name(value)}.",
            param=field,
            code="invalid_type",
        )
    if value < 1:
        raise RequestError(
            f"Invalid '{field}': integer below minimum value. Expected a value >= 1, "
            f"but got {value} instead.",
            param=field,
            code="integer_below_min_value",
        )
    return value


def _required_model(body: dict[str, Any]) -> str:
    model = body.get("model")
    if model is None:
        raise RequestError(
            "Missing required parameter: 'model'.", param="model", code="missing_required_parameter"
        )
    if not isinstance(model, str) or not model.strip():
        raise RequestError(
            f"Invalid 'model': expected a non-empty string, but got {model!r}.", param="model"
        )
    return model


def _content_text(content: Any, param: str) -> str:
    """Text of a message's content: a string, or a list of parts that carry `text`."""
    if content is None or isinstance(content, str):
        return content or ""
    if not isinstance(content, list):
        raise RequestError(
            f"Invalid type for '{param}': expected a string or an array of content parts, "
            f"but got {_type_name(content)}.",
            param=param,
            code="invalid_type",
        )
    texts = []
    for index, part in enumerate(content):
        if not isinstance(part, dict):
            raise RequestError(
                f"Invalid type for '{param}[{index}]': expected an object, "
                f"but got {_type_name(part)}.",
                param=f"{param}[{index}]",
                code="invalid_type",
            )
        text = part.get("text")
        if text is not None and not isinstance(text, str):
            raise RequestError(
                f"Invalid type for '{param}[{index}].text': expected a string.",
                param=f"{param}[{index}].text",
                code="invalid_type",
            )
        texts.append(text or "")
    return "\n".join(texts)


def _messages_text(items: list[Any], param: str, *, require_role: bool) -> list[tuple[str, str]]:
    """(role, text) of each message in a chat `messages` or a Responses `input` list."""
    messages = []
    for index, item in enumerate(items):
        where = f"{param}[{index}]"
        if not isinstance(item, dict):
            raise RequestError(
                f"Invalid type for '{where}': expected an object, but got {_type_name(item)}.",
                param=where,
                code="invalid_type",
            )
        role = item.get("role")
        if role is None and not require_role:
            messages.append(("", _content_text(item.get("output") or item.get("text"), where)))
            continue
        if not isinstance(role, str) or role not in CHAT_ROLES:
            raise RequestError(
                f"Invalid value for '{where}.role': expected one of {', '.join(CHAT_ROLES)}, "
                f"but got {role!r}.",
                param=f"{where}.role",
                code="invalid_value",
            )
        if require_role and "content" not in item and role != "assistant":
            raise RequestError(
                f"Missing required parameter: '{where}.content'.",
                param=f"{where}.content",
                code="missing_required_parameter",
            )
        messages.append((role, _content_text(item.get("content"), f"{where}.content")))
    return messages


def _prompt_of(messages: list[tuple[str, str]]) -> str:
    """The last user message, which is what a chat model is answering."""
    user_texts = [text for role, text in messages if role == "user"]
    return user_texts[-1] if user_texts else "\n".join(text for _, text in messages)


# --------------------------------------------------------------------------- simulation


_FLOAT_KEYS = ("ttft", "think_time", "tokens_per_second", "prefill_tokens_per_second", "jitter")
_INT_KEYS = ("seed", "fault_after", "retry_after_ms")


def _number(value: Any, param: str, *, integer: bool) -> float:
    ok_type = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, ok_type) or not math.isfinite(value):
        kind = "an integer" if integer else "a finite number"
        raise RequestError(
            f"Invalid '{param}': expected {kind}, but got {value!r}.",
            param=param,
            code="invalid_type",
        )
    if value < 0:
        raise RequestError(f"Invalid '{param}': must be >= 0, got {value!r}.", param=param)
    if not integer and value > 86_400:
        raise RequestError(f"Invalid '{param}': at most 86400, got {value!r}.", param=param)
    return value


def _heartbeat(value: Any) -> float | None:
    """Seconds between keep-alive comments; null turns a server-wide heartbeat off."""
    if value is None:
        return None
    seconds = _number(value, "simulation.heartbeat", integer=False)
    if seconds == 0:
        raise RequestError(
            "Invalid 'simulation.heartbeat': must be > 0 seconds (or null for none), got 0.",
            param="simulation.heartbeat",
        )
    return seconds


def apply_simulation(base: Simulation, overrides: Any) -> Simulation:
    """Merge a request's `simulation` object into the server's settings, checking each key."""
    if overrides is None:
        return base
    if not isinstance(overrides, dict):
        raise RequestError(
            f"Invalid type for 'simulation': expected an object, but got {_type_name(overrides)}.",
            param="simulation",
            code="invalid_type",
        )
    known = (*_FLOAT_KEYS, *_INT_KEYS, "fault", "stall_seconds", "heartbeat")
    unknown = sorted(set(overrides) - set(known))
    if unknown:
        raise RequestError(
            f"Unknown key 'simulation.{unknown[0]}'; known keys: {', '.join(known)}.",
            param=f"simulation.{unknown[0]}",
        )
    latency_changes = {
        key: _number(overrides[key], f"simulation.{key}", integer=False)
        for key in _FLOAT_KEYS
        if overrides.get(key) is not None
    }
    other_changes: dict[str, Any] = {
        key: int(_number(overrides[key], f"simulation.{key}", integer=True))
        for key in _INT_KEYS
        if overrides.get(key) is not None
    }
    if overrides.get("stall_seconds") is not None:
        other_changes["stall_seconds"] = _number(
            overrides["stall_seconds"], "simulation.stall_seconds", integer=False
        )
    if "heartbeat" in overrides:
        other_changes["heartbeat"] = _heartbeat(overrides["heartbeat"])
    if "fault" in overrides:
        fault = overrides["fault"]
        if fault is not None and fault not in FAULTS:
            raise RequestError(
                f"Invalid 'simulation.fault': expected one of {', '.join(FAULTS)} or null, "
                f"but got {fault!r}.",
                param="simulation.fault",
            )
        other_changes["fault"] = fault
    return replace(base, latency=replace(base.latency, **latency_changes), **other_changes)


# --------------------------------------------------------------------------- the two APIs


def parse_responses_request(body: dict[str, Any], base: Simulation) -> SimRequest:
    """Check a POST /v1/responses body: every field (dialects.params), then what we read."""
    check_responses_body(body)
    model = _required_model(body)
    raw_input = body.get("input")
    if raw_input is None:
        raise RequestError(
            "Missing required parameter: 'input'.", param="input", code="missing_required_parameter"
        )
    if isinstance(raw_input, str):
        messages = [("user", raw_input)]
    elif isinstance(raw_input, list):
        messages = _messages_text(raw_input, "input", require_role=False)
    else:
        raise RequestError(
            f"Invalid type for 'input': expected a string or an array of input items, "
            f"but got {_type_name(raw_input)}.",
            param="input",
            code="invalid_type",
        )
    if not any(text.strip() for _, text in messages):
        raise RequestError(
            "Invalid 'input': the input is empty; send some text.",
            param="input",
            code="empty_input",
        )
    instructions = body.get("instructions")
    if instructions is not None and not isinstance(instructions, str):
        raise RequestError(
            "Invalid type for 'instructions': expected a string.",
            param="instructions",
            code="invalid_type",
        )
    all_text = "\n".join(text for text in [instructions, *(t for _, t in messages)] if text)
    input_text = "\n".join(text for role, text in messages if role)
    features = with_prompt_schema(responses_features(body, input_text), [
        instructions, *(text for role, text in messages if role in SCHEMA_ROLES)])
    return SimRequest(
        api="responses",
        model=model,
        prompt=_prompt_of(messages),
        input_tokens=count_tokens(all_text),
        stream=_optional_bool(body, "stream"),
        max_tokens=_optional_positive_int(body, "max_output_tokens"),
        simulation=apply_simulation(base, body.get("simulation")),
        instructions=instructions,
        messages=tuple(messages),
        features=features,
        obfuscation=_include_obfuscation(body.get("stream_options")) and not body.get("background"),
        include=tuple(body.get("include") or ()),
        echo={**{key: body[key] for key in _ECHOED if body.get(key) is not None},
              **responses_echo(body, features)},
    )


def parse_chat_request(body: dict[str, Any], base: Simulation) -> SimRequest:
    """Check a POST /v1/chat/completions body: every field (dialects.params), then what we read."""
    check_chat_body(body)
    model = _required_model(body)
    raw_messages = body.get("messages")
    if raw_messages is None:
        raise RequestError(
            "Missing required parameter: 'messages'.",
            param="messages",
            code="missing_required_parameter",
        )
    if not isinstance(raw_messages, list):
        raise RequestError(
            f"Invalid type for 'messages': expected an array, but got {_type_name(raw_messages)}.",
            param="messages",
            code="invalid_type",
        )
    if not raw_messages:
        raise RequestError(
            "Invalid 'messages': empty array. Expected an array with minimum length 1.",
            param="messages",
            code="empty_array",
        )
    messages = _messages_text(raw_messages, "messages", require_role=True)
    all_text = "\n".join(text for _, text in messages)
    stream = _optional_bool(body, "stream")
    include_usage = _stream_options_include_usage(body.get("stream_options"), stream)
    max_tokens = _optional_positive_int(body, "max_completion_tokens")
    if max_tokens is None:
        max_tokens = _optional_positive_int(body, "max_tokens")
    simulation = apply_simulation(base, body.get("simulation"))
    seed = body.get("seed")
    if seed is not None and (body.get("simulation") or {}).get("seed") is None:
        simulation = replace(simulation, seed=seed)  # an int64, checked by dialects.params
    return SimRequest(
        api="chat",
        model=model,
        prompt=_prompt_of(messages),
        input_tokens=count_tokens(all_text),
        stream=stream,
        max_tokens=max_tokens,
        simulation=simulation,
        include_usage=include_usage,
        obfuscation=_include_obfuscation(body.get("stream_options")),
        messages=tuple(messages),
        features=with_prompt_schema(chat_features(body, all_text), [
            text for role, text in messages if role in SCHEMA_ROLES]),
        echo={"service_tier": body.get("service_tier")},
    )


def _stream_options_include_usage(options: Any, stream: bool) -> bool:
    if options is None:
        return False
    if not stream:
        raise RequestError(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            param="stream_options",
        )
    if not isinstance(options, dict):
        raise RequestError(
            "Invalid type for 'stream_options': expected an object.",
            param="stream_options",
            code="invalid_type",
        )
    return _optional_bool(options, "include_usage")


def _include_obfuscation(options: Any) -> bool:
    """stream_options.include_obfuscation: on unless it is false (types: dialects.params)."""
    return not (isinstance(options, dict) and options.get("include_obfuscation") is False)

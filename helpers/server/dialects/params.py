"""Layer: dialects. May import: helpers.server.model, other dialects modules. No I/O.

Every request field of both APIs, checked before a stream starts, as the real API checks it.

Why: a request the real API refuses must not be answered here, or a learner who switches to the
real API meets a surprise; and a bad value found after the `200` has gone out can only cut the
stream. So each field the openai SDK (3.63) can send has a check here, with the real API's type
and range, and its error shape (`param` names the field, `code` says what is wrong):

- sampling and bookkeeping fields (temperature, top_p, penalties, seed, metadata, store, user,
  service_tier, ...) are checked and then have no effect on the simulated model's answer;
- tools, tool_choice, the output format and reasoning change the answer: they are read and
  checked in `dialects.tools` (the simulated model calls functions, writes JSON, reasons);
- fields that would change the answer in ways the simulated model cannot follow yet (logprobs,
  stop sequences, n > 1, audio, ...) are refused with a 400 naming the field, unless their
  value asks for nothing;
- a field neither API knows is refused the way each API refuses it.

`simulation` (the kit's extension) is checked in `requests.apply_simulation`; the fields the
parsers read (model, input, messages, ...) are type-checked there too.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from helpers.server.model.source import RequestError

Check = Callable[[Any, str], None]
"""Raises RequestError naming `param` when the value is not acceptable; None is never passed."""

INT64 = (-(2**63), 2**63 - 1)
MIN_OUTPUT_TOKENS = 16
"""The real Responses API's minimum for `max_output_tokens` (its error names it); the local server
refuses fewer too, so a lesson that works here works there."""
MAX_OUTPUT_TOKENS = 128_000
"""The largest output a current OpenAI model allows (the real limit depends on the model)."""


# --------------------------------------------------------------------------- building blocks


def _type_name(value: Any) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a decimal", str: "a string",
             list: "an array", dict: "an object"}
    return names.get(type(value), type(value).__name__)


def _wrong_type(value: Any, param: str, expected: str) -> RequestError:
    return RequestError(
        f"Invalid type for '{param}': expected {expected}, but got {_type_name(value)} instead.",
        param=param,
        code="invalid_type",
    )


def _refuse(param: str, code: str, problem: str) -> RequestError:
    return RequestError(f"Invalid '{param}': {problem}", param=param, code=code)


def _too_long(param: str, kind: str, unit: str, limit: int, size: int) -> RequestError:
    problem = f"{kind} too long. Expected {unit} with maximum length {limit}, but got {unit} "
    return _refuse(param, f"{kind}_above_max_length", problem + f"with length {size} instead.")


def boolean(value: Any, param: str) -> None:
    if not isinstance(value, bool):
        raise _wrong_type(value, param, "a boolean")


def string(value: Any, param: str, max_length: int = 1_000_000) -> None:
    if not isinstance(value, str):
        raise _wrong_type(value, param, "a string")
    if len(value) > max_length:
        raise _too_long(param, "string", "a string", max_length, len(value))


def short_string(max_length: int) -> Check:
    return lambda value, param: string(value, param, max_length)


def _in_range(value: float, param: str, low: float, high: float, kind: str) -> None:
    if low <= value <= high:
        return
    side, extreme, sign, limit = ("below", "min", ">=", low) if value < low else (
        "above", "max", "<=", high
    )
    problem = f"{kind} {side} {extreme}imum value. Expected a value {sign} {limit}, but got "
    raise _refuse(param, f"{kind}_{side}_{extreme}_value", problem + f"{value} instead.")


def integer(low: int, high: int) -> Check:
    def check(value: Any, param: str) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _wrong_type(value, param, "an integer")
        _in_range(value, param, low, high, "integer")

    return check


def number(low: float, high: float) -> Check:
    def check(value: Any, param: str) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _wrong_type(value, param, "a decimal")
        if not math.isfinite(value):
            raise _refuse(param, "invalid_value", f"{value} is not a number.")
        _in_range(value, param, low, high, "decimal")

    return check


def one_of(*values: str) -> Check:
    def check(value: Any, param: str) -> None:
        if value not in values:
            supported = ", ".join(repr(v) for v in values)
            raise RequestError(
                f"Invalid value for '{param}': {value!r}. Supported values are: {supported}.",
                param=param,
                code="invalid_value",
            )

    return check


def list_of(item: Check, max_items: int = 1024) -> Check:
    def check(value: Any, param: str) -> None:
        if not isinstance(value, list):
            raise _wrong_type(value, param, "an array")
        if len(value) > max_items:
            raise _too_long(param, "array", "an array", max_items, len(value))
        for index, element in enumerate(value):
            item(element, f"{param}[{index}]")

    return check


def object_of(fields: dict[str, Check]) -> Check:
    """An object whose keys are all known; each value (unless null) passes its check."""

    def check(value: Any, param: str) -> None:
        if not isinstance(value, dict):
            raise _wrong_type(value, param, "an object")
        check_fields(value, fields, param_prefix=f"{param}.")

    return check


def metadata(value: Any, param: str) -> None:
    """Up to 16 pairs; keys up to 64 characters, values strings up to 512."""
    if not isinstance(value, dict):
        raise _wrong_type(value, param, "an object")
    if len(value) > 16:
        raise RequestError(
            f"Invalid '{param}': too many properties. Expected an object with at most 16 "
            f"properties, but got an object with {len(value)} properties instead.",
            param=param,
            code="object_above_max_properties",
        )
    for key, item in value.items():
        string(key, f"{param}.key", 64)
        string(item, f"{param}.{key}", 512)


def map_of_numbers(low: float, high: float) -> Check:
    """logit_bias: token ids (as strings) to a bias."""
    bias = number(low, high)

    def check(value: Any, param: str) -> None:
        if not isinstance(value, dict):
            raise _wrong_type(value, param, "an object")
        for key, item in value.items():
            bias(item, f"{param}.{key}")

    return check


def unsupported(asks_nothing: Callable[[Any], bool] = lambda value: False) -> Check:
    """A field the simulated model cannot honour yet: refused, unless its value asks nothing."""

    def check(value: Any, param: str) -> None:
        if not asks_nothing(value):
            raise RequestError(
                f"The local simulated model does not support '{param}' yet (value {value!r:.80}). "
                "Leave it out, or run this cell against the real API.",
                param=param,
                code="unsupported_parameter",
            )

    return check


def any_value(value: Any, param: str) -> None:
    """Checked elsewhere (the parsers in requests.py)."""


# --------------------------------------------------------------------------- the two APIs

_NOT_A_TOOL_CHOICE = unsupported(lambda value: value in ("auto", "none"))
_NO_TOOLS = unsupported(lambda value: value == [])

_BOTH_APIS: dict[str, Check] = {
    "model": any_value, "simulation": any_value,
    "stream": boolean,
    "store": boolean,
    "parallel_tool_calls": boolean,
    "temperature": number(0, 2),
    "top_p": number(0, 1),
    "top_logprobs": integer(0, 20),
    "metadata": metadata,
    "user": short_string(256),
    "safety_identifier": short_string(64),
    "prompt_cache_key": string,
    "prompt_cache_retention": one_of("in_memory", "24h"),
    "service_tier": one_of("auto", "default", "flex", "scale", "priority"),
    "tools": any_value,  # tools, tool_choice, formats, reasoning: checked in dialects.tools
    "tool_choice": any_value,
}

RESPONSES_FIELDS: dict[str, Check] = {
    **_BOTH_APIS,
    "input": any_value, "instructions": any_value,
    "background": boolean,
    "max_output_tokens": integer(MIN_OUTPUT_TOKENS, MAX_OUTPUT_TOKENS),
    "max_tool_calls": integer(1, INT64[1]),
    "truncation": one_of("auto", "disabled"),
    "previous_response_id": string,  # what it refers to: app.background
    "stream_options": object_of({"include_obfuscation": boolean}),
    "include": list_of(one_of(
        "file_search_call.results", "web_search_call.results", "web_search_call.action.sources",
        "message.input_image.image_url", "computer_call_output.output.image_url",
        "code_interpreter_call.outputs", "reasoning.encrypted_content",
    )),  # "message.output_text.logprobs" is not listed: the simulated model has no logprobs
    "text": object_of({"format": any_value, "verbosity": one_of("low", "medium", "high")}),
    "reasoning": object_of({"effort": any_value, "summary": any_value,
                            "generate_summary": any_value}),
    **{name: unsupported() for name in (
        "prompt", "conversation", "context_management", "background_options",
        "access_programs", "image", "moderation", "prompt_cache_options",
    )},
}

CHAT_FIELDS: dict[str, Check] = {
    **_BOTH_APIS,
    "messages": any_value,
    "max_tokens": integer(1, MAX_OUTPUT_TOKENS),
    "max_completion_tokens": integer(1, MAX_OUTPUT_TOKENS),
    "n": integer(1, 128),
    "presence_penalty": number(-2, 2),
    "frequency_penalty": number(-2, 2),
    "logit_bias": map_of_numbers(-100, 100),
    "logprobs": boolean,
    "seed": integer(*INT64),
    "verbosity": one_of("low", "medium", "high"),
    "reasoning_effort": any_value,
    "stream_options": object_of({"include_usage": boolean, "include_obfuscation": boolean}),
    "modalities": unsupported(lambda value: value == ["text"]),  # "audio": not yet
    "response_format": any_value,
    "functions": _NO_TOOLS,
    "function_call": _NOT_A_TOOL_CHOICE,
    "stop": unsupported(),
    **{name: unsupported() for name in (
        "audio", "prediction", "web_search_options", "moderation",
        "prompt_cache_options",
    )},
}


def check_fields(body: dict[str, Any], fields: dict[str, Check], param_prefix: str = "") -> None:
    """Refuse an unknown key, then check each known one that is not null, in body order."""
    for key, value in body.items():
        check = fields.get(key)
        if check is None:
            raise RequestError(
                f"Unknown parameter: '{param_prefix}{key}'.",
                param=f"{param_prefix}{key}",
                code="unknown_parameter",
            )
        if value is not None:
            check(value, f"{param_prefix}{key}")


def check_responses_body(body: dict[str, Any]) -> None:
    """Every field of a POST /v1/responses body (and a WebSocket `response.create`)."""
    check_fields(body, RESPONSES_FIELDS)


def check_chat_body(body: dict[str, Any]) -> None:
    """Every field of a POST /v1/chat/completions body, unknown ones refused in Chat's words."""
    for key in body:
        if key not in CHAT_FIELDS:
            raise RequestError(
                f"Unrecognized request argument supplied: {key}",
                param=key,
                code="unknown_parameter",
            )
    check_fields(body, CHAT_FIELDS)
    _check_chat_rules(body)


def _check_chat_rules(body: dict[str, Any]) -> None:
    """Rules between Chat fields, and what the simulated model cannot do with a valid value."""
    if body.get("n") not in (None, 1):
        unsupported()(body["n"], "n")
    if body.get("logprobs"):
        unsupported()(True, "logprobs")
    if body.get("top_logprobs") is not None and not body.get("logprobs"):
        raise RequestError(
            "Invalid value for 'top_logprobs': 'logprobs' must be true to use 'top_logprobs'.",
            param="top_logprobs",
            code="invalid_value",
        )


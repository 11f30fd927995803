"""Layer: dialects. May import: helpers.server.model, other dialects modules. No I/O.

The rules OpenAI's strict mode puts on a JSON Schema (a function's `parameters` with `strict:
true`, a `json_schema` output format with `strict: true`), checked before the stream starts.

Why: a schema the real API refuses must be refused here too, with the same kind of message
("In context=('properties', 'name'), 'minLength' is not permitted."), or a learner's schema
works offline and fails on the real API. The rules (OpenAI's Structured Outputs guide):
the root is an object, not `anyOf`; every object sets `additionalProperties: false` and lists
every property in `required`; some keywords are not supported at all (`UNSUPPORTED`).

When a request leaves `strict` out, the Responses API does not refuse a schema that breaks these
rules: it *normalizes* it (`strict_or_loose`): every object gets `additionalProperties: false`
and lists every property in `required`, and the tool (or format) is echoed back `strict: true`
with that schema. Only when that still fails (a keyword strict mode refuses, an object with
`additionalProperties: true`, a root that is not an object) does it fall back to non-strict,
echoed `strict: false`. OpenAI's function-calling guide says so ("Responses requests will
normalize your schema into strict mode ... Chat Completions requests remain non-strict by
default"), and a recorded real stream shows it (a tool sent without `strict` and without
`additionalProperties` came back with both). Only an explicit `strict: true` is refused.

Separately, `generator_limits` refuses the few keywords the *simulated* model cannot satisfy
(`pattern`, ...), saying it is a limit of the local server only.
"""

from __future__ import annotations

import copy
from typing import Any

from helpers.server.model.source import RequestError
from helpers.server.model.structured import unsupported_keyword

UNSUPPORTED = (
    "minLength", "maxLength", "patternProperties", "unevaluatedProperties", "propertyNames",
    "minProperties", "maxProperties", "unevaluatedItems", "contains", "minContains",
    "maxContains", "uniqueItems", "allOf", "not", "if", "then", "else", "dependentRequired",
    "dependentSchemas",
)


def _problem(where: str, path: tuple[str, ...], text: str, param: str, code: str) -> RequestError:
    message = f"Invalid schema for {where}: In context={path!r}, {text}"
    return RequestError(message, param=param, code=code)


def _is_object(schema: dict[str, Any]) -> bool:
    kind = schema.get("type")
    return kind == "object" or (isinstance(kind, list) and "object" in kind) or (
        kind is None and "properties" in schema
    )


def _children(schema: dict[str, Any], path: tuple[str, ...]) -> list[tuple[Any, tuple[str, ...]]]:
    """Every sub-schema with its context path, in document order."""
    found: list[tuple[Any, tuple[str, ...]]] = []
    for key in ("properties", "$defs", "definitions"):
        for name, sub in (schema.get(key) or {}).items():
            found.append((sub, (*path, key, name)))
    if isinstance(schema.get("items"), dict):
        found.append((schema["items"], (*path, "items")))
    for key in ("anyOf", "oneOf"):
        for index, sub in enumerate(schema.get(key) or []):
            found.append((sub, (*path, key, str(index))))
    return found


def _check_node(schema: Any, path: tuple[str, ...], where: str, param: str, code: str) -> None:
    if not isinstance(schema, dict):
        return
    for keyword in UNSUPPORTED:
        if keyword in schema:
            raise _problem(where, path, f"'{keyword}' is not permitted.", param, code)
    if _is_object(schema):
        if schema.get("additionalProperties") is not False:
            text = "'additionalProperties' is required to be supplied and to be false."
            raise _problem(where, path, text, param, code)
        missing = [k for k in schema.get("properties") or {} if k not in schema.get("required", [])]
        if missing:
            text = (
                "'required' is required to be supplied and to be an array including every key "
                f"in properties. Missing '{missing[0]}'."
            )
            raise _problem(where, path, text, param, code)
    for sub, sub_path in _children(schema, path):
        _check_node(sub, sub_path, where, param, code)


def check_strict(schema: Any, where: str, param: str, code: str) -> None:
    """Refuse a schema strict mode does not accept, naming the field and the keyword."""
    if not isinstance(schema, dict):
        message = f"Invalid schema for {where}: expected an object."
        raise RequestError(message, param=param, code=code)
    if schema.get("type") != "object" or "anyOf" in schema:
        got = schema.get("type", "anyOf" if "anyOf" in schema else None)
        raise RequestError(
            f"Invalid schema for {where}: schema must be a JSON Schema of 'type: \"object\"', "
            f"got 'type: \"{got}\"'.",
            param=param,
            code=code,
        )
    _check_node(schema, (), where, param, code)


def _normalize(schema: Any) -> None:
    """In place: close every object and require every property (what strict mode needs)."""
    if not isinstance(schema, dict):
        return
    if _is_object(schema):
        schema.setdefault("additionalProperties", False)
        properties = schema.get("properties") or {}
        required = schema.get("required")
        if isinstance(properties, dict) and (required is None or isinstance(required, list)):
            required = list(required or [])
            schema["required"] = required + [k for k in properties if k not in required]
    for sub, _ in _children(schema, ()):
        _normalize(sub)


def strict_or_loose(schema: Any, where: str, param: str, code: str) -> tuple[Any, bool]:
    """`strict` left out (Responses): (the normalized schema, True) when strict mode can take
    it, else (the schema as sent, False): never an error."""
    if not isinstance(schema, dict):
        return schema, False
    normalized = copy.deepcopy(schema)
    _normalize(normalized)
    try:
        check_strict(normalized, where, param, code)
    except RequestError:
        return schema, False
    return normalized, True


def generator_limits(schema: Any, where: str, param: str) -> None:
    """Refuse (on the local server only) a keyword the simulated model cannot honour."""
    path, keyword = unsupported_keyword(schema)
    if keyword:
        raise RequestError(
            f"The local simulated model cannot write JSON that satisfies '{keyword}' (schema for "
            f"{where}, context={path!r}). This is a limit of the local server only: the real API "
            "accepts it. Leave the keyword out offline.",
            param=param,
            code="unsupported_parameter",
        )

"""Layer: dialects. May import: helpers.server.model, other dialects modules. No I/O.

The rules OpenAI's strict mode puts on a JSON Schema (a function's `parameters` with `strict:
true`, a `json_schema` output format with `strict: true`), checked before the stream starts.

Why: a schema the real API refuses must be refused here too, with the same kind of message
("In context=('properties', 'name'), 'minLength' is not permitted."), or a learner's schema
works offline and fails on the real API. The rules (OpenAI's Structured Outputs guide):
the root is an object, not `anyOf`; every object sets `additionalProperties: false` and lists
every property in `required`; some keywords are not supported at all (`UNSUPPORTED`).

Separately, `generator_limits` refuses the few keywords the *simulated* model cannot satisfy
(`pattern`, ...), saying it is a limit of the local server only.
"""

from __future__ import annotations

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

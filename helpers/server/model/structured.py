"""Layer: model (the bottom). May import: other helpers.server.model modules, nothing above.

Deterministic JSON that is valid against a JSON Schema: what the simulated model "writes" for a
function call's arguments or a Structured Output.

Why: a learner's tool-calling or `parse()` code must meet JSON that parses and validates, the
same JSON for the same prompt and schema (so notebooks and tests can compare), and that still
looks like an answer to the prompt: string fields take the prompt's capitalised words ("Paris")
before they fall back to "sample <field>".

Covers what Structured Outputs allow and pydantic emits: object (properties, required,
additionalProperties), array (items, minItems, maxItems), string (enum, const, format), number
and integer (minimum, maximum, exclusive bounds, multipleOf), boolean, null, `type` lists,
anyOf / oneOf / allOf (first branch), and `$ref` into `$defs` / `definitions`. `pattern` cannot
be honoured by a generator this small: `unsupported_keyword` names it so the server can refuse.
"""

from __future__ import annotations

import json
import math
import re
import zlib
from typing import Any

MAX_DEPTH = 8
"""Deeper than this, optional branches stop recursing (a recursive schema still ends)."""

_FORMATS = {
    "date-time": "2026-01-15T09:30:00Z",
    "date": "2026-01-15",
    "time": "09:30:00",
    "duration": "P3D",
    "email": "alex@example.com",
    "hostname": "example.com",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "uuid": "123e4567-e89b-12d3-a456-426614174000",
}
GENERATOR_CANNOT = ("pattern", "patternProperties", "not", "if", "contains", "uniqueItems")
"""Keywords the generator cannot promise to satisfy; the server refuses them up front."""


def proper_nouns(text: str) -> list[str]:
    """Capitalised words, not the first ("What is the weather in Paris" -> ["Paris"])."""
    words = re.findall(r"[A-Za-z][\w'-]*", text)
    starts_sentence = bool(text[:1].strip())  # a clause cut out of a prompt starts with a space
    return [w for w in words[starts_sentence:] if w[0].isupper() and w != "I"]


def _pick(path: str, seed: str, modulo: int) -> int:
    return zlib.crc32(f"{seed}|{path}".encode()) % modulo if modulo > 0 else 0


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    """Follow local `$ref`s ("#/$defs/Name") to the schema they name."""
    seen = 0
    while "$ref" in schema and seen < 32:
        node: Any = root
        for part in schema["$ref"].lstrip("#").strip("/").split("/"):
            if part:
                node = node[part.replace("~1", "/").replace("~0", "~")]
        schema, seen = node, seen + 1
    return schema


def _branches(schema: dict[str, Any]) -> list[dict[str, Any]]:
    return schema.get("anyOf") or schema.get("oneOf") or schema.get("allOf") or []


def _type_of(schema: dict[str, Any], depth: int) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        non_null = [k for k in kind if k != "null"]
        return "null" if depth >= MAX_DEPTH and "null" in kind else (non_null or ["null"])[0]
    if kind:
        return kind
    return "object" if "properties" in schema else "string"


class _Writer:
    """One generation: the seed text, the root (for `$ref`) and the proper nouns to hand out."""

    def __init__(self, root: dict[str, Any], seed: str) -> None:
        self.root, self.seed, self.nouns = root, seed, proper_nouns(seed)

    def value(self, schema: Any, path: str, key: str, depth: int) -> Any:
        if not isinstance(schema, dict):
            return None  # `true` / `{}` style schemas: null is valid
        schema = _resolve(schema, self.root)
        if "const" in schema:
            return schema["const"]
        if schema.get("enum"):
            options = schema["enum"]
            return options[_pick(path, self.seed, len(options))]
        branches = _branches(schema)
        if branches:
            if depth >= MAX_DEPTH:
                nulls = [b for b in branches if _resolve(b, self.root).get("type") == "null"]
                branches = nulls or branches
            return self.value(branches[0], path + "/0", key, depth)
        kind = _type_of(schema, depth)
        maker = getattr(self, f"_{kind}", None)
        return None if maker is None else maker(schema, path, key, depth)

    def _object(self, schema: dict[str, Any], path: str, key: str, depth: int) -> Any:
        properties = schema.get("properties") or {}
        required = set(schema.get("required") or ())
        value = {
            name: self.value(sub, f"{path}/{name}", name, depth + 1)
            for name, sub in properties.items()
            if depth < MAX_DEPTH or name in required
        }
        return _paired_in_order(value, properties, self.root)

    def _array(self, schema: dict[str, Any], path: str, key: str, depth: int) -> Any:
        low = schema.get("minItems", 0)
        high = schema.get("maxItems", max(low, 2))
        count = low if depth >= MAX_DEPTH else min(max(low, 2), high)
        item = schema.get("items", {})
        return [self.value(item, f"{path}/{i}", key, depth + 1) for i in range(count)]

    def _string(self, schema: dict[str, Any], path: str, key: str, depth: int) -> Any:
        if schema.get("format") in _FORMATS:
            return _FORMATS[schema["format"]]
        text = self.nouns.pop(0) if self.nouns else f"sample {key or 'text'}".replace("_", " ")
        low, high = schema.get("minLength", 0), schema.get("maxLength")
        text = text + "x" * max(0, low - len(text))
        return text if high is None else text[:high]

    def _integer(self, schema: dict[str, Any], path: str, key: str, depth: int) -> Any:
        low, high = _bounds(schema, integer=True)
        step = schema.get("multipleOf", 1)
        first, last = math.ceil(low / step), math.floor(high / step)
        return int(step * (first + _pick(path, self.seed, last - first + 1)))

    def _number(self, schema: dict[str, Any], path: str, key: str, depth: int) -> Any:
        if "multipleOf" in schema:
            return self._integer(schema, path, key, depth) if schema["multipleOf"] >= 1 else (
                _multiple(schema, _pick(path, self.seed, 1000))
            )
        low, high = _bounds(schema, integer=False)
        return round(low + (high - low) * _pick(path, self.seed, 1001) / 1000, 2)

    def _boolean(self, schema: dict[str, Any], path: str, key: str, depth: int) -> Any:
        return bool(_pick(path, self.seed, 2))

    def _null(self, schema: dict[str, Any], path: str, key: str, depth: int) -> Any:
        return None


_PAIRS = (("low", "high"), ("min", "max"), ("start", "end"), ("from", "to"))


def _paired_in_order(
    value: dict[str, Any], properties: dict[str, Any], root: dict[str, Any]
) -> dict[str, Any]:
    """Numbers named as a pair ("low_c" / "high_c", "min_price" / "max_price") come out in order
    (low <= high), when swapping them keeps both valid: a forecast with a low above its high
    reads as a bug, although the schema allows it."""
    for small_word, big_word in _PAIRS:
        for name, small in list(value.items()):
            parts = name.split("_")
            if small_word not in parts:
                continue
            other = "_".join(big_word if part == small_word else part for part in parts)
            big = value.get(other)
            numbers = (small, big)
            if not all(isinstance(n, int | float) and not isinstance(n, bool) for n in numbers):
                continue
            if small > big and _accepts(properties[name], big, root) and _accepts(
                properties[other], small, root
            ):
                value[name], value[other] = big, small
    return value


def _accepts(schema: Any, number: float, root: dict[str, Any]) -> bool:
    """Whether a plain number schema (bounds, multipleOf) admits `number`."""
    if not isinstance(schema, dict):
        return False
    schema = _resolve(schema, root)
    if schema.get("type") not in ("integer", "number") or "enum" in schema or "const" in schema:
        return False
    if schema["type"] == "integer" and number != int(number):
        return False
    step = schema.get("multipleOf")
    if step and (number / step) != round(number / step):
        return False
    low, high = _bounds(schema, integer=schema["type"] == "integer")
    return low <= number <= high


def _bounds(schema: dict[str, Any], *, integer: bool) -> tuple[float, float]:
    """The inclusive range a value may take; 1..100 when the schema sets none."""
    nudge = 1 if integer else 0.01
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is None and "exclusiveMinimum" in schema:
        low = schema["exclusiveMinimum"] + nudge
    if high is None and "exclusiveMaximum" in schema:
        high = schema["exclusiveMaximum"] - nudge
    if low is None:
        low = 1 if high is None or high >= 100 else high - 99
    if high is None:
        high = low + 99
    return low, max(low, high)


def _multiple(schema: dict[str, Any], pick: int) -> float:
    low, high = _bounds(schema, integer=False)
    step = schema["multipleOf"]
    first, last = math.ceil(low / step), math.floor(high / step)
    return round(step * (first + pick % max(1, last - first + 1)), 10)


def value_for_schema(schema: dict[str, Any], seed: str) -> Any:
    """A value valid against `schema`, the same for the same (schema, seed)."""
    return _Writer(schema, seed).value(schema, "", "", 0)


def json_for_schema(schema: dict[str, Any], seed: str) -> str:
    """The value as compact JSON text, the way models write tool arguments."""
    return json.dumps(value_for_schema(schema, seed), ensure_ascii=False, separators=(",", ":"))


def unsupported_keyword(schema: Any, path: tuple[str, ...] = ()) -> tuple[tuple[str, ...], str]:
    """(where, keyword) of the first keyword the generator cannot honour, or ((), "")."""
    if isinstance(schema, list):
        for index, sub in enumerate(schema):
            found = unsupported_keyword(sub, (*path, str(index)))
            if found[1]:
                return found
    if not isinstance(schema, dict):
        return (), ""
    for keyword in GENERATOR_CANNOT:
        if keyword in schema:
            return path, keyword
    for key, sub in schema.items():
        named = key in ("properties", "$defs", "definitions") and isinstance(sub, dict)
        for name, child in (sub.items() if named else [("", sub)]):
            if key in ("enum", "const", "default", "examples", "description", "title"):
                continue
            found = unsupported_keyword(child, (*path, key, name) if named else (*path, key))
            if found[1]:
                return found
    return (), ""

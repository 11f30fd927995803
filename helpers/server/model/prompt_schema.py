"""Layer: model (the bottom). May import: other helpers.server.model modules, nothing above.

A JSON Schema written into the prompt, found so the simulated model can follow it.

Why: many clients ask for JSON by *telling* the model the schema instead of sending it as
`text.format` / `response_format` / `output_config`: instructor's JSON modes (a system message
"... provide the parsed objects in json that match the following json_schema: {...}"),
langchain's `with_structured_output(method="json_mode")` with a parser's format instructions
("The output should be formatted as a JSON instance that conforms to the JSON schema below.
... Here is the output schema: ```{...}```"), pydantic-ai's prompted output ("Always respond with
a JSON object that's compatible with this schema: {...}"). A real model follows the schema it
was shown, and the client validates the answer against it; so does the simulated model.

The rule (a pure function of the request's text, so the same request gets the same JSON):
- a candidate is a JSON object in the text that looks like a schema: it has `$schema`, or
  `properties` whose values are all schemas (objects or booleans) and a `type` that is absent
  or "object";
- candidates inside fenced code blocks (```json ... ``` or plain ```) come first: langchain's
  instructions show an example schema unfenced, then the real one fenced; among the chosen
  ones the largest wins (the top-level schema, not one of its `$defs`), the last on a tie;
- the model follows it when the request asks for JSON: a `json_object` format, or the word
  "json" anywhere in the text outside the schema itself (every template above says it);
- a schema the generator cannot write a value for (a `$ref` it cannot resolve, a recursion
  without end) is not a candidate.
"""

from __future__ import annotations

import json
import re
from typing import Any

from helpers.server.model.structured import value_for_schema

_DECODER = json.JSONDecoder()
_FENCE = re.compile(r"```[A-Za-z0-9_+-]*(.*?)```", re.DOTALL)
_JSON_WORD = re.compile(r"json", re.IGNORECASE)
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")


def looks_like_schema(value: Any) -> bool:
    """A JSON object that is a schema for an object, not an instance of one."""
    if not isinstance(value, dict):
        return False
    if "$schema" in value:
        return True
    properties = value.get("properties")
    if not isinstance(properties, dict) or value.get("type", "object") != "object":
        return False
    return all(isinstance(sub, (dict, bool)) for sub in properties.values()) and (
        bool(properties) or value.get("type") == "object"
    )


def _writable(schema: dict[str, Any]) -> bool:
    try:
        value_for_schema(schema, "")
    except (KeyError, IndexError, TypeError, ValueError, AttributeError, RecursionError):
        return False
    return True


def _schemas_in(text: str, offset: int) -> list[tuple[int, int, dict[str, Any]]]:
    """(start, end, schema) of each schema-like JSON object in `text`, outermost first.

    Tries to decode a JSON value at every "{"; a decoded schema is skipped whole (its own
    sub-schemas are smaller), anything else is searched inside (`{"schema": {...}}`).
    """
    found = []
    start = text.find("{")
    while start != -1:
        try:
            value, end = _DECODER.raw_decode(text, start)
        except ValueError:
            value, end = None, start + 1
        if looks_like_schema(value) and _writable(value):
            found.append((offset + start, offset + end, value))
            start = text.find("{", end)
        else:
            start = text.find("{", start + 1)
    return found


def _best(candidates: list[tuple[int, int, dict[str, Any]]]) -> tuple[int, int, dict[str, Any]]:
    return max(candidates, key=lambda found: (found[1] - found[0], found[0]))


def find_schema(text: str) -> tuple[int, int, dict[str, Any]] | None:
    """(start, end, schema): the JSON Schema the text shows, by the rule above; None if none."""
    if "{" not in text:
        return None
    fenced = [
        found
        for fence in _FENCE.finditer(text)
        for found in _schemas_in(fence.group(1), fence.start(1))
    ]
    if fenced:
        return _best(fenced)
    candidates = _schemas_in(text, 0)
    return _best(candidates) if candidates else None


def schema_in_prompt(text: str, *, json_format: bool) -> dict[str, Any] | None:
    """The schema the simulated model should answer with an instance of, or None.

    `text`: the request's instructions and system, developer and user messages, joined (never
    the model's own earlier turns or tool outputs). `json_format`: the request asked for a
    `json_object` format, so the answer is JSON whether or not the text says so.
    """
    if not json_format and not _JSON_WORD.search(text):
        return None  # the common case, decided without looking for braces
    found = find_schema(text)
    if found is None:
        return None
    start, end, schema = found
    if json_format or _JSON_WORD.search(text[:start]) or _JSON_WORD.search(text[end:]):
        return schema
    return None


def seed_text(prompt: str) -> str:
    """The prompt without the sentences that show JSON or speak of JSON or schemas: what the
    answer's strings are drawn from (structured.proper_nouns), so they come from the question
    ("Jason") and not from the format instructions ("JSON", "Here")."""
    pieces, cursor = [], 0
    text = _FENCE.sub("\x00", prompt)
    start = text.find("{")
    while start != -1:
        try:
            end = _DECODER.raw_decode(text, start)[1]
        except ValueError:
            start = text.find("{", start + 1)
            continue
        pieces.append(text[cursor:start])
        cursor, start = end, text.find("{", end)
    marked = "\x00".join([*pieces, text[cursor:]])  # each JSON value is now one \x00
    kept = [
        sentence.strip()
        for sentence in _SENTENCE.findall(marked)
        if sentence.strip() and not re.search(r"json|schema|\x00", sentence, re.IGNORECASE)
    ]
    return " ".join(kept)

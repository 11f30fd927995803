"""Requests the real OpenAI API accepted, and the fields it sent back, against the local server.

`data/real_streams/openai-*.request.json` are request bodies recorded next to real streamed
answers (provenance in the README there). Each must be accepted here too: a cell that the real
API runs must run offline.

The strict rule for function tools and `json_schema` formats follows what the real Responses
API echoed (and OpenAI's function-calling guide): `strict` left out -> the schema is normalized
into strict mode when it can be (every object closed with `additionalProperties: false`, every
property required) and echoed `strict: true`, else accepted non-strict and echoed
`strict: false`; only an explicit `strict: true` is refused. Chat Completions stays non-strict
by default.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest
from openai import OpenAI
from openai.types.chat import ChatCompletionChunk
from openai.types.responses import ResponseStreamEvent
from pydantic import TypeAdapter

from helpers.server import LocalServer

REAL = Path(__file__).resolve().parents[2] / "data" / "real_streams"
MULTIPLY = {"properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
            "required": ["a", "b"], "type": "object"}


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with LocalServer(ttft=0, tokens_per_second=0) as running:
        yield running


@pytest.fixture(scope="module")
def client(server: LocalServer) -> OpenAI:
    return OpenAI(base_url=server.base_url, api_key="unused", max_retries=0)


def frames(server: LocalServer, path: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    """The JSON of every `data:` line of the stream, as sent."""
    with httpx2.stream("POST", server.base_url + path, json=body, timeout=60) as reply:
        assert reply.status_code == 200, reply.read()
        return [json.loads(line[6:]) for line in reply.iter_lines()
                if line.startswith("data: ") and line != "data: [DONE]"]


@pytest.mark.parametrize("name", sorted(p.name for p in REAL.glob("openai-*.request.json")))
def test_every_recorded_request_is_accepted(server: LocalServer, name: str) -> None:
    body = json.loads((REAL / name).read_text())
    if name.startswith("openai-responses-"):
        adapter = TypeAdapter(ResponseStreamEvent)
        events = [adapter.validate_python(f) for f in frames(server, "/responses", body)]
        assert events[-1].type in ("response.completed", "response.incomplete")
    else:
        chunks = [ChatCompletionChunk.model_validate(f)
                  for f in frames(server, "/chat/completions", body)]
        assert chunks[0].choices[0].delta.role == "assistant"


def created(server: LocalServer, **fields: Any) -> dict[str, Any]:
    body = {"model": "kit-sim-1", "input": "Multiply 3 by 4", "stream": True, **fields}
    return frames(server, "/responses", body)[0]["response"]


def test_a_tool_without_strict_comes_back_strict_as_the_real_api_echoed_it(
    server: LocalServer,
) -> None:
    """openai-responses-function_call-1: sent without strict or additionalProperties."""
    body = json.loads((REAL / "openai-responses-function_call-1.request.json").read_text())
    echoed = frames(server, "/responses", body)[0]["response"]["tools"]
    assert echoed == [{  # what the real response.created said, key for key
        "type": "function", "description": "Multiply two numbers.", "name": "multiply",
        "parameters": {**MULTIPLY, "additionalProperties": False}, "strict": True}]


def test_left_out_strict_requires_every_property_and_closes_nested_objects(
    server: LocalServer,
) -> None:
    schema = {"type": "object", "properties": {
        "a": {"type": "integer"},
        "opts": {"type": "object", "properties": {"round": {"type": "boolean"}}}}}
    tool = created(server, tools=[{"type": "function", "name": "multiply",
                                   "parameters": schema}])["tools"][0]
    assert tool["strict"] is True
    assert tool["parameters"] == {"type": "object", "additionalProperties": False,
                                  "required": ["a", "opts"], "properties": {
        "a": {"type": "integer"},
        "opts": {"type": "object", "properties": {"round": {"type": "boolean"}},
                 "additionalProperties": False, "required": ["round"]}}}
    assert schema["properties"]["opts"] == {  # the request's own dict is not changed
        "type": "object", "properties": {"round": {"type": "boolean"}}}


@pytest.mark.parametrize("parameters", [
    {**MULTIPLY, "properties": {"a": {"type": "integer"}, "b": {"type": "string",
                                                                "minLength": 2}}},
    {**MULTIPLY, "additionalProperties": True},
    {"type": "object", "properties": {"x": {"allOf": [{"type": "string"}]}}},
], ids=["minLength", "additionalProperties-true", "allOf"])
def test_left_out_strict_falls_back_to_non_strict_when_the_schema_cannot_be_strict(
    server: LocalServer, parameters: dict[str, Any]
) -> None:
    tool = created(server, tools=[{"type": "function", "name": "multiply",
                                   "parameters": parameters}])["tools"][0]
    assert tool["strict"] is False and tool["parameters"] == parameters


def test_explicit_strict_is_kept_false_and_enforced_true(client: OpenAI,
                                                         server: LocalServer) -> None:
    tool = created(server, tools=[{"type": "function", "name": "multiply", "strict": False,
                                   "parameters": MULTIPLY}])["tools"][0]
    assert tool["strict"] is False and tool["parameters"] == MULTIPLY
    for strict in (None, False):  # null is the same as left out
        body: dict[str, Any] = {"type": "function", "name": "m", "parameters": MULTIPLY}
        client.responses.create(model="kit-sim-1", input="hi", tools=[{**body, "strict": strict}])
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="kit-sim-1", input="hi", tools=[
            {"type": "function", "name": "m", "parameters": MULTIPLY, "strict": True}])
    assert caught.value.code == "invalid_function_parameters"
    assert "'additionalProperties' is required" in caught.value.message


def test_a_json_schema_format_without_strict_comes_back_strict_with_description_null(
    server: LocalServer,
) -> None:
    """openai-responses-structured-1: the real response.created echoed the format so."""
    body = json.loads((REAL / "openai-responses-structured-1.request.json").read_text())
    sent = body["text"]["format"]
    echoed = frames(server, "/responses", body)[0]["response"]["text"]["format"]
    assert echoed == {"type": "json_schema", "description": None, "name": "output",
                      "schema": sent["schema"], "strict": True}
    loose = {"type": "json_schema", "name": "o", "schema": {**MULTIPLY,
                                                             "additionalProperties": True}}
    assert created(server, text={"format": loose})["text"]["format"]["strict"] is False


def test_chat_tools_stay_non_strict_unless_asked(client: OpenAI) -> None:
    """Chat Completions: no normalization; strict: true needs a schema strict mode takes."""
    loose = {"type": "function", "function": {"name": "m", "parameters": {
        "type": "object", "properties": {"a": {"type": "string", "minLength": 2}}}}}
    chat = client.chat.completions.create(model="kit-sim-1", tools=[loose],  # type: ignore[list-item]
                                          tool_choice="required",
                                          messages=[{"role": "user", "content": "hi"}])
    assert chat.choices[0].finish_reason == "tool_calls"
    fmt = {"type": "json_schema", "json_schema": {"name": "o", "schema": {
        "type": "object", "properties": {"a": {"type": "integer"}}}}}
    chat = client.chat.completions.create(model="kit-sim-1", response_format=fmt,  # type: ignore[arg-type]
                                          messages=[{"role": "user", "content": "hi"}])
    assert isinstance(json.loads(chat.choices[0].message.content or "")["a"], int)

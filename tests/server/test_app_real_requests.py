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


# --------------------------------------------------------------------------- on every stream


def recorded(name: str) -> list[dict[str, Any]]:
    text = (REAL / f"{name}.sse").read_text(encoding="utf-8")
    return [json.loads(line[6:]) for line in text.splitlines()
            if line.startswith("data: ") and line != "data: [DONE]"]


ALNUM = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
REASONING_TOOLS = {"input": "What is the weather in Paris?", "reasoning": {"summary": "auto",
                   "effort": "low"}, "tools": [{"type": "function", "name": "get_weather",
                                                "parameters": MULTIPLY}]}


@pytest.mark.parametrize("fields", [{"input": "Explain SSE"}, REASONING_TOOLS],
                         ids=["text", "reasoning+call"])
def test_every_responses_delta_is_padded_to_16_characters(server: LocalServer,
                                                         fields: dict[str, Any]) -> None:
    body = {"model": "kit-sim-1", "stream": True, **fields}
    events = frames(server, "/responses", body)
    deltas = [e for e in events if e["type"].endswith(".delta")]
    kinds = {"response.output_text.delta"} if "tools" not in fields else {
        "response.reasoning_summary_text.delta", "response.function_call_arguments.delta"}
    assert {e["type"] for e in deltas} == kinds
    for event in deltas:
        assert set(event["obfuscation"]) <= ALNUM and len(event["obfuscation"]) < 16
        assert (len(event["delta"]) + len(event["obfuscation"])) % 16 == 0
    assert not [e for e in events if "obfuscation" in e and not e["type"].endswith(".delta")]
    again = frames(server, "/responses", body)  # seeded: the same request, the same padding
    assert [e.get("obfuscation") for e in again] == [e.get("obfuscation") for e in events]
    off = frames(server, "/responses", {**body, "stream_options": {"include_obfuscation": False}})
    assert not [e for e in off if "obfuscation" in e]


def test_real_deltas_follow_the_same_16_rule() -> None:
    """The rule above, checked on the recordings it was read from."""
    for name in ("openai-responses-reasoning-2", "openai-responses-function_call-1"):
        for event in recorded(name):
            if "obfuscation" in event:
                assert (len(event["delta"]) + len(event["obfuscation"])) % 16 == 0


def test_chat_chunks_carry_obfuscation_and_service_tier(client: OpenAI,
                                                        server: LocalServer) -> None:
    body = json.loads((REAL / "openai-chat-text-2.request.json").read_text())
    chunks = frames(server, "/chat/completions", body)
    real = recorded("openai-chat-text-2")
    assert all(set(c) == set(r) for c, r in zip(chunks, real, strict=False))
    assert set(chunks[-1]) == set(real[-1])  # the usage chunk too
    for chunk in chunks:
        assert set(chunk["obfuscation"]) <= ALNUM and len(chunk["obfuscation"]) < 16
        assert chunk["service_tier"] == "default"
    off = client.chat.completions.create(
        model="kit-sim-1", messages=[{"role": "user", "content": "hi"}], stream=True,
        stream_options={"include_obfuscation": False})
    assert all("obfuscation" not in (chunk.model_extra or {}) for chunk in off)
    whole = client.chat.completions.create(model="kit-sim-1", service_tier="flex",
                                           messages=[{"role": "user", "content": "hi"}])
    assert whole.service_tier == "flex"


@pytest.mark.parametrize("name", ["openai-responses-function_call-1", "openai-responses-text-1"])
def test_the_response_object_has_every_field_of_a_2026_recording(server: LocalServer,
                                                                  name: str) -> None:
    body = json.loads((REAL / f"{name}.request.json").read_text())
    kit, real = frames(server, "/responses", body), recorded(name)
    for index in (0, -1):  # response.created, response.completed
        assert kit[index]["type"] == real[index]["type"]
        assert set(kit[index]["response"]) == set(real[index]["response"])
        for key in ("background", "store", "service_tier", "reasoning", "user", "top_logprobs",
                    "max_tool_calls", "safety_identifier", "prompt_cache_key", "text"):
            assert kit[index]["response"][key] == real[index]["response"][key], key


def test_reasoning_items_carry_encrypted_content_when_included(server: LocalServer) -> None:
    body = {"model": "kit-sim-1", "stream": True, **REASONING_TOOLS}
    items = [e["item"] for e in frames(server, "/responses", body) if "item" in e]
    assert items[0]["type"] == "reasoning" and "encrypted_content" not in items[0]
    included = {**body, "include": ["reasoning.encrypted_content"]}
    items = [e["item"] for e in frames(server, "/responses", included) if "item" in e]
    reasoning = [item for item in items if item["type"] == "reasoning"]
    assert reasoning and all(item["encrypted_content"].startswith("gAAAAA") for item in reasoning)


def test_function_call_arguments_done_has_no_name(server: LocalServer) -> None:
    body = json.loads((REAL / "openai-responses-function_call-1.request.json").read_text())
    done = [e for e in frames(server, "/responses", body)
            if e["type"] == "response.function_call_arguments.done"]
    real = [e for e in recorded("openai-responses-function_call-1")
            if e["type"] == "response.function_call_arguments.done"]
    assert done and set(done[0]) == set(real[0])

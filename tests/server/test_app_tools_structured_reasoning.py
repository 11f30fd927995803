"""Tool calls, Structured Outputs and reasoning on the local server, through the official SDK.

Every event goes through the openai SDK's own parsing (typed events, `parse()` helpers), so a
shape the SDK cannot read fails here. Generated JSON is checked with `jsonschema`. Timing is
compared by order and by the model's schedule, never by wall-clock thresholds.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any, Literal

import httpx2
import jsonschema
import openai
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openai import OpenAI, pydantic_function_tool
from openai.lib._pydantic import to_strict_json_schema
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.responses import Response as ResponseModel
from openai.types.responses import (
    ResponseFunctionCallArgumentsDeltaEvent,
    ResponseFunctionCallArgumentsDoneEvent,
    ResponseFunctionToolCall,
    ResponseReasoningItem,
    ResponseReasoningSummaryTextDeltaEvent,
    ResponseStreamEvent,
)
from pydantic import BaseModel, TypeAdapter

from helpers.server import LocalServer
from helpers.server.dialects.requests import parse_chat_request, parse_responses_request
from helpers.server.model.source import RequestError, Simulation
from helpers.server.model.structured import json_for_schema, value_for_schema
from helpers.server.model.tokens import _after_thinking, admit, planned_calls

MODEL = "kit-sim-1"
WEATHER = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "unit": {"type": "string",
                                                        "enum": ["celsius", "fahrenheit"]}},
    "required": ["city", "unit"],
    "additionalProperties": False,
}
RESPONSES_TOOLS = [{"type": "function", "name": "get_weather",
                    "description": "Current weather for a city", "parameters": WEATHER}]
CHAT_TOOLS = [{"type": "function", "function": {"name": "get_weather",
               "description": "Current weather for a city", "parameters": WEATHER}}]
TWO_CITIES = "What is the weather in Paris and Tokyo?"


class Address(BaseModel):
    city: str
    postcode: int


class Person(BaseModel):
    name: str
    age: int
    role: Literal["student", "teacher"]
    home: Address
    tags: list[str]
    nickname: str | None
    score: float
    active: bool


PERSON_SCHEMA = to_strict_json_schema(Person)


@pytest.fixture(scope="module")
def client() -> Iterator[OpenAI]:
    """One server for the module, no delays: these tests compare shapes and orders."""
    with LocalServer(ttft=0, tokens_per_second=0) as server:
        yield OpenAI(base_url=server.base_url, api_key="unused", max_retries=0)


def refusal(call: Any) -> openai.APIStatusError:
    with pytest.raises(openai.APIStatusError) as caught:
        call()
    assert caught.value.status_code == 400
    return caught.value


# --------------------------------------------------------------------------- shapes, validated


def raw_events(client: OpenAI, path: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    """The JSON of every SSE frame, as sent (the SDK's streams build events without validating)."""
    headers = {"Authorization": f"Bearer {client.api_key}"}
    url = str(client.base_url).rstrip("/") + path
    with httpx2.stream("POST", url, json=body, headers=headers) as reply:
        assert reply.status_code == 200, reply.read()
        return [json.loads(line[6:]) for line in reply.iter_lines()
                if line.startswith("data: ") and line != "data: [DONE]"]


FEATURE_BODIES = [
    {"input": TWO_CITIES, "tools": RESPONSES_TOOLS},
    {"input": "Explain SSE", "reasoning": {"effort": "low", "summary": "auto"}},
    {"input": "Describe Ada", "text": {"format": {"type": "json_schema", "name": "person",
                                                  "schema": PERSON_SCHEMA, "strict": True}}},
]


@pytest.mark.parametrize("fields", FEATURE_BODIES, ids=["tools", "reasoning", "json_schema"])
def test_every_event_validates_against_the_sdks_models(client: OpenAI, fields: dict) -> None:
    body = {"model": MODEL, "stream": True, **fields}
    adapter = TypeAdapter(ResponseStreamEvent)
    events = [adapter.validate_python(e) for e in raw_events(client, "/responses", body)]
    assert events[-1].type == "response.completed"
    whole = client.responses.with_raw_response.create(**{**body, "stream": False}).http_response
    ResponseModel.model_validate(whole.json())
    chat = {"model": MODEL, "messages": [{"role": "user", "content": fields["input"]}],
            "stream": True, "stream_options": {"include_usage": True},
            "tools": CHAT_TOOLS, "reasoning_effort": "low"}
    for chunk in raw_events(client, "/chat/completions", chat):
        ChatCompletionChunk.model_validate(chunk)
    reply = client.chat.completions.with_raw_response.create(**{**chat, "stream": False,
                                                                "stream_options": None})
    ChatCompletion.model_validate(reply.http_response.json())


# --------------------------------------------------------------------------- Responses tools


def test_responses_streams_two_calls_at_output_index_0_and_1(client: OpenAI) -> None:
    events = list(client.responses.create(model=MODEL, input=TWO_CITIES, tools=RESPONSES_TOOLS,
                                          stream=True))
    kinds = [(e.type, getattr(e, "output_index", None)) for e in events]
    assert kinds[:3] == [("response.created", None), ("response.in_progress", None),
                         ("response.output_item.added", 0)]
    added = [e for e in events if e.type == "response.output_item.added"]
    assert [e.output_index for e in added] == [0, 1]
    assert all(isinstance(e.item, ResponseFunctionToolCall) for e in added)
    assert [e.item.name for e in added] == ["get_weather", "get_weather"]
    assert added[0].item.call_id != added[1].item.call_id
    deltas = [e for e in events if isinstance(e, ResponseFunctionCallArgumentsDeltaEvent)]
    done = [e for e in events if isinstance(e, ResponseFunctionCallArgumentsDoneEvent)]
    assert len(deltas) > 4 and [d.output_index for d in done] == [0, 1]
    for call in done:  # the deltas of one item join to its arguments
        joined = "".join(d.delta for d in deltas if d.item_id == call.item_id)
        assert joined == call.arguments
        jsonschema.validate(json.loads(joined), WEATHER)
    cities = [json.loads(d.arguments)["city"] for d in done]
    assert cities == ["Paris", "Tokyo"]
    final = events[-1]
    assert final.type == "response.completed"
    assert [(o.type, o.arguments) for o in final.response.output] == [
        ("function_call", d.arguments) for d in done
    ]
    assert final.response.tools[0].name == "get_weather"  # type: ignore[union-attr]


def test_responses_streamed_and_not_agree_and_repeat(client: OpenAI) -> None:
    def calls(**extra: Any) -> list[tuple[str, str]]:
        response = client.responses.create(model=MODEL, input=TWO_CITIES, tools=RESPONSES_TOOLS,
                                           **extra)
        if extra.get("stream"):
            response = list(response)[-1].response  # type: ignore[call-overload]
        return [(o.name, o.arguments) for o in response.output]  # type: ignore[union-attr]

    assert calls() == calls() == calls(stream=True)
    assert len(calls(parallel_tool_calls=False)) == 1


def test_tool_choice_rules(client: OpenAI) -> None:
    def names(prompt: str, **extra: Any) -> list[str]:
        response = client.responses.create(model=MODEL, input=prompt, tools=RESPONSES_TOOLS,
                                           **extra)
        return [o.name for o in response.output if o.type == "function_call"]

    assert names("Tell me a joke") == []  # auto, nothing mentions the tool
    assert names("Is it sunny? Check the weather") == ["get_weather"]  # a description word
    assert names("Tell me a joke", tool_choice="required") == ["get_weather"]
    assert names("Tell me a joke", tool_choice={"type": "function", "name": "get_weather"}) == [
        "get_weather"
    ]
    assert names(TWO_CITIES, tool_choice="none") == []


def test_responses_loop_answers_with_the_tool_output(client: OpenAI) -> None:
    first = client.responses.create(model=MODEL, input="What is the weather in Oslo?",
                                    tools=RESPONSES_TOOLS)
    call = first.output[0]
    assert call.type == "function_call"
    follow_up = [
        {"role": "user", "content": "What is the weather in Oslo?"},
        call.model_dump(exclude_none=True),
        {"type": "function_call_output", "call_id": call.call_id, "output": '{"temp_c": 7}'},
    ]
    events = list(client.responses.create(model=MODEL, input=follow_up,  # type: ignore[arg-type]
                                          tools=RESPONSES_TOOLS, stream=True))
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert '{"temp_c": 7}' in text and "get_weather" in text
    assert events[-1].response.output_text == text


# --------------------------------------------------------------------------- Chat tools


def test_chat_streams_tool_call_deltas_by_index(client: OpenAI) -> None:
    chunks = list(client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": TWO_CITIES}], tools=CHAT_TOOLS,  # type: ignore[arg-type]
        stream=True))
    pieces = [c.choices[0].delta.tool_calls for c in chunks if c.choices[0].delta.tool_calls]
    firsts = [p[0] for p in pieces if p[0].id is not None]
    assert [(f.index, f.function.name) for f in firsts] == [(0, "get_weather"), (1, "get_weather")]  # type: ignore[union-attr]
    assert [f.function.arguments for f in firsts] == ["", ""]  # type: ignore[union-attr]
    assert all(p[0].function.name is None for p in pieces if p[0].id is None)  # type: ignore[union-attr]
    joined: dict[int, str] = {}
    for piece in pieces:
        joined[piece[0].index] = joined.get(piece[0].index, "") + piece[0].function.arguments  # type: ignore[union-attr, operator]
    assert [json.loads(joined[i])["city"] for i in (0, 1)] == ["Paris", "Tokyo"]
    assert chunks[-1].choices[0].finish_reason == "tool_calls"
    whole = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": TWO_CITIES}], tools=CHAT_TOOLS)  # type: ignore[arg-type]
    message = whole.choices[0]
    assert message.finish_reason == "tool_calls" and message.message.content is None
    assert [c.function.arguments for c in message.message.tool_calls] == [joined[0], joined[1]]  # type: ignore[union-attr]


def test_chat_stream_helper_accumulates_and_parses_the_calls(client: OpenAI) -> None:
    class GetWeather(BaseModel):
        city: str

    tool = pydantic_function_tool(GetWeather, name="get_weather", description="weather")
    with client.chat.completions.stream(
        model=MODEL, messages=[{"role": "user", "content": TWO_CITIES}], tools=[tool]
    ) as stream:
        final = stream.get_final_completion()
    calls = final.choices[0].message.tool_calls or []
    assert [c.function.parsed_arguments for c in calls] == [  # type: ignore[union-attr]
        GetWeather(city="Paris"), GetWeather(city="Tokyo")
    ]


def test_chat_loop_answers_with_the_tool_output(client: OpenAI) -> None:
    messages: list[Any] = [{"role": "user", "content": "Weather in Oslo, please"}]
    first = client.chat.completions.create(model=MODEL, messages=messages, tools=CHAT_TOOLS)  # type: ignore[arg-type]
    assistant = first.choices[0].message
    call = (assistant.tool_calls or [])[0]
    messages += [assistant.model_dump(exclude_none=True),
                 {"role": "tool", "tool_call_id": call.id, "content": "7 degrees, light rain"}]
    chunks = list(client.chat.completions.create(model=MODEL, messages=messages,
                                                 tools=CHAT_TOOLS, stream=True))  # type: ignore[arg-type]
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert "7 degrees, light rain" in text
    assert chunks[-1].choices[0].finish_reason == "stop"


# --------------------------------------------------------------------------- Structured Outputs


def test_responses_stream_helper_parses_the_structured_output(client: OpenAI) -> None:
    with client.responses.stream(model=MODEL, input="Describe Alice from Lyon",
                                 text_format=Person) as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert len(deltas) > 10
    person = final.output_parsed
    assert isinstance(person, Person) and person.name == "Alice" and person.home.city == "Lyon"
    again = client.responses.parse(model=MODEL, input="Describe Alice from Lyon",
                                   text_format=Person)
    assert again.output_parsed == person  # deterministic, streamed or not


def test_chat_structured_output_helpers(client: OpenAI) -> None:
    messages = [{"role": "user", "content": "Describe Bob"}]
    with client.chat.completions.stream(model=MODEL, messages=messages,  # type: ignore[arg-type]
                                        response_format=Person) as stream:
        streamed = stream.get_final_completion().choices[0].message.parsed
    parsed = client.chat.completions.parse(model=MODEL, messages=messages,  # type: ignore[arg-type]
                                           response_format=Person)
    assert isinstance(streamed, Person) and streamed == parsed.choices[0].message.parsed
    jsonschema.validate(streamed.model_dump(), PERSON_SCHEMA)


def test_json_object_mode_gives_a_json_object(client: OpenAI) -> None:
    chat = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Explain SSE as JSON"}],
        response_format={"type": "json_object"})
    assert isinstance(json.loads(chat.choices[0].message.content or ""), dict)
    response = client.responses.create(model=MODEL, input="Explain SSE as JSON",
                                       text={"format": {"type": "json_object"}})
    assert isinstance(json.loads(response.output_text), dict)


json_schemas = st.deferred(lambda: st.one_of(
    st.just({"type": "string"}),
    st.just({"type": "boolean"}),
    st.just({"type": "null"}),
    st.builds(lambda lo, span: {"type": "integer", "minimum": lo, "maximum": lo + span},
              st.integers(-50, 50), st.integers(0, 20)),
    st.builds(lambda lo: {"type": "number", "exclusiveMinimum": lo}, st.integers(-5, 5)),
    st.builds(lambda k: {"type": "integer", "multipleOf": k}, st.integers(1, 7)),
    st.lists(st.text(min_size=1, max_size=5), min_size=1, max_size=4, unique=True).map(
        lambda values: {"type": "string", "enum": values}),
    st.sampled_from(["date", "date-time", "email", "uuid"]).map(
        lambda fmt: {"type": "string", "format": fmt}),
    st.builds(lambda item, lo: {"type": "array", "items": item, "minItems": lo},
              json_schemas, st.integers(0, 3)),
    st.builds(lambda sub: {"anyOf": [sub, {"type": "null"}]}, json_schemas),
    st.dictionaries(st.from_regex(r"[a-z_]{1,8}", fullmatch=True), json_schemas,
                    min_size=1, max_size=4).map(lambda props: {
                        "type": "object", "properties": props, "required": sorted(props),
                        "additionalProperties": False}),
))


@settings(max_examples=200, deadline=None)
@given(schema=json_schemas, prompt=st.text(max_size=40))
def test_generated_json_is_valid_and_deterministic(schema: dict[str, Any], prompt: str) -> None:
    value = value_for_schema(schema, prompt)
    jsonschema.validate(value, schema, format_checker=jsonschema.FormatChecker())
    assert json_for_schema(schema, prompt) == json_for_schema(schema, prompt)


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(props=st.dictionaries(st.from_regex(r"[a-z]{1,8}", fullmatch=True), json_schemas,
                             min_size=1, max_size=3))
def test_generated_schemas_over_the_sdk_both_apis(client: OpenAI, props: dict[str, Any]) -> None:
    schema = {"type": "object", "properties": props, "required": sorted(props),
              "additionalProperties": False, "$defs": {"Unused": {"type": "string"}}}
    response = client.responses.create(model=MODEL, input="Fill the form", stream=True, text={
        "format": {"type": "json_schema", "name": "form", "schema": schema, "strict": True}})
    text = list(response)[-1].response.output_text  # type: ignore[union-attr]
    jsonschema.validate(json.loads(text), schema)
    chat = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Fill the form"}],
        tools=[{"type": "function", "function": {"name": "fill", "parameters": schema,
                                                 "strict": True}}],
        tool_choice="required")
    arguments = (chat.choices[0].message.tool_calls or [])[0].function.arguments  # type: ignore[union-attr]
    jsonschema.validate(json.loads(arguments), schema)
    assert json.loads(arguments) == json.loads(text)  # same prompt, same schema, same JSON


def test_defs_and_refs_as_pydantic_emits_them() -> None:
    value = value_for_schema(PERSON_SCHEMA, "Describe Carol from Rome")
    jsonschema.validate(value, PERSON_SCHEMA)
    assert value["home"]["city"] == "Rome" and value["role"] in ("student", "teacher")


# --------------------------------------------------------------------------- reasoning


def test_reasoning_summary_streams_before_the_answer(client: OpenAI) -> None:
    events = list(client.responses.create(model=MODEL, input="Explain streaming", stream=True,
                                          reasoning={"effort": "low", "summary": "auto"}))
    types = [e.type for e in events]
    first_summary = types.index("response.reasoning_summary_text.delta")
    first_text = types.index("response.output_text.delta")
    assert first_summary < types.index("response.reasoning_summary_text.done") < first_text
    assert isinstance(events[first_summary], ResponseReasoningSummaryTextDeltaEvent)
    output = events[-1].response.output
    assert isinstance(output[0], ResponseReasoningItem) and output[0].summary[0].text
    assert output[1].type == "message"
    messages = [e for e in events if e.type == "response.output_item.added"]
    assert [e.output_index for e in messages] == [0, 1]


def test_reasoning_tokens_and_thinking_time_grow_with_effort(client: OpenAI) -> None:
    usage = {}
    for effort in ("minimal", "low", "medium", "high"):
        response = client.responses.create(model=MODEL, input="Explain streaming",
                                           reasoning={"effort": effort})  # type: ignore[typeddict-item]
        usage[effort] = response.usage.output_tokens_details.reasoning_tokens  # type: ignore[union-attr]
        assert response.output[0].type == "reasoning"
    assert usage["minimal"] < usage["low"] < usage["medium"] < usage["high"]
    chat = client.chat.completions.create(model=MODEL, reasoning_effort="high",
                                          messages=[{"role": "user", "content": "Explain SSE"}])
    assert chat.usage.completion_tokens_details.reasoning_tokens == usage["high"]  # type: ignore[union-attr]
    delays = []
    for effort in ("low", "medium", "high"):
        body = {"model": MODEL, "input": "Explain", "reasoning": {"effort": effort}}
        request = parse_responses_request(body, Simulation())
        visible = _after_thinking(request, planned_calls(request), restart=False)
        delays.append(visible.simulation.latency.first_token_delay(request.input_tokens))
    assert delays == sorted(delays) and delays[0] < delays[-1]


# --------------------------------------------------------------------------- the 400s


@pytest.mark.parametrize(
    ("api", "fields", "param", "says"),
    [
        ("responses", {"tools": RESPONSES_TOOLS, "tool_choice": {"type": "function", "name": "x"}},
         "tool_choice", "'x' was not found"),
        ("chat", {"tools": CHAT_TOOLS, "tool_choice": {"type": "function",
                                                      "function": {"name": "x"}}},
         "tool_choice", "'x' was not found"),
        # Only an explicit strict: true is refused; left out, the schema is made strict or
        # accepted non-strict (test_app_real_requests.py).
        ("responses", {"tools": [{**RESPONSES_TOOLS[0], "strict": True, "parameters": {
            "type": "object", "properties": {"city": {"type": "string", "minLength": 2}},
            "required": ["city"], "additionalProperties": False}}]},
         "tools[0].parameters", "'minLength' is not permitted"),
        ("responses", {"tools": [{**RESPONSES_TOOLS[0], "strict": True, "parameters": {
            "type": "object", "properties": {"city": {"type": "string"}}}}]},
         "tools[0].parameters", "'additionalProperties' is required"),
        ("chat", {"tools": [{"type": "function", "function": {
            "name": "f", "strict": True, "parameters": {
                "type": "object", "properties": {"city": {"type": "string"}}}}}]},
         "tools[0].function.parameters", "'additionalProperties' is required"),
        ("chat", {"response_format": {"type": "json_schema", "json_schema": {
            "name": "p", "strict": True, "schema": {**WEATHER, "required": ["city"]}}}},
         "response_format.json_schema.schema", "Missing 'unit'"),
        ("responses", {"text": {"format": {"type": "json_schema", "name": "p", "strict": True,
                                           "schema": {"type": "array"}}}},
         "text.format.schema", "'type: \"object\"'"),
        ("responses", {"text": {"format": {"type": "json_object"}}}, "text.format", "'json'"),
        ("chat", {"response_format": {"type": "json_object"}}, "response_format", "'json'"),
        ("chat", {"tools": [{"type": "function", "function": {"name": "f", "parameters": {
            "type": "object", "properties": {"code": {"type": "string", "pattern": "^[A-Z]$"}},
        }}}]},
         "tools[0].function.parameters", "local server only"),
    ],
)
def test_bad_tool_and_schema_requests_are_refused_naming_the_field(
    client: OpenAI, api: str, fields: dict[str, Any], param: str, says: str
) -> None:
    if api == "responses":
        error = refusal(lambda: client.responses.create(model=MODEL, input="Say hello",
                                                        extra_body=fields))
    else:
        error = refusal(lambda: client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "Say hello"}], extra_body=fields))
    assert error.param == param
    assert says in error.message


def test_tool_outputs_must_answer_a_call(client: OpenAI) -> None:
    error = refusal(lambda: client.responses.create(model=MODEL, tools=RESPONSES_TOOLS, input=[  # type: ignore[arg-type]
        {"role": "user", "content": "hi"},
        {"type": "function_call_output", "call_id": "call_nope", "output": "x"}]))
    assert error.param == "input[1].call_id"
    error = refusal(lambda: client.chat.completions.create(model=MODEL, messages=[  # type: ignore[arg-type]
        {"role": "user", "content": "hi"},
        {"role": "tool", "tool_call_id": "call_nope", "content": "x"}]))
    assert error.param == "messages.[1].role"


def test_the_real_model_and_the_websocket_mode_say_what_they_do_not_support(
    client: OpenAI,
) -> None:
    class RealSource:  # the seam a real model plugs into; it is never reached here
        model_id = "smollm2"

        async def admit(self, request: Any) -> Any:
            return request

    body = {"model": "smollm2", "messages": [{"role": "user", "content": "hi"}],
            "tools": CHAT_TOOLS}
    request = parse_chat_request(body, replace(Simulation(), model_source=RealSource()))  # type: ignore[arg-type]
    with pytest.raises(RequestError) as caught:
        import asyncio

        asyncio.run(admit(request))
    assert caught.value.param == "tools" and "does not support" in caught.value.message
    with client.responses.connect() as conn:
        conn.response.create(model=MODEL, input="hi", tools=RESPONSES_TOOLS)  # type: ignore[arg-type]
        error = next(iter(conn))
    assert error.type == "error" and error.error.param == "tools"  # type: ignore[union-attr]


# --------------------------------------------------------------------------- cancel mid-call


def test_a_background_response_cancelled_mid_call_closes_the_call(client: OpenAI) -> None:
    park = {"simulation": {"fault": "stall", "fault_after": 3, "stall_seconds": 60}}
    stream = client.responses.create(model=MODEL, input=TWO_CITIES, tools=RESPONSES_TOOLS,
                                     reasoning={"effort": "low", "summary": "auto"},
                                     stream=True, background=True, extra_body=park)
    events: list[Any] = []
    for event in stream:
        events.append(event)
        if event.type == "response.created":
            response_id = event.response.id
        arguments = [e for e in events if e.type == "response.function_call_arguments.delta"]
        if event.type == "response.function_call_arguments.delta" and len(arguments) == 3:
            client.responses.cancel(response_id)  # parked after 3 argument pieces
    assert [e.type for e in events[-3:]] == [
        "response.function_call_arguments.done", "response.output_item.done",
        "response.incomplete",
    ]
    final = events[-1].response
    assert final.status == "cancelled"
    assert [(item.type, item.status) for item in final.output] == [
        ("reasoning", None), ("function_call", "incomplete")  # real reasoning items: no status
    ]
    assert final.output[1].arguments == "".join(e.delta for e in arguments)
    assert [e.sequence_number for e in events] == list(range(len(events)))

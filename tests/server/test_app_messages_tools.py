"""Tool use on Anthropic's Messages API, served by the local server to the official anthropic SDK.

The calls come from the same model layer as the OpenAI routes (the `auto` rule and the JSON
generator of helpers.server.model), so the tests also compare the Messages calls with the
Responses calls for the same prompt. Every raw event is read back through the SDK's own types.
"""

from __future__ import annotations

import json
from typing import Any

import anthropic
import httpx
import jsonschema
import pytest
from anthropic import Anthropic
from anthropic.types import RawMessageStreamEvent, ToolUseBlock
from openai import OpenAI
from pydantic import TypeAdapter

from helpers.server.model.structured import json_for_schema
from helpers.sse import SSEDecoder

MODEL = "kit-sim-1"
WEATHER = {  # Anthropic's own example tool: only the location is required
    "type": "object",
    "properties": {
        "location": {"type": "string", "description": "The city, e.g. Paris"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
    },
    "required": ["location"],
}
CLOCK = {"type": "object", "properties": {"zone": {"type": "string"}}, "required": ["zone"]}
TOOLS = [
    {"name": "get_weather", "description": "Current weather for a city", "input_schema": WEATHER},
    {"name": "get_time", "description": "Local clock time in a zone", "input_schema": CLOCK},
]
TWO_CITIES = "What is the weather in Paris and Tokyo?"
ONE_CITY = "What is the weather in Paris?"
NO_TOOL = "What is SSE?"
EVENTS = TypeAdapter(RawMessageStreamEvent)


def ask(prompt: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": prompt}]


@pytest.fixture(scope="module")
def client(root: str) -> Anthropic:
    return Anthropic(base_url=root, api_key="unused", max_retries=0, timeout=10)


def raw_events(root: str, body: dict[str, Any]) -> list[Any]:
    """(event line, the SDK's typed event) for every frame, as sent."""
    decoder, frames = SSEDecoder(), []
    with httpx.stream("POST", f"{root}/v1/messages", json={**body, "stream": True},
                      timeout=10) as reply:
        assert reply.status_code == 200, reply.read()
        for chunk in reply.iter_raw():
            frames.extend(decoder.feed(chunk))
        frames.extend(decoder.close())
    typed = []
    for frame in frames:
        payload = json.loads(frame.data)
        assert frame.event == payload["type"]  # every frame's event line is its type
        if payload["type"] != "ping":
            typed.append(EVENTS.validate_python(payload))
    return typed


def stream_final(client: Anthropic, **kwargs: Any) -> tuple[list[Any], Any]:
    with client.messages.stream(model=MODEL, max_tokens=1024, **kwargs) as stream:
        events = list(stream)
        return events, stream.get_final_message()


def calls_of(message: Any) -> list[tuple[str, dict[str, Any]]]:
    return [(block.name, block.input) for block in message.content if block.type == "tool_use"]


# --------------------------------------------------------------------------- the stream


def test_raw_stream_is_a_text_block_then_tool_use_blocks_with_input_json_deltas(root: str) -> None:
    # Two calls under tool_choice auto: a short text block first, as real Claude wrote in
    # data/real_streams/anthropic-messages-tool_use-1.sse (the kit's rule: two calls or more).
    body = {"model": MODEL, "max_tokens": 1024, "tools": TOOLS, "messages": ask(TWO_CITIES)}
    events = raw_events(root, body)
    kinds = [event.type for event in events]
    assert kinds[0] == "message_start" and kinds[-2:] == ["message_delta", "message_stop"]
    assert events[0].message.content == []
    starts = [event for event in events if event.type == "content_block_start"]
    assert [event.index for event in starts] == [0, 1, 2]
    assert starts[0].content_block.type == "text"
    for start in starts[1:]:
        block = start.content_block
        assert isinstance(block, ToolUseBlock) and block.input == {}
        assert block.name == "get_weather" and block.id.startswith("toolu_")
    assert starts[1].content_block.id != starts[2].content_block.id
    opened = [i for i, kind in enumerate(kinds) if kind == "content_block_start"]
    closed = [i for i, kind in enumerate(kinds) if kind == "content_block_stop"]
    assert opened[0] < closed[0] < opened[1] < closed[1] < opened[2] < closed[2]  # one at a time
    preamble = events[opened[0] + 1 : closed[0]]
    assert "".join(d.delta.text for d in preamble) == "I'll call get_weather 2 times at once."
    for index, city in enumerate(["Paris", "Tokyo"], start=1):
        deltas = events[opened[index] + 1 : closed[index]]
        assert all(d.type == "content_block_delta" and d.index == index for d in deltas)
        assert all(d.delta.type == "input_json_delta" for d in deltas)
        assert deltas[0].delta.partial_json == ""  # as in every real recording: empty first
        assert len(deltas) > 3  # several pieces, not one
        arguments = json.loads("".join(d.delta.partial_json for d in deltas))
        jsonschema.validate(arguments, WEATHER)
        assert arguments["location"] == city
    assert events[-2].delta.stop_reason == "tool_use"
    pieces = [e for e in events if e.type == "content_block_delta"
              and (e.delta.type == "text_delta" or e.delta.partial_json)]
    assert events[-2].usage.output_tokens == len(pieces)  # the empty openers are no tokens


def test_sdk_stream_accumulates_the_input(client: Anthropic) -> None:
    events, final = stream_final(client, tools=TOOLS, messages=ask(TWO_CITIES))
    snapshots = [event.snapshot for event in events if event.type == "input_json"]
    assert snapshots and snapshots[-1] == {"location": "Tokyo", "unit": "fahrenheit"}
    assert {} in snapshots  # the SDK parses partial JSON: early snapshots are incomplete
    assert final.stop_reason == "tool_use"
    expected = json.loads(json_for_schema(WEATHER, "What is the weather in Paris "))
    assert calls_of(final) == [("get_weather", expected),
                               ("get_weather", {**expected, "location": "Tokyo"})]
    for _, arguments in calls_of(final):
        jsonschema.validate(arguments, WEATHER)


def test_not_streamed_lists_the_tool_use_blocks_with_parsed_input(client: Anthropic) -> None:
    message = client.messages.create(
        model=MODEL, max_tokens=1024, tools=TOOLS, messages=ask(TWO_CITIES)
    )
    _, streamed = stream_final(client, tools=TOOLS, messages=ask(TWO_CITIES))
    assert message.stop_reason == "tool_use"
    assert [block.type for block in message.content] == ["text", "tool_use", "tool_use"]
    assert message.content[0].text == "I'll call get_weather 2 times at once."
    one = client.messages.create(model=MODEL, max_tokens=1024, tools=TOOLS, messages=ask(ONE_CITY))
    assert [block.type for block in one.content] == ["tool_use"]  # one call: no text before it
    assert calls_of(message) == calls_of(streamed)
    assert message.usage.output_tokens == streamed.usage.output_tokens


def test_same_calls_as_the_responses_route(root: str, client: Anthropic) -> None:
    openai_tools = [{"type": "function", "name": t["name"], "description": t["description"],
                     "parameters": t["input_schema"], "strict": False} for t in TOOLS]
    response = OpenAI(base_url=f"{root}/v1", api_key="unused", max_retries=0).responses.create(
        model=MODEL, input=TWO_CITIES, tools=openai_tools  # type: ignore[arg-type]
    )
    openai_calls = [(item.name, json.loads(item.arguments)) for item in response.output]
    message = client.messages.create(
        model=MODEL, max_tokens=1024, tools=TOOLS, messages=ask(TWO_CITIES)
    )
    assert calls_of(message) == openai_calls


def test_same_request_same_calls(client: Anthropic) -> None:
    runs = [stream_final(client, tools=TOOLS, messages=ask(TWO_CITIES)) for _ in range(3)]
    pieces = [
        [e.partial_json for e in events if e.type == "input_json"] for events, _ in runs
    ]
    assert pieces[0] == pieces[1] == pieces[2]
    assert calls_of(runs[0][1]) == calls_of(runs[1][1]) == calls_of(runs[2][1])


# --------------------------------------------------------------------------- tool_choice


def test_auto_answers_with_text_when_no_tool_fits(client: Anthropic) -> None:
    _, final = stream_final(client, tools=TOOLS, messages=ask(NO_TOOL))
    _, plain = stream_final(client, messages=ask(NO_TOOL))
    assert final.stop_reason == "end_turn" and calls_of(final) == []
    assert final.content[0].text == plain.content[0].text


def test_auto_picks_the_tool_the_clause_mentions(client: Anthropic) -> None:
    _, final = stream_final(
        client, tools=TOOLS, messages=ask("What is the weather in Paris and the time in Tokyo?")
    )
    assert [name for name, _ in calls_of(final)] == ["get_weather", "get_time"]
    jsonschema.validate(calls_of(final)[1][1], CLOCK)


def test_any_calls_a_tool_even_when_none_fits(client: Anthropic) -> None:
    _, final = stream_final(client, tools=TOOLS, tool_choice={"type": "any"},
                            messages=ask(NO_TOOL))
    assert final.stop_reason == "tool_use" and [n for n, _ in calls_of(final)] == ["get_weather"]


def test_a_forced_choice_writes_no_text_before_the_calls(client: Anthropic) -> None:
    # The API prefills the turn to force the call, so no text comes first (tool-use guide).
    _, final = stream_final(client, tools=TOOLS, tool_choice={"type": "any"},
                            messages=ask(TWO_CITIES))
    assert [block.type for block in final.content] == ["tool_use", "tool_use"]


def test_tool_forces_the_named_tool(client: Anthropic) -> None:
    _, final = stream_final(client, tools=TOOLS, tool_choice={"type": "tool", "name": "get_time"},
                            messages=ask(ONE_CITY))
    assert [name for name, _ in calls_of(final)] == ["get_time"]
    jsonschema.validate(calls_of(final)[0][1], CLOCK)


def test_none_answers_with_text_although_a_tool_fits(client: Anthropic) -> None:
    _, final = stream_final(client, tools=TOOLS, tool_choice={"type": "none"},
                            messages=ask(TWO_CITIES))
    assert final.stop_reason == "end_turn" and calls_of(final) == []
    assert final.content[0].type == "text" and final.content[0].text


@pytest.mark.parametrize("kind", ["auto", "any"])
def test_disable_parallel_tool_use_keeps_one_call(client: Anthropic, kind: str) -> None:
    choice = {"type": kind, "disable_parallel_tool_use": True}
    _, final = stream_final(client, tools=TOOLS, tool_choice=choice,  # type: ignore[arg-type]
                            messages=ask(TWO_CITIES))
    assert [args["location"] for _, args in calls_of(final)] == ["Paris"]
    _, both = stream_final(client, tools=TOOLS, tool_choice={"type": kind},  # type: ignore[arg-type]
                           messages=ask(TWO_CITIES))
    assert [args["location"] for _, args in calls_of(both)] == ["Paris", "Tokyo"]


def test_max_tokens_cuts_a_call_and_says_so(client: Anthropic) -> None:
    with client.messages.stream(model=MODEL, max_tokens=3, tools=TOOLS,
                                messages=ask(ONE_CITY)) as stream:
        pieces = [e.delta.partial_json for e in stream if e.type == "content_block_delta"]
        final = stream.get_final_message()
    assert final.stop_reason == "max_tokens" and pieces[0] == "" and len(pieces[1:]) == 3
    with pytest.raises(ValueError):
        json.loads("".join(pieces))  # the arguments are cut: not JSON yet


# --------------------------------------------------------------------------- the loop


def test_call_then_tool_result_then_streamed_answer(client: Anthropic) -> None:
    _, first = stream_final(client, tools=TOOLS, messages=ask(TWO_CITIES))
    outputs = {"Paris": "18 C and sunny", "Tokyo": "22 C and cloudy"}
    results = [
        {"type": "tool_result", "tool_use_id": call.id, "content": outputs[call.input["location"]]}
        for call in first.content if call.type == "tool_use"
    ]
    results[1]["content"] = [{"type": "text", "text": outputs["Tokyo"]}]  # text blocks too
    history = [*ask(TWO_CITIES), {"role": "assistant", "content": first.content},
               {"role": "user", "content": results}]
    with client.messages.stream(model=MODEL, max_tokens=1024, tools=TOOLS,
                                messages=history) as stream:  # type: ignore[arg-type]
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    answer = "".join(pieces)
    assert len(pieces) > 3 and final.stop_reason == "end_turn"
    assert "get_weather returned 18 C and sunny" in answer
    assert "get_weather returned 22 C and cloudy" in answer
    assert final.content[0].text == answer


# --------------------------------------------------------------------------- the 400s


def bad(client: Anthropic, **kwargs: Any) -> str:
    kwargs.setdefault("messages", ask(ONE_CITY))
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(model=MODEL, max_tokens=1024, **kwargs)
    assert caught.value.body["type"] == "error"
    assert caught.value.body["error"]["type"] == "invalid_request_error"
    return caught.value.body["error"]["message"]


@pytest.mark.parametrize(
    ("tools", "choice", "fragment"),
    [
        ([{**TOOLS[0], "name": "get weather"}], None, "tools.0.custom.name: String should match"),
        ([{**TOOLS[0], "name": "x" * 65}], None, "tools.0.custom.name: String should match"),
        ([{"name": "f"}], None, "tools.0.custom.input_schema: Field required"),
        ([{"name": "f", "input_schema": {"type": "array"}}], None,
         "tools.0.custom.input_schema.type: Input should be 'object'"),
        ([{"name": "f", "input_schema": {}}], None, "input_schema.type: Input should be 'object'"),
        ([{**TOOLS[0], "parameters": {}}], None, "tools.0.custom.parameters: Extra inputs"),
        ([TOOLS[0], TOOLS[0]], None, "Tool names must be unique"),
        ([{"type": "web_search_20250305", "name": "web_search"}], None, "not simulated"),
        ([{"name": "f", "input_schema": {"type": "object", "properties": {
            "code": {"type": "string", "pattern": "^[A-Z]+$"}}}}], None,
         "local server only"),
        (TOOLS, {"type": "tool", "name": "get_news"}, "'get_news' was not found in tools"),
        (TOOLS, {"type": "tool"}, "tool_choice.tool.name: Field required"),
        (TOOLS, {"type": "required"}, "tool_choice.type: Input should be"),
        (TOOLS, {"type": "none", "disable_parallel_tool_use": True},
         "tool_choice.none.disable_parallel_tool_use: Extra inputs"),
        (TOOLS, {"type": "auto", "disable_parallel_tool_use": "yes"}, "valid boolean"),
        (None, {"type": "auto"}, "tool_choice may only be specified while providing tools"),
    ],
)
def test_bad_tools_and_tool_choice_are_400s(
    client: Anthropic, tools: Any, choice: Any, fragment: str
) -> None:
    extra = {key: value for key, value in (("tools", tools), ("tool_choice", choice)) if value}
    assert fragment in bad(client, extra_body=extra)


def test_tool_result_naming_no_earlier_tool_use_is_a_400(client: Anthropic) -> None:
    first = client.messages.create(model=MODEL, max_tokens=1024, tools=TOOLS,
                                   messages=ask(ONE_CITY))
    call = first.content[0]
    assistant = {"role": "assistant", "content": first.content}

    def result(tool_use_id: str) -> dict[str, Any]:
        return {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": tool_use_id, "content": "18 C"}]}

    unknown = bad(client, tools=TOOLS, messages=[*ask(ONE_CITY), assistant, result("toolu_nope")])
    assert "messages.2.content.0: unexpected `tool_use_id` found in `tool_result`" in unknown
    orphan = bad(client, tools=TOOLS, messages=[*ask(ONE_CITY), result(call.id)])
    assert "messages.1.content.0: unexpected `tool_use_id`" in orphan
    unanswered = [*ask(ONE_CITY), assistant, *ask("and now?")]
    assert "`tool_use` ids were found without `tool_result`" in bad(
        client, tools=TOOLS, messages=unanswered
    )
    no_tools = bad(client, messages=[*ask(ONE_CITY), assistant, result(call.id)])
    assert "must define tools" in no_tools
    swapped = [{"role": "user", "content": [{"type": "tool_use", "id": "t", "name": "f",
                                             "input": {}}]}]
    assert "tool_use blocks may only appear in assistant messages" in bad(
        client, tools=TOOLS, messages=swapped
    )
    # and the good pairing goes through
    ok = client.messages.create(model=MODEL, max_tokens=1024, tools=TOOLS,
                                messages=[*ask(ONE_CITY), assistant, result(call.id)])
    assert "18 C" in ok.content[0].text



def test_a_failure_mid_call_is_an_error_event_the_sdk_raises(client: Anthropic) -> None:
    failing = {"simulation": {"fault": "error", "fault_after": 2}}
    seen: list[str] = []
    stream = client.messages.stream(model=MODEL, max_tokens=1024, tools=TOOLS,
                                    messages=ask(ONE_CITY), extra_body=failing)
    with pytest.raises(anthropic.APIStatusError, match="injected fault 'error'"), stream as events:
        seen.extend(e.delta.partial_json for e in events if e.type == "content_block_delta")
    # the empty opener and two pieces arrive, then the error event (HTTP was 200)
    assert seen == ["", '{"', "location"]

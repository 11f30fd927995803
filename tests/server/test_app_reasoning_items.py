"""Reasoning items the way tool loops meet them, through the official SDK.

- A reasoning model's `function_call` item sent back with its `id` but without the `reasoning`
  item before it is refused with the real 400 (sources: helpers.server.dialects.common.
  ReasoningLinks); the whole `response.output` sent back, or `previous_response_id`, passes.
- A summary in several parts (`summary_index` 0..n), as o3-mini streams one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from openai import OpenAI
from openai.types.responses import Response

from helpers.server import LocalServer
from helpers.server.dialects.common import ReasoningLinks
from helpers.server.model.structured import value_for_schema
from helpers.server.model.tool_use import Features, plan

MODEL = "kit-sim-1"
WEATHER = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
    "additionalProperties": False,
}
TOOLS = [{"type": "function", "name": "get_weather", "description": "Current weather for a city",
          "parameters": WEATHER}]
PROMPT = "What is the weather in Paris and Tokyo?"
USER = {"role": "user", "content": PROMPT}
REASONING = {"effort": "low"}


@pytest.fixture(scope="module")
def client() -> Iterator[OpenAI]:
    with LocalServer(ttft=0, tokens_per_second=0) as server:
        yield OpenAI(base_url=server.base_url, api_key="unused", max_retries=0)


def first_turn(client: OpenAI, **fields: Any) -> Response:
    return client.responses.create(model=MODEL, input=PROMPT, tools=TOOLS,  # type: ignore[arg-type]
                                   **{"reasoning": REASONING, **fields})


def outputs(response: Response) -> list[dict[str, Any]]:
    return [{"type": "function_call_output", "call_id": item.call_id, "output": '{"temp_c": 7}'}
            for item in response.output if item.type == "function_call"]


def dumped(items: list[Any]) -> list[dict[str, Any]]:
    return [item.model_dump(exclude_none=True) for item in items]


def refused(client: OpenAI, items: list[Any], **fields: Any) -> openai.BadRequestError:
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model=MODEL, input=items, tools=TOOLS, **fields)
    return caught.value


def answered(client: OpenAI, items: list[Any], **fields: Any) -> str:
    reply = client.responses.create(model=MODEL, input=items, tools=TOOLS, **fields)
    assert reply.status == "completed"
    return reply.output_text


# --------------------------------------------------------------------------- the pairing rule


def test_calls_sent_back_without_their_reasoning_item_are_refused(client: OpenAI) -> None:
    first = first_turn(client)
    reasoning, *calls = first.output
    assert reasoning.type == "reasoning" and [c.type for c in calls] == ["function_call"] * 2
    error = refused(client, [USER, *dumped(calls), *outputs(first)])
    assert error.status_code == 400
    assert error.body == {  # the real API's words (0xPlaygrounds/rig#751, cline/cline#12242)
        "message": f"Item '{calls[0].id}' of type 'function_call' was provided without its "
                   f"required 'reasoning' item: '{reasoning.id}'.",
        "type": "invalid_request_error", "param": "input", "code": None,
    }
    # streamed, the same 400 comes before any event
    with pytest.raises(openai.BadRequestError):
        client.responses.create(model=MODEL, input=[USER, *dumped(calls), *outputs(first)],
                                tools=TOOLS, stream=True)


def test_the_whole_output_sent_back_is_answered(client: OpenAI) -> None:
    first = first_turn(client, reasoning={"effort": "low", "summary": "auto"})
    text = answered(client, [USER, *dumped(first.output), *outputs(first)])
    assert text.count('{"temp_c": 7}') == 2
    # the SDK's own output items, as the lesson sends them, and a later turn after the answer
    assert answered(client, [USER, *first.output, *outputs(first)], reasoning=REASONING)
    again = [USER, *first.output, *outputs(first), {"role": "user", "content": "And in Oslo?"}]
    assert answered(client, again)


def test_store_false_with_encrypted_reasoning_content(client: OpenAI) -> None:
    stateless = {"store": False, "include": ["reasoning.encrypted_content"]}
    first = first_turn(client, **stateless)
    reasoning = first.output[0]
    assert reasoning.type == "reasoning" and reasoning.encrypted_content
    assert answered(client, [USER, *dumped(first.output), *outputs(first)], reasoning=REASONING,
                    **stateless)
    error = refused(client, [USER, *dumped(first.output[1:]), *outputs(first)], **stateless)
    assert reasoning.id in error.message


def test_previous_response_id_needs_no_reasoning_item(client: OpenAI) -> None:
    first = first_turn(client)
    assert answered(client, outputs(first), previous_response_id=first.id)
    calls = dumped(first.output[1:])
    assert answered(client, [*calls, *outputs(first)], previous_response_id=first.id)


def test_calls_without_their_item_id_are_fresh_items(client: OpenAI) -> None:
    """A call sent without `id` is not paired with anything (laravel/ai#1052)."""
    first = first_turn(client)
    calls = [{k: v for k, v in call.items() if k != "id"} for call in dumped(first.output[1:])]
    assert answered(client, [USER, *calls, *outputs(first)])


def test_the_reasoning_item_must_be_the_last_before_the_call(client: OpenAI) -> None:
    """"reasoning A, reasoning B, call A, call B" is refused (TanStack/ai#1365)."""
    a, b = first_turn(client), first_turn(client)
    items = [USER, *dumped([a.output[0], b.output[0], *a.output[1:], *b.output[1:]]),
             *outputs(a), *outputs(b)]
    error = refused(client, items)
    assert f"'{a.output[1].id}'" in error.message and f"'{a.output[0].id}'" in error.message
    in_order = [USER, *dumped(a.output), *dumped(b.output), *outputs(a), *outputs(b)]
    assert answered(client, in_order)


def test_calls_of_a_response_without_reasoning_need_nothing(client: OpenAI) -> None:
    first = client.responses.create(model=MODEL, input=PROMPT, tools=TOOLS)  # type: ignore[arg-type]
    assert [item.type for item in first.output] == ["function_call"] * 2
    assert answered(client, [USER, *dumped(first.output), *outputs(first)])


def test_streamed_and_background_responses_pair_their_calls_too(client: OpenAI) -> None:
    for fields in ({"stream": True}, {"stream": True, "background": True}):
        events = list(client.responses.create(model=MODEL, input=PROMPT, tools=TOOLS,
                                              reasoning=REASONING, **fields))
        final = events[-1].response
        calls = [item for item in final.output if item.type == "function_call"]
        error = refused(client, [USER, *dumped(calls), *outputs(final)])
        assert final.output[0].id in error.message
        assert answered(client, [USER, *dumped(final.output), *outputs(final)])


def test_links_are_bounded_and_skip_previous_response_id() -> None:
    links = ReasoningLinks(limit=2)
    for n in range(3):
        links.add(f"fc_{n}", f"rs_{n}")
    assert links.reasoning_of("fc_0") is None and links.reasoning_of("fc_2") == "rs_2"
    call = {"type": "function_call", "id": "fc_2", "call_id": "call_2", "name": "f",
            "arguments": "{}"}
    links.check({"input": [call], "previous_response_id": "resp_1"})
    links.check({"input": [{"type": "reasoning", "id": "rs_2", "summary": []}, call]})
    with pytest.raises(Exception, match="required 'reasoning' item: 'rs_2'"):
        links.check({"input": [call]})


# --------------------------------------------------------------------------- summary parts


@pytest.mark.parametrize(("summary", "effort", "parts"), [
    ("concise", "high", 1), ("auto", "high", 2), ("detailed", "low", 2),
    ("detailed", "medium", 3), ("detailed", "high", 4),
])
def test_summary_parts_per_setting(summary: str, effort: str, parts: int) -> None:
    the_plan = plan("How do I cross the street?",
                    Features(reasoning_effort=effort, reasoning_summary=summary))
    assert len(the_plan.summary) == parts
    assert all(part.startswith("**") for part in the_plan.summary)


def test_each_summary_part_streams_whole_before_the_next(client: OpenAI) -> None:
    """o3-mini's order (data/real_streams/openai-responses-reasoning-2.sse): per part, added,
    text deltas, text done, part done; then the item's done with every part."""
    events = list(client.responses.create(model=MODEL, input="How do I cross the street?",
                                          reasoning={"effort": "high", "summary": "detailed"},
                                          stream=True))
    summary_events = [e for e in events if "reasoning_summary" in e.type]
    kinds = []
    for event in summary_events:
        short = event.type.removeprefix("response.reasoning_summary_")
        if not kinds or kinds[-1] != (short, event.summary_index):
            kinds.append((short, event.summary_index))
    assert kinds == [(kind, index) for index in range(4)
                     for kind in ("part.added", "text.delta", "text.done", "part.done")]
    done = [e for e in summary_events if e.type == "response.reasoning_summary_part.done"]
    texts = [
        "".join(e.delta for e in summary_events
                if e.type.endswith("text.delta") and e.summary_index == index)
        for index in range(4)
    ]
    assert [e.part.text for e in done] == texts
    item = next(e.item for e in events if e.type == "response.output_item.done")
    assert [part.text for part in item.summary] == texts
    assert events[-1].response.output[0].summary == item.summary
    assert "The user writes \u201cHow do I cross the street?\u201d" in texts[0]


# --------------------------------------------------------------------------- structured values


def test_paired_numbers_come_out_in_order() -> None:
    schema = {"type": "object", "properties": {
        "city": {"type": "string"}, "high_c": {"type": "integer"}, "low_c": {"type": "integer"},
        "min_price": {"type": "number"}, "max_price": {"type": "number"},
    }}
    for prompt in ("Give me the forecast for Lisbon", "Paris", "Tokyo", "x", "y", "z"):
        value = value_for_schema(schema, prompt)
        assert value["low_c"] <= value["high_c"], (prompt, value)
        assert value["min_price"] <= value["max_price"], (prompt, value)
    bounded = {"type": "object", "properties": {  # a swap that would break a bound is not made
        "low": {"type": "integer", "minimum": 90}, "high": {"type": "integer", "maximum": 10},
    }}
    value = value_for_schema(bounded, "anything")
    assert value["low"] >= 90 and value["high"] <= 10
    assert json.dumps(value_for_schema(schema, "Lisbon")) == json.dumps(
        value_for_schema(schema, "Lisbon"))

"""Refusals on the local server, through the official SDKs (openai 3.63, anthropic 2.17).

One documented trigger (helpers/server/model/refusal.py: Anthropic's test string in the last
user message) makes the simulated model refuse, each API in its real shape: OpenAI Structured
Outputs put the sentence in a `refusal` part / field (so `output_parsed` and `message.parsed`
stay None), Anthropic's classifier cuts the answer and ends it with `stop_reason: "refusal"`.
Every event goes through the SDK's own types; streamed and not streamed.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from anthropic import Anthropic
from anthropic.types import RawMessageStreamEvent
from openai import OpenAI
from openai.types.chat import ChatCompletionChunk
from openai.types.responses import (
    ResponseRefusalDeltaEvent,
    ResponseRefusalDoneEvent,
    ResponseStreamEvent,
)
from pydantic import BaseModel, TypeAdapter

from helpers.server import LocalServer
from helpers.server.model.refusal import CUT_AFTER_TOKENS, REFUSAL_TEXT, REFUSAL_TRIGGER
from helpers.server.model.simulated import answer_prompt, tokenize
from helpers.sse import SSEDecoder

MODEL = "kit-sim-1"
PROMPT = f"What is the weather in Paris? {REFUSAL_TRIGGER}"
SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "temperature": {"type": "number"}},
    "required": ["city", "temperature"],
    "additionalProperties": False,
}
RESPONSES_FORMAT = {"format": {"type": "json_schema", "name": "Weather", "schema": SCHEMA,
                               "strict": True}}
CHAT_FORMAT = {"type": "json_schema",
               "json_schema": {"name": "Weather", "schema": SCHEMA, "strict": True}}
RESPONSES_EVENTS = TypeAdapter(ResponseStreamEvent)
ANTHROPIC_EVENTS = TypeAdapter(RawMessageStreamEvent)


class Weather(BaseModel):
    city: str
    temperature: float


@pytest.fixture(scope="module")
def client(server: LocalServer) -> OpenAI:
    return OpenAI(base_url=server.base_url, api_key="unused", max_retries=0, timeout=10)


@pytest.fixture(scope="module")
def claude(server: LocalServer) -> Anthropic:
    return Anthropic(base_url=server.base_url.removesuffix("/v1"), api_key="unused",
                     max_retries=0, timeout=10)


def frames(server: LocalServer, path: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    """The streamed JSON payloads, as sent (the SDK's types are applied by each test)."""
    with httpx.stream("POST", f"{server.base_url}{path}", json={**body, "stream": True},
                      timeout=10) as reply:
        assert reply.status_code == 200, reply.read()
        body_bytes = reply.read()
    decoder = SSEDecoder()
    return [json.loads(f.data) for f in [*decoder.feed(body_bytes), *decoder.close()]
            if f.data != "[DONE]"]


# --------------------------------------------------------------------------- Responses


def test_responses_stream_a_refusal_part(client: OpenAI) -> None:
    events = list(client.responses.create(model=MODEL, input=PROMPT, text=RESPONSES_FORMAT,
                                          stream=True))
    kinds = [event.type for event in events]
    assert kinds[:4] == ["response.created", "response.in_progress",
                         "response.output_item.added", "response.content_part.added"]
    assert kinds[-4:] == ["response.refusal.done", "response.content_part.done",
                          "response.output_item.done", "response.completed"]
    assert not [kind for kind in kinds if kind.startswith("response.output_text")]
    assert events[3].part.type == "refusal" and events[3].part.refusal == ""
    deltas = [event for event in events if isinstance(event, ResponseRefusalDeltaEvent)]
    assert len(deltas) == len(tokenize(REFUSAL_TEXT))
    assert "".join(delta.delta for delta in deltas) == REFUSAL_TEXT
    assert {(d.output_index, d.content_index) for d in deltas} == {(0, 0)}
    done = events[-4]
    assert isinstance(done, ResponseRefusalDoneEvent) and done.refusal == REFUSAL_TEXT
    assert done.item_id == deltas[0].item_id == events[2].item.id
    final = events[-1].response
    assert final.status == "completed" and final.incomplete_details is None
    part = final.output[0].content[0]
    assert part.type == "refusal" and part.refusal == REFUSAL_TEXT
    assert final.output_text == ""
    assert final.usage is not None and final.usage.output_tokens == len(deltas)


def test_responses_events_validate_strictly(server: LocalServer) -> None:
    body = {"model": MODEL, "input": PROMPT, "text": RESPONSES_FORMAT}
    payloads = frames(server, "/responses", body)
    for payload in payloads:
        RESPONSES_EVENTS.validate_python(payload, strict=False)
    delta = next(p for p in payloads if p["type"] == "response.refusal.delta")
    declared = {"type", "item_id", "output_index", "content_index", "delta", "sequence_number"}
    assert set(delta) - {"obfuscation"} == declared  # the SDK's ResponseRefusalDeltaEvent
    done = next(p for p in payloads if p["type"] == "response.refusal.done")
    assert set(done) == declared - {"delta"} | {"refusal"}


def test_responses_parse_and_stream_give_no_parsed_output(client: OpenAI) -> None:
    parsed = client.responses.parse(model=MODEL, input=PROMPT, text_format=Weather)
    assert parsed.output_parsed is None
    assert parsed.output[0].content[0].type == "refusal"
    assert parsed.output[0].content[0].refusal == REFUSAL_TEXT
    with client.responses.stream(model=MODEL, input=PROMPT, text_format=Weather) as stream:
        refusal = "".join(e.delta for e in stream if e.type == "response.refusal.delta")
        final = stream.get_final_response()
    assert refusal == REFUSAL_TEXT
    assert final.output_parsed is None and final.output[0].content[0].type == "refusal"


def test_responses_without_a_schema_refuse_in_plain_text(client: OpenAI) -> None:
    response = client.responses.create(model=MODEL, input=PROMPT)
    assert response.output_text == REFUSAL_TEXT
    assert response.output[0].content[0].type == "output_text"


def test_the_trigger_overrides_tools(client: OpenAI) -> None:
    tools = [{"type": "function", "name": "get_weather", "description": "Weather for a city",
              "parameters": SCHEMA}]
    response = client.responses.create(model=MODEL, input=PROMPT, tools=tools,
                                       tool_choice="required", text=RESPONSES_FORMAT)
    assert [item.type for item in response.output] == ["message"]
    assert response.output[0].content[0].type == "refusal"


def test_a_refusal_after_reasoning(client: OpenAI) -> None:
    response = client.responses.create(model=MODEL, input=PROMPT, text=RESPONSES_FORMAT,
                                       reasoning={"effort": "low", "summary": "auto"})
    assert [item.type for item in response.output] == ["reasoning", "message"]
    assert response.output[1].content[0].refusal == REFUSAL_TEXT


# --------------------------------------------------------------------------- Chat Completions


def test_chat_streams_refusal_pieces_as_recorded(server: LocalServer, client: OpenAI) -> None:
    body = {"model": MODEL, "messages": [{"role": "user", "content": PROMPT}],
            "response_format": CHAT_FORMAT}
    payloads = frames(server, "/chat/completions", body)
    chunks = [ChatCompletionChunk.model_validate(p) for p in payloads]
    deltas = [p["choices"][0]["delta"] for p in payloads]
    # openai-python's live-API snapshot 173417d5…: role, content null, refusal "" first
    assert deltas[0] == {"role": "assistant", "content": None, "refusal": ""}
    assert all(set(delta) == {"refusal"} for delta in deltas[1:-1])
    assert "".join(delta["refusal"] for delta in deltas[1:-1]) == REFUSAL_TEXT
    assert deltas[-1] == {} and chunks[-1].choices[0].finish_reason == "stop"
    completion = client.chat.completions.create(model=MODEL, messages=body["messages"],
                                                response_format=CHAT_FORMAT)
    message = completion.choices[0].message
    assert message.content is None and message.refusal == REFUSAL_TEXT
    assert completion.choices[0].finish_reason == "stop"


def test_chat_parse_and_stream_expose_the_refusal(client: OpenAI) -> None:
    messages = [{"role": "user", "content": PROMPT}]
    completion = client.chat.completions.parse(model=MODEL, messages=messages,
                                               response_format=Weather)
    message = completion.choices[0].message
    assert message.parsed is None and message.refusal == REFUSAL_TEXT and message.content is None
    with client.chat.completions.stream(model=MODEL, messages=messages,
                                        response_format=Weather) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_completion()
    assert "refusal.delta" in kinds and "refusal.done" in kinds and "content.delta" not in kinds
    assert final.choices[0].message.refusal == REFUSAL_TEXT
    assert final.choices[0].message.parsed is None


def test_chat_without_a_schema_refuses_in_plain_text(client: OpenAI) -> None:
    completion = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": PROMPT}])
    message = completion.choices[0].message
    assert message.content == REFUSAL_TEXT and message.refusal is None


# --------------------------------------------------------------------------- Anthropic


def _cut_answer(prompt: str = PROMPT) -> str:
    return "".join(tokenize(answer_prompt(prompt).text)[:CUT_AFTER_TOKENS])


def test_messages_stream_ends_with_stop_reason_refusal(server: LocalServer,
                                                       claude: Anthropic) -> None:
    body = {"model": MODEL, "max_tokens": 200, "messages": [{"role": "user", "content": PROMPT}]}
    payloads = [p for p in frames(server, "/messages", body) if p["type"] != "ping"]
    for payload in payloads:
        ANTHROPIC_EVENTS.validate_python(payload)
    delta = next(p for p in payloads if p["type"] == "message_delta")
    assert delta["delta"] == {
        "stop_reason": "refusal", "stop_sequence": None,
        "stop_details": {"type": "refusal", "category": None, "explanation": None},
    }
    assert delta["usage"]["output_tokens"] == CUT_AFTER_TOKENS  # billed up to the refusal
    assert [p["type"] for p in payloads][-2:] == ["message_delta", "message_stop"]
    with claude.messages.stream(model=MODEL, max_tokens=200, messages=body["messages"]) as s:
        text = "".join(s.text_stream)
        final = s.get_final_message()
    assert text == _cut_answer() and final.stop_reason == "refusal"
    assert final.stop_details is not None and final.stop_details.type == "refusal"


def test_messages_not_streamed_and_with_thinking(claude: Anthropic) -> None:
    messages = [{"role": "user", "content": PROMPT}]
    message = claude.messages.create(model=MODEL, max_tokens=200, messages=messages)
    assert message.stop_reason == "refusal" and message.stop_details is not None
    assert [block.type for block in message.content] == ["text"]
    assert message.content[0].text == _cut_answer()
    thought = claude.messages.create(model=MODEL, max_tokens=2000, messages=messages,
                                     thinking={"type": "enabled", "budget_tokens": 1024})
    assert [block.type for block in thought.content] == ["thinking", "text"]
    assert thought.stop_reason == "refusal" and thought.content[1].text == _cut_answer()


def test_max_tokens_comes_first(claude: Anthropic) -> None:
    message = claude.messages.create(model=MODEL, max_tokens=CUT_AFTER_TOKENS - 2,
                                     messages=[{"role": "user", "content": PROMPT}])
    assert message.stop_reason == "max_tokens" and message.stop_details is None


def test_no_trigger_no_refusal(client: OpenAI, claude: Anthropic) -> None:
    prompt = "What is the weather in Paris?"
    parsed = client.responses.parse(model=MODEL, input=prompt, text_format=Weather)
    assert parsed.output_parsed is not None
    message = claude.messages.create(model=MODEL, max_tokens=400,
                                     messages=[{"role": "user", "content": prompt}])
    assert message.stop_reason == "end_turn" and message.stop_details is None

"""Extended thinking, structured output and the 2026 wire shapes on /v1/messages.

Every Anthropic request recorded next to a real stream (data/real_streams/anthropic-*.request.json)
must be accepted, streamed and not; the rules the real API enforces on thinking and output
formats are refused in its words (sources: helpers/server/dialects/anthropic_features.py); the
stream's bytes look like the real ones (padding, the ping), and the anthropic SDK 2.17 reads all
of it through its own types.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import anthropic
import httpx
import jsonschema
import pytest
from anthropic import Anthropic
from anthropic.types import RawMessageStreamEvent
from pydantic import BaseModel, TypeAdapter

from helpers.server.model.content_blocks import signature_for
from helpers.server.model.simulated import answer_prompt, tokenize
from helpers.sse import SSEDecoder

REAL = Path(__file__).resolve().parents[2] / "data" / "real_streams"
MODEL = "kit-sim-1"
PROMPT = "What is SSE?"
THINK = {"type": "enabled", "budget_tokens": 1024}
WEATHER = {
    "type": "object",
    "properties": {"location": {"type": "string"}},
    "required": ["location"],
}
TOOLS = [{"name": "get_weather", "description": "Current weather for a city",
          "input_schema": WEATHER}]
DOG = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"},
                   "bio": {"type": "string"}},
    "required": ["name", "age", "bio"],
    "additionalProperties": False,
}
EVENTS = TypeAdapter(RawMessageStreamEvent)


def ask(prompt: str = PROMPT) -> list[dict[str, Any]]:
    return [{"role": "user", "content": prompt}]


@pytest.fixture(scope="module")
def client(root: str) -> Anthropic:
    return Anthropic(base_url=root, api_key="unused", max_retries=0, timeout=10)


def raw(root: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> bytes:
    with httpx.stream("POST", f"{root}/v1/messages", json={**body, "stream": True},
                      headers=headers, timeout=10) as reply:
        assert reply.status_code == 200, reply.read()
        return reply.read()


def frames(body: bytes) -> list[Any]:
    decoder = SSEDecoder()
    return [*decoder.feed(body), *decoder.close()]


def typed(body: bytes) -> list[Any]:
    """Every non-ping frame through the SDK's own union (what its stream parser does)."""
    out = []
    for frame in frames(body):
        payload = json.loads(frame.data)
        assert frame.event == payload["type"]
        if payload["type"] != "ping":
            out.append(EVENTS.validate_python(payload))
    return out


def refused(root: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> str:
    reply = httpx.post(f"{root}/v1/messages", json=body, headers=headers, timeout=10)
    assert reply.status_code == 400, reply.text
    assert reply.json()["error"]["type"] == "invalid_request_error"
    return reply.json()["error"]["message"]


# --------------------------------------------------------------------------- the real requests


@pytest.mark.parametrize("name", sorted(p.name for p in REAL.glob("anthropic-*.request.json")))
@pytest.mark.parametrize("stream", [True, False])
def test_every_recorded_request_is_accepted(root: str, name: str, stream: bool) -> None:
    body = {**json.loads((REAL / name).read_text()), "stream": stream}
    if stream:
        events = typed(raw(root, body))
        assert events[0].type == "message_start" and events[-1].type == "message_stop"
        return
    reply = httpx.post(f"{root}/v1/messages", json=body, timeout=10)
    assert reply.status_code == 200, reply.text
    message = anthropic.types.Message.model_validate(reply.json())
    assert message.content and message.stop_reason in ("end_turn", "tool_use")


def test_the_recorded_structured_request_answers_json_of_its_schema(root: str) -> None:
    body = json.loads((REAL / "anthropic-messages-structured-1.request.json").read_text())
    events = typed(raw(root, body))
    deltas = [e.delta for e in events if e.type == "content_block_delta"]
    assert len(deltas) > 3 and all(d.type == "text_delta" for d in deltas)  # ordinary text
    answer = json.loads("".join(d.text for d in deltas))
    jsonschema.validate(answer, body["output_config"]["format"]["schema"])


# --------------------------------------------------------------------------- the bytes


def test_padding_ping_and_usage_look_like_the_real_stream(root: str) -> None:
    body = {"model": MODEL, "max_tokens": 1024, "messages": ask()}
    sent = raw(root, body)
    data = [f.data for f in frames(sent)]
    assert data[2] == '{"type": "ping"}'  # with its space, right after the first block starts
    padded = [d for d in data if d != '{"type": "ping"}']
    widths = [len(d) - len(d.rstrip("}").rstrip(" ")) - 1 for d in padded]
    assert all(re.fullmatch(r"\{.*[^ ] {0,15}\}", d) for d in padded)
    assert len(set(widths)) > 5  # 0-15 spaces, not one width
    again = [f.data for f in frames(raw(root, body))]
    assert [len(d) - len(d.rstrip("}").rstrip(" ")) for d in again] == [
        len(d) - len(d.rstrip("}").rstrip(" ")) for d in data
    ]  # seeded: the same request, the same widths
    start = json.loads(data[0])["message"]
    assert list(start)[:2] == ["model", "id"] and start["stop_details"] is None
    assert start["usage"] == {
        "input_tokens": start["usage"]["input_tokens"],
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
        "output_tokens": 1,
        "service_tier": "standard",
        "inference_geo": "not_available",
    }
    assert set(json.loads(data[-2])["usage"]) == {
        "input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "output_tokens"
    }


def test_tool_use_blocks_name_their_caller(client: Anthropic) -> None:
    message = client.messages.create(model=MODEL, max_tokens=1024, tools=TOOLS,  # type: ignore[arg-type]
                                     messages=ask("What is the weather in Paris?"))
    call = message.content[0]
    assert call.type == "tool_use" and call.caller is not None and call.caller.type == "direct"


# --------------------------------------------------------------------------- thinking


def test_thinking_streams_a_signed_block_then_the_text(root: str, client: Anthropic) -> None:
    body = {"model": MODEL, "max_tokens": 2048, "thinking": THINK, "messages": ask()}
    events = typed(raw(root, body))
    kinds = [(e.type, getattr(getattr(e, "delta", None), "type", None)) for e in events]
    starts = [e.content_block for e in events if e.type == "content_block_start"]
    assert [b.type for b in starts] == ["thinking", "text"]
    assert starts[0].thinking == "" and starts[0].signature == ""
    closing = kinds.index(("content_block_stop", None))
    assert kinds[closing - 1] == ("content_block_delta", "signature_delta")  # exactly one, last
    assert kinds.count(("content_block_delta", "signature_delta")) == 1
    assert all(k == ("content_block_delta", "thinking_delta") for k in kinds[2 : closing - 1])
    assert [e.index for e in events if e.type == "content_block_start"] == [0, 1]
    with client.messages.stream(model=MODEL, max_tokens=2048, thinking=THINK,  # type: ignore[arg-type]
                                messages=ask()) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    thinking, answer = final.content
    assert thinking.type == "thinking" and thinking.signature == signature_for(thinking.thinking)
    assert answer.type == "text" and answer.text == text == answer_prompt(PROMPT).text
    assert final.usage.output_tokens == len(tokenize(thinking.thinking)) + len(tokenize(text))
    created = client.messages.create(model=MODEL, max_tokens=2048, thinking=THINK,  # type: ignore[arg-type]
                                     messages=ask())
    assert [b.model_dump() for b in created.content] == [b.model_dump() for b in final.content]


def test_adaptive_and_omitted_display(root: str) -> None:
    body = {"model": MODEL, "max_tokens": 512, "messages": ask(),
            "thinking": {"type": "adaptive", "display": "omitted"}}
    events = typed(raw(root, body))
    deltas = [e.delta.type for e in events if e.type == "content_block_delta"]
    assert "thinking_delta" not in deltas and deltas[0] == "signature_delta"
    plain = {"model": MODEL, "max_tokens": 512, "messages": ask(),
             "thinking": {"type": "disabled"}}
    assert [e.content_block.type for e in typed(raw(root, plain))
            if e.type == "content_block_start"] == ["text"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"thinking": {"type": "enabled", "budget_tokens": 1000}},
         "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"),
        ({"thinking": {"type": "enabled"}}, "thinking.enabled.budget_tokens: Field required"),
        ({"max_tokens": 1024}, "`max_tokens` must be greater than `thinking.budget_tokens`"),
        ({"temperature": 0.5}, "`temperature` may only be set to 1 when thinking is enabled"),
        ({"tools": TOOLS, "tool_choice": {"type": "any"}},
         "Thinking may not be enabled when tool_choice forces tool use."),
        ({"tools": TOOLS, "tool_choice": {"type": "tool", "name": "get_weather"}},
         "Thinking may not be enabled when tool_choice forces tool use."),
        ({"thinking": {"type": "sometimes"}}, "thinking.type: Input should be"),
        ({"thinking": {"type": "enabled", "budget_tokens": 1024, "x": 1}},
         "thinking.enabled.x: Extra inputs are not permitted"),
    ],
)
def test_thinking_rules_of_the_real_api(root: str, change: dict, message: str) -> None:
    body = {"model": MODEL, "max_tokens": 2048, "thinking": THINK, "messages": ask(), **change}
    assert message in refused(root, body)


ADAPTIVE = {"type": "adaptive"}
FORCED = [{"type": "any"}, {"type": "tool", "name": "get_weather"}]


@pytest.mark.parametrize("choice", FORCED)
def test_adaptive_thinking_takes_a_forced_tool_and_skips_the_thinking(
    root: str, client: Anthropic, choice: dict
) -> None:
    """Only manual thinking refuses a forced tool; adaptive thinking calls it at once."""
    question = ask("What is the weather in Paris?")
    body = {"model": MODEL, "max_tokens": 2048, "thinking": ADAPTIVE, "tools": TOOLS,
            "tool_choice": choice, "messages": question}
    events = typed(raw(root, body))
    starts = [e.content_block.type for e in events if e.type == "content_block_start"]
    deltas = {e.delta.type for e in events if e.type == "content_block_delta"}
    assert starts == ["tool_use"] and deltas == {"input_json_delta"}  # no thinking block
    assert [e.delta.stop_reason for e in events if e.type == "message_delta"] == ["tool_use"]
    message = client.messages.create(**body)
    assert [b.type for b in message.content] == ["tool_use"]
    call = message.content[0]
    assert call.name == "get_weather" and message.stop_reason == "tool_use"
    # the turn goes back as it came (no thinking block to send) and the loop goes on
    result = {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": call.id, "content": "18 C and sunny"}]}
    loop = [*question, {"role": "assistant", "content": [call.model_dump()]}, result]
    after = client.messages.create(model=MODEL, max_tokens=2048, thinking=ADAPTIVE,  # type: ignore[arg-type]
                                   tools=TOOLS, messages=loop)  # type: ignore[arg-type]
    assert [b.type for b in after.content] == ["text"] and "18 C and sunny" in after.content[0].text
    # manual thinking: the same forced request is refused, and so is that loop
    assert refused(root, {**body, "thinking": THINK}) == (
        "Thinking may not be enabled when tool_choice forces tool use.")
    assert "Expected `thinking` or `redacted_thinking`, but found `tool_use`" in refused(
        root, {"model": MODEL, "max_tokens": 2048, "thinking": THINK, "tools": TOOLS,
               "messages": loop})


def test_adaptive_thinking_without_a_forced_tool_still_thinks(client: Anthropic) -> None:
    for choice in ({"type": "auto"}, None):
        extra = {"tool_choice": choice} if choice else {}
        message = client.messages.create(  # type: ignore[call-overload]
            model=MODEL, max_tokens=2048, thinking=ADAPTIVE, tools=TOOLS,
            messages=ask("What is the weather in Paris?"), **extra)
        assert [b.type for b in message.content] == ["thinking", "tool_use"]


def test_temperature_one_is_fine_with_thinking(client: Anthropic) -> None:
    message = client.messages.create(model=MODEL, max_tokens=2048, thinking=THINK,  # type: ignore[arg-type]
                                     messages=ask(), extra_body={"temperature": 1.0})
    assert [b.type for b in message.content] == ["thinking", "text"]


def test_thinking_in_a_tool_loop(root: str, client: Anthropic) -> None:
    question = ask("What is the weather in Paris?")
    first = client.messages.create(model=MODEL, max_tokens=2048, thinking=THINK, tools=TOOLS,  # type: ignore[arg-type]
                                   messages=question)
    assert [b.type for b in first.content] == ["thinking", "tool_use"]
    assert first.stop_reason == "tool_use"
    call = first.content[1]
    result = {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": call.id, "content": "18 C and sunny"}]}
    loop = [*question, {"role": "assistant", "content": first.content}, result]
    with client.messages.stream(model=MODEL, max_tokens=2048, thinking=THINK, tools=TOOLS,  # type: ignore[arg-type]
                                messages=loop) as stream:  # type: ignore[arg-type]
        final = stream.get_final_message()
    assert [b.type for b in final.content] == ["text"]  # the turn goes on: no second thinking
    assert "18 C and sunny" in final.content[0].text
    # the loop without its thinking block: refused as the real API refuses it
    dropped = [*question, {"role": "assistant", "content": [call.model_dump()]}, result]
    body = {"model": MODEL, "max_tokens": 2048, "thinking": THINK, "tools": TOOLS,
            "messages": dropped}
    assert refused(root, body).startswith(
        "messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, but found "
        "`tool_use`. When `thinking` is enabled, a final `assistant` message must start with a "
        "thinking block (preceeding the lastmost set of `tool_use` and `tool_result` blocks)."
    )
    # an edited thinking block
    edited = first.content[0].model_dump() | {"thinking": "I changed my mind."}
    body["messages"] = [*question, {"role": "assistant", "content": [edited, call.model_dump()]},
                        result]
    assert "Invalid `signature` in `thinking` block" in refused(root, body)
    # thinking blocks after the text: refused
    body["messages"] = [*question, {"role": "assistant", "content": [
        call.model_dump(), first.content[0].model_dump()]}, result]
    assert "the first block must be thinking or redacted_thinking. Found tool_use." in refused(
        root, body)
    # without thinking, the same full loop is fine (earlier thinking blocks are allowed)
    plain = client.messages.create(model=MODEL, max_tokens=2048, tools=TOOLS,  # type: ignore[arg-type]
                                   messages=loop)  # type: ignore[arg-type]
    assert "18 C and sunny" in plain.content[0].text


def test_a_prefilled_thinking_block_needs_thinking_on(root: str) -> None:
    block = {"type": "thinking", "thinking": "Hm.", "signature": signature_for("Hm.")}
    prefill = {"role": "assistant", "content": [block, {"type": "text", "text": "SSE is"}]}
    body = {"model": MODEL, "max_tokens": 2048, "messages": [*ask(), prefill]}
    assert "When thinking is disabled, an `assistant` message in the final position cannot " \
        "contain `thinking`" in refused(root, body)


# --------------------------------------------------------------------------- structured output


class Dog(BaseModel):
    name: str
    age: int
    bio: str


def test_sdk_parse_gets_a_valid_object(client: Anthropic) -> None:
    parsed = client.messages.parse(model=MODEL, max_tokens=1024, output_format=Dog,
                                   messages=ask("Invent a good dog called Rex"))
    assert isinstance(parsed.parsed_output, Dog) and parsed.parsed_output.name == "Rex"
    with client.messages.stream(model=MODEL, max_tokens=1024, output_format=Dog,
                                messages=ask("Invent a good dog called Rex")) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert len(pieces) > 3 and Dog.model_validate_json("".join(pieces)) == parsed.parsed_output
    assert final.stop_reason == "end_turn"


def test_structured_output_with_thinking(client: Anthropic) -> None:
    message = client.messages.create(
        model=MODEL, max_tokens=2048, thinking=THINK,  # type: ignore[arg-type]
        output_config={"format": {"type": "json_schema", "schema": DOG}}, messages=ask(),
    )
    assert [b.type for b in message.content] == ["thinking", "text"]
    assert "schema" in message.content[0].thinking  # type: ignore[union-attr]
    jsonschema.validate(json.loads(message.content[1].text), DOG)  # type: ignore[union-attr]


def test_the_beta_output_format_needs_its_header(root: str) -> None:
    body = {"model": MODEL, "max_tokens": 1024, "messages": ask(),
            "output_format": {"type": "json_schema", "schema": DOG}}
    beta = {"anthropic-beta": "structured-outputs-2025-11-13"}
    events = typed(raw(root, body, headers=beta))
    text = "".join(e.delta.text for e in events if e.type == "content_block_delta")
    jsonschema.validate(json.loads(text), DOG)
    assert refused(root, body).startswith(
        "output_format: This field is deprecated. Use 'output_config.format' instead."
    )


@pytest.mark.parametrize(
    ("output_format", "message"),
    [
        ({"type": "json_schema", "schema": {**DOG, "additionalProperties": None}},
         "output_config.format.schema: For 'object' type, 'additionalProperties' must be "
         "explicitly set to false"),
        ({"type": "json_schema", "schema": {**DOG, "additionalProperties": True}},
         "'additionalProperties: true' is not supported"),
        ({"type": "json_schema", "schema": {
            "type": "object", "additionalProperties": False, "required": ["pet"],
            "properties": {"pet": {"type": "object", "properties": {}}}}},
         "'additionalProperties' must be explicitly set to false"),
        ({"type": "json_object"}, "output_config.format.type: Input should be 'json_schema'"),
        ({"type": "json_schema"}, "output_config.format.schema: Field required"),
        ({"type": "json_schema", "schema": {**DOG, "properties": {
            "name": {"type": "string", "pattern": "^R"}}, "required": ["name"]}},
         "local server only"),
    ],
)
def test_output_format_rules(root: str, output_format: dict, message: str) -> None:
    schema = output_format.get("schema")
    if schema is not None:
        output_format = {**output_format,
                         "schema": {k: v for k, v in schema.items() if v is not None}}
    body = {"model": MODEL, "max_tokens": 1024, "messages": ask(),
            "output_config": {"format": output_format}}
    assert message in refused(root, body)


def test_effort_is_accepted_and_checked(root: str, client: Anthropic) -> None:
    message = client.messages.create(model=MODEL, max_tokens=1024, messages=ask(),
                                     output_config={"effort": "low"})
    assert message.content[0].type == "text"
    body = {"model": MODEL, "max_tokens": 1024, "messages": ask(),
            "output_config": {"effort": "extreme"}}
    assert "output_config.effort: Input should be" in refused(root, body)

"""A JSON Schema in the prompt is followed, through the real SDKs (openai: Responses and Chat
Completions; anthropic: Messages), streamed as ordinary text deltas.

The prompts are the ones instructor, langchain and pydantic-ai send (tests/client_prompts.py,
each template citing its source); the answer must validate against the
schema the prompt shows, checked with `jsonschema`.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import jsonschema
import openai
import pytest
from anthropic import Anthropic
from client_prompts import (
    PYDANTIC_AI_TEMPLATE,
    Flag,
    UserDetail,
    instructor_json_message,
    langchain_format_instructions,
    reduced,
)
from openai import OpenAI

from helpers.server import LocalServer
from helpers.server.dialects.requests import parse_chat_request
from helpers.server.model.source import Simulation
from helpers.server.model.tokens import planned_calls

MODEL = "kit-sim-1"
EXTRACT = "Extract Jason is 25 years old"
USER_SCHEMA = UserDetail.model_json_schema()


def chat_deltas(client: OpenAI, messages: list[dict[str, Any]], **fields: Any) -> list[str]:
    stream = client.chat.completions.create(model=MODEL, messages=messages,  # type: ignore[arg-type]
                                            stream=True, **fields)
    return [chunk.choices[0].delta.content for chunk in stream
            if chunk.choices and chunk.choices[0].delta.content]


def responses_deltas(client: OpenAI, **fields: Any) -> list[str]:
    stream = client.responses.create(model=MODEL, stream=True, **fields)
    return [event.delta for event in stream if event.type == "response.output_text.delta"]


def valid(deltas: list[str], schema: dict[str, Any]) -> Any:
    assert len(deltas) > 1, "streamed in pieces, like any text"
    value = json.loads("".join(deltas))
    jsonschema.validate(value, schema)
    return value


def test_chat_instructor_json_mode(client: OpenAI) -> None:
    """instructor Mode.JSON: its system message, `response_format: json_object`."""
    messages = [{"role": "system", "content": instructor_json_message(UserDetail)},
                {"role": "user", "content": EXTRACT}]
    value = valid(chat_deltas(client, messages, response_format={"type": "json_object"}),
                  USER_SCHEMA)
    assert value["name"] == "Jason"
    assert UserDetail.model_validate(value)
    # The same request answers the same JSON, and not streamed too.
    again = client.chat.completions.create(model=MODEL, messages=messages,  # type: ignore[arg-type]
                                           response_format={"type": "json_object"})
    assert json.loads(again.choices[0].message.content or "") == value


def test_chat_langchain_json_mode_with_format_instructions(client: OpenAI) -> None:
    """langchain `with_structured_output(method="json_mode")` sends `json_object`; the schema
    is in the prompt through a PydanticOutputParser's format instructions."""
    prompt = f"Answer the user query.\n{langchain_format_instructions(Flag)}\nIs this phishing?\n"
    deltas = chat_deltas(client, [{"role": "user", "content": prompt}],
                         response_format={"type": "json_object"})
    assert Flag.model_validate(valid(deltas, reduced(Flag)))


def test_chat_schema_in_the_prompt_without_a_format(client: OpenAI) -> None:
    """No response_format at all: the text asks for JSON and shows the schema (instructor
    MD_JSON, llm-style schema prompts)."""
    messages = [{"role": "developer", "content": instructor_json_message(UserDetail)},
                {"role": "user", "content": EXTRACT}]
    valid(chat_deltas(client, messages), USER_SCHEMA)


def test_responses_prompted_output_in_a_system_input_message(client: OpenAI) -> None:
    """pydantic-ai's prompted output with `text.format: json_object`: it moves its instructions
    into a system input message, because the word 'json' in `instructions` does not count."""
    system = PYDANTIC_AI_TEMPLATE.format(schema=json.dumps(USER_SCHEMA))
    deltas = responses_deltas(client, text={"format": {"type": "json_object"}}, input=[
        {"role": "system", "content": system}, {"role": "user", "content": EXTRACT}])
    assert valid(deltas, USER_SCHEMA)["name"] == "Jason"


def test_responses_schema_in_instructions(client: OpenAI) -> None:
    deltas = responses_deltas(client, instructions=instructor_json_message(UserDetail),
                              input=EXTRACT)
    valid(deltas, USER_SCHEMA)
    final = client.responses.create(model=MODEL, instructions=instructor_json_message(UserDetail),
                                    input=EXTRACT)
    assert json.loads(final.output_text) == json.loads("".join(deltas))


def test_responses_json_object_counts_the_input_messages_only(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model=MODEL, instructions=instructor_json_message(UserDetail),
                                input=EXTRACT, text={"format": {"type": "json_object"}})
    assert caught.value.body["message"] == (  # type: ignore[index]
        "Response input messages must contain the word 'json' in some form to use "
        "'text.format' of type 'json_object'.")
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Hi"}],
                                       response_format={"type": "json_object"})
    assert caught.value.body["message"] == (  # type: ignore[index]
        "'messages' must contain the word 'json' in some form, to use 'response_format' of "
        "type 'json_object'.")


def test_json_object_without_a_schema_is_still_valid_json(client: OpenAI) -> None:
    deltas = chat_deltas(client, [{"role": "user", "content": "Explain SSE as JSON"}],
                         response_format={"type": "json_object"})
    assert isinstance(json.loads("".join(deltas)), dict)
    deltas = responses_deltas(client, input="Explain SSE as JSON",
                              text={"format": {"type": "json_object"}})
    assert isinstance(json.loads("".join(deltas)), dict)


def test_a_schema_in_an_assistant_turn_or_a_tool_output_is_not_followed(client: OpenAI) -> None:
    schema_text = json.dumps(USER_SCHEMA)
    deltas = chat_deltas(client, [
        {"role": "user", "content": "Explain JSON Schema"},
        {"role": "assistant", "content": f"Here is one in JSON: {schema_text}"},
        {"role": "user", "content": "Thanks. What is SSE?"}])
    with pytest.raises(ValueError):
        json.loads("".join(deltas))


def test_messages_instructor_anthropic_json_mode(server: LocalServer) -> None:
    """instructor Mode.ANTHROPIC_JSON: the same message as `system`, no output_config."""
    client = Anthropic(base_url=server.base_url.removesuffix("/v1"), api_key="unused",
                       max_retries=0, timeout=10)
    with client.messages.stream(model="claude-haiku-4-5", max_tokens=1024,
                                system=instructor_json_message(UserDetail),
                                messages=[{"role": "user", "content": EXTRACT}]) as stream:
        deltas = list(stream.text_stream)
        final = stream.get_final_message()
    assert valid(deltas, USER_SCHEMA)["name"] == "Jason"
    assert [block.type for block in final.content] == ["text"]
    assert final.stop_reason == "end_turn"


def test_a_real_model_reads_the_schema_itself() -> None:
    class RealSource:  # the seam a real model plugs into; it is never reached here
        model_id = "smollm2"

    body = {"model": "smollm2", "messages": [  # (a json_object format is refused: admit())
        {"role": "system", "content": instructor_json_message(UserDetail)},
        {"role": "user", "content": EXTRACT}]}
    request = parse_chat_request(body, replace(Simulation(), model_source=RealSource()))  # type: ignore[arg-type]
    assert request.features.prompt_schema == USER_SCHEMA
    assert planned_calls(request).text is None
    simulated = replace(request, model=MODEL)
    assert json.loads(planned_calls(simulated).text or "")["name"] == "Jason"

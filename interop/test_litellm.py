"""litellm: completion() ("openai/..." is Chat Completions, "anthropic/..." is Messages) and
responses() ("openai/..." is Responses), all streamed, through litellm's own translation layers.

conftest.py sets LITELLM_OFFLINE_MODE, LITELLM_LOCAL_MODEL_COST_MAP and LITELLM_TELEMETRY before
this import: litellm otherwise downloads its model cost map at import time.

responses(stream=True) streams for real only for a model its cost map says supports streaming;
for any other name (such as kit-sim-1) it sends one request without `stream` and fakes the
events from the whole Response. So the model is registered first, as a learner pointing litellm
at a local server has to do too.
"""

from __future__ import annotations

import json

import litellm
import pytest
from cases import (
    ANTHROPIC_MODEL,
    API_KEY,
    MODEL,
    STRUCTURED_PROMPT,
    TEXT_PROMPT,
    TOOL_DESCRIPTION,
    TOOL_NAME,
    TOOL_PROMPT,
    WEATHER_PARAMETERS,
    City,
    check_city,
    check_text,
    check_tool,
    get_weather,
)

APIS = ["responses", "chat", "messages"]
litellm.register_model(
    {MODEL: {"litellm_provider": "openai", "mode": "chat", "supports_native_streaming": True}}
)
CHAT_TOOL = {
    "type": "function",
    "function": {
        "name": TOOL_NAME, "description": TOOL_DESCRIPTION, "parameters": WEATHER_PARAMETERS,
    },
}  # fmt: skip
RESPONSES_TOOL = {
    "type": "function", "name": TOOL_NAME, "description": TOOL_DESCRIPTION,
    "parameters": WEATHER_PARAMETERS,
}  # fmt: skip


def where(api: str, server: str) -> dict:
    """The model and endpoint arguments for one API."""
    if api == "messages":
        return {"model": f"anthropic/{ANTHROPIC_MODEL}", "api_base": server.removesuffix("/v1"),
                "api_key": API_KEY}  # fmt: skip
    return {"model": f"openai/{MODEL}", "api_base": server, "api_key": API_KEY}


# --------------------------------------------------------------------------- completion()


def complete(api: str, server: str, messages: list, **extra) -> tuple[list[str], object]:
    """A streamed completion: the content deltas, and the chunks built into one response."""
    chunks = list(litellm.completion(messages=messages, stream=True, **where(api, server), **extra))
    deltas = [chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices]
    return deltas, litellm.stream_chunk_builder(chunks, messages=messages)


def completion_tool_round_trip(api: str, server: str) -> str:
    messages: list = [{"role": "user", "content": TOOL_PROMPT}]
    _deltas, built = complete(api, server, messages, tools=[CHAT_TOOL])
    asked = built.choices[0].message
    messages.append(asked.model_dump(exclude_none=True))
    for call in asked.tool_calls or ():
        output = get_weather(**json.loads(call.function.arguments))
        messages.append({"role": "tool", "tool_call_id": call.id, "content": output})
    _deltas, built = complete(api, server, messages, tools=[CHAT_TOOL])
    return built.choices[0].message.content


# --------------------------------------------------------------------------- responses()


def respond(server: str, input, **extra) -> tuple[list[str], object]:
    """A streamed Response: the text deltas, and the Response from response.completed."""
    deltas, final = [], None
    for event in litellm.responses(input=input, stream=True, **where("responses", server), **extra):
        if event.type == "response.output_text.delta":
            deltas.append(event.delta)
        elif event.type == "response.completed":
            final = event.response
    return deltas, final


def responses_tool_round_trip(server: str) -> str:
    items: list = [{"role": "user", "content": TOOL_PROMPT}]
    _deltas, response = respond(server, items, tools=[RESPONSES_TOOL])
    for item in response.output:
        if item.type == "function_call":
            items.append(
                {"type": "function_call", "call_id": item.call_id, "name": item.name,
                 "arguments": item.arguments}
            )  # fmt: skip
            output = get_weather(**json.loads(item.arguments))
            items.append({"type": "function_call_output", "call_id": item.call_id,
                          "output": output})  # fmt: skip
    deltas, _response = respond(server, items, tools=[RESPONSES_TOOL])
    return "".join(deltas)


# --------------------------------------------------------------------------- the cells


@pytest.mark.parametrize("api", APIS)
def test_text(api, server, reference):
    if api == "responses":
        deltas, response = respond(server, TEXT_PROMPT)
        final = response.output_text if response is not None else None
    else:
        deltas, built = complete(api, server, [{"role": "user", "content": TEXT_PROMPT}])
        final = built.choices[0].message.content
    check_text(deltas, final, reference(TEXT_PROMPT))


@pytest.mark.parametrize("api", APIS)
def test_tool(api, server, calls):
    if api == "responses":
        answer = responses_tool_round_trip(server)
    else:
        answer = completion_tool_round_trip(api, server)
    check_tool(calls, answer)


@pytest.mark.parametrize("api", APIS)
def test_structured(api, server):
    if api == "responses":
        deltas, _response = respond(server, STRUCTURED_PROMPT, text_format=City)
    else:
        messages = [{"role": "user", "content": STRUCTURED_PROMPT}]
        deltas, _built = complete(api, server, messages, response_format=City)
    check_city(City.model_validate_json("".join(deltas)), len(deltas))

"""openai-agents (OpenAI's Agents SDK): Runner.run_streamed on its Responses and Chat models."""

from __future__ import annotations

import asyncio

import pytest
from agents import (
    Agent,
    OpenAIChatCompletionsModel,
    OpenAIResponsesModel,
    Runner,
    function_tool,
    set_tracing_disabled,
)
from cases import (
    API_KEY,
    MODEL,
    STRUCTURED_PROMPT,
    TEXT_PROMPT,
    TOOL_PROMPT,
    City,
    check_city,
    check_text,
    check_tool,
    get_weather,
)
from openai import AsyncOpenAI
from openai.types.responses import ResponseTextDeltaEvent

set_tracing_disabled(True)  # the SDK would send traces to api.openai.com

APIS = ["responses", "chat"]


def model(api: str, server: str):
    client = AsyncOpenAI(base_url=server, api_key=API_KEY, max_retries=0)
    if api == "responses":
        return OpenAIResponsesModel(MODEL, client)
    return OpenAIChatCompletionsModel(MODEL, client)


async def run(agent: Agent, prompt: str) -> tuple[list[str], object]:
    """Stream a run: the text deltas (both models surface them as Responses events), the output."""
    result = Runner.run_streamed(agent, prompt)
    deltas = []
    async for event in result.stream_events():
        if event.type == "raw_response_event" and isinstance(event.data, ResponseTextDeltaEvent):
            deltas.append(event.data.delta)
    return deltas, result.final_output


@pytest.mark.parametrize("api", APIS)
def test_text(api, server, reference):
    agent = Agent(name="tutor", model=model(api, server))
    deltas, output = asyncio.run(run(agent, TEXT_PROMPT))
    check_text(deltas, output, reference(TEXT_PROMPT))


@pytest.mark.parametrize("api", APIS)
def test_tool(api, server, calls):
    agent = Agent(name="forecaster", model=model(api, server), tools=[function_tool(get_weather)])
    _deltas, output = asyncio.run(run(agent, TOOL_PROMPT))
    check_tool(calls, output)


@pytest.mark.parametrize("api", APIS)
def test_structured(api, server):
    agent = Agent(name="geographer", model=model(api, server), output_type=City)
    deltas, output = asyncio.run(run(agent, STRUCTURED_PROMPT))
    check_city(output, len(deltas))

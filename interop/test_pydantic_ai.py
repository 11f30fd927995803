"""pydantic-ai: Agent.run_stream on OpenAIResponsesModel, OpenAIChatModel and AnthropicModel.

Structured output uses NativeOutput (the API's own JSON-schema output: `text.format`,
`response_format`, Anthropic's `output_format`), not pydantic-ai's default of a tool call.
"""

from __future__ import annotations

import asyncio

import pytest
from cases import (
    ANTHROPIC_MODEL,
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
from pydantic_ai import Agent, NativeOutput
from pydantic_ai.models.anthropic import AnthropicModel
from pydantic_ai.models.openai import OpenAIChatModel, OpenAIResponsesModel
from pydantic_ai.providers.anthropic import AnthropicProvider
from pydantic_ai.providers.openai import OpenAIProvider

APIS = ["responses", "chat", "messages"]


def model(api: str, server: str):
    if api == "messages":
        provider = AnthropicProvider(api_key=API_KEY, base_url=server.removesuffix("/v1"))
        return AnthropicModel(ANTHROPIC_MODEL, provider=provider)
    provider = OpenAIProvider(base_url=server, api_key=API_KEY)
    if api == "responses":
        return OpenAIResponsesModel(MODEL, provider=provider)
    return OpenAIChatModel(MODEL, provider=provider)


async def stream_text(agent: Agent, prompt: str) -> tuple[list[str], str]:
    async with agent.run_stream(prompt) as result:
        deltas = [delta async for delta in result.stream_text(delta=True, debounce_by=None)]
        return deltas, await result.get_output()


@pytest.mark.parametrize("api", APIS)
def test_text(api, server, reference):
    agent = Agent(model(api, server))
    deltas, output = asyncio.run(stream_text(agent, TEXT_PROMPT))
    check_text(deltas, output, reference(TEXT_PROMPT))


@pytest.mark.parametrize("api", APIS)
def test_tool(api, server, calls):
    agent = Agent(model(api, server), tools=[get_weather])
    _deltas, output = asyncio.run(stream_text(agent, TOOL_PROMPT))
    check_tool(calls, output)


async def stream_city(agent: Agent) -> tuple[int, City]:
    async with agent.run_stream(STRUCTURED_PROMPT) as result:
        partials = [partial async for partial in result.stream_output(debounce_by=None)]
        return len(partials), await result.get_output()


@pytest.mark.parametrize("api", APIS)
def test_structured(api, server):
    agent = Agent(model(api, server), output_type=NativeOutput(City))
    chunks, output = asyncio.run(stream_city(agent))
    check_city(output, chunks)

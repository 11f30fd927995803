"""langchain: ChatOpenAI (Chat Completions; Responses with use_responses_api=True), ChatAnthropic.

The tool round trip is written out as a learner would without an agent framework: stream the
model's message, run the tool calls it carries, send a ToolMessage back, stream the answer.
Structured output uses method="json_schema" (the API's own JSON-schema output).
"""

from __future__ import annotations

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
from langchain_anthropic import ChatAnthropic
from langchain_core.messages import HumanMessage, ToolMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI

APIS = ["responses", "chat", "messages"]


def model(api: str, server: str):
    if api == "messages":
        return ChatAnthropic(
            model=ANTHROPIC_MODEL, base_url=server.removesuffix("/v1"), api_key=API_KEY,
            max_retries=0, streaming=True,
        )  # fmt: skip
    return ChatOpenAI(
        model=MODEL, base_url=server, api_key=API_KEY, max_retries=0,
        use_responses_api=api == "responses", streaming=True,
    )  # fmt: skip


def text_of(message) -> str:
    """A message's text, whether its content is a string or a list of blocks (Responses)."""
    return message.text if isinstance(message.text, str) else message.text()


def stream(runnable, messages) -> tuple[list[str], object]:
    """Stream a chat model: every chunk's text, and the chunks added up into one message."""
    deltas, whole = [], None
    for chunk in runnable.stream(messages):
        deltas.append(text_of(chunk))
        whole = chunk if whole is None else whole + chunk
    return deltas, whole


@pytest.mark.parametrize("api", APIS)
def test_text(api, server, reference):
    deltas, whole = stream(model(api, server), TEXT_PROMPT)
    check_text(deltas, text_of(whole), reference(TEXT_PROMPT))


@pytest.mark.parametrize("api", APIS)
def test_tool(api, server, calls):
    weather = tool(get_weather)
    llm = model(api, server).bind_tools([weather])
    messages = [HumanMessage(TOOL_PROMPT)]
    _deltas, asked = stream(llm, messages)
    messages.append(asked)
    for call in asked.tool_calls:
        messages.append(ToolMessage(weather.invoke(call["args"]), tool_call_id=call["id"]))
    _deltas, answer = stream(llm, messages)
    check_tool(calls, text_of(answer))


@pytest.mark.parametrize("api", APIS)
def test_structured(api, server):
    llm = model(api, server).with_structured_output(City, method="json_schema")
    chunks = list(llm.stream(STRUCTURED_PROMPT))
    check_city(chunks[-1], len(chunks))

"""The three cases every client runs, and what a pass means (the node scripts use the same values).

The simulated model's rules (helpers/server/model/tool_use.py, structured.py) decide the prompts:
- a clause that uses a 4+ letter word of a tool's name or description calls it ("weather"), with
  string arguments taken from the prompt's capitalised words ("Paris"); once the last turn is the
  tool's output, the answer is text that quotes it ("get_weather returned Sunny, 21 C in Paris");
- a Structured Output fills the schema the same way: the first string field takes "Paris", the
  next "France".
"""

from __future__ import annotations

import json
import os
import urllib.request

from pydantic import BaseModel

MODEL = "kit-sim-1"
# The Anthropic clients send the name lesson 10 uses (the server answers any name with the same
# simulated model): pydantic-ai, langchain and litellm turn features such as native structured
# output on or off by the model's name, and know nothing of "kit-sim-1".
ANTHROPIC_MODEL = "claude-haiku-4-5"
API_KEY = "sk-interop-local"  # the local server asks for none; clients insist on one

TEXT_PROMPT = "Explain why streaming makes a chat feel fast."
TOOL_PROMPT = "What is the weather in Paris?"
TOOL_NAME = "get_weather"
TOOL_DESCRIPTION = "Get the current weather for a city."
TOOL_OUTPUT = "Sunny, 21 C in Paris"
STRUCTURED_PROMPT = "Describe the city of Paris in France."


class City(BaseModel):
    """The Structured Output every client asks for."""

    name: str
    country: str
    population: int


def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    CALLS.append(city)
    return TOOL_OUTPUT if city == "Paris" else f"no weather for {city!r}"


CALLS: list[str] = []
"""Every city a Python client's tool was called with (reset by the `calls` fixture)."""

WEATHER_PARAMETERS = {
    "type": "object",
    "properties": {"city": {"type": "string", "description": "The city"}},
    "required": ["city"],
    "additionalProperties": False,
}


def check_text(deltas: list[str], final: str | None, reference: str) -> None:
    """Text arrived in several deltas that add up to the server's own answer."""
    joined = "".join(deltas)
    assert len([d for d in deltas if d]) > 1, f"not streamed: {deltas!r}"
    assert joined == reference, f"streamed text differs from the server's answer:\n{joined!r}"
    if final is not None:
        assert final == reference, f"final text differs from the deltas: {final!r}"


def check_tool(calls: list[str], answer: str) -> None:
    """The client ran the tool once, with the model's argument, and the answer quotes its output."""
    assert calls == ["Paris"], f"tool calls: {calls!r}"
    assert TOOL_OUTPUT in answer, f"the answer does not quote the tool's output: {answer!r}"


def check_city(city: City | dict, chunks: int) -> None:
    """The Structured Output parsed into City, filled from the prompt, after a streamed response."""
    city = City.model_validate(city)
    assert (city.name, city.country) == ("Paris", "France"), city
    assert chunks >= 1, "nothing streamed"


def reference_text(base_url: str, prompt: str) -> str:
    """The server's answer to `prompt`, not streamed, over Chat Completions with plain urllib."""
    body = json.dumps({"model": MODEL, "messages": [{"role": "user", "content": prompt}]}).encode()
    request = urllib.request.Request(
        base_url + "/chat/completions", body, {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["choices"][0]["message"]["content"]


def env_for_clients() -> dict[str, str]:
    """Nothing may phone home: tracing, telemetry and cost-map downloads off."""
    return {
        "OPENAI_AGENTS_DISABLE_TRACING": "1",
        "LITELLM_OFFLINE_MODE": "true",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_TELEMETRY": "False",
        "OPENAI_API_KEY": API_KEY,
        "ANTHROPIC_API_KEY": API_KEY,
        "NO_PROXY": "127.0.0.1,localhost," + os.environ.get("NO_PROXY", ""),
    }

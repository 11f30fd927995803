"""Layer: model (the bottom). May import: other helpers.server.model modules, nothing above.

What the simulated model does with tools, an output schema and a reasoning effort: which
functions it calls and with what arguments, what text it writes instead, what its reasoning
summary says and how long it thinks. Pure functions of the request, so the same request always
gets the same calls, the same JSON and the same summary.

The rule for `tool_choice: "auto"` (documented in the lesson and the README):
- the prompt is split into clauses at " and ", ";" and " also ";
- a clause calls a tool when it mentions the tool's name ("get_weather" or "get weather") or a
  word of four letters or more from the tool's name or description ("weather");
- a clause that mentions no tool, right after one that did, asks the same tool again
  ("weather in Paris and Tokyo" -> two calls);
- a prompt whose last turn is a tool's output is answered with text that quotes that output.
`"required"` calls the first tool when no clause matches; a named function is always called.
`parallel_tool_calls: false` keeps only the first call.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from helpers.server.model.prompt_schema import seed_text
from helpers.server.model.simulated import _STOP_WORDS, answer_prompt
from helpers.server.model.structured import json_for_schema

REASONING_TOKENS = {"none": 0, "minimal": 8, "low": 24, "medium": 64, "high": 160, "xhigh": 320}
"""Hidden reasoning tokens per effort; thinking takes that many tokens at the decode rate."""


@dataclass(frozen=True)
class FunctionTool:
    """One function the model may call; `parameters` is its JSON Schema."""

    name: str
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=dict, compare=False)
    strict: bool = False


@dataclass(frozen=True)
class ToolResult:
    """A function's output sent back by the client (name found from its call id, if known)."""

    name: str
    output: str


@dataclass(frozen=True)
class Features:
    """Everything beyond plain text that a request asks of the model."""

    tools: tuple[FunctionTool, ...] = ()
    tool_choice: str = "auto"  # "auto", "none", "required" or a function's name
    parallel_tool_calls: bool = True
    output_schema: dict[str, Any] | None = field(default=None, compare=False)
    json_object: bool = False
    # A JSON Schema shown in the prompt of a request that asks for JSON (model.prompt_schema):
    # answered like `output_schema`, but nothing in the request's fields asked for it.
    prompt_schema: dict[str, Any] | None = field(default=None, compare=False)
    reasoning_effort: str | None = None
    reasoning_summary: str | None = None  # Responses only: "auto", "concise" or "detailed"
    tool_results: tuple[ToolResult, ...] = ()
    asked_by: tuple[str, ...] = ()  # the request fields that asked for any of the above

    def first_param(self) -> str | None:
        """The request field behind the first feature asked for (None: plain text only)."""
        return self.asked_by[0] if self.asked_by else None


@dataclass(frozen=True)
class PlannedCall:
    name: str
    arguments: str  # JSON text


@dataclass(frozen=True)
class Plan:
    """What the answer is made of, in stream order: reasoning summary, then calls or text."""

    summary: tuple[str, ...] = ()  # the reasoning summary's parts (summary_index 0, 1, ...)
    reasoning_tokens: int = 0
    calls: tuple[PlannedCall, ...] = ()
    text: str | None = None  # None: the ordinary answer from the model source
    # The model refuses (model.refusal): "part" = `text` is an OpenAI refusal (a `refusal`
    # content part / field, not output text); "stop" = Anthropic's classifier cut `text` short
    # (stop_reason "refusal"). None: no refusal (a refusal in plain text is ordinary text).
    refusal: str | None = None


# --------------------------------------------------------------------------- tool choice


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z]{4,}", text.lower()) if w not in _STOP_WORDS}


def mentions(clause: str, tool: FunctionTool) -> bool:
    """The auto rule: the clause names the tool or uses a 4+ letter word of its name/description."""
    lowered = clause.lower()
    if tool.name.lower() in lowered or tool.name.lower().replace("_", " ") in lowered:
        return True
    return bool(_words(clause) & _words(tool.name.replace("_", " ") + " " + tool.description))


def clauses(prompt: str) -> list[str]:
    parts = re.split(r"\band\b|;|\balso\b", prompt, flags=re.IGNORECASE)
    return [part for part in parts if part.strip()] or [prompt]


def choose_calls(prompt: str, features: Features) -> list[tuple[FunctionTool, str]]:
    """(tool, clause) pairs the model calls, in order; [] means it answers with text."""
    choice, tools = features.tool_choice, features.tools
    if not tools or choice == "none" or (features.tool_results and choice == "auto"):
        return []
    forced = choice not in ("auto", "required")
    allowed = [t for t in tools if t.name == choice] if forced else list(tools)
    calls: list[tuple[FunctionTool, str]] = []
    for clause in clauses(prompt):
        tool = next((t for t in allowed if mentions(clause, t)), None)
        if tool is None and calls:
            tool = calls[-1][0]  # "... in Paris and Tokyo": the same tool again
        if tool is not None:
            calls.append((tool, clause))
    if not calls and choice != "auto":
        calls = [(allowed[0], prompt)]
    return calls if features.parallel_tool_calls else calls[:1]


# --------------------------------------------------------------------------- the plan


def _quote_results(results: tuple[ToolResult, ...]) -> str:
    quoted = " and ".join(f"{r.name} returned {r.output}" for r in results)
    return f"Here is what I found: {quoted}. (Simulated answer quoting the tool output.)"


def _json_object_answer(prompt: str, seed: int) -> str:
    answer = answer_prompt(prompt, seed=seed)
    body = {"topic": answer.topic, "answer": answer.text}
    return json.dumps(body, ensure_ascii=False)


def _summary(
    prompt: str, calls: list[tuple[FunctionTool, str]], features: Features
) -> tuple[str, ...]:
    """The summary's parts, each a bold title and a sentence or two, as o3-mini writes them
    (data/real_streams/openai-responses-reasoning-2.sse: 4 parts with `summary: "detailed"` and
    effort high). "concise" gets one part, "auto" two, "detailed" two to four: one more at
    medium effort, two more at high and xhigh."""
    content = [w for w in re.findall(r"[A-Za-z]{3,}", prompt) if w.lower() not in _STOP_WORDS]
    words = ", ".join(dict.fromkeys(content[:3])) or "none I know"
    asked = " ".join(prompt.split())
    asked = f"\u201c{asked if len(asked) <= 80 else asked[:79] + '…'}\u201d"
    if calls:
        names = ", ".join(dict.fromkeys(tool.name for tool, _ in calls))
        step = f"I should call {names} and use its result."
    elif features.output_schema is not None:
        step = "I will fill in every field the schema requires."
    else:
        step = "I will answer briefly and clearly."
    if features.reasoning_summary == "concise":
        return (f"**Planning the answer**\n\nThe user writes {asked}. {step}",)
    reading = f"**Reading the question**\n\nThe user writes {asked}; the key words: {words}."
    parts = (reading, f"**Planning the answer**\n\n{step}")
    if features.reasoning_summary == "detailed":
        more = DETAILED_PARTS[: REASONING_TOKENS.get(features.reasoning_effort or "", 0) // 64]
        parts += more
    return parts


DETAILED_PARTS = (
    "**Checking the details**\n\nBefore I answer, I check that nothing in the question is left "
    "out.",
    "**Choosing the words**\n\nI keep the answer short and in the order the user asked.",
)
"""The parts `summary: "detailed"` adds: one at medium effort (64 hidden tokens), both at high."""


def plan(prompt: str, features: Features, seed: int = 0) -> Plan:
    """The whole answer, decided before the first token (so it can be streamed in pieces)."""
    calls = choose_calls(prompt, features)
    effort = features.reasoning_effort
    reasoning_tokens = REASONING_TOKENS.get(effort or "none", 0)
    summary = _summary(prompt, calls, features) if features.reasoning_summary and effort else ()
    if not reasoning_tokens:
        summary = ()
    if calls:
        planned = tuple(
            PlannedCall(tool.name, json_for_schema(tool.parameters or {"type": "object"}, clause))
            for tool, clause in calls
        )
        planned = tuple(dict.fromkeys(planned))  # the same call twice is one call
        return Plan(summary, reasoning_tokens, planned)
    text = None
    if features.output_schema is not None:
        text = json_for_schema(features.output_schema, prompt)
    elif features.prompt_schema is not None:
        text = json_for_schema(features.prompt_schema, seed_text(prompt))
    elif features.json_object:
        text = _json_object_answer(prompt, seed)
    elif features.tool_results:
        text = _quote_results(features.tool_results)
    return Plan(summary, reasoning_tokens, (), text)

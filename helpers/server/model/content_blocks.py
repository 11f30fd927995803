"""Layer: model (the bottom). May import: other helpers.server.model modules, nothing above.

An answer made of several content blocks, for Anthropic's Messages API: an optional thinking
block, an optional short text block before tool calls, then the calls or the text. All of it
on one schedule (one TTFT, then the decode rate), so a thinking block is not a pause but tokens
the client sees arrive, as on the real API; every piece counts as an output token, thinking
included (Anthropic bills thinking as output and counts it against `max_tokens`).

What the simulated model "thinks" is a pure function of the request, like everything it says:
one or two sentences on what was asked and what it will do about it. The signature that closes
a thinking block is derived from the thinking text, so a block passed back unmodified checks
out and an edited one does not (the real API refuses edited thinking blocks too).

A plain answer (no thinking, no text before calls) is exactly `answer_pieces`, so the real local
model keeps answering plain Messages requests; thinking and tools are simulated only.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

from helpers.server.model.simulated import _STOP_WORDS, Answer, answer_prompt, tokenize
from helpers.server.model.source import Generation, SimRequest
from helpers.server.model.tokens import Piece, answer_pieces, planned_calls, timed_tokens
from helpers.server.model.tool_use import Plan

SIGNATURE_SALT = b"kit-sim-1 thinking signature v1"


@dataclass(frozen=True)
class BlockPlan:
    """What one Messages answer is made of, decided before its first token.

    `blocks` lists (kind, index) in stream order, kind "thinking", "text" or "call" (index: which
    call); each becomes one content block. The pieces of `block_pieces` carry the same tags.
    """

    plan: Plan
    thinking: str | None
    preamble: str | None
    blocks: tuple[tuple[str, int], ...]


def _topic(prompt: str) -> str:
    words = [w for w in re.findall(r"[A-Za-z]{3,}", prompt) if w.lower() not in _STOP_WORDS]
    return " ".join(dict.fromkeys(words[:4])) or "the question"


def thinking_text(prompt: str, the_plan: Plan, has_schema: bool) -> str:
    """The simulated model's thinking: what was asked, and what it is going to do."""
    asked = f"The user asks about {_topic(prompt)}."
    if the_plan.calls:
        names = " and ".join(dict.fromkeys(call.name for call in the_plan.calls))
        count = len(the_plan.calls)
        step = (f"I can use {names} for this: {count} call{'s' if count > 1 else ''}, "
                "then I answer from the results.")
    elif has_schema:
        step = "The answer must be JSON that fits the schema, so I fill in every field it asks for."
    else:
        step = "I will answer briefly and clearly."
    return f"{asked} {step}"


PREAMBLE_MIN_CALLS = 2
"""The kit's rule: with `tool_choice` auto, a text block comes before two or more calls."""


def preamble_text(the_plan: Plan) -> str:
    """The short text written before the calls ("I'll call get_weather 2 times at once.")."""
    counts: dict[str, int] = {}
    for call in the_plan.calls:
        counts[call.name] = counts.get(call.name, 0) + 1
    names = " and ".join(
        name if count == 1 else f"{name} {count} times" for name, count in counts.items()
    )
    return f"I'll call {names} at once."


def signature_for(thinking: str) -> str:
    """A deterministic stand-in for the real API's opaque signature (base64, like the real one)."""
    digest = hashlib.sha256(SIGNATURE_SALT + thinking.encode()).digest()
    return base64.b64encode(b"\x12\x08kit-sim-1\x1a\x20" + digest).decode()


def block_plan(request: SimRequest, *, thinking: bool, preamble: bool) -> BlockPlan:
    """The blocks of the answer: [thinking] [text before calls] calls | text.

    `preamble`: the model may write a short text block before its calls; it does when it makes
    PREAMBLE_MIN_CALLS or more (one call: the call alone), so both shapes real Claude sends meet
    a learner's code under the same `tool_choice`.
    """
    the_plan = planned_calls(request)
    features = request.features
    has_schema = features.output_schema is not None or features.prompt_schema is not None
    thought = thinking_text(request.prompt, the_plan, has_schema) if thinking else None
    many = len(the_plan.calls) >= PREAMBLE_MIN_CALLS
    before = preamble_text(the_plan) if preamble and many else None
    blocks: list[tuple[str, int]] = [("thinking", 0)] if thought is not None else []
    if before is not None:
        blocks.append(("text", 0))
    if the_plan.calls:
        blocks.extend(("call", index) for index in range(len(the_plan.calls)))
    else:
        blocks.append(("text", 0))
    return BlockPlan(the_plan, thought, before, tuple(blocks))


def _cut(parts: list[tuple[str, int, list[str]]], limit: int | None) -> tuple[list, bool]:
    """Keep the first `limit` tokens across the parts (a real model's max_tokens)."""
    if limit is None or sum(len(part[2]) for part in parts) <= limit:
        return parts, False
    kept = []
    for kind, index, tokens in parts:
        taken = tokens[: max(0, limit)]
        limit -= len(taken)
        if taken:
            kept.append((kind, index, taken))
    return kept, True


async def block_pieces(
    request: SimRequest, generation: Generation, blocks: BlockPlan
) -> AsyncIterator[Piece]:
    """The answer's pieces tagged (kind, index, text), in the order of `blocks.blocks`."""
    if blocks.thinking is None and blocks.preamble is None:
        async for piece in answer_pieces(request, generation):  # the plain path, any source
            yield piece
        return
    the_plan = blocks.plan
    parts: list[tuple[str, int, list[str]]] = []
    if blocks.thinking is not None:
        parts.append(("thinking", 0, tokenize(blocks.thinking)))
    if blocks.preamble is not None:
        parts.append(("text", 0, tokenize(blocks.preamble)))
    if the_plan.calls:
        parts.extend(
            ("call", index, tokenize(call.arguments)) for index, call in enumerate(the_plan.calls)
        )
    else:
        text = the_plan.text
        if text is None:
            text = answer_prompt(request.prompt, seed=request.simulation.seed).text
        parts.append(("text", 0, tokenize(text)))
    parts, generation.truncated = _cut(parts, request.max_tokens)
    owners = [(kind, index) for kind, index, part in parts for _ in part]
    tokens = tuple(token for _, _, part in parts for token in part)
    flat = Answer(tokens, generation.truncated, "blocks")
    position = 0
    async for token in timed_tokens(request, flat):
        generation.output_tokens += 1
        kind, index = owners[position]
        position += 1
        yield kind, index, token

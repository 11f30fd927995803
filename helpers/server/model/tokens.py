"""Layer: model (the bottom). May import: other helpers.server.model modules, nothing above.

An answer as text pieces, each when it is due, from whichever source writes it: the simulated
model (scheduled here) or a real one (helpers.server.model.real, timed by itself).

Tokens leave at absolute deadlines measured from the start of the stream (see
`LatencyProfile.schedule`), so a slow event loop delays one token, not every token after it.

Stream faults (from the request's `Simulation`), applied after `fault_after` tokens, or after
the last token if the answer is shorter:
- "error": raises a `StreamFailed`, which each API reports in its own shape (Responses: `error`
  then `response.failed`; Chat: a `{"error": ...}` chunk);
- "drop":  raises `DropConnection`, and the transport closes the socket mid-body;
- "stall": pauses `stall_seconds`, then carries on.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

from helpers.server.model.refusal import CUT_AFTER_TOKENS, REFUSAL_TEXT, refuses
from helpers.server.model.simulated import MODEL_ID, Answer, answer_prompt, tokenize
from helpers.server.model.source import (
    Generation,
    ModelSource,
    RequestError,
    SimRequest,
    Simulation,
    StreamFailed,
)
from helpers.server.model.tool_use import Plan, plan

INJECTED_ERROR_MESSAGE = "The simulated model failed mid-stream (injected fault 'error')."


class DropConnection(Exception):
    """Raised mid-stream so the transport hangs up without finishing the response body."""


class _InjectedError(StreamFailed):
    """Internal: the 'error' fault fired; each API reports it in its own shape."""

    def __init__(self) -> None:
        super().__init__(INJECTED_ERROR_MESSAGE)


def answer_for(request: SimRequest) -> Answer:
    return answer_prompt(
        request.prompt, seed=request.simulation.seed, max_tokens=request.max_tokens
    )


async def timed_tokens(request: SimRequest, answer: Answer) -> AsyncIterator[str]:
    """Yield each token when it is due; inject the request's stream fault on the way."""
    sim = request.simulation
    loop = asyncio.get_running_loop()
    start = loop.time() if request.received_at is None else request.received_at
    schedule = sim.latency.schedule(
        len(answer.tokens), input_tokens=request.input_tokens, seed=sim.seed
    )
    fault_at = (
        min(sim.fault_after, len(answer.tokens)) if sim.fault in ("error", "drop", "stall") else -1
    )
    for index in range(len(answer.tokens) + 1):
        if index == fault_at:
            if sim.fault == "stall":
                await asyncio.sleep(sim.stall_seconds)
                start += sim.stall_seconds  # later tokens keep their spacing after the stall
            elif sim.fault == "drop":
                raise DropConnection(f"injected fault 'drop' after {index} tokens")
            else:
                raise _InjectedError
        if index == len(answer.tokens):
            return
        # Sleep until the token is due; when already late, still yield once to the event loop
        # so that one late stream cannot starve the others while it catches up.
        await asyncio.sleep(max(0.0, start + schedule[index] - loop.time()))
        if request.tally is not None:
            request.tally.generated += 1
        yield answer.tokens[index]


async def _simulated_tokens(request: SimRequest, generation: Generation) -> AsyncIterator[str]:
    answer = answer_for(request)
    generation.truncated = answer.truncated
    async for token in timed_tokens(request, answer):
        generation.output_tokens += 1
        yield token


async def with_stream_fault(tokens: AsyncIterator[str], request: SimRequest) -> AsyncIterator[str]:
    """The request's stream fault for a model whose tokens are not scheduled here (a real one):
    after `fault_after` pieces, or after the last one if the answer is shorter."""
    sim = request.simulation
    fault_at = sim.fault_after if sim.fault in ("error", "drop", "stall") else None
    count = 0
    try:
        async for token in tokens:
            if count == fault_at:
                await _fire(sim, count)
            if request.tally is not None:
                request.tally.generated += 1
            yield token
            count += 1
        if fault_at is not None and count <= fault_at:
            await _fire(sim, count)
    finally:
        close = getattr(tokens, "aclose", None)
        if close is not None:
            await close()  # the model stops at once, not whenever this is garbage-collected


async def _fire(sim: Simulation, index: int) -> None:
    if sim.fault == "stall":
        await asyncio.sleep(sim.stall_seconds)
    elif sim.fault == "drop":
        raise DropConnection(f"injected fault 'drop' after {index} tokens")
    else:
        raise _InjectedError


def answer_tokens(request: SimRequest, generation: Generation) -> AsyncIterator[str]:
    """The answer's text pieces from the request's model source (by default the simulated one).

    One code path builds the events for every source, so a real model (helpers.server.model.real)
    streams exactly the shapes the simulated one does; only the text and the counts differ.
    """
    source = source_for(request)
    if source is None:
        return _simulated_tokens(request, generation)
    return with_stream_fault(source.generate(request, generation), request)


Piece = tuple[str, int, str]
"""(kind, index, text): kind "summary" (reasoning), "call" (arguments of call `index`), "text",
or "refusal" (an OpenAI Structured Outputs refusal, model.refusal)."""


def _cut(pieces: list[list[str]], limit: int | None) -> tuple[list[list[str]], bool]:
    """Keep the first `limit` tokens across all parts, like a real model's max tokens."""
    if limit is None or sum(map(len, pieces)) <= limit:
        return pieces, False
    kept: list[list[str]] = []
    for part in pieces:
        kept.append(part[: max(0, limit)])
        limit -= len(kept[-1])
    return [part for part in kept if part], True


async def _timed_parts(
    request: SimRequest, parts: list[list[str]], kind: str, generation: Generation
) -> AsyncIterator[Piece]:
    """Several parts (two calls' arguments) on one schedule: one TTFT, then the decode rate."""
    parts, generation.truncated = _cut(parts, request.max_tokens)
    owners = [index for index, part in enumerate(parts) for _ in part]
    flat = Answer(tuple(token for part in parts for token in part), generation.truncated, kind)
    async for position, token in _numbered(timed_tokens(request, flat)):
        generation.output_tokens += 1
        yield kind, owners[position], token


async def _numbered(tokens: AsyncIterator[str]) -> AsyncIterator[tuple[int, str]]:
    position = 0
    async for token in tokens:
        yield position, token
        position += 1


def _after_thinking(request: SimRequest, the_plan: Plan, restart: bool) -> SimRequest:
    """The visible answer waits for the hidden reasoning: its tokens at the decode rate."""
    if not the_plan.reasoning_tokens and not restart:
        return request  # nothing to wait for (two dataclass copies less per request)
    latency = request.simulation.latency
    rate = latency.tokens_per_second
    thinking = the_plan.reasoning_tokens / rate if rate > 0 else 0.0
    latency = replace(latency, think_time=latency.think_time + thinking)
    return replace(
        request,
        received_at=None if restart else request.received_at,
        simulation=replace(request.simulation, latency=latency),
    )


async def answer_pieces(request: SimRequest, generation: Generation) -> AsyncIterator[Piece]:
    """The answer as tagged pieces: a reasoning summary, then function-call arguments or text.

    A plain-text request gets exactly `answer_tokens`, tagged ("text", 0, token).
    """
    the_plan = planned_calls(request)
    if the_plan.summary:  # its parts on one clock, each piece tagged with its summary_index
        quiet = replace(request, simulation=replace(request.simulation, fault=None))
        parts = [tokenize(part) for part in the_plan.summary]
        owners = [index for index, part in enumerate(parts) for _ in part]
        summary = Answer(tuple(token for part in parts for token in part), False, "summary")
        async for position, token in _numbered(timed_tokens(quiet, summary)):
            yield "summary", owners[position], token
    visible = _after_thinking(request, the_plan, restart=bool(the_plan.summary))
    if the_plan.calls:
        parts = [tokenize(call.arguments) for call in the_plan.calls]
        async for piece in _timed_parts(visible, parts, "call", generation):
            yield piece
    elif the_plan.text is not None:
        kind = "refusal" if the_plan.refusal == "part" else "text"
        async for piece in _timed_parts(visible, [tokenize(the_plan.text)], kind, generation):
            yield piece
    else:
        async for token in answer_tokens(visible, generation):
            yield "text", 0, token
    generation.reasoning_tokens = the_plan.reasoning_tokens
    generation.output_tokens += the_plan.reasoning_tokens


def planned_calls(request: SimRequest) -> Plan:
    """The plan alone (names and arguments), for dialects that name a call before its pieces.

    A real model reads a schema in the prompt itself: only the simulated one is handed it."""
    features = request.features
    if features.prompt_schema is not None and source_for(request) is not None:
        features = replace(features, prompt_schema=None)
    the_plan = plan(request.prompt, features, request.simulation.seed)
    if source_for(request) is None and refuses(request.prompt):
        return _refusal_plan(request, the_plan)
    return the_plan


def _refusal_plan(request: SimRequest, the_plan: Plan) -> Plan:
    """The simulated model refuses (model.refusal): no calls; OpenAI writes the refusal
    sentence (a refusal part under Structured Outputs, else plain text); Anthropic writes the
    first tokens of its ordinary answer, then its classifier stops it."""
    if request.api == "messages":
        text = the_plan.text
        if text is None:
            text = answer_prompt(request.prompt, seed=request.simulation.seed).text
        cut = "".join(tokenize(text)[:CUT_AFTER_TOKENS])
        return replace(the_plan, calls=(), text=cut, refusal="stop")
    structured = request.features.output_schema is not None
    return replace(the_plan, calls=(), text=REFUSAL_TEXT, refusal="part" if structured else None)


async def admit(request: SimRequest) -> SimRequest:
    """Before the response starts: a real model counts the prompt with its own tokenizer and
    refuses one that does not fit (a 400, not a broken stream). The simulated model: as is."""
    source = source_for(request)
    if source is None:
        return request
    asked = request.features.first_param()
    if asked is not None:
        raise RequestError(
            f"The real local model ({source.model_id}) does not support {asked!r} (tools, "
            "Structured Outputs and reasoning are simulated only): send model='kit-sim-1' "
            "for the simulated model, or run this cell against the real API.",
            param=asked,
            code="unsupported_parameter",
        )
    return await source.admit(request)


def source_for(request: SimRequest) -> ModelSource | None:
    """Who answers: the server's model source, except that `model="kit-sim-1"` always gets the
    simulated model, so a server running a real model keeps a working model even if that one's
    process keeps dying."""
    if request.model == MODEL_ID:
        return None
    return request.simulation.model_source

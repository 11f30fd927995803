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

from helpers.server.model.simulated import MODEL_ID, Answer, answer_prompt
from helpers.server.model.source import (
    Generation,
    ModelSource,
    SimRequest,
    Simulation,
    StreamFailed,
)

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


async def admit(request: SimRequest) -> SimRequest:
    """Before the response starts: a real model counts the prompt with its own tokenizer and
    refuses one that does not fit (a 400, not a broken stream). The simulated model: as is."""
    source = source_for(request)
    return request if source is None else await source.admit(request)


def source_for(request: SimRequest) -> ModelSource | None:
    """Who answers: the server's model source, except that `model="kit-sim-1"` always gets the
    simulated model, so a server running a real model keeps a working model even if that one's
    process keeps dying."""
    if request.model == MODEL_ID:
        return None
    return request.simulation.model_source

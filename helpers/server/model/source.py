"""Layer: model (the bottom). May import: other helpers.server.model modules, nothing above.

The seam between the server and whatever writes the answer: the simulated model or a real one.
What a model is asked (`SimRequest`, with its `Simulation` settings), what it reports back
(`Generation`), and how it says no (`RequestError` before the answer starts, `StreamFailed`
after). The dialects build a `SimRequest` from a request body; the models only read it.

The server turns every answer into OpenAI-shaped events in one place (`helpers.server.dialects`),
so the Responses and Chat Completions shapes cannot drift apart between models. What differs
between models is only where the text comes from and what it cost, and that is all a source
provides:

- `admit(request)`: check and cost the prompt *before* any response starts, so a prompt that
  cannot be answered gets an ordinary 400 error instead of a stream that breaks off;
- `generate(request, generation)`: the answer as an async iterator of text pieces, filling in
  `generation` (real token counts, how it ended) as it goes.

`None` as a source means the built-in simulated model. `helpers.server.model.real` is the other
one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from helpers.server.model.simulated import LatencyProfile
from helpers.server.model.tool_use import Features


class RequestError(Exception):
    """A problem with the request, reported to the client as OpenAI-shaped error JSON."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        param: str | None = None,
        code: str | None = None,
        type: str = "invalid_request_error",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message, self.status, self.param = message, status, param
        self.code, self.type, self.headers = code, type, headers or {}

    def body(self) -> dict[str, Any]:
        """The JSON the OpenAI API sends for an error; the SDK reads `error.message` from it."""
        error = {"message": self.message, "type": self.type, "param": self.param, "code": self.code}
        return {"error": error}


@dataclass(frozen=True)
class Simulation:
    """Server-wide simulation settings; a request's `simulation` object overrides them."""

    latency: LatencyProfile = field(default_factory=LatencyProfile)
    seed: int = 0
    fault: str | None = None
    fault_after: int = 5
    stall_seconds: float = 3600.0
    retry_after_ms: int = 200
    # Seconds of silence after which the SSE transport sends a `: keep-alive` comment (None: never).
    heartbeat: float | None = None
    # Who writes the answers: None = the simulated model; else a real one (model.real),
    # which ignores the latency settings (its timing is its own); faults apply to both.
    model_source: ModelSource | None = field(default=None, compare=False)


@dataclass(frozen=True)
class SimRequest:
    """One checked request: the prompt text, its token count and how to answer it."""

    api: str  # "responses", "chat" or "messages" (Anthropic)
    model: str
    prompt: str  # the last user message: what the simulated model "answers"
    input_tokens: int
    stream: bool
    max_tokens: int | None
    simulation: Simulation
    include_usage: bool = False  # chat only: stream_options.include_usage
    # stream_options.include_obfuscation (default true): pad each streamed delta (Responses) or
    # chunk (Chat) with an `obfuscation` field, as the real API does.
    obfuscation: bool = True
    include: tuple[str, ...] = ()  # responses only: e.g. "reasoning.encrypted_content"
    instructions: str | None = None  # responses only: echoed back like the real API
    messages: tuple[tuple[str, str], ...] = ()  # (role, text) of the whole conversation
    # Tools, an output schema, reasoning (helpers.server.model.tool_use); default: plain text.
    features: Features = field(default_factory=Features)
    # Request fields a Response echoes back (tools, tool_choice, text, reasoning, ...).
    echo: dict[str, Any] = field(default_factory=dict, compare=False)
    # Event-loop time the request arrived: the schedule starts here, so the server's own
    # parsing time is part of the TTFT instead of being added to it. None = when streaming starts.
    received_at: float | None = None
    # Counts the tokens generated (and those after the client left), if the app asked for it.
    tally: TokenTally | None = field(default=None, compare=False)


@dataclass
class TokenTally:
    """How many tokens one answer generated, and how many of them after its client hung up.

    On the local server only (lesson 13): a real API bills what it generated until it noticed the
    hang-up; this is the number a relay that does not pass its own client's hang-up on drives up.
    The transport calls `client_left()` when it sees the hang-up; the model counts every token.
    """

    generated: int = 0
    at_hangup: int | None = None  # `generated` when the client left; None while it is there

    def client_left(self) -> None:
        if self.at_hangup is None:
            self.at_hangup = self.generated

    @property
    def after_hangup(self) -> int:
        return 0 if self.at_hangup is None else self.generated - self.at_hangup

    def as_dict(self) -> dict[str, Any]:
        return {
            "generated": self.generated,
            "client_left": self.at_hangup is not None,
            "generated_before_client_left": self.at_hangup,
            "generated_after_client_left": self.after_hangup,
        }


@dataclass
class Generation:
    """Usage and end of one answer, written by its source while it streams, read at the end."""

    output_tokens: int = 0
    cached_tokens: int = 0  # prompt tokens whose work was reused from an earlier request
    truncated: bool = False  # stopped by max tokens (or the context window), not by the model
    reasoning_tokens: int = 0  # hidden thinking, also counted in output_tokens


class StreamFailed(Exception):
    """The model failed after the stream began; each API reports it in its own error shape."""


class ModelSource(Protocol):
    """Where answers come from when they do not come from the simulated model."""

    model_id: str

    async def admit(self, request: SimRequest) -> SimRequest:
        """The request with its real prompt token count; RequestError if it cannot be answered."""
        ...

    def generate(self, request: SimRequest, generation: Generation) -> AsyncIterator[str]:
        """The answer's text pieces, as soon as each exists; stops when the iterator is closed."""
        ...

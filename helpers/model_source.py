"""The seam between the server and whatever writes the answer: the simulated model or a real one.

The server turns every answer into OpenAI-shaped events in one place (`helpers.sim_events`), so
the Responses and Chat Completions shapes cannot drift apart between models. What differs
between models is only where the text comes from and what it cost, and that is all a source
provides:

- `admit(request)`: check and cost the prompt *before* any response starts, so a prompt that
  cannot be answered gets an ordinary 400 error instead of a stream that breaks off;
- `generate(request, generation)`: the answer as an async iterator of text pieces, filling in
  `generation` (real token counts, how it ended) as it goes.

`None` as a source means the built-in simulated model. `helpers.real_model` is the other one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from helpers.sim_requests import SimRequest


@dataclass
class Generation:
    """Usage and end of one answer, written by its source while it streams, read at the end."""

    output_tokens: int = 0
    cached_tokens: int = 0  # prompt tokens whose work was reused from an earlier request
    truncated: bool = False  # stopped by max tokens (or the context window), not by the model


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

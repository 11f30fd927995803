"""Layer: dialects. May import: helpers.server.model, other dialects modules. No I/O.

The `obfuscation` field the real OpenAI streams carry (from 2025-08 on): random `[A-Za-z0-9]`
characters that hide each delta's length from someone who can only see encrypted packet sizes.

Measured on real recordings (data/real_streams/README.md, fact sheet): in the Responses API it
is on every `*.delta` event and nowhere else, and `len(delta) + len(obfuscation)` is always a
multiple of 16 code points (0-15 characters); in Chat Completions it is a top-level field of
every chunk (the usage chunk too), 0-15 characters, with no exact rule (most real chunks pad the
`choices` JSON to a multiple of 16, which is what this module does). A client asks for none with
`stream_options: {"include_obfuscation": false}`; background streams had none.

Why seeded: the same request gets the same characters, so saved notebook outputs stay
comparable (nbval); the real values are random, and a client must never read them.
"""

from __future__ import annotations

import json
import random
import string
from typing import Any

from helpers.server.model.source import SimRequest

_ALPHABET = string.ascii_letters + string.digits
BLOCK = 16


class Obfuscation:
    """The padding of one stream, drawn from a generator seeded by the request."""

    def __init__(self, request: SimRequest) -> None:
        seed = f"{request.simulation.seed}|{request.api}|{request.model}|{request.prompt}"
        self._random = random.Random(seed)

    def _chars(self, length: int) -> str:
        return "".join(self._random.choices(_ALPHABET, k=(-length) % BLOCK))

    def for_delta(self, delta: str) -> str:
        """Responses: pads the delta to a whole number of 16-character blocks."""
        return self._chars(len(delta))

    def for_chunk(self, choices: list[dict[str, Any]]) -> str:
        """Chat: pads the chunk's compact `choices` JSON to a whole number of 16-blocks."""
        return self._chars(len(json.dumps(choices, ensure_ascii=False, separators=(",", ":"))))


def obfuscation_for(request: SimRequest) -> Obfuscation | None:
    """None when the request turned it off (or is not streamed: no deltas to pad)."""
    return Obfuscation(request) if request.obfuscation and request.stream else None

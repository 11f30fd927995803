"""Layer: dialects. May import: helpers.server.model, other dialects modules. No I/O.

What the Responses and Chat Completions dialects share: the event type and the ids.
An event is a `(event_type, payload)` pair; the transport decides how it travels.
"""

from __future__ import annotations

import secrets
from typing import Any

Event = tuple[str, dict[str, Any]]


def new_id(prefix: str) -> str:
    """Random ids like the real API's ("resp_…", "msg_…", "chatcmpl-…"); notebooks mask them."""
    return prefix + secrets.token_hex(12)

"""Layer: dialects. May import: helpers.server.model, other dialects modules. No I/O.

What the Responses and Chat Completions dialects share: the event type and the ids.
An event is a `(event_type, payload)` pair; the transport decides how it travels.
"""

from __future__ import annotations

import secrets
from typing import Any

from helpers.server.model.source import RequestError

Event = tuple[str, dict[str, Any]]


def new_id(prefix: str) -> str:
    """Random ids like the real API's ("resp_…", "msg_…", "chatcmpl-…"); notebooks mask them."""
    return prefix + secrets.token_hex(12)


class IssuedIds:
    """The response ids this server has handed out, newest `limit` kept.

    Why: the real API stores every response (`store` defaults to true), so a later request may
    name one in `previous_response_id`, and an id it never issued is a 400. The local server
    keeps no conversations, only the ids, so it can refuse what the real API refuses.
    """

    def __init__(self, limit: int = 100_000) -> None:
        self.limit = limit
        self._ids: dict[str, None] = {}

    def add(self, response_id: str) -> None:
        self._ids[response_id] = None
        if len(self._ids) > self.limit:
            del self._ids[next(iter(self._ids))]

    def __contains__(self, response_id: object) -> bool:
        return response_id in self._ids

    def check_previous(self, body: dict[str, Any]) -> None:
        """Refuse a `previous_response_id` this server never issued, as the real API does."""
        previous = body.get("previous_response_id")
        if previous is not None and previous not in self:
            raise RequestError(
                f"Previous response with id '{previous}' not found.",
                param="previous_response_id",
                code="previous_response_not_found",
            )

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


class ReasoningLinks:
    """Which reasoning item each function call this server issued belongs to, newest `limit`.

    Why: a reasoning model's `function_call` item (`fc_…`) is tied to the `reasoning` item
    (`rs_…`) before it in the same response. Sent back in `input` with its `id` but without that
    reasoning item, the real API refuses it: "Item 'fc_…' of type 'function_call' was provided
    without its required 'reasoning' item: 'rs_…'.", 400, `param: "input"`, `code: null` (as
    quoted in 0xPlaygrounds/rig#751, cline/cline#12242, continuedev/continue#10018). A call sent
    without its `id` is a fresh item the API does not pair (laravel/ai#1052), and with
    `previous_response_id` the server has the reasoning already. The reasoning item must be the
    last one before the call: "reasoning A, reasoning B, call A, call B" is refused too
    (TanStack/ai#1365). Kept whatever `store` says: with `store: false` a client sends the
    reasoning item back with its `encrypted_content`.
    """

    def __init__(self, limit: int = 100_000) -> None:
        self.limit = limit
        self._reasoning_of: dict[str, str] = {}

    def add(self, call_item_id: str, reasoning_item_id: str) -> None:
        self._reasoning_of[call_item_id] = reasoning_item_id
        if len(self._reasoning_of) > self.limit:
            del self._reasoning_of[next(iter(self._reasoning_of))]

    def reasoning_of(self, call_item_id: str) -> str | None:
        return self._reasoning_of.get(call_item_id)

    def check(self, body: dict[str, Any]) -> None:
        """Refuse a call item sent back without the reasoning item it needs, as the API does."""
        items = body.get("input")
        if body.get("previous_response_id") is not None or not isinstance(items, list):
            return
        last_reasoning = None
        for item in items:
            if not isinstance(item, dict):
                continue
            if item.get("type") == "reasoning":
                last_reasoning = item.get("id")
            elif item.get("type") == "function_call":
                needed = self._reasoning_of.get(str(item.get("id")))
                if needed is not None and needed != last_reasoning:
                    raise RequestError(
                        f"Item '{item['id']}' of type 'function_call' was provided without its "
                        f"required 'reasoning' item: '{needed}'.",
                        param="input",
                    )

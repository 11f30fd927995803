"""Layer: dialects. May import: helpers.server.model, other dialects modules. No I/O.

The output items of one Responses stream, opened and closed as the model's pieces arrive: a
`reasoning` item (its summary streamed as `response.reasoning_summary_text.delta`), one
`function_call` item per call (`response.function_call_arguments.delta`), or a `message`: its
`output_text` part or, when the model refuses under Structured Outputs (model.refusal), a
`refusal` part (`response.refusal.delta` events, then `response.refusal.done`; the fields are
the openai SDK's `ResponseRefusalDeltaEvent` / `ResponseRefusalDoneEvent`: no recording of
one was found).
A summary in several parts streams each part whole before the next (`summary_index` 0, 1, ...:
`reasoning_summary_part.added`, text deltas, `.done`, `part.done`), as o3-mini's do
(data/real_streams/openai-responses-reasoning-2.sse).

Why a state machine: each item must be announced (`response.output_item.added`) before its
first delta and closed (`.done` events, then `response.output_item.done`) before the next item
opens, each with its own `output_index`. Items never interleave here: call 0's arguments all
arrive before call 1 is opened (the real API may interleave; a client keyed by `output_index`
or `item_id` handles both). Every shape follows the openai SDK's models in
`openai/types/responses/`, which the tests parse the events with.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from typing import Any

from helpers.server.dialects.common import ReasoningLinks, new_id
from helpers.server.model.tool_use import Plan

Fields = tuple[str, dict[str, Any]]  # an event type and its fields, without sequence_number


def text_part(text: str) -> dict[str, Any]:
    """An `output_text` content part, as carried by content_part events and message items."""
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def encrypted_content(output_index: int, text: str) -> str:
    """A stand-in for the opaque reasoning state the real API returns with
    `include: ["reasoning.encrypted_content"]` (a Fernet token, "gAAAAAB..."): a client only
    stores it and sends it back. Derived from the summary so the same request gets the same."""
    digest = hashlib.sha256(f"{output_index}|{text}".encode()).digest()
    return "gAAAAAB" + base64.urlsafe_b64encode(digest * 6).decode().rstrip("=")


def refusal_part(refusal: str) -> dict[str, Any]:
    """A `refusal` content part (the SDK's ResponseOutputRefusal): the model declined."""
    return {"type": "refusal", "refusal": refusal}


def message_item(
    message_id: str, status: str, text: str | None, refused: bool = False
) -> dict[str, Any]:
    content = [] if text is None else [refusal_part(text) if refused else text_part(text)]
    return {
        "id": message_id,
        "type": "message",
        "status": status,
        "role": "assistant",
        "content": content,
    }


@dataclass
class _Item:
    kind: str  # "reasoning", "call", "text" or "refusal" (a message either way)
    index: int  # the call's number within the plan (0 for the others)
    output_index: int
    item_id: str
    pieces: list[str] = field(default_factory=list)  # a reasoning item: its current part's
    call_id: str = ""
    name: str = ""
    status: str = "in_progress"
    encrypted: bool = False  # include: ["reasoning.encrypted_content"] asked for it
    parts: list[str] = field(default_factory=list)  # a reasoning item's finished summary parts

    def summary_texts(self) -> list[str]:
        return [*self.parts, "".join(self.pieces)] if self.pieces else list(self.parts)

    def snapshot(self, status: str) -> dict[str, Any]:
        text = "".join(self.pieces)
        if self.kind == "reasoning":
            texts = self.summary_texts()
            summary = [{"type": "summary_text", "text": part} for part in texts]
            item: dict[str, Any] = {"id": self.item_id, "type": "reasoning"}
            if self.encrypted:
                item["encrypted_content"] = encrypted_content(self.output_index, "".join(texts))
            # No `status`: real reasoning items carry none (openai-responses-reasoning-2.sse).
            return {**item, "summary": summary}
        if self.kind == "call":
            return {
                "id": self.item_id, "type": "function_call", "status": status,
                "call_id": self.call_id, "name": self.name, "arguments": text,
            }
        return message_item(self.item_id, status, text if status != "in_progress" else None,
                            refused=self.kind == "refusal")


def _where(item: _Item) -> dict[str, Any]:
    where: dict[str, Any] = {"item_id": item.item_id, "output_index": item.output_index}
    if item.kind in ("text", "refusal"):
        where["content_index"] = 0
    if item.kind == "reasoning":
        where["summary_index"] = len(item.parts)
    return where


def _part_closing(item: _Item) -> list[Fields]:
    """The `.done` events of a reasoning item's current summary part; it joins `parts`."""
    if not item.pieces:
        return []
    text, where = "".join(item.pieces), _where(item)
    part = {"type": "summary_text", "text": text}
    item.parts.append(text)
    item.pieces = []
    return [
        ("response.reasoning_summary_text.done", {**where, "text": text}),
        ("response.reasoning_summary_part.done", {**where, "part": part}),
    ]


def _closing(item: _Item, status: str) -> list[Fields]:
    """An item's `.done` events, then `response.output_item.done` with its final snapshot."""
    item.status = status
    text, where = "".join(item.pieces), _where(item)
    events: list[Fields] = []
    if item.kind == "reasoning":
        events += _part_closing(item)
    elif item.kind == "call":
        events.append(("response.function_call_arguments.done", {**where, "arguments": text}))
    elif item.kind == "text":
        events += [
            ("response.output_text.done", {**where, "text": text, "logprobs": []}),
            ("response.content_part.done", {**where, "part": text_part(text)}),
        ]
    elif item.kind == "refusal":
        events += [
            ("response.refusal.done", {**where, "refusal": text}),
            ("response.content_part.done", {**where, "part": refusal_part(text)}),
        ]
    done = {"output_index": item.output_index, "item": item.snapshot(status)}
    return [*events, ("response.output_item.done", done)]


class OutputItems:
    """The items of one response so far; each method returns the events to send, in order."""

    def __init__(
        self, plan: Plan, reasoning: bool, encrypted: bool = False,
        links: ReasoningLinks | None = None,
    ) -> None:
        self.plan, self.encrypted, self.links = plan, encrypted, links
        self._opening: list[Fields] = []
        self.items: list[_Item] = []
        self.open: _Item | None = None
        if reasoning:
            self._opening = self._start("reasoning", 0)
        elif not plan.calls:  # plain text (or a refusal): the message opens at once
            self._opening = self._start("refusal" if plan.refusal == "part" else "text", 0)

    def opening(self) -> list[Fields]:
        """Events before the first piece (a reasoning item, or the message of a plain answer)."""
        events, self._opening = self._opening, []
        return events

    def _start(self, kind: str, index: int) -> list[Fields]:
        prefix = {"reasoning": "rs_", "call": "fc_", "text": "msg_", "refusal": "msg_"}[kind]
        item = _Item(kind, index, len(self.items), new_id(prefix),
                     encrypted=self.encrypted and kind == "reasoning")
        if kind == "call":
            item.call_id, item.name = new_id("call_"), self.plan.calls[index].name
            reasoning = [it for it in self.items if it.kind == "reasoning"]
            if reasoning and self.links is not None:  # the call needs that reasoning item
                self.links.add(item.item_id, reasoning[-1].item_id)
        self.items.append(item)
        self.open = item
        events: list[Fields] = [(
            "response.output_item.added",
            {"output_index": item.output_index, "item": item.snapshot("in_progress")},
        )]
        if kind in ("text", "refusal"):
            part = text_part("") if kind == "text" else refusal_part("")
            events.append(("response.content_part.added", {**_where(item), "part": part}))
        return events

    def _summary_started(self, item: _Item) -> list[Fields]:
        part = {"type": "summary_text", "text": ""}
        return [("response.reasoning_summary_part.added", {**_where(item), "part": part})]

    def piece(self, kind: str, index: int, text: str) -> list[Fields]:
        """One piece from the model: open its item if needed, then its delta event."""
        events: list[Fields] = []
        item = self.open
        same = item is not None and item.kind == ("reasoning" if kind == "summary" else kind)
        if not same or (item is not None and kind != "summary" and item.index != index):
            events += self.close()
            events += self._start(kind, index)
            item = self.open
        assert item is not None
        if kind == "summary" and index > len(item.parts) and item.pieces:
            events += _part_closing(item)  # summary part `index` begins
        if kind == "summary" and not item.pieces:
            events += self._summary_started(item)
        item.pieces.append(text)
        delta_type = {
            "summary": "response.reasoning_summary_text.delta",
            "call": "response.function_call_arguments.delta",
            "text": "response.output_text.delta",
            "refusal": "response.refusal.delta",
        }[kind]
        fields = {**_where(item), "delta": text}
        if kind == "text":
            fields["logprobs"] = []
        return [*events, (delta_type, fields)]

    def close(self, status: str = "completed") -> list[Fields]:
        """Close the open item: its `.done` events, then `response.output_item.done`."""
        item, self.open = self.open, None
        return [] if item is None else _closing(item, status)

    def output(self, open_status: str = "incomplete") -> list[dict[str, Any]]:
        """Every item as the final Response lists it (one still open is cut short)."""
        return [item.snapshot(open_status if item is self.open else item.status)
                for item in self.items]


# --------------------------------------------------------------------------- a stream cut off

_KINDS = {"message": "text", "function_call": "call", "reasoning": "reasoning"}
_DELTAS = ("response.output_text.delta", "response.function_call_arguments.delta",
           "response.reasoning_summary_text.delta", "response.refusal.delta")


@dataclass
class SoFar:
    """What a stream has said so far, read from its events: enough to close it cleanly when it
    is cut off (a cancelled background response), whatever item was open."""

    response: dict[str, Any] | None = None
    added: dict[int, dict[str, Any]] = field(default_factory=dict)
    done: dict[int, dict[str, Any]] = field(default_factory=dict)
    pieces: dict[int, list[str]] = field(default_factory=dict)
    refusals: set[int] = field(default_factory=set)  # messages whose part is a refusal
    next_seq: int = 0

    def note(self, event_type: str, payload: dict[str, Any]) -> None:
        self.next_seq = payload["sequence_number"] + 1
        if event_type == "response.created":
            self.response = payload["response"]
        elif event_type == "response.output_item.added":
            self.added[payload["output_index"]] = payload["item"]
        elif event_type == "response.output_item.done":
            self.done[payload["output_index"]] = payload["item"]
        elif event_type == "response.content_part.added" and payload["part"]["type"] == "refusal":
            self.refusals.add(payload["output_index"])
        elif event_type in _DELTAS:
            self.pieces.setdefault(payload["output_index"], []).append(payload["delta"])

    def close_open(self, status: str) -> list[Fields]:
        """Close every item that was added and not done; they join `done`."""
        events: list[Fields] = []
        for index in sorted(set(self.added) - set(self.done)):
            raw = self.added[index]
            kind = "refusal" if index in self.refusals else _KINDS.get(raw["type"], "text")
            item = _Item(kind, 0, index, raw["id"],
                         list(self.pieces.get(index, [])), raw.get("call_id", ""),
                         raw.get("name", ""))
            closing = _closing(item, status)
            self.done[index] = closing[-1][1]["item"]
            events += closing
        return events

    def output(self) -> list[dict[str, Any]]:
        return [self.done[index] for index in sorted(self.done)]

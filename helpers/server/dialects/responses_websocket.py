"""Layer: dialects. May import: helpers.server.model, other dialects modules. No I/O.

The Responses API WebSocket protocol as plain data: parse client events, build server events.

Sans-IO on purpose: nothing here touches a socket or a clock, so each message shape can be
tested (and shown in a lesson) on its own. The transport that sends these dicts is
``helpers.server.transport.websocket``.

Client events (JSON text frames): ``response.create`` (the body of ``POST /v1/responses``, with
``stream`` implied) and ``response.steer`` (queue user input into a running response). Server
events: the usual ``response.*`` stream events, ``response.steer.accepted`` / ``.failed``, and
``error`` for a message the server cannot act on. The shapes follow the official SDK's models
(``openai.types.responses.responses_server_event``), which the tests validate against.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from helpers.server.dialects.responses import FIXED_RESPONSE_FIELDS, text_part

CREATE = "response.create"
STEER = "response.steer"
CLIENT_EVENT_TYPES = (CREATE, STEER)


def new_id(prefix: str) -> str:
    """An id shaped like the real API's (``resp_…``, ``msg_…``, ``steer_…``)."""
    return f"{prefix}_{secrets.token_hex(12)}"


# --- client events ------------------------------------------------------------------------------


class ProtocolError(ValueError):
    """A client message the server cannot act on; becomes an ``error`` event, not a disconnect."""

    def __init__(self, code: str, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.param = code, message, param


@dataclass(frozen=True)
class CreateEvent:
    """``response.create``: the request body, minus the envelope fields."""

    body: dict[str, Any]


@dataclass(frozen=True)
class SteerEvent:
    """``response.steer``: input to queue into the response named by previous_response_id."""

    input: Any
    previous_response_id: str


def _decode_text(raw: str | bytes) -> str:
    """Frames must be UTF-8 JSON; name the first bad byte instead of a bare decode error."""
    if isinstance(raw, str):
        return raw
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = raw[exc.start : exc.end]
        raise ProtocolError(
            "invalid_json", f"message is not UTF-8: byte(s) {bad!r} at offset {exc.start}"
        ) from None


def parse_client_event(raw: str | bytes) -> CreateEvent | SteerEvent:
    """Parse one client frame, or raise ProtocolError saying exactly what is wrong with it."""
    text = _decode_text(raw)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        excerpt = text[max(0, exc.pos - 10) : exc.pos + 10]
        raise ProtocolError(
            "invalid_json", f"malformed JSON at offset {exc.pos} ({exc.msg}) near {excerpt!r}"
        ) from None
    if not isinstance(data, dict):
        raise ProtocolError("invalid_event", f"an event must be a JSON object, got {text!r:.60}")
    event_type = data.get("type")
    if event_type is None:
        raise ProtocolError("missing_required_parameter", "the event has no 'type'", "type")
    if event_type not in CLIENT_EVENT_TYPES:
        raise ProtocolError(
            "unknown_event_type",
            f"unknown event type {event_type!r}; expected one of {list(CLIENT_EVENT_TYPES)}",
            "type",
        )
    if event_type == STEER:
        return _parse_steer(data)
    return _parse_create(data)


def _parse_steer(data: dict[str, Any]) -> SteerEvent:
    target = data.get("previous_response_id")
    if not isinstance(target, str) or not target:
        raise ProtocolError(
            "missing_required_parameter",
            "response.steer needs 'previous_response_id' (the id of the running response)",
            "previous_response_id",
        )
    return SteerEvent(input=data.get("input"), previous_response_id=target)


def _parse_create(data: dict[str, Any]) -> CreateEvent:
    """The body of a POST /v1/responses, minus the WebSocket mode's own fields.

    `generate: false` (prepare state, no output) and `stream_id` (parallel lanes on one socket)
    are refused as not supported yet, rather than ignored: one response at a time here.
    """
    body = {k: v for k, v in data.items() if k not in ("type", "stream")}
    if body.get("background"):
        raise ProtocolError(
            "invalid_value", "background is not supported over WebSocket", "background"
        )
    if body.get("generate", True) is not True or "stream_id" in body:
        param = "stream_id" if "stream_id" in body else "generate"
        raise ProtocolError(
            "unsupported_parameter",
            f"The local server does not support '{param}' over WebSocket yet "
            f"(value {body[param]!r:.40}).",
            param,
        )
    body.pop("generate", None)
    return CreateEvent(body)  # the fields are checked like POST /v1/responses, by the server


# --- server events ------------------------------------------------------------------------------


@dataclass
class ResponseState:
    """What one response has said so far; the events below are snapshots of it."""

    id: str
    model: str
    created_at: int
    input_tokens: int
    previous_response_id: str | None = None
    instructions: str | None = None
    max_output_tokens: int | None = None
    item_id: str = field(default_factory=lambda: new_id("msg"))
    tokens: list[str] = field(default_factory=list)
    status: str = "in_progress"
    incomplete_reason: str | None = None

    @property
    def text(self) -> str:
        return "".join(self.tokens)

    def message_item(self) -> dict[str, Any]:
        item_status = "in_progress" if self.status == "in_progress" else (
            "completed" if self.status == "completed" else "incomplete"
        )
        return {
            "id": self.item_id,
            "type": "message",
            "role": "assistant",
            "status": item_status,
            "content": [self.text_part()],
        }

    def text_part(self) -> dict[str, Any]:
        return text_part(self.text)

    def snapshot(self) -> dict[str, Any]:
        """The ``response`` object, shaped like ``openai.types.responses.Response``."""
        done = self.status != "in_progress"
        return {
            **FIXED_RESPONSE_FIELDS,
            "id": self.id,
            "created_at": self.created_at,
            "status": self.status,
            "model": self.model,
            "output": [self.message_item()] if done else [],
            "previous_response_id": self.previous_response_id,
            "incomplete_details": (
                {"reason": self.incomplete_reason} if self.status == "incomplete" else None
            ),
            "instructions": self.instructions,
            "max_output_tokens": self.max_output_tokens,
            "usage": self.usage() if done else None,
        }

    def usage(self) -> dict[str, Any]:
        return {
            "input_tokens": self.input_tokens,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": len(self.tokens),
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": self.input_tokens + len(self.tokens),
        }


def response_event(event_type: str, state: ResponseState, seq: int) -> dict[str, Any]:
    """``response.created`` / ``.in_progress`` / ``.completed`` / ``.incomplete``."""
    return {"type": event_type, "sequence_number": seq, "response": state.snapshot()}


def opening_events(state: ResponseState, first_seq: int) -> list[dict[str, Any]]:
    """Everything before the first text delta: the response, its message item, its text part."""
    events = [
        response_event("response.created", state, first_seq),
        response_event("response.in_progress", state, first_seq + 1),
        {
            "type": "response.output_item.added",
            "sequence_number": first_seq + 2,
            "output_index": 0,
            "item": state.message_item(),
        },
        {
            "type": "response.content_part.added",
            "sequence_number": first_seq + 3,
            "output_index": 0,
            "content_index": 0,
            "item_id": state.item_id,
            "part": {"type": "output_text", "text": "", "annotations": [], "logprobs": []},
        },
    ]
    return events


def text_delta_event(state: ResponseState, delta: str, seq: int) -> dict[str, Any]:
    return {
        "type": "response.output_text.delta",
        "sequence_number": seq,
        "output_index": 0,
        "content_index": 0,
        "item_id": state.item_id,
        "delta": delta,
        "logprobs": [],
    }


def closing_events(state: ResponseState, first_seq: int) -> list[dict[str, Any]]:
    """Everything after the last delta; `state.status` must already be final."""
    final_type = "response.completed" if state.status == "completed" else "response.incomplete"
    return [
        {
            "type": "response.output_text.done",
            "sequence_number": first_seq,
            "output_index": 0,
            "content_index": 0,
            "item_id": state.item_id,
            "text": state.text,
            "logprobs": [],
        },
        {
            "type": "response.content_part.done",
            "sequence_number": first_seq + 1,
            "output_index": 0,
            "content_index": 0,
            "item_id": state.item_id,
            "part": state.text_part(),
        },
        {
            "type": "response.output_item.done",
            "sequence_number": first_seq + 2,
            "output_index": 0,
            "item": state.message_item(),
        },
        response_event(final_type, state, first_seq + 3),
    ]


def steer_accepted_event(steer_id: str, target: str, seq: int) -> dict[str, Any]:
    return {
        "type": "response.steer.accepted",
        "sequence_number": seq,
        "steer": {"id": steer_id, "previous_response_id": target},
    }


def steer_failed_event(
    code: str, message: str, *, steer_input: Any, target: str, seq: int, steer_id: str | None = None
) -> dict[str, Any]:
    """Hands the uncommitted input back, so the client can resend it with response.create."""
    steer: dict[str, Any] = {"input": steer_input, "previous_response_id": target}
    if steer_id is not None:
        steer["id"] = steer_id
    return {
        "type": "response.steer.failed",
        "sequence_number": seq,
        "error": {"type": "invalid_request_error", "code": code, "message": message},
        "steer": steer,
    }


def error_event(error: ProtocolError, seq: int, status: int = 400) -> dict[str, Any]:
    return {
        "type": "error",
        "sequence_number": seq,
        "status": status,
        "error": {
            "type": "invalid_request_error",
            "code": error.code,
            "message": error.message,
            "param": error.param,
        },
    }

"""Responses WebSocket message shapes (helpers.server.dialects.responses_websocket), checked against
the SDK's models."""

from __future__ import annotations

import pytest
from openai.types.responses.responses_server_event import ResponsesServerEvent
from pydantic import TypeAdapter

from helpers.server.dialects import responses_websocket as proto

SERVER_EVENT = TypeAdapter(ResponsesServerEvent)


def _state(tokens: list[str], status: str = "in_progress", reason: str | None = None):
    state = proto.ResponseState(
        id="resp_1", model="kit-sim-1", created_at=0, input_tokens=3, previous_response_id="resp_0"
    )
    state.tokens.extend(tokens)
    state.status, state.incomplete_reason = status, reason
    return state


def test_a_steered_response_validates_as_the_sdk_models() -> None:
    state = _state(["Hello", ","])
    events = [*proto.opening_events(state, 0), proto.text_delta_event(state, "Hello", 4)]
    state.status, state.incomplete_reason = "incomplete", "steered"
    events += proto.closing_events(state, 5)
    parsed = [SERVER_EVENT.validate_python(e) for e in events]
    assert [e.sequence_number for e in parsed] == list(range(9))
    final = parsed[-1]
    assert final.type == "response.incomplete"
    assert final.response.incomplete_details.reason == "steered"
    assert final.response.output_text == "Hello,"
    assert final.response.previous_response_id == "resp_0"
    assert final.response.usage.output_tokens == 2


def test_a_completed_response_ends_with_response_completed() -> None:
    state = _state(["Done", "."], status="completed")
    final = SERVER_EVENT.validate_python(proto.closing_events(state, 0)[-1])
    assert (final.type, final.response.status, final.response.incomplete_details) == (
        "response.completed", "completed", None
    )


def test_steer_events_validate() -> None:
    accepted = SERVER_EVENT.validate_python(proto.steer_accepted_event("steer_1", "resp_1", 7))
    assert (accepted.type, accepted.steer.id, accepted.steer.previous_response_id) == (
        "response.steer.accepted", "steer_1", "resp_1"
    )
    failed = SERVER_EVENT.validate_python(
        proto.steer_failed_event("response_not_found", "gone", steer_input="x", target="r", seq=8)
    )
    assert (failed.error.code, failed.steer.input, failed.steer.id) == (
        "response_not_found", "x", None
    )


def test_error_event_validates() -> None:
    error = proto.ProtocolError("unknown_event_type", "nope", "type")
    event = SERVER_EVENT.validate_python(proto.error_event(error, 3))
    assert (event.type, event.status, event.error.code, event.error.param) == (
        "error", 400, "unknown_event_type", "type"
    )


def test_parse_create_and_steer() -> None:
    create = proto.parse_client_event('{"type": "response.create", "model": "m", "input": "hi"}')
    assert create == proto.CreateEvent({"model": "m", "input": "hi"})
    steer = proto.parse_client_event(
        b'{"type": "response.steer", "input": "stop", "previous_response_id": "resp_1"}'
    )
    assert steer == proto.SteerEvent(input="stop", previous_response_id="resp_1")


@pytest.mark.parametrize(
    ("raw", "code", "names"),
    [
        (b'{"type": "response.create", "input": "caf\xe9"}', "invalid_json", r"b'\xe9' at offset"),
        ("{not json", "invalid_json", "offset 1"),
        ("[1, 2]", "invalid_event", "JSON object"),
        ('{"input": "x"}', "missing_required_parameter", "'type'"),
        ('{"type": "response.cancel"}', "unknown_event_type", "'response.cancel'"),
        ('{"type": "response.steer", "input": "x"}', "missing_required_parameter",
         "previous_response_id"),
        ('{"type": "response.create", "input": "x", "background": true}', "invalid_value",
         "background"),
        ('{"type": "response.create", "input": "x", "generate": false}', "unsupported_parameter",
         "'generate'"),
        ('{"type": "response.create", "input": "x", "stream_id": "lane-2"}',
         "unsupported_parameter", "'stream_id'"),
    ],
)
def test_bad_frames_are_named(raw: str | bytes, code: str, names: str) -> None:
    with pytest.raises(proto.ProtocolError) as caught:
        proto.parse_client_event(raw)
    assert caught.value.code == code
    assert names in caught.value.message

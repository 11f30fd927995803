"""helpers.recordings: real bodies decode with the kit's decoder; the comparison reads right."""

from __future__ import annotations

import json

import pytest

from helpers.recordings import (
    RECORDINGS_DIR,
    compare_fields,
    event_kind,
    field_paths,
    load_recording,
    recorded_request,
    recording_bytes,
    sequence,
    side_by_side,
    source_of,
)
from helpers.sse import ServerSentEvent

MANIFEST = json.loads((RECORDINGS_DIR / "manifest.json").read_text(encoding="utf-8"))


def event(kind: str, payload: dict | str) -> ServerSentEvent:
    data = payload if isinstance(payload, str) else json.dumps(payload)
    return ServerSentEvent(event=kind, data=data)


@pytest.mark.parametrize("entry", MANIFEST, ids=lambda entry: entry["file"])
def test_every_recording_decodes_to_json_events(entry):
    events = load_recording(entry["file"])
    assert events
    for e in events:
        if e.data != "[DONE]":
            assert isinstance(e.json(), dict)
    assert recording_bytes(entry["file"].removesuffix(".sse")) == recording_bytes(entry["file"])
    assert entry["repo"] in source_of(entry["file"])


def test_recorded_request_and_its_absence():
    assert recorded_request("openai-chat-text-2")["stream"] is True
    with pytest.raises(KeyError):
        recorded_request("openai-chat-structured-1")


def test_anthropic_padding_and_ping_are_as_sent():
    body = recording_bytes("anthropic-messages-text-1").decode()
    assert 'data: {"type": "ping"}\n' in body
    stop = [e for e in load_recording("anthropic-messages-text-1") if e.event == "message_stop"]
    assert stop[0].json() == {"type": "message_stop"}


def test_field_paths_go_two_levels_and_into_lists():
    payload = {"a": 1, "b": {"c": {"d": 1}}, "l": [{"x": 1}, {"y": 2}]}
    assert field_paths(payload) == {"a", "b", "b.c", "l", "l[].x", "l[].y"}
    assert field_paths(payload, depth=1) == {"a", "b", "l"}


def test_event_kind_refines_by_what_the_event_carries():
    assert event_kind(event("x.added", {"item": {"type": "reasoning"}})) == "x.added[reasoning]"
    assert event_kind(event("message", "[DONE]")) == "[DONE]"
    assert event_kind(event("message", {"choices": []})) == "message"


def test_sequence_collapses_runs_and_side_by_side_aligns():
    real = [event("a", {}), event("d", {}), event("d", {}), event("z", {})]
    local = [event("a", {}), event("r", {}), event("d", {}), event("z", {})]
    assert sequence(real) == ["a", "d x2", "z"]
    lines = side_by_side(sequence(real), sequence(local), width=6)
    assert lines[1:] == ["a      a", "       r", "d x2   d", "z      z"]


def test_compare_fields_names_each_side():
    real = [event("a", {"x": 1, "y": 2}), event("b", {}), event("only", {})]
    local = [event("a", {"x": 1, "z": 3}), event("b", {}), event("new", {})]
    assert compare_fields(real, local) == [
        "a: 1 fields in both; only real: y; only local: z",
        "b: same 0 fields",
        "only: only in the recording",
        "new: only from the local server",
    ]

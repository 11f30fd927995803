"""data/sse_tricky_cases.json: our decoder's and the installed openai SDK's answers to each case.

Shared by tests/test_sse_tricky_cases.py and tests/rerecord.py (which `make lock` runs to record
the SDK's answers again after the lock moved the openai version).
"""

from __future__ import annotations

import json
from pathlib import Path

from openai._streaming import SSEDecoder as OpenAISSEDecoder

from helpers.sse import SSEDecoder

TRICKY_FILE = Path(__file__).resolve().parents[1] / "data" / "sse_tricky_cases.json"


def load() -> dict:
    return json.loads(TRICKY_FILE.read_text("utf-8"))


def chunks_of(case: dict) -> list[bytes]:
    return [chunk.encode("latin-1") for chunk in case["chunks"]]


def ours(chunks: list[bytes]) -> dict:
    decoder = SSEDecoder()
    events = [e for chunk in chunks for e in decoder.feed(chunk)] + decoder.close()
    return {
        "events": [{"event": e.event, "data": e.data, "id": e.id} for e in events],
        "last_event_id": decoder.last_event_id,
        "retry": decoder.retry,
    }


def openai_sdk(chunks: list[bytes]) -> dict:
    """The SDK's answer in the file's format: its events, or the exception it raised."""
    try:
        events = OpenAISSEDecoder().iter_bytes(iter(chunks))
        return {
            "events": [
                {"event": e.event, "data": e.data, "id": e.id, "retry": e.retry} for e in events
            ]
        }
    except Exception as error:  # recorded, not hidden: the file says which exception
        return {"raises": type(error).__name__}


def as_spec_events(answer: dict) -> list[dict] | None:
    """The SDK's events seen the way a browser would name them (None event = "message")."""
    if "raises" in answer:
        return None
    return [
        {"event": e["event"] or "message", "data": e["data"], "id": e["id"] or ""}
        for e in answer["events"]
    ]


def sdk_differs_from_spec(answer: dict, expected: dict) -> bool:
    """Whether the SDK's answer is not the spec's: other events, or a `retry` the spec ignores."""
    retries = {e["retry"] for e in answer.get("events", [])} - {None, expected["retry"]}
    return as_spec_events(answer) != expected["events"] or bool(retries)

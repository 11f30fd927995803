"""POST /v1/responses/{id}/cancel (helpers.server.app.cancel), via the SDK's responses.cancel()."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from openai import OpenAI

from helpers.server import LocalServer
from helpers.server.model.simulated import answer_prompt

MODEL = "kit-sim-1"
QUESTION = "Compare websockets vs SSE"
ANSWER = answer_prompt(QUESTION).tokens


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with LocalServer(ttft=0.02, tokens_per_second=400) as running:
        yield running


@pytest.fixture
def client(server: LocalServer) -> OpenAI:
    return OpenAI(base_url=server.base_url, api_key="k", max_retries=0)


def test_cancel_a_websocket_response_keeps_the_socket(client: OpenAI) -> None:
    with client.responses.connect() as conn:
        conn.send({
            "type": "response.create", "model": MODEL, "input": QUESTION,
            "simulation": {"fault": "stall", "fault_after": 3, "stall_seconds": 30},
        })  # type: ignore[typeddict-unknown-key]
        events: list[Any] = []
        for event in conn:
            events.append(event)
            if event.type == "response.output_text.delta" and event.sequence_number == 6:
                cancelled = client.responses.cancel(events[0].response.id)
            if event.type == "response.incomplete":
                break
        conn.response.create(model=MODEL, input="say hello")
        after = next(e for e in conn if e.type == "response.completed")
    assert cancelled.status == "cancelled"
    final = events[-1].response
    assert (final.status, final.output_text) == ("cancelled", "".join(ANSWER[:3]))
    assert after.response.output_text == "Hello!"


def test_cancel_an_unknown_or_finished_response_is_a_404_naming_it(client: OpenAI) -> None:
    done = client.responses.create(model=MODEL, input="say hello")
    for response_id in ("resp_unknown", done.id):
        with pytest.raises(openai.NotFoundError, match=response_id):
            client.responses.cancel(response_id)


def test_cancel_an_sse_stream_stops_generation(server: LocalServer, client: OpenAI) -> None:
    stream = client.responses.create(
        model=MODEL, input=QUESTION, stream=True,
        extra_body={"simulation": {"fault": "stall", "fault_after": 3, "stall_seconds": 30}},
    )
    deltas = []
    with pytest.raises(openai.APIConnectionError):  # the server ends the body where it was
        for event in stream:
            if event.type == "response.created":
                assert client.responses.cancel(event.response.id).status == "cancelled"
            if event.type == "response.output_text.delta":
                deltas.append(event.delta)
    deadline = time.monotonic() + 5
    while server.live_streams and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.live_streams == 0
    assert len(deltas) < len(ANSWER)

"""POST /v1/responses/{id}/cancel (helpers.server.app.cancel), via the SDK's responses.cancel().

The API reference: only responses created with `background: true` can be cancelled. Streams
that must be interrupted are parked with the `stall` fault, so the cancel lands at a known
token and the expected texts are exact, whatever the timing.
"""

from __future__ import annotations

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
PARK_AFTER_3 = {"simulation": {"fault": "stall", "fault_after": 3, "stall_seconds": 60}}


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with LocalServer(ttft=0.02, tokens_per_second=400) as running:
        yield running


@pytest.fixture
def client(server: LocalServer) -> OpenAI:
    return OpenAI(base_url=server.base_url, api_key="k", max_retries=0)


def test_cancel_a_foreground_stream_is_a_400_and_the_stream_goes_on(client: OpenAI) -> None:
    stream = client.responses.create(model=MODEL, input=QUESTION, stream=True)
    events: list[Any] = []
    for event in stream:
        events.append(event)
        if event.type == "response.created":
            with pytest.raises(openai.BadRequestError, match="background") as refused:
                client.responses.cancel(event.response.id)
    assert refused.value.status_code == 400
    assert refused.value.body["param"] == "response_id"  # type: ignore[index]
    assert events[-1].type == "response.completed"
    assert events[-1].response.output_text == "".join(ANSWER)


def test_cancel_a_websocket_response_is_a_400_and_it_goes_on(client: OpenAI) -> None:
    with client.responses.connect() as conn:
        conn.response.create(model=MODEL, input=QUESTION)
        events: list[Any] = []
        for event in conn:
            events.append(event)
            if event.type == "response.created":
                with pytest.raises(openai.BadRequestError, match="background"):
                    client.responses.cancel(event.response.id)
            if event.type in ("response.completed", "response.incomplete"):
                break
    assert events[-1].type == "response.completed"
    assert events[-1].response.output_text == "".join(ANSWER)


def test_cancel_a_finished_foreground_response_is_the_same_400(client: OpenAI) -> None:
    """Whether the cancel beats the last token or not, a foreground response is refused alike."""
    streamed = list(client.responses.create(model=MODEL, input=QUESTION, stream=True))
    whole = client.responses.create(model=MODEL, input=QUESTION)
    for response_id in (streamed[-1].response.id, whole.id):
        with pytest.raises(openai.BadRequestError, match="background") as refused:
            client.responses.cancel(response_id)
        assert refused.value.body["param"] == "response_id"  # type: ignore[index]
    with client.responses.connect() as conn:
        conn.response.create(model=MODEL, input=QUESTION)
        for event in conn:
            if event.type == "response.completed":
                break
    with pytest.raises(openai.BadRequestError, match="background"):
        client.responses.cancel(event.response.id)  # ended over the WebSocket: the same 400
    with pytest.raises(openai.NotFoundError):
        client.responses.cancel("resp_never_issued")


def test_cancel_a_background_response(server: LocalServer, client: OpenAI) -> None:
    stream = client.responses.create(
        model=MODEL, input=QUESTION, stream=True, background=True, extra_body=PARK_AFTER_3
    )
    events: list[Any] = []
    for event in stream:  # ends normally: the body is not cut
        events.append(event)
        if event.type == "response.created":
            response_id = event.response.id
            assert client.responses.retrieve(response_id).status == "in_progress"
        deltas = [e for e in events if e.type == "response.output_text.delta"]
        if event.type == "response.output_text.delta" and len(deltas) == 3:
            cancelled = client.responses.cancel(response_id)  # the stream is parked here
    shown = "".join(ANSWER[:3])
    assert (cancelled.id, cancelled.status, cancelled.output_text) == (
        response_id, "cancelled", shown
    )
    assert [e.type for e in events[-4:]] == [
        "response.output_text.done", "response.content_part.done", "response.output_item.done",
        "response.incomplete",  # the SDK has no response.cancelled event: see app.cancel
    ]
    final = events[-1].response
    assert (final.status, final.output_text, final.usage.output_tokens) == ("cancelled", shown, 3)
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert client.responses.retrieve(response_id).status == "cancelled"
    assert client.responses.cancel(response_id).status == "cancelled"  # again: the same answer
    assert server.app.state.replay.get(response_id).finished


def test_a_resumed_cancelled_stream_ends_the_same_way(client: OpenAI) -> None:
    stream = client.responses.create(
        model=MODEL, input=QUESTION, stream=True, background=True, extra_body=PARK_AFTER_3
    )
    first = next(iter(stream))
    client.responses.cancel(first.response.id)
    stream.close()
    replayed = list(client.responses.retrieve(first.response.id, stream=True, starting_after=0))
    assert replayed[0].sequence_number == 1
    assert replayed[-1].type == "response.incomplete"
    assert replayed[-1].response.status == "cancelled"


def test_cancel_a_finished_background_response_is_a_400_naming_its_status(client: OpenAI) -> None:
    events = list(
        client.responses.create(model=MODEL, input="say hello", stream=True, background=True)
    )
    response_id = events[-1].response.id
    assert client.responses.retrieve(response_id).status == "completed"
    with pytest.raises(openai.BadRequestError, match="'completed'"):
        client.responses.cancel(response_id)
    assert client.responses.retrieve(response_id).output_text == "Hello!"


def test_cancel_or_retrieve_an_unknown_response_is_a_404_naming_it(client: OpenAI) -> None:
    with pytest.raises(openai.NotFoundError, match="resp_unknown"):
        client.responses.cancel("resp_unknown")
    with pytest.raises(openai.NotFoundError, match="resp_unknown"):
        client.responses.retrieve("resp_unknown")

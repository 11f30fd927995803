"""The Responses WebSocket mode, driven by the official openai SDK over loopback.

`client.responses.connect()` opens ws://127.0.0.1:PORT/v1/responses on the kit's LocalServer.
Steering tests park the stream with the `stall` fault after N tokens, so the steer lands at a
known token and the expected texts are exact, not timing-dependent.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import websockets.sync.client
from openai import AsyncOpenAI, OpenAI
from websockets.exceptions import InvalidStatus

from helpers.server import LocalServer
from helpers.server.model.simulated import answer_prompt, find_canned_answer
from helpers.server.model.steering import rest_of_sentence
from helpers.server.transport import websocket as ws_server

MODEL = "kit-sim-1"
QUESTION = "Compare websockets vs SSE"
ANSWER = answer_prompt(QUESTION).tokens
FINAL = ("response.completed", "response.incomplete", "response.failed")


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with LocalServer(ttft=0.02, tokens_per_second=400, seed=0) as running:
        yield running


@pytest.fixture
def client(server: LocalServer) -> OpenAI:
    return OpenAI(base_url=server.base_url, api_key="test-key", max_retries=0)


def stats(server: LocalServer) -> ws_server.WsStats:
    return server.app.state.ws_stats


def create(conn: Any, text: str, **simulation: Any) -> None:
    """response.create with the kit's `simulation` extension (the SDK passes unknown keys on)."""
    event: dict[str, Any] = {"type": "response.create", "model": MODEL, "input": text}
    if simulation:
        event["simulation"] = simulation
    conn.send(event)


def until_final(conn: Any) -> list[Any]:
    """Events up to and including the next response.completed/incomplete/failed."""
    events = []
    for event in conn:
        events.append(event)
        if event.type in FINAL:
            return events
    raise AssertionError(f"connection closed after {[e.type for e in events]}")


def text_of(events: list[Any]) -> str:
    return "".join(e.delta for e in events if e.type == "response.output_text.delta")


def steer_after(conn: Any, n_deltas: int, steer_text: str) -> list[Any]:
    """Read until n deltas arrived, steer the running response, return everything up to then."""
    events, response_id = [], None
    for event in conn:
        events.append(event)
        if event.type == "response.created":
            response_id = event.response.id
        if sum(e.type == "response.output_text.delta" for e in events) == n_deltas:
            conn.response.steer(input=steer_text, previous_response_id=response_id)
            return events
    raise AssertionError("stream ended before the steer")


def test_create_streams_the_answer(client: OpenAI) -> None:
    with client.responses.connect() as conn:
        conn.response.create(model=MODEL, input=QUESTION)
        events = until_final(conn)
    types = [e.type for e in events]
    assert types[:4] == [
        "response.created", "response.in_progress", "response.output_item.added",
        "response.content_part.added",
    ]
    assert types[-4:] == [
        "response.output_text.done", "response.content_part.done", "response.output_item.done",
        "response.completed",
    ]
    assert text_of(events) == "".join(ANSWER) == events[-1].response.output_text
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert events[-1].response.usage.output_tokens == len(ANSWER)


@pytest.mark.parametrize(
    ("steer_text", "expected_successor"),
    [
        ("shorter, please", "".join(rest_of_sentence(ANSWER[:10], ANSWER[10:]))),
        ("stop", ""),
        # stop *and* an ask: the ask wins, one short sentence (the one in progress)
        ("Stop there and answer in one short sentence.",
         "".join(rest_of_sentence(ANSWER[:10], ANSWER[10:]))),
        ("tell me about chunked encoding instead", find_canned_answer("chunked").answer),  # type: ignore[union-attr]
        ("go on", "".join(ANSWER[10:])),
    ],
)
def test_steer_mid_stream_changes_the_rest_of_the_answer(
    client: OpenAI, steer_text: str, expected_successor: str
) -> None:
    with client.responses.connect() as conn:
        create(conn, QUESTION, fault="stall", fault_after=10, stall_seconds=30)
        before = steer_after(conn, 10, steer_text)
        first = until_final(conn)
        successor = until_final(conn)
    first_id = before[0].response.id
    assert first[0].type == "response.steer.accepted"
    assert first[0].steer.previous_response_id == first_id
    steered = first[-1]
    assert (steered.type, steered.response.incomplete_details.reason) == (
        "response.incomplete", "steered"
    )
    assert steered.response.output_text == "".join(ANSWER[:10])  # where the steer landed
    assert successor[0].type == "response.created"
    assert successor[0].response.previous_response_id == first_id
    assert successor[-1].type == "response.completed"
    assert successor[-1].response.output_text == text_of(successor) == expected_successor


def test_steer_when_idle_fails_cleanly_and_returns_the_input(client: OpenAI) -> None:
    with client.responses.connect() as conn:
        conn.response.create(model=MODEL, input="say hello")
        done = until_final(conn)[-1]
        conn.response.steer(input="shorter", previous_response_id=done.response.id)
        late = conn.recv()
        lost_input = [{"type": "message", "role": "user", "content": "hi"}]
        conn.response.steer(input=lost_input, previous_response_id="resp_x")  # type: ignore[arg-type]
        unknown = conn.recv()
        conn.response.create(model=MODEL, input="say hello")  # the socket is still usable
        again = until_final(conn)[-1]
    assert (late.type, late.error.code, late.steer.input) == (
        "response.steer.failed", "response_already_completed", "shorter"
    )
    assert (unknown.error.code, unknown.steer.previous_response_id) == (
        "response_not_found", "resp_x"
    )
    assert unknown.steer.input[0].content == "hi"  # the input comes back: nothing is lost
    assert again.response.output_text == "Hello!"


def test_two_responses_in_sequence_on_one_connection(client: OpenAI) -> None:
    with client.responses.connect() as conn:
        conn.response.create(model=MODEL, input=QUESTION)
        first = until_final(conn)
        first_id = first[-1].response.id  # an id this server issued (else a 400, as for real)
        conn.response.create(model=MODEL, input="write a haiku", previous_response_id=first_id)
        second = until_final(conn)
    assert first[-1].response.id != second[-1].response.id
    assert text_of(first) == "".join(ANSWER)
    assert text_of(second) == answer_prompt("write a haiku").text
    assert second[-1].response.previous_response_id == first_id


def test_a_second_create_while_streaming_is_refused_and_the_first_goes_on(client: OpenAI) -> None:
    with client.responses.connect() as conn:
        create(conn, QUESTION, fault="stall", fault_after=3, stall_seconds=0.3)
        conn.response.create(model=MODEL, input="say hello")
        events = until_final(conn)
    errors = [e for e in events if e.type == "error"]
    assert [(e.status, e.error.code) for e in errors] == [(409, "response_in_progress")]
    assert events[-1].response.output_text == "".join(ANSWER)


def test_bad_client_events_get_error_events_and_the_connection_stays_usable(
    client: OpenAI,
) -> None:
    with client.responses.connect() as conn:
        conn.send({"type": "response.cancel"})  # type: ignore[arg-type,typeddict-item]
        unknown = conn.recv()
        conn.send_raw('{"type": "response.create", "input": ')
        malformed = conn.recv()
        conn.send_raw(b'{"type": "response.create", "input": "caf\xe9"}')
        not_utf8 = conn.recv()
        conn.send({"type": "response.create", "model": MODEL, "input": 42})  # type: ignore[typeddict-item]
        bad_field = conn.recv()
        conn.response.steer(input=[{"role": "assistant", "content": "x"}], previous_response_id="r")
        bad_steer = conn.recv()
        conn.response.create(model=MODEL, input="say hello")
        done = until_final(conn)[-1]
    assert (unknown.type, unknown.error.code) == ("error", "unknown_event_type")
    assert "response.cancel" in unknown.error.message
    assert (malformed.error.code, malformed.status) == ("invalid_json", 400)
    assert r"b'\xe9'" in not_utf8.error.message
    assert (bad_field.error.param, bad_field.error.code) == ("input", "invalid_type")
    assert (bad_steer.type, bad_steer.error.code) == ("response.steer.failed", "invalid_input")
    assert "input[0]" in bad_steer.error.message
    assert done.response.output_text == "Hello!"


def wait_until(condition: Any, what: str, limit: float = 5.0) -> None:
    """Poll a server-side gauge; the limit only bounds a failing test, it asserts no speed."""
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting for: {what}")
        time.sleep(0.01)


def test_client_disconnect_mid_stream_stops_generation(server: LocalServer) -> None:
    client = OpenAI(base_url=server.base_url, api_key="k")
    baseline_tasks = server.task_count()
    with client.responses.connect() as conn:
        create(conn, QUESTION, tokens_per_second=20)
        for event in conn:
            if event.type == "response.output_text.delta" and event.sequence_number >= 6:
                break
        assert len(stats(server).in_flight) == 1
    wait_until(lambda: not stats(server).in_flight and stats(server).open_connections == 0,
               "the server to drop the response")
    sent = stats(server).tokens_sent
    time.sleep(0.2)  # 4 more tokens would be due by now at 20 tokens/s, if anything still ran
    assert stats(server).tokens_sent == sent < len(ANSWER)
    wait_until(lambda: server.task_count() <= baseline_tasks, "the server's tasks to end")


def test_api_key_is_enforced_on_the_upgrade() -> None:
    with LocalServer(ttft=0.01, tokens_per_second=400, api_key="sekrit") as srv:
        ws_url = srv.base_url.replace("http://", "ws://") + "/responses"
        with pytest.raises(InvalidStatus) as missing:
            websockets.sync.client.connect(ws_url).close()  # no Authorization header
        wrong = OpenAI(base_url=srv.base_url, api_key="wrong")
        with pytest.raises(InvalidStatus) as refused, wrong.responses.connect():
            pass
        # The handshake gets the same OpenAI-shaped 401 as an HTTP request would.
        for raised, message in [(missing, "You didn't provide an API key"), (refused, "Incorrect")]:
            assert raised.value.response.status_code == 401
            error = json.loads(raised.value.response.body)["error"]
            assert error["code"] == "invalid_api_key" and error["message"].startswith(message)
        right = OpenAI(base_url=srv.base_url, api_key="sekrit")
        with right.responses.connect() as conn:
            conn.response.create(model=MODEL, input="say hello")
            assert until_final(conn)[-1].response.output_text == "Hello!"


def test_async_client_steers_too(server: LocalServer) -> None:
    async def run() -> tuple[list[Any], list[Any]]:
        client = AsyncOpenAI(base_url=server.base_url, api_key="k")
        async with client.responses.connect() as conn:
            await conn.send({
                "type": "response.create", "model": MODEL, "input": QUESTION,
                "simulation": {"fault": "stall", "fault_after": 5, "stall_seconds": 30},
            })  # type: ignore[typeddict-unknown-key]
            first: list[Any] = []
            async for event in conn:
                first.append(event)
                deltas = sum(e.type == "response.output_text.delta" for e in first)
                if event.type == "response.output_text.delta" and deltas == 5:
                    running = first[0].response.id
                    await conn.response.steer(input="stop", previous_response_id=running)
                if event.type in FINAL:
                    break
            successor: list[Any] = []
            async for event in conn:
                successor.append(event)
                if event.type in FINAL:
                    break
        return first, successor

    first, successor = asyncio.run(run())
    assert first[-1].response.output_text == "".join(ANSWER[:5])
    assert first[-1].response.incomplete_details.reason == "steered"
    assert successor[-1].type == "response.completed"
    assert successor[-1].response.output_text == ""


def test_sdk_reconnects_after_the_server_drops_the_socket(server: LocalServer) -> None:
    client = OpenAI(base_url=server.base_url, api_key="k")
    attempts: list[Any] = []

    def on_reconnecting(event: Any) -> None:
        """The SDK queues what we send while it reconnects, and flushes it on the new socket."""
        attempts.append(event)
        conn.response.create(model=MODEL, input="say hello")

    manager = client.responses.connect(
        initial_delay=0.01, max_retries=2, on_reconnecting=on_reconnecting
    )
    with manager as conn:
        create(conn, QUESTION, fault="drop", fault_after=3)
        events = until_final(conn)  # 3 deltas, the drop, the reconnect, then the queued create
    assert [a.close_code for a in attempts] == [1011]
    assert text_of(events) == "".join(ANSWER[:3]) + "Hello!"
    assert events[-1].response.output_text == "Hello!"

"""SSE heartbeats: `: keep-alive` comments while a stream is quiet, invisible to every decoder.

Timing here is only ever an order of timers: a heartbeat due after 0.05 s of silence fires
before a first token due after 1 s, however busy the machine is.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import openai
import pytest
from openai import OpenAI

from helpers.reads import timed_reads
from helpers.server import LocalServer
from helpers.server.app.cli import parse_args
from helpers.server.transport.heartbeat import HEARTBEAT
from helpers.sse import SSEDecoder

SLOW_START = {"ttft": 1.0, "tokens_per_second": 200, "jitter": 0}
DELTA = "response.output_text.delta"


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with LocalServer() as running:
        yield running


@pytest.fixture(scope="module")
def client(server: LocalServer) -> OpenAI:
    return OpenAI(base_url=server.base_url, api_key="unused", max_retries=0)


def body(**simulation: object) -> dict:
    return {
        "model": "kit-sim-1",
        "input": "Why stream?",
        "stream": True,
        "max_output_tokens": 16,
        "simulation": {**SLOW_START, **simulation},
    }


def test_comments_on_the_wire_before_the_first_token(server: LocalServer) -> None:
    timeline = timed_reads(server.base_url + "/responses", body(heartbeat=0.05))
    assert HEARTBEAT == b": keep-alive\n"
    assert timeline.comments() >= 2 and timeline.complete
    before_first_token = timeline.body.split(b"event: " + DELTA.encode(), 1)[0]
    assert before_first_token.count(HEARTBEAT) >= 2  # sent while waiting for the first token


def test_off_by_default(server: LocalServer) -> None:
    timeline = timed_reads(server.base_url + "/responses", body())
    assert timeline.comments() == 0 and timeline.complete


def test_the_kits_decoder_ignores_them(server: LocalServer) -> None:
    plain = timed_reads(server.base_url + "/responses", body())
    beating = timed_reads(server.base_url + "/responses", body(heartbeat=0.05))

    def events(raw: bytes) -> list[str]:
        decoder = SSEDecoder()
        return [e.event for e in [*decoder.feed(raw), *decoder.close()]]

    assert beating.comments() >= 2
    assert events(beating.body) == events(plain.body)
    assert len(beating.arrivals(DELTA)) == 16  # max_output_tokens


def test_the_sdk_is_unaffected_responses(client: OpenAI) -> None:
    def run(simulation: dict) -> tuple[list[str], str]:
        stream = client.responses.create(
            model="kit-sim-1",
            input="Why stream?",
            stream=True,
            max_output_tokens=16,
            extra_body={"simulation": {**SLOW_START, **simulation}},
        )
        events = list(stream)
        return [e.type for e in events], events[-1].response.output_text

    assert run({"heartbeat": 0.05}) == run({})


def test_the_sdk_is_unaffected_chat(client: OpenAI) -> None:
    def run(simulation: dict) -> list[str | None]:
        stream = client.chat.completions.create(
            model="kit-sim-1",
            messages=[{"role": "user", "content": "Why stream?"}],
            stream=True,
            max_tokens=8,
            extra_body={"simulation": {**SLOW_START, **simulation}},
        )
        return [c.choices[0].delta.content if c.choices else None for c in stream]

    assert run({"heartbeat": 0.05}) == run({})


def test_server_wide_heartbeat_and_per_request_off() -> None:
    with LocalServer(heartbeat=0.05) as beating:
        on = timed_reads(beating.base_url + "/responses", body())
        off = timed_reads(beating.base_url + "/responses", body(heartbeat=None))
    assert on.comments() >= 2 and off.comments() == 0


@pytest.mark.parametrize(
    ("value", "message"),
    [(0, "must be > 0"), (-1, "must be >= 0"), ("5", "expected a finite number")],
)
def test_bad_heartbeat_is_a_400_naming_the_key(client: OpenAI, value: object, message: str) -> None:
    with pytest.raises(openai.BadRequestError, match=message) as caught:
        client.responses.create(
            model="kit-sim-1",
            input="hi",
            stream=True,
            extra_body={"simulation": {"heartbeat": value}},
        )
    assert caught.value.body["param"] == "simulation.heartbeat"


def test_cli_flag() -> None:
    assert parse_args([]).heartbeat_seconds is None
    assert parse_args(["--heartbeat-seconds", "15"]).heartbeat_seconds == 15.0


def test_a_client_that_leaves_during_heartbeats_stops_the_stream(server: LocalServer) -> None:
    host, port = server.base_url.split("//")[1].split("/")[0].split(":")
    payload = (
        b'{"model":"kit-sim-1","input":"hi","stream":true,'
        b'"simulation":{"ttft":3600,"heartbeat":0.05}}'
    )
    request = (
        f"POST /v1/responses HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    ).encode() + payload
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        seen = b""
        while HEARTBEAT not in seen:
            seen += sock.recv(4096)
        assert server.live_streams == 1
    deadline = time.monotonic() + 10  # a generous bound on a poll, not a measurement
    while server.live_streams and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.live_streams == 0

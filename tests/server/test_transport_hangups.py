"""Clients that hang up mid-answer: the server must stop generating at once and leak nothing."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from helpers.server import LocalServer

ABORTS = 2000
AT_ONCE = 50


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    # Slow tokens: a stream that is not cancelled would stay alive for ~30 s and be counted.
    with LocalServer(ttft=0, tokens_per_second=4, jitter=0) as running:
        yield running


def request_bytes(base_url: str, path: str, body: dict) -> bytes:
    address = urlsplit(base_url)
    payload = json.dumps(body).encode()
    head = (
        f"POST {address.path}{path} HTTP/1.1\r\nHost: {address.netloc}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
    )
    return head.encode() + payload


async def open_then_hang_up(server: LocalServer, raw_request: bytes, wait_for: bytes) -> int:
    """Send a request on a real socket, read until `wait_for` appears, then close abruptly.

    Returns how many streams the server had live just before we hung up.
    """
    address = urlsplit(server.base_url)
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    writer.write(raw_request)
    received = b""
    while wait_for not in received:
        chunk = await reader.read(65536)
        assert chunk, "server closed first"
        received += chunk
    live = server.live_streams
    writer.transport.abort()  # RST, no goodbye: the rudest client
    return live


async def wait_until(condition, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    return condition()


def test_thousands_of_aborted_streams_leave_no_tasks(server: LocalServer) -> None:
    baseline_tasks = server.task_count()
    bodies = [
        (
            "/responses",
            {"model": "m", "input": "What is SSE?", "stream": True},
            b"output_text.delta",
        ),
        (
            "/chat/completions",
            {
                "model": "m",
                "messages": [{"role": "user", "content": "What is SSE?"}],
                "stream": True,
            },
            b'"content":"Server"',
        ),
    ]
    peak_live = 0

    async def run() -> None:
        nonlocal peak_live
        for batch in range(ABORTS // AT_ONCE):
            path, body, marker = bodies[batch % 2]
            raw = request_bytes(server.base_url, path, body)
            seen = await asyncio.gather(
                *(open_then_hang_up(server, raw, marker) for _ in range(AT_ONCE))
            )
            peak_live = max(peak_live, *seen)
        assert await wait_until(lambda: server.live_streams == 0), server.live_streams

    asyncio.run(run())
    assert peak_live > 0  # the gauge really counts streams: they were alive when we looked
    assert server.task_count() <= baseline_tasks


def test_hang_up_during_a_non_streamed_answer(server: LocalServer) -> None:
    async def run() -> None:
        raw = request_bytes(server.base_url, "/responses", {"model": "m", "input": "What is SSE?"})
        address = urlsplit(server.base_url)
        _reader, writer = await asyncio.open_connection(address.hostname, address.port)
        writer.write(raw)
        assert await wait_until(lambda: server.live_streams == 1)
        writer.transport.abort()
        assert await wait_until(lambda: server.live_streams == 0, timeout=2)

    asyncio.run(run())


def test_polite_close_is_noticed_too(server: LocalServer) -> None:
    async def run() -> None:
        raw = request_bytes(
            server.base_url, "/responses", {"model": "m", "input": "What is SSE?", "stream": True}
        )
        address = urlsplit(server.base_url)
        reader, writer = await asyncio.open_connection(address.hostname, address.port)
        writer.write(raw)
        await reader.readuntil(b"response.created")
        assert server.live_streams == 1
        writer.close()
        await writer.wait_closed()
        assert await wait_until(lambda: server.live_streams == 0, timeout=2)

    asyncio.run(run())


def test_aborted_anthropic_streams_stop_generating(server: LocalServer) -> None:
    body = {
        "model": "m",
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": "What is SSE?"}],
        "stream": True,
    }
    raw = request_bytes(server.base_url, "/messages", body)

    async def run() -> list[int]:
        seen = await asyncio.gather(
            *(open_then_hang_up(server, raw, b"text_delta") for _ in range(AT_ONCE))
        )
        assert await wait_until(lambda: server.live_streams == 0), server.live_streams
        return seen

    assert max(asyncio.run(run())) > 0  # they were alive, generating, when we hung up


WEATHER_SCHEMA = {
    "type": "object",
    "properties": {"location": {"type": "string"}},
    "required": ["location"],
    "additionalProperties": False,  # Responses tools are strict by default and require it
}
TOOL_STREAMS = {  # route, body, bytes that show the tool's arguments are streaming
    "responses": (
        "/responses",
        {"model": "m", "input": "What is the weather in Paris and Tokyo?", "stream": True,
         "tools": [{"type": "function", "name": "get_weather", "parameters": WEATHER_SCHEMA}]},
        b"function_call_arguments.delta",
    ),
    "chat": (
        "/chat/completions",
        {"model": "m", "stream": True,
         "messages": [{"role": "user", "content": "What is the weather in Paris and Tokyo?"}],
         "tools": [{"type": "function",
                    "function": {"name": "get_weather", "parameters": WEATHER_SCHEMA}}]},
        b'"arguments":"',
    ),
    "messages": (
        "/messages",
        {"model": "m", "max_tokens": 1024, "stream": True,
         "messages": [{"role": "user", "content": "What is the weather in Paris and Tokyo?"}],
         "tools": [{"name": "get_weather", "input_schema": WEATHER_SCHEMA}]},
        b"input_json_delta",
    ),
}  # fmt: skip


@pytest.mark.parametrize("dialect", sorted(TOOL_STREAMS))
def test_aborted_tool_call_streams_stop_generating(server: LocalServer, dialect: str) -> None:
    """A hang-up while a tool's arguments stream ends the generation as it does for text."""
    path, body, marker = TOOL_STREAMS[dialect]
    # Slower than the fixture: a whole tool stream at 4 tokens/s ends by itself in ~2 s, inside
    # wait_until's 5 s; at 0.5 tokens/s it would stay live for ~20 s unless the hang-up ends it.
    body = {**body, "simulation": {"tokens_per_second": 0.5}}
    raw = request_bytes(server.base_url, path, body)

    async def run() -> list[int]:
        seen = await asyncio.gather(
            *(open_then_hang_up(server, raw, marker) for _ in range(AT_ONCE))
        )
        assert await wait_until(lambda: server.live_streams == 0), server.live_streams
        return seen

    assert max(asyncio.run(run())) > 0  # they were alive, mid-arguments, when we hung up

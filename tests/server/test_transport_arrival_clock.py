"""The server's TTFT clock starts when a request reached the machine, not when a handler ran.

Why it matters: during a burst, requests wait in the kernel's accept queue while the event loop
is busy; a server that timed tokens from its handler would make every token of those streams
late by that wait (see benchmarks/bench_server.py).
"""

from __future__ import annotations

import asyncio
import json
import selectors
import socket
import threading
import time

import pytest

from helpers.server import LocalServer
from helpers.server.transport.arrival_clock import KERNEL_TICK_MS, seconds_since_bytes_arrived

linux_only = pytest.mark.skipif(
    not hasattr(socket, "TCP_INFO"), reason="TCP_INFO (tcpi_last_data_recv) is Linux's"
)


@linux_only
def test_the_kernel_says_how_long_bytes_have_waited() -> None:
    with (
        socket.create_server(("127.0.0.1", 0)) as listener,
        socket.create_connection(listener.getsockname()) as client,
    ):
        accepted, _ = listener.accept()
        with accepted:
            client.sendall(b"POST / HTTP/1.1\r\n")
            time.sleep(0.2)  # the bytes sit in the kernel, unread
            waited = seconds_since_bytes_arrived(accepted)
    assert 0.2 - 2 * KERNEL_TICK_MS / 1000 <= waited <= 0.2 + 0.1


def test_no_tcp_info_means_no_wait() -> None:
    left, right = socket.socketpair()  # a Unix socket: no TCP_INFO
    with left, right:
        assert seconds_since_bytes_arrived(left) == 0.0
    assert seconds_since_bytes_arrived(None) == 0.0


def _block_server_loop(server: LocalServer, seconds: float) -> threading.Event:
    """Freeze the server's event loop (a blocking sleep inside it), as a burst of work would;
    returns once the freeze has begun, with an event set when it ends."""
    started, ended = threading.Event(), threading.Event()

    async def busy() -> None:
        started.set()
        time.sleep(seconds)
        ended.set()

    assert server._loop is not None
    asyncio.run_coroutine_threadsafe(busy(), server._loop)
    assert started.wait(timeout=5)
    return ended


def _post_responses_stream(address: tuple[str, int], ttft: float) -> socket.socket:
    """A streamed /v1/responses request with its own TTFT, written to a raw socket."""
    body = json.dumps(
        {"model": "m", "input": "What is SSE?", "stream": True, "simulation": {"ttft": ttft}}
    ).encode()
    sock = socket.create_connection(address, timeout=60)
    sock.sendall(
        f"POST /v1/responses HTTP/1.1\r\nHost: {address[0]}\r\nAuthorization: Bearer unused\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
    )
    return sock


@linux_only
def test_a_request_that_waited_in_the_queue_keeps_its_ttft() -> None:
    """Stream A (TTFT 300 ms) arrives while the server's loop is frozen for 0.8 s; stream B (TTFT
    150 ms) arrives just after the freeze. Timed from arrival, A's first token is overdue when
    the loop wakes and comes before B's; timed from its handler, it would come 300 ms after the
    wake, after B's. An order, not a threshold: a busy machine delays both streams alike."""
    with LocalServer(tokens_per_second=1000, jitter=0) as server:
        host, port = server.base_url.removesuffix("/v1").removeprefix("http://").split(":")
        address = (host, int(port))
        with _post_responses_stream(address, ttft=0.0) as warm:  # imports, first-request costs
            while b"response.completed" not in warm.recv(65536):
                pass
        ended = _block_server_loop(server, 0.8)
        sent = time.perf_counter()
        with _post_responses_stream(address, ttft=0.3) as a:
            assert ended.wait(timeout=30)
            with _post_responses_stream(address, ttft=0.15) as b:
                arrived: list[float] = []
                order = _order_of_first_deltas([a, b], b"response.output_text.delta", arrived)
    assert order == [0, 1]
    assert arrived[0] - sent >= 0.3 - 0.001  # and A's first token was never early


def _open_demo_stream(address: tuple[str, int], query: str) -> socket.socket:
    """A /demo/stream request written to a raw socket, as an EventSource sends it."""
    sock = socket.create_connection(address, timeout=60)
    sock.sendall(
        f"GET /demo/stream?{query} HTTP/1.1\r\nHost: {address[0]}\r\n"
        "Accept: text/event-stream\r\n\r\n".encode()
    )
    return sock


def _order_of_first_deltas(
    socks: list[socket.socket], marker: bytes = b"event: delta", arrived: list[float] | None = None
) -> list[int]:
    """Indices of `socks` in the order their first delta (a frame holding `marker`) arrived;
    `arrived`, if given, gets each one's time.perf_counter() in that order."""
    received = [b""] * len(socks)
    order: list[int] = []
    with selectors.DefaultSelector() as selector:
        for index, sock in enumerate(socks):
            selector.register(sock, selectors.EVENT_READ, index)
        while len(order) < len(socks):
            ready = selector.select(timeout=60)
            assert ready, f"no first delta within 60 s; got {received}"
            for key, _ in ready:
                index = key.data
                chunk = key.fileobj.recv(65536)  # type: ignore[union-attr]
                assert chunk, f"stream {index} closed before its first delta"
                received[index] += chunk
                if marker in received[index]:
                    order.append(index)
                    if arrived is not None:
                        arrived.append(time.perf_counter())
                    selector.unregister(key.fileobj)
    return order


@linux_only
def test_a_demo_stream_is_timed_from_its_arrival_too() -> None:
    """The classroom demo's /demo/stream keeps the same clock as /v1/responses.

    Stream A (TTFT 300 ms) arrives while the server's loop is frozen for 0.8 s; stream B (TTFT
    150 ms) arrives just after the freeze. Timed from arrival, A's first token is overdue when
    the loop wakes and comes before B's. Timed from its handler, A's would come 300 ms after
    the wake, after B's (150 ms after B's handler): the order flips."""
    with LocalServer(jitter=0) as server:
        host, port = server.base_url.removesuffix("/v1").removeprefix("http://").split(":")
        address = (host, int(port))
        with _open_demo_stream(address, "prompt=haiku&ttft_ms=0&tokens_per_second=1000") as warm:
            while b"event: done" not in warm.recv(65536):  # imports and first-request costs
                pass
        ended = _block_server_loop(server, 0.8)
        with _open_demo_stream(address, "prompt=haiku&ttft_ms=300") as a:
            assert ended.wait(timeout=30)
            with _open_demo_stream(address, "prompt=haiku&ttft_ms=150") as b:
                assert _order_of_first_deltas([a, b]) == [0, 1]

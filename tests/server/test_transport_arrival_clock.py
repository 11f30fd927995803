"""The server's TTFT clock starts when a request reached the machine, not when a handler ran.

Why it matters: during a burst, requests wait in the kernel's accept queue while the event loop
is busy; a server that timed tokens from its handler would make every token of those streams
late by that wait (see benchmarks/bench_server.py).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import pytest
from openai import OpenAI

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


def _block_server_loop(server: LocalServer, seconds: float) -> None:
    """Freeze the server's event loop (a blocking sleep inside it), as a burst of work would;
    returns once the freeze has begun."""
    started = threading.Event()

    async def busy() -> None:
        started.set()
        time.sleep(seconds)

    assert server._loop is not None
    asyncio.run_coroutine_threadsafe(busy(), server._loop)
    assert started.wait(timeout=5)


@linux_only
def test_a_request_that_waited_in_the_queue_keeps_its_ttft() -> None:
    """TTFT 0.3 s; the loop is frozen for 0.2 s just as the request arrives. Timed from the
    handler, the first token would come after ~0.5 s; timed from arrival, after ~0.3 s."""
    with LocalServer(ttft=0.3, tokens_per_second=1000, jitter=0) as server:
        client = OpenAI(base_url=server.base_url, api_key="unused", max_retries=0)
        # Warm up: the SDK's first streamed call imports its event types (~0.1 s here), and
        # the connection opened now is reused, so the timed request needs no new accept.
        for _ in client.responses.create(model="m", input="What is SSE?", stream=True):
            pass
        _block_server_loop(server, 0.2)
        sent = time.perf_counter()
        with client.responses.create(model="m", input="What is SSE?", stream=True) as stream:
            for event in stream:
                if event.type == "response.output_text.delta":
                    first_token = time.perf_counter() - sent
                    break
        client.close()
    assert first_token >= 0.3 - 0.001  # never early
    assert first_token < 0.3 + 0.12  # and not 0.5 s: the 0.2 s wait was absorbed by the TTFT

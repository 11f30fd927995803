"""A pass-through TCP proxy that notes every HTTP request a client sends (method, path, JSON body).

Why: a cell of the table says "Chat" or "Messages"; the recorder lets each test check that the
client really posted to that endpoint, streamed, and shows what it sent for structured output
(a JSON-schema format, or a tool). Bytes go through unchanged in both directions, as they arrive,
so the client reads the server's stream exactly as it would without the proxy.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Request:
    method: str
    path: str
    body: Any  # the parsed JSON body, or None


@dataclass
class Recorder:
    upstream_host: str
    upstream_port: int
    requests: list[Request] = field(default_factory=list)
    port: int = 0

    def start(self) -> Recorder:
        """Listen on 127.0.0.1, a free port, in a daemon thread with its own event loop."""
        self._loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            self._server = self._loop.run_until_complete(
                asyncio.start_server(self._handle, "127.0.0.1", 0)
            )
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            self._loop.run_forever()
            self._loop.close()

        self._thread = threading.Thread(target=run, name="interop-recorder", daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        """Close the listener and end every connection's handler, then the loop: a handler left
        pending would otherwise be torn down after its loop closed ("Event loop is closed")."""

        async def shutdown() -> None:
            self._server.close()
            handlers = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in handlers:
                task.cancel()
            await asyncio.gather(*handlers, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter):
        server_r, server_w = await asyncio.open_connection(self.upstream_host, self.upstream_port)
        back = asyncio.create_task(_pump(server_r, client_w))
        try:
            while True:
                raw, request = await _read_request(client_r)
                self.requests.append(request)
                server_w.write(raw)
                await server_w.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass  # the client closed its connection
        finally:
            back.cancel()
            for writer in (server_w, client_w):
                with contextlib.suppress(Exception):
                    writer.close()


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    with contextlib.suppress(Exception):
        writer.close()


async def _read_request(reader: asyncio.StreamReader) -> tuple[bytes, Request]:
    """One HTTP/1.1 request: its raw bytes, and what it asked."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _version = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    raw, body = head, b""
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
        raw += body
    elif "chunked" in headers.get("transfer-encoding", "").lower():
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            raw += size_line + chunk
            body += chunk[:-2]
            if size == 0:
                break
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        parsed = None
    return raw, Request(method, path.split("?")[0], parsed)

"""Layer: app (the top). May import: every layer below, and the lesson helpers (helpers.sse).

A local OpenAI-compatible streaming server backed by the simulated model (offline, no key).

`create_app` mounts every route: the OpenAI endpoints (`app.routes`), Anthropic's Messages
endpoint (`app.messages`), background responses
and resume (`app.background`), the classroom demo (`app.demo`), the WebSocket mode
(`transport.websocket`) and cancel (`app.cancel`). This module also runs the app: in a
background thread for notebooks (`LocalServer`) or in the foreground for the command lines
(`serve_until_interrupted`, see `app.cli`).

Command line (prints one line, the base URL, once it is ready; Ctrl-C stops it):

    python -m helpers.server --host 127.0.0.1 --port 0 --ttft-ms 300 --tokens-per-second 40

In a notebook:

    with LocalServer(ttft=0.3, tokens_per_second=40) as server:
        client = OpenAI(base_url=server.base_url, api_key="unused")

A real model instead of the simulated one (optional install, `make local-model`; see
helpers.server.model.real): `--model smollm2` or `LocalServer(model="smollm2")`. Same endpoints and
event shapes and faults; its timing and token counts are its own (the latency settings apply to
the simulated model only).

Faults, per server (`--fault`, `LocalServer(fault=...)`) or per request with
`extra_body={"simulation": {"fault": ..., "fault_after": N}}`. What the openai SDK raises:

  fault   what the server does                       what a learner sees (openai 3.63)
  "429"   429 before the stream (retry-after-ms)     RateLimitError, after max_retries retries
  "500"   500 before the stream                      InternalServerError, after max_retries retries
  "error" after N tokens, HTTP 200 already sent:     APIError mid-iteration, with the message
          Responses: `error` event (fields nested    (.code, .type from the error object), in
          under "error", as the API's) then          create(stream=True), responses.stream()
          `response.failed`; Chat: a data-only       and the async client alike; one request,
          `{"error": {...}}` chunk, no [DONE]        no retry. Not streamed: InternalServerError
  "drop"  closes the socket after N tokens           APIConnectionError while iterating
  "stall" pauses stall_seconds after N tokens        APITimeoutError if the client's timeout
                                                     is shorter, else a late but whole answer

A server-wide fault can be limited to the first `fault_count` requests (e.g. fault="429",
fault_count=2: the SDK's two default retries then succeed).

Security: binds 127.0.0.1 by default; a non-loopback host needs --api-key, and with a key every
request must send `Authorization: Bearer KEY` (else an OpenAI-shaped 401); on Anthropic's
/v1/messages, `x-api-key: KEY` or the same Bearer header (else an Anthropic-shaped 401).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hmac
import ipaddress
import logging
import socket
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from helpers.server.app import cancel, messages
from helpers.server.app.background import install_resumable_responses
from helpers.server.app.demo import install_demo
from helpers.server.app.routes import (
    create_chat_completion,
    create_response,
    http_error,
    list_models,
    token_tally,
    unexpected_error,
)
from helpers.server.dialects.common import IssuedIds, ReasoningLinks
from helpers.server.model.real import model_source_named
from helpers.server.model.simulated import LatencyProfile
from helpers.server.model.source import RequestError, Simulation
from helpers.server.transport import websocket
from helpers.server.transport.arrival_clock import ArrivalStampingProtocol
from helpers.server.transport.sse_http import _HideDropConnection, error_response

# --------------------------------------------------------------------------- the app


class RequireApiKey:
    """ASGI middleware: without `Authorization: Bearer <key>`, answer 401 like OpenAI does."""

    def __init__(self, app: ASGIApp, api_key: str):
        self.app, self.expected = app, f"Bearer {api_key}".encode()
        self.api_key = api_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        if scope["type"] == "http" and scope["path"].startswith(messages.PATH):
            # Anthropic's routes: the key may also travel in `x-api-key`; the refusal is theirs.
            refused = messages.key_refusal(dict(scope["headers"]), self.api_key)
            if refused is None:
                return await self.app(scope, receive, send)
            return await refused(scope, receive, send)
        given = dict(scope["headers"]).get(b"authorization", b"")
        if hmac.compare_digest(given, self.expected):
            return await self.app(scope, receive, send)
        message = (
            "Incorrect API key provided."
            if given
            else "You didn't provide an API key. Send it as 'Authorization: Bearer YOUR_KEY'."
        )
        refusal = error_response(RequestError(message, status=401, code="invalid_api_key"))
        if scope["type"] == "http":
            return await refusal(scope, receive, send)
        await receive()  # websocket.connect
        # Refuse the WebSocket handshake with the same 401 and JSON as an HTTP request gets
        # (ASGI's "websocket.http.response" extension, which both of uvicorn's WebSocket
        # implementations offer).
        await send(
            {
                "type": "websocket.http.response.start",
                "status": 401,
                "headers": refusal.raw_headers,
            }
        )
        await send({"type": "websocket.http.response.body", "body": refusal.body})


def create_app(
    simulation: Simulation | None = None,
    *,
    api_key: str | None = None,
    fault_count: int | None = None,
    hangup_grace: float = 0.0,
) -> Starlette:
    """The Starlette app; `app.state.live_streams` maps response id -> the task answering it.

    `hangup_grace`: seconds a streamed OpenAI answer keeps generating after its client hung up
    (a real server bills until it notices); `GET /kit/tokens/{id}` counts those tokens.
    """
    app = Starlette(
        routes=[
            Route("/v1/responses", create_response, methods=["POST"]),
            Route("/v1/chat/completions", create_chat_completion, methods=["POST"]),
            Route("/v1/models", list_models, methods=["GET"]),
            Route("/kit/tokens/{answer_id}", token_tally, methods=["GET"]),  # lesson 13
            *messages.ROUTES,  # Anthropic's Messages API: POST /v1/messages
        ],
        exception_handlers={HTTPException: http_error, Exception: unexpected_error},
    )
    app.state.simulation = simulation or Simulation()
    app.state.fault_budget = fault_count
    app.state.live_streams = {}
    app.state.hangup_grace = hangup_grace
    app.state.token_tallies = {}  # answer id -> TokenTally, for GET /kit/tokens/{id}
    app.state.response_ids = IssuedIds()  # for previous_response_id, as the real API checks it
    app.state.reasoning_links = ReasoningLinks()  # which reasoning item each call needs back
    app.state.started_at = time.time()
    if api_key:
        app.add_middleware(RequireApiKey, api_key=api_key)
    # Resumable background responses (lesson 8) and the classroom demo: their own modules.
    install_resumable_responses(app)
    install_demo(app)
    # Lesson 09: the Responses WebSocket (ws://.../v1/responses) and POST .../{id}/cancel.
    websocket.install(app)
    cancel.install(app)
    return app


def uvicorn_config(app: Starlette) -> uvicorn.Config:
    logging.getLogger("uvicorn.error").addFilter(_HideDropConnection())
    return uvicorn.Config(
        app,
        http=ArrivalStampingProtocol,  # times each stream from its request's arrival
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=1,
    )


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop when it is installed (Linux, macOS), else None: asyncio's own.

    Why: the server spends most of its time in the event loop (timers, socket writes); with
    uvloop it used 7-16 % less CPU per event in benchmarks/bench_server.py.
    """
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def run_event_loop(main: Coroutine[Any, Any, Any]) -> Any:
    """`asyncio.run(main)` on the loop `event_loop_factory()` picks."""
    with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
        return runner.run(main)


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind ourselves, so port 0 gives a free port we know before the server starts."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP, not 0: asyncio only turns Nagle off (TCP_NODELAY) on accepted sockets
    # whose proto says TCP; with Nagle on, back-to-back small events wait ~40 ms for an ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def base_url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/v1"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class LocalServer:
    """Runs the server in a background thread, for notebooks.

    `with LocalServer() as server:` or `server = LocalServer().start()` ... `server.stop()`.
    Keyword arguments: ttft, tokens_per_second, jitter, think_time, prefill_tokens_per_second
    (seconds / tokens per second), seed, fault, fault_after, stall_seconds, fault_count, api_key,
    heartbeat (seconds of silence before an SSE `: keep-alive` comment; None: never),
    hangup_grace (seconds a streamed answer keeps generating after its client left; see
    `tokens(answer_id)`),
    model ("smollm2" for a real model on the CPU, see helpers.server.model.real; default:
    simulated).
    """

    def __init__(
        self,
        *,
        ttft: float = 0.3,
        tokens_per_second: float = 40.0,
        jitter: float = 0.25,
        think_time: float = 0.0,
        prefill_tokens_per_second: float | None = None,
        seed: int = 0,
        fault: str | None = None,
        fault_after: int = 5,
        stall_seconds: float = 3600.0,
        fault_count: int | None = None,
        heartbeat: float | None = None,
        hangup_grace: float = 0.0,
        api_key: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        model: str | None = None,
    ) -> None:
        latency = LatencyProfile(
            ttft, tokens_per_second, jitter, prefill_tokens_per_second, think_time
        )
        # model="smollm2": a real model on the CPU (model.real) writes the answers.
        self.model_source = model_source_named(model)
        simulation = Simulation(
            latency,
            seed,
            fault,
            fault_after,
            stall_seconds,
            heartbeat=heartbeat,
            model_source=self.model_source,
        )
        self.app = create_app(
            simulation, api_key=api_key, fault_count=fault_count, hangup_grace=hangup_grace
        )
        self._host, self._port = host, port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.base_url = ""

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"LocalServer({self.base_url or 'not started'}, {state})"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def live_streams(self) -> int:
        """How many answers are being generated right now (a gauge for leak checks)."""
        return len(self.app.state.live_streams)

    def tokens(self, answer_id: str) -> dict[str, Any]:
        """What `GET /kit/tokens/{answer_id}` answers: tokens the streamed answer generated, and
        how many of them after its client hung up (KeyError for an unknown id)."""
        return {"id": answer_id, **self.app.state.token_tallies[answer_id].as_dict()}

    def task_count(self) -> int:
        """asyncio tasks alive in the server's loop, counted from inside that loop."""

        async def count() -> int:
            return len(asyncio.all_tasks())

        assert self._loop is not None, "server not started"
        return asyncio.run_coroutine_threadsafe(count(), self._loop).result(timeout=5)

    def start(self) -> LocalServer:
        """Start in a background thread; returns once it accepts connections (well under 1 s)."""
        if self.running:
            return self
        sock = bind_socket(self._host, self._port)
        self.base_url = base_url_of(sock)
        self._server = uvicorn.Server(uvicorn_config(self.app))
        ready = threading.Event()

        async def serve() -> None:
            self._loop = asyncio.get_running_loop()
            task = asyncio.create_task(self._server.serve(sockets=[sock]))  # type: ignore[union-attr]
            while not self._server.started and not task.done():  # type: ignore[union-attr]
                await asyncio.sleep(0.005)
            ready.set()
            await task

        self._thread = threading.Thread(
            target=run_event_loop, args=(serve(),), name="kit-server", daemon=True
        )
        self._thread.start()
        if not ready.wait(timeout=10) or not self._server.started:
            raise RuntimeError("the local server did not start within 10 s")
        return self

    def stop(self) -> None:
        """Ask uvicorn to shut down (open streams get up to 1 s) and wait for the thread."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._thread = None

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


# Collect the young generations less often: every 2,000 allocations (Python's default: 700),
# and the middle one every 50th time (default: 10th).
SERVER_GC_THRESHOLDS = (2000, 50, 10)


def tune_gc_for_server_process() -> None:
    """Make the cyclic garbage collector cheaper in a process that is only this server.

    Why: each stream keeps ~140 objects alive (tasks, generators, Starlette's frames) while it
    waits for its first token, and Python's collector scans the young ones again and again.
    In a burst of 200 streamed requests it took 75-90 µs of the ~450 µs of server CPU per
    request, and a full collection (17-30 ms) paused every stream mid-burst. Freezing what
    exists at start-up (modules, the app) and collecting the young generations less often cut
    it to about 22 µs per request with no full collection (measured with gc.callbacks).
    Process-wide, so only the command lines call it; `LocalServer` runs inside someone else's
    process (a notebook kernel) and leaves its collector alone.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*SERVER_GC_THRESHOLDS)


def serve_until_interrupted(
    app: Starlette, sock: socket.socket, on_ready: Callable[[], None]
) -> int:
    """Run `app` on `sock` in the foreground; call `on_ready` once it accepts connections.

    Used by the command lines (`python -m helpers.server`, `python -m helpers.server.demo`), which
    print their URL only when a client can really connect. Ctrl-C stops it cleanly. The process
    is the server's own, so its garbage collector is tuned for serving (see above).
    """
    tune_gc_for_server_process()
    server = uvicorn.Server(uvicorn_config(app))

    async def serve() -> None:
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started and not task.done():
            await asyncio.sleep(0.005)
        if server.started:
            on_ready()
        await task

    # uvicorn re-raises the Ctrl-C it handled, after a clean shutdown: that is a normal exit.
    with contextlib.suppress(KeyboardInterrupt):
        run_event_loop(serve())
    return 0

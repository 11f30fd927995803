"""Your app in the middle (lesson 13): a FastAPI relay between a page and the model.

The page never talks to the model. It POSTs a prompt to the relay; the relay calls the model
with the async openai SDK (`stream=True`) and sends the text on as its own small SSE protocol:

    event: start   data: {"id": "ans_..."}    first: this answer's id, for Stop's own request
    event: delta   data: {"text": "..."}      a piece of the answer, in order
    event: done    data: {}                   the answer is complete (and only then)
    event: error   data: {"message": "..."}   the answer failed or was stopped; not an answer

Stop is two things in the page: it closes its connection (the relay sees the hang-up when it
reaches it directly or through nginx) and it POSTs `api/stop/{id}`, because a proxy in the
middle may not pass the hang-up on: jupyter-server-proxy 4.6, which a JupyterHub user's page
goes through, reads the relay's answer to its end after the browser left.

Why its own protocol rather than the model's events forwarded raw: the page needs three facts,
not forty event types; the relay can change models or APIs (Responses, Chat, another vendor)
without touching the page; and what reaches the browser is what the relay chose to send, not
ids, usage or error details from upstream. The API key stays in the relay's process.

This module is the finished reference the lesson builds step by step in the notebook, reused by
the tests and benchmarks:

    upstream = Upstream.of(get_backend())          # where the model is, and its key
    with RelayServer(create_app(upstream)) as relay:
        print(relay.url)                           # the page, served by the relay itself

and the measurements the lesson takes: `timed_reads` of the relay's stream beside the model's
(`relay_cost`), ten users at once (`ten_users`), a client that hangs up (`hang_up_after`).
It talks to the model only over HTTP (never imports helpers.server), so the same relay works
in front of the real API.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket
import statistics
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx
import openai
import uvicorn
from fastapi import Depends, FastAPI
from fastapi.sse import EventSourceResponse, ServerSentEvent
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

from helpers.reads import ReadTimeline, timed_reads

__all__ = [
    "APP_DIR",
    "FAILED_MESSAGE",
    "STOPPED_MESSAGE",
    "Ask",
    "GuardBlocked",
    "RelayServer",
    "StopSignal",
    "Stopped",
    "Upstream",
    "UserTiming",
    "answers_finished_before_first_token",
    "create_app",
    "guarded",
    "hang_up_after",
    "iter_relay",
    "leave_like_a_proxy",
    "model_text",
    "relay_cost",
    "relay_events",
    "sse_events",
    "ten_users",
    "until_stopped",
]

APP_DIR = Path(__file__).resolve().parent.parent / "notebooks" / "app"
"""The page (index.html) and its scripts, served by the relay at its root."""

FAILED_MESSAGE = "The model's answer failed part-way; what you see is incomplete."
STOPPED_MESSAGE = "Stopped."


# --------------------------------------------------------------------------- the model side


@dataclass(frozen=True)
class Upstream:
    """Where the relay finds the model: base URL, model name, and the key (never in its repr)."""

    base_url: str
    model: str
    api_key: str = field(repr=False)
    use_chat: bool = False  # the server has no Responses API: stream Chat Completions instead

    @classmethod
    def of(cls, backend: Any) -> Upstream:
        """From `helpers.backends.get_backend()` (or anything with base_url, model, client)."""
        supports = getattr(backend, "supports_responses", True)
        return cls(backend.base_url, backend.model, backend.client.api_key, not supports)

    def client(self) -> openai.AsyncOpenAI:
        """A new async client. One per event loop: its connection pool belongs to the loop it
        first ran in, so the relay makes its own when it starts (see `create_app`)."""
        return openai.AsyncOpenAI(base_url=self.base_url, api_key=self.api_key)


async def model_text(
    client: openai.AsyncOpenAI,
    upstream: Upstream,
    prompt: str,
    *,
    ids: deque[str] | None = None,
) -> AsyncIterator[str]:
    """The model's answer as text pieces, streamed (Responses, or Chat when `use_chat`).

    `async with stream`: whoever closes this generator (the relay, when its own client leaves)
    closes the model's stream at once, so the model stops generating for nobody. `ids` collects
    each upstream response id (what a support ticket or a bill names).
    """
    if upstream.use_chat:
        messages = [{"role": "user", "content": prompt}]
        chat = await client.chat.completions.create(
            model=upstream.model, messages=messages, stream=True
        )
        async with chat:
            async for chunk in chat:
                if ids is not None and (not ids or ids[-1] != chunk.id):
                    ids.append(chunk.id)
                if chunk.choices and chunk.choices[0].delta.content:
                    yield chunk.choices[0].delta.content
        return
    stream = await client.responses.create(model=upstream.model, input=prompt, stream=True)
    async with stream:
        async for event in stream:
            if event.type == "response.created" and ids is not None:
                ids.append(event.response.id)
            elif event.type == "response.output_text.delta":
                yield event.delta


# --------------------------------------------------------------------------- the relay's protocol


async def relay_events(pieces: AsyncIterator[str]) -> AsyncIterator[ServerSentEvent]:
    """`delta` per piece, then `done`; `error` instead of `done` if the model's stream fails.

    The SDK raises `openai.APIError` mid-loop when the model reports a failure after HTTP 200
    (lesson 3), and `APIConnectionError` (a subclass) when the connection drops. The page gets
    a fixed sentence, not the upstream message: error text can name internals. Closing `pieces`
    is its owner's job (`model_stream`), not this generator's.
    """
    try:
        async for text in pieces:
            yield ServerSentEvent(event="delta", data={"text": text})
    except openai.APIError:
        yield ServerSentEvent(event="error", data={"message": FAILED_MESSAGE})
        return
    yield ServerSentEvent(event="done", data={})


async def guarded(pieces: AsyncIterator[str], guard: Any) -> AsyncIterator[str]:
    """Lesson 7's guards in the relay: only what `guard` releases goes on to the page.

    `guard` is a `helpers.guardrails` StreamGuard (HoldBack, SentenceRelease, ...). A `Block`
    ends the answer with `GuardBlocked`, which `relay_events` does not catch: use
    `create_app(guard=...)`, which turns it into an `error` event. A `Retract` cannot be
    undone on the page once sent, so use a guard that never retracts (HoldBack with the
    window `hold_back_window` gives, or SentenceRelease).
    """
    from helpers.guardrails import Block, Release

    async for text in pieces:
        for action in guard.feed(text):
            if isinstance(action, Release):
                yield action.text
            elif isinstance(action, Block):
                raise GuardBlocked(action.violation.reason)
    for action in guard.finish():
        if isinstance(action, Release):
            yield action.text
        elif isinstance(action, Block):
            raise GuardBlocked(action.violation.reason)


class GuardBlocked(Exception):
    """The guard blocked the answer; the relay sends `error`."""


class Stopped(Exception):
    """The page asked the relay to stop this answer (`POST api/stop/{id}`)."""


class StopSignal:
    """Stop's own request for one answer. `set()` (called by the relay's stop route) cancels the
    relay's wait for the model's next piece at once, or, between two pieces, the next one."""

    def __init__(self) -> None:
        self.requested = False
        self._waiting: anyio.CancelScope | None = None

    def set(self) -> None:
        self.requested = True
        if self._waiting is not None:
            self._waiting.cancel()


async def until_stopped(pieces: AsyncIterator[str], stop: StopSignal) -> AsyncIterator[str]:
    """`pieces`, until `stop` is set; then `Stopped` is raised. The wait for the next piece runs
    in its own cancel scope, which `stop.set()` cancels: the cancellation lands inside
    `model_text`, whose `async with` closes the model's stream, as a hang-up's would. It also
    stops a model that is silent for a while (thinking before its first text). A scope per
    piece, entered and left within one step of this generator, costs a few microseconds."""
    while not stop.requested:
        with anyio.CancelScope() as waiting:
            stop._waiting = waiting
            try:
                text = await anext(pieces)  # type: ignore[call-overload]
            except StopAsyncIteration:
                return
            finally:
                stop._waiting = None
        if waiting.cancelled_caught:
            break
        yield text
    raise Stopped


class Ask(BaseModel):
    """The page's request: just the prompt. The model, its settings and the key are the relay's."""

    prompt: str = Field(min_length=1, max_length=4000)


def create_app(
    upstream: Upstream,
    *,
    guard: Callable[[], Any] | None = None,
    app_dir: Path | None = APP_DIR,
) -> FastAPI:
    """The finished relay: POST /api/chat streams `start`, `delta`s, then `done` or `error`;
    POST /api/stop/{id} stops that answer; / serves the page.

    `guard`: a factory of a lesson 7 guard, one per answer (e.g.
    `lambda: HoldBack(banned_phrases("secret"), 5)`); a blocked answer ends with `error`.
    `app.state.upstream_ids` holds the latest upstream response ids (for the lesson's counts).
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.model = upstream.client()  # made in the relay's own event loop
        yield
        await app.state.model.close()

    app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.upstream_ids = deque(maxlen=100)
    app.state.answers = answers = {}  # answer id -> its StopSignal, while the answer streams

    async def model_stream(ask: Ask) -> AsyncIterator[tuple[str, AsyncIterator[str]]]:
        """The model's text for this request, closed when the response ends, however it ends.

        Why a dependency: when the page leaves, FastAPI cancels the task that runs the endpoint;
        if that lands while it hands an event on (between two of the generator's steps), the
        generator is left suspended and closed only when Python collects it, and until then the
        model's stream stays open (seen here: 1 hang-up in 8 read the whole answer). The code
        after `yield` in a request-scoped dependency runs when the response is over.
        """
        pieces = model_text(app.state.model, upstream, ask.prompt, ids=app.state.upstream_ids)
        answer_id = "ans_" + secrets.token_hex(12)  # unguessable: only its page can stop it
        answers[answer_id] = stop = StopSignal()
        try:
            yield answer_id, until_stopped(pieces, stop)
        finally:
            answers.pop(answer_id, None)
            await pieces.aclose()  # type: ignore[attr-defined]

    @app.post("/api/chat", response_class=EventSourceResponse)
    async def chat(
        answer: tuple = Depends(model_stream, scope="request"),  # (its id, its text)
    ) -> AsyncIterator[ServerSentEvent]:
        answer_id, pieces = answer
        yield ServerSentEvent(event="start", data={"id": answer_id})
        if guard is not None:
            pieces = guarded(pieces, guard())
        try:
            async for event in relay_events(pieces):
                yield event
        except GuardBlocked:
            yield ServerSentEvent(event="error", data={"message": "The answer was blocked."})
        except Stopped:
            yield ServerSentEvent(event="error", data={"message": STOPPED_MESSAGE})

    @app.post("/api/stop/{answer_id}", status_code=204)
    async def stop(answer_id: str) -> None:
        """Stop's own request: closes that answer's model stream even when the page's hang-up
        never reaches the relay (a proxy that reads on). Unknown or finished ids: nothing."""
        if (event := answers.get(answer_id)) is not None:
            event.set()

    if app_dir is not None:
        app.mount("/", StaticFiles(directory=app_dir, html=True), name="page")
    return app


# --------------------------------------------------------------------------- running it


class RelayServer:
    """uvicorn in a background thread of this process, on 127.0.0.1 and a free port.

    `with RelayServer(app) as relay:` ... or `relay = RelayServer(app).start()` ... `relay.stop()`.
    `relay.url` ends with "/" (the page); `relay.port` is what `helpers.jupyter_url` needs.
    """

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app, self.host, self.requested_port = app, host, port
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def __repr__(self) -> str:
        return f"RelayServer({self.url if self.port else 'not started'})"

    def start(self) -> RelayServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.requested_port))  # 0: a free port; kernels never collide
        sock.listen(128)
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", access_log=False)
        config.timeout_graceful_shutdown = 1
        self._server = server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=lambda: asyncio.run(server.serve(sockets=[sock])),
            name="kit-relay",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the relay did not start within 10 s")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        """Ask uvicorn to finish (open streams get 1 s) and wait for its thread."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._thread = None

    def __enter__(self) -> RelayServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


# --------------------------------------------------------------------------- measuring it


def sse_events(timeline: ReadTimeline) -> list[tuple[float, str, str]]:
    """(arrival seconds, event type, data) for every event of a `timed_reads` timeline."""
    return [(read.at, e.event, e.data) for read in timeline.reads for e in read.events]


def relay_cost(
    model_url: str, relay_url: str, model: str, prompt: str, rounds: int = 5
) -> dict[str, Any]:
    """The relay's cost: the same prompt read directly from the model and through the relay.

    Both with the same raw client (`helpers.reads.timed_reads`), alternating, `rounds` each.
    The simulated model's tokens are due at fixed times after the request arrives, so token i
    arriving later through the relay than directly is the relay's doing. Returns seconds:
    first-token times of each round, and the relay's added lateness, first token and per token
    (median over every token of every round; index 0 excluded from the per-token figure), and
    per token beyond the first token's own delay (which every later token inherits: the relay
    forwards the request before the model's clock starts).
    """
    direct_runs, relay_runs = [], []
    for _ in range(rounds):
        direct = timed_reads(
            model_url.rstrip("/") + "/responses",
            {"model": model, "input": prompt, "stream": True},
        )
        direct_runs.append(direct.arrivals("response.output_text.delta"))
        through = timed_reads(relay_url.rstrip("/") + "/api/chat", {"prompt": prompt})
        relay_runs.append(through.arrivals("delta"))
    added_first = [r[0] - d[0] for d, r in zip(direct_runs, relay_runs, strict=True)]
    added_each = [
        r[i] - d[i]
        for d, r in zip(direct_runs, relay_runs, strict=True)
        for i in range(1, min(len(d), len(r)))
    ]
    # The same, minus that round's first-token delay: what the relay adds per token beyond the
    # offset every token inherits from the request's own way through the relay.
    added_beyond_first = [
        (r[i] - d[i]) - (r[0] - d[0])
        for d, r in zip(direct_runs, relay_runs, strict=True)
        for i in range(1, min(len(d), len(r)))
    ]
    return {
        "tokens": len(relay_runs[0]),
        "same_token_count": all(
            len(d) == len(r) for d, r in zip(direct_runs, relay_runs, strict=True)
        ),
        "ttft_direct": statistics.median(d[0] for d in direct_runs),
        "ttft_relay": statistics.median(r[0] for r in relay_runs),
        "added_first": statistics.median(added_first),
        "added_per_token": statistics.median(added_each),
        "added_per_token_beyond_first": statistics.median(added_beyond_first),
    }


@dataclass
class UserTiming:
    """One user's request: when it was sent, its first token and its end (seconds, one clock)."""

    user: int
    sent: float
    first: float | None
    end: float
    last_event: str | None

    @property
    def ttft(self) -> float | None:
        return None if self.first is None else self.first - self.sent


def _one_user(url: str, user: int, prompt: str, clock_zero: float) -> UserTiming:
    timeline_start = time.perf_counter() - clock_zero
    timeline = timed_reads(url, {"prompt": prompt})
    events = sse_events(timeline)
    deltas = [at for at, kind, _ in events if kind == "delta"]
    end = timeline.reads[-1].at if timeline.reads else 0.0
    return UserTiming(
        user,
        timeline_start,
        timeline_start + deltas[0] if deltas else None,
        timeline_start + end,
        events[-1][1] if events else None,
    )


def ten_users(relay_url: str, prompt: str, users: int = 10) -> list[UserTiming]:
    """`users` requests to the relay at the same moment, each on its own connection and
    thread; their timings on one clock, in the order of their first token."""
    url = relay_url.rstrip("/") + "/api/chat"
    clock_zero = time.perf_counter()
    start = threading.Barrier(users)

    def run(user: int) -> UserTiming:
        start.wait()
        return _one_user(url, user, prompt, clock_zero)

    with ThreadPoolExecutor(users) as pool:
        timings = list(pool.map(run, range(1, users + 1)))
    return sorted(timings, key=lambda t: (t.first is None, t.first or 0.0))


def answers_finished_before_first_token(timings: list[UserTiming]) -> list[int]:
    """For each user (in the order given): how many other users' answers had already ended
    when this user's first token arrived. A relay that serves one user at a time: 0, 1, 2, ...;
    one that serves them together: all 0."""
    return [
        sum(1 for other in timings if other is not mine and mine.first is not None
            and other.end < mine.first)
        for mine in timings
    ]  # fmt: skip


def hang_up_after(relay_url: str, prompt: str, deltas: int, *, timeout: float = 30.0) -> int:
    """POST to the relay, read `deltas` delta events, then close the connection (what a
    closed tab or Stop does). Returns how many deltas were read."""
    seen = 0
    with (
        httpx.Client(timeout=timeout) as client,
        client.stream("POST", relay_url.rstrip("/") + "/api/chat", json={"prompt": prompt}) as r,
    ):
        for line in r.iter_lines():
            if line == "event: delta":
                seen += 1
                if seen >= deltas:
                    break
    return seen


def leave_like_a_proxy(
    relay_url: str, prompt: str, deltas: int, *, send_stop: bool, timeout: float = 60.0
) -> int:
    """What the relay sees when its page's Stop goes through a proxy that does not pass a
    hang-up on (jupyter-server-proxy 4.6 on a hub): the page read `deltas` deltas and left, but
    the connection to the relay stays open and is read to its end. With `send_stop`, the page's
    own `POST api/stop/{id}` (taken from the `start` event) is sent when it leaves. Returns how
    many deltas the page had read."""
    import json

    from helpers.sse import SSEDecoder

    base = relay_url.rstrip("/") + "/api/"
    decoder, seen, left = SSEDecoder(), 0, False
    answer_id = None
    with (
        httpx.Client(timeout=timeout) as client,
        client.stream("POST", base + "chat", json={"prompt": prompt}) as response,
    ):
        for chunk in response.iter_bytes():
            for event in decoder.feed(chunk):
                if event.event == "start":
                    answer_id = json.loads(event.data)["id"]
                elif event.event == "delta" and not left:
                    seen += 1
                    if seen >= deltas:
                        left = True  # the page is gone; the proxy reads on
                        if send_stop and answer_id is not None:
                            client.post(base + "stop/" + answer_id)
    return seen


def iter_relay(relay_url: str, prompt: str, timeout: float = 60.0) -> Iterator[tuple[str, Any]]:
    """The relay's events as (type, data) pairs, read with httpx and helpers.sse."""
    import json

    from helpers.sse import SSEDecoder

    decoder = SSEDecoder()
    with (
        httpx.Client(timeout=timeout) as client,
        client.stream("POST", relay_url.rstrip("/") + "/api/chat", json={"prompt": prompt}) as r,
    ):
        for chunk in r.iter_bytes():
            for event in decoder.feed(chunk):
                yield event.event, json.loads(event.data)


# --------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    """`python -m helpers.relay --model-url URL`: the relay in the foreground, for benchmarks and
    for running it outside a notebook. Prints one line, its URL, once it accepts connections."""
    import argparse
    import os

    parser = argparse.ArgumentParser(prog="python -m helpers.relay", description=main.__doc__)
    parser.add_argument("--model-url", required=True, help="the model's base URL, .../v1")
    parser.add_argument("--model", default="kit-sim-1")
    parser.add_argument("--chat", action="store_true", help="stream Chat Completions")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    args = parser.parse_args(argv)
    key = os.environ.get("OPENAI_API_KEY", "unused")  # the key stays in this process
    app = create_app(Upstream(args.model_url, args.model, key, args.chat))
    relay = RelayServer(app, port=args.port)
    relay.start()
    print(relay.url, flush=True)
    try:
        while relay.running:
            time.sleep(0.5)
    except KeyboardInterrupt:
        relay.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Layer: app (the top). May import: every layer below, and the lesson helpers (helpers.sse).

The classroom demo: one prompt answered blocking and streamed, side by side, in a browser.

    python -m helpers.server.demo                      # this machine: http://127.0.0.1:8765/demo
    python -m helpers.server.demo --lan --api-key KEY  # students on the same network can join

(the command line is in helpers.server.app.cli; every kit server mounts the demo's routes).
The page (demo_page.html, next to this module) has three panels. Two open an `EventSource` on the
kit's own server:

    GET /demo/stream?prompt=...&mode=blocking|stream&ttft_ms=..&tokens_per_second=..&seed=..

Both answers are generated the same way; only *when the bytes leave* differs: `blocking` sends
one `done` event at the end, `stream` sends one `delta` event per token, then `done`.
With `drop_every=N` the server cuts the connection after every N events: the browser's
EventSource reconnects on its own with `Last-Event-ID`, and the server replays from its
buffer (app.replay), so the page can count 0 lost and 0 duplicated tokens.

The third panel is the `fetch()` variant: it POSTs to the server's own `/v1/responses` (same
prefix as the page) with `Authorization: Bearer ...`, reads the body with a `ReadableStream` and a
`TextDecoder`, and its Stop button aborts it (`AbortController`). It never reconnects by itself.

Below the panels, lesson 11's two experiments run in the page alone, on the same routes:
"Open 7 streams" (seven EventSources on /demo/stream at once; over HTTP/1.1 the 7th waits for a
free connection) and "Rendering a model's markup" (innerHTML runs a harmless `onerror` that
shows a banner, textContent shows the tag as text).

EventSource can only GET and cannot set headers, so in LAN mode the API key travels as the
query parameter `api_key` (the page passes on the one in its own URL). That puts the key in
URLs, browser history and any proxy log: fine for a classroom key, never for a real secret.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from helpers.server.app.background import replay_registry
from helpers.server.app.replay import ReplayBuffer, UnknownEventId, UnknownResponse
from helpers.server.app.routes import simulation_for
from helpers.server.dialects.requests import parse_responses_request
from helpers.server.model.simulated import MODEL_ID
from helpers.server.model.source import RequestError, SimRequest
from helpers.server.model.tokens import DropConnection, answer_for, timed_tokens
from helpers.server.transport.arrival_clock import arrival_time
from helpers.server.transport.sse_http import EventStream, error_response
from helpers.sse import format_event

__all__ = ["DemoQuery", "demo_frames", "install_demo", "parse_demo_query"]

PAGE = Path(__file__).with_name("demo_page.html")
RETRY_MS = 300
MAX_PROMPT_CHARS = 2000


@dataclass(frozen=True)
class DemoQuery:
    """A checked /demo/stream query."""

    prompt: str
    mode: str  # "stream" | "blocking"
    ttft_ms: float
    tokens_per_second: float
    seed: int
    drop_every: int  # 0: never cut the connection


def _number(params: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        message = f"Invalid '{name}': expected a number, got {raw!r}."
        raise RequestError(message, param=name) from None
    if not low <= value <= high:
        raise RequestError(
            f"Invalid '{name}': {raw!r} is outside {low:g}..{high:g}.", param=name
        )
    return value


def parse_demo_query(params: Mapping[str, str]) -> DemoQuery:
    """Check the page's query string; every error names the parameter and the value."""
    prompt = params.get("prompt", "").strip()
    if not prompt:
        raise RequestError("Missing required parameter: 'prompt'.", param="prompt")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise RequestError(
            f"Invalid 'prompt': {len(prompt)} characters; the demo takes at most "
            f"{MAX_PROMPT_CHARS}.",
            param="prompt",
        )
    mode = params.get("mode", "stream")
    if mode not in ("stream", "blocking"):
        raise RequestError(
            f"Invalid 'mode': expected 'stream' or 'blocking', got {mode!r}.", param="mode"
        )
    seed = _number(params, "seed", 0, 0, 2**31)
    drop_every = _number(params, "drop_every", 0, 0, 10_000)
    if seed != int(seed) or drop_every != int(drop_every):
        bad = "seed" if seed != int(seed) else "drop_every"
        raise RequestError(f"Invalid '{bad}': expected a whole number.", param=bad)
    return DemoQuery(
        prompt=prompt,
        mode=mode,
        ttft_ms=_number(params, "ttft_ms", 300, 0, 30_000),
        tokens_per_second=_number(params, "tokens_per_second", 20, 1, 1000),
        seed=int(seed),
        drop_every=int(drop_every),
    )


def sim_request_for(query: DemoQuery, request: Request) -> SimRequest:
    """The same checked request the OpenAI endpoints build, so the answer is identical; its
    TTFT clock starts when the request arrived, as theirs does (transport.arrival_clock)."""
    body = {
        "model": MODEL_ID,
        "input": query.prompt,
        "simulation": {
            "ttft": query.ttft_ms / 1000,
            "tokens_per_second": query.tokens_per_second,
            "seed": query.seed,
        },
    }
    sim = parse_responses_request(body, simulation_for(request))
    return replace(sim, received_at=arrival_time(request.scope))


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


async def demo_frames(
    sim: SimRequest, mode: str, stream_id: str
) -> AsyncIterator[tuple[str, bytes]]:
    """(id, frame) pairs. Ids are "<stream id>.<n>", so `Last-Event-ID` alone finds the stream."""
    pieces: list[str] = []
    async for token in timed_tokens(sim, answer_for(sim)):
        event_id = f"{stream_id}.{len(pieces)}"
        if mode == "stream":
            yield event_id, format_event(
                _json({"n": len(pieces), "text": token}), event="delta", id=event_id
            )
        pieces.append(token)
    final_id = f"{stream_id}.{len(pieces)}"
    done = {"text": "".join(pieces), "tokens": len(pieces)}
    yield final_id, format_event(_json(done), event="done", id=final_id)


async def connection_body(
    frames: AsyncIterator[bytes], drop_every: int
) -> AsyncIterator[bytes]:
    """What one connection sends: `retry:` on the first event, and maybe a cut after N events."""
    prefix = f"retry: {RETRY_MS}\n".encode()
    sent = 0
    async for frame in frames:
        yield prefix + frame
        prefix = b""
        sent += 1
        if drop_every and sent >= drop_every and b"event: done\n" not in frame:
            raise DropConnection(f"demo: connection cut after {sent} events (drop_every)")


async def _plain(pairs: AsyncIterator[tuple[str, bytes]]) -> AsyncIterator[bytes]:
    async for _, frame in pairs:
        yield frame


def _resume_buffer(request: Request, last_event_id: str) -> tuple[ReplayBuffer, int]:
    stream_id = last_event_id.rpartition(".")[0]
    buffer = replay_registry(request.app).get(stream_id)
    return buffer, buffer.position_after(last_event_id)


async def demo_stream(request: Request) -> Any:
    """GET /demo/stream: a new answer, or, with Last-Event-ID, the rest of one from its buffer."""
    try:
        query = parse_demo_query(request.query_params)
        last_event_id = request.headers.get("last-event-id", "")
        stream_id = "resp_demo" + secrets.token_hex(8)
        if last_event_id:
            buffer, position = _resume_buffer(request, last_event_id)
            frames = buffer.follow(position)
        else:
            pairs = demo_frames(sim_request_for(query, request), query.mode, stream_id)
            if query.drop_every:  # resumable: generation must outlive each connection
                frames = replay_registry(request.app).start(stream_id, pairs).follow(0)
            else:  # not resumable: generation stops when the viewer leaves
                frames = _plain(pairs)
    except RequestError as error:
        return error_response(error)
    except (UnknownResponse, UnknownEventId) as exc:
        return error_response(RequestError(str(exc), status=404, param="Last-Event-ID"))
    body = connection_body(frames, query.drop_every)
    return EventStream(body, request.app.state.live_streams, stream_id)


async def demo_page(request: Request) -> HTMLResponse:
    return HTMLResponse(PAGE.read_text(encoding="utf-8"), headers={"cache-control": "no-cache"})


def install_demo(app: Starlette) -> None:
    """Add GET /demo and GET /demo/stream to a kit server app (once)."""
    if any(getattr(route, "path", None) == "/demo" for route in app.router.routes):
        return
    replay_registry(app)
    app.add_middleware(QueryKeyToHeader)  # outermost: runs before the server's key check
    app.router.routes.extend(
        [
            Route("/demo", demo_page, methods=["GET"]),
            # Served as is, not redirected: a redirect to an absolute "/demo" would leave a
            # proxy's prefix (jupyter-server-proxy), and the page finds its streams either way.
            Route("/demo/", demo_page, methods=["GET"]),
            Route("/demo/stream", demo_stream, methods=["GET"]),
        ]
    )


class QueryKeyToHeader:
    """ASGI wrapper: under /demo, `?api_key=KEY` counts as `Authorization: Bearer KEY`.

    Why: EventSource cannot send headers. The server's own key check then applies unchanged.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/demo"):
            headers = dict(scope["headers"])
            keys = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("api_key")
            if keys and b"authorization" not in headers:
                auth = (b"authorization", f"Bearer {keys[0]}".encode("latin-1"))
                scope = {**scope, "headers": [*scope["headers"], auth]}
        await self.app(scope, receive, send)

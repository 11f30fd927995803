"""Layer: transport. May import: helpers.server.dialects, helpers.server.model, helpers.sse.

Serve the Responses API WebSocket mode (``client.responses.connect()``) from the local server.

One persistent socket carries many responses, one after another, and the client can talk while
the server streams: ``response.steer`` queues new user input into the running response. The
server then ends that response at the next token boundary (``response.incomplete``, reason
``"steered"``) and at once starts a successor response that continues with the queued input
(what it says is decided by ``helpers.server.model.steering``). That is the "two-way" case that
plain SSE, a one-way stream, cannot do on the same connection.

The connection is an explicit state machine::

    IDLE --response.create--> STREAMING --last token or steer, no successor--> IDLE
    STREAMING --steer accepted--> (response ends "steered") --> successor, still STREAMING
    any state --socket closed--> CLOSED (the generation task is cancelled at once)

Message shapes live in ``helpers.server.dialects.responses_websocket``; this module only moves
them and keeps time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from helpers.server.dialects import responses_websocket as proto
from helpers.server.dialects.common import IssuedIds
from helpers.server.dialects.requests import parse_responses_request
from helpers.server.model.simulated import LatencyProfile, answer_prompt, count_tokens
from helpers.server.model.source import RequestError, SimRequest, Simulation
from helpers.server.model.steering import plan_successor, steer_input_text

log = logging.getLogger(__name__)

WEBSOCKET_PATH = "/v1/responses"
MAX_PENDING_STEERS = 8


class ConnState(StrEnum):
    IDLE = "idle"
    STREAMING = "streaming"
    CLOSED = "closed"


@dataclass
class WsStats:
    """Per-app counters a test or a lesson can read: proof that nothing keeps running."""

    open_connections: int = 0
    tokens_sent: int = 0
    in_flight: dict[str, Session] = field(default_factory=dict)


# --- small pure helpers ---------------------------------------------------------------------------


def successor_profile(profile: LatencyProfile) -> LatencyProfile:
    """A successor needs no new request: it starts one token gap later, not after a new TTFT."""
    gap = 1.0 / profile.tokens_per_second if profile.tokens_per_second > 0 else 0.0
    return replace(profile, ttft=gap, think_time=0.0, prefill_tokens_per_second=None)


# --- one connection -------------------------------------------------------------------------------


@dataclass
class _Steer:
    """An accepted steer, waiting for the next token boundary of the running response."""

    id: str
    text: str


class Session:
    """One WebSocket connection: reads client events, runs at most one response chain at a time."""

    def __init__(
        self,
        send_text: Callable[[str], Any],
        close_socket: Callable[[int, str], Any],
        simulation: Simulation,
        stats: WsStats,
        response_ids: IssuedIds | None = None,
    ):
        self._send_text = send_text
        self._close_socket = close_socket
        self.simulation = simulation
        self.stats = stats
        self.response_ids = response_ids if response_ids is not None else IssuedIds()
        self.state = ConnState.IDLE
        self._seq = 0
        self._task: asyncio.Task[None] | None = None
        self._current: proto.ResponseState | None = None
        self._pending: list[_Steer] = []
        self._wake = asyncio.Event()
        self._finished: set[str] = set()

    # -- sending ---------------------------------------------------------------------------------

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq - 1

    async def _emit(self, event: dict[str, Any]) -> None:
        await self._send_text(json.dumps(event, ensure_ascii=False))

    # -- receiving -------------------------------------------------------------------------------

    async def handle(self, raw: str | bytes) -> None:
        """Act on one client frame; a bad frame gets an ``error`` event and changes nothing."""
        try:
            event = proto.parse_client_event(raw)
        except proto.ProtocolError as error:
            await self._emit(proto.error_event(error, self._next_seq()))
            return
        if isinstance(event, proto.SteerEvent):
            await self._steer(event)
        else:
            await self._create(event)

    async def _create(self, event: proto.CreateEvent) -> None:
        if self.state is ConnState.STREAMING:
            error = proto.ProtocolError(
                "response_in_progress",
                "a response is still streaming on this connection; steer it, or wait for it "
                "to finish before sending another response.create",
            )
            await self._emit(proto.error_event(error, self._next_seq(), status=409))
            return
        try:
            request = parse_responses_request(event.body, self.simulation)
            self.response_ids.check_previous(event.body)
            refuse_before_stream(request)
        except RequestError as error:
            as_protocol = proto.ProtocolError(error.code or error.type, error.message, error.param)
            await self._emit(proto.error_event(as_protocol, self._next_seq(), error.status))
            return
        self.state = ConnState.STREAMING
        self._task = asyncio.create_task(self._run_chain(request, event.body))

    async def _steer(self, event: proto.SteerEvent) -> None:
        target, steer_input = event.previous_response_id, event.input
        try:
            text = steer_input_text(steer_input)
        except ValueError as exc:
            await self._fail_steer("invalid_input", str(exc), steer_input, target)
            return
        current = self._current
        if current is None or current.id != target:
            code, why = (
                ("response_already_completed", f"response {target} has already finished")
                if target in self._finished
                else ("response_not_found", f"no response {target} is streaming on this socket")
            )
            await self._fail_steer(code, why, steer_input, target)
            return
        if len(self._pending) >= MAX_PENDING_STEERS:
            await self._fail_steer(
                "too_many_pending_steers", f"{MAX_PENDING_STEERS} steers already queued",
                steer_input, target,
            )
            return
        steer = _Steer(proto.new_id("steer"), text)
        self._pending.append(steer)
        await self._emit(proto.steer_accepted_event(steer.id, target, self._next_seq()))
        self._wake.set()

    async def _fail_steer(self, code: str, message: str, steer_input: Any, target: str) -> None:
        await self._emit(
            proto.steer_failed_event(
                code, message, steer_input=steer_input, target=target, seq=self._next_seq()
            )
        )

    async def close(self) -> None:
        """The socket is gone: cancel generation now and wait until it has really stopped."""
        self.state = ConnState.CLOSED
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    # -- generating ------------------------------------------------------------------------------

    async def _run_chain(self, request: SimRequest, body: dict[str, Any]) -> None:
        """One response, then one successor per round of steering, until nothing is queued."""
        try:
            sim = request.simulation
            answer = answer_prompt(request.prompt, seed=sim.seed, max_tokens=request.max_tokens)
            tokens, topic, truncated = answer.tokens, answer.topic, answer.truncated
            previous = body.get("previous_response_id")
            input_tokens, profile = request.input_tokens, sim.latency
            while True:
                state = proto.ResponseState(
                    id=proto.new_id("resp"),
                    model=request.model,
                    created_at=int(time.time()),
                    input_tokens=input_tokens,
                    previous_response_id=previous,
                    instructions=request.instructions,
                    max_output_tokens=request.max_tokens,
                )
                await self._stream_one(state, tokens, profile, sim, truncated)
                steers, self._pending = self._pending, []
                self._wake.clear()
                if not steers:
                    break
                text = " ".join(s.text for s in steers)
                plan = plan_successor(
                    text, emitted=state.tokens, remaining=tokens[len(state.tokens) :],
                    current_topic=topic,
                )
                tokens, topic, truncated = plan.tokens, plan.topic, False
                previous, input_tokens = state.id, count_tokens(text)
                profile = successor_profile(profile)
                sim = replace(sim, fault=None)  # an injected fault fires once per chain
        except _Dropped:
            await self._close_socket(1011, "injected fault 'drop'")
        except WebSocketDisconnect:
            pass  # the client left while we were sending: nothing to tell anyone
        except Exception:
            log.exception("websocket response chain failed")
        finally:
            self._current = None
            self._pending = []
            if self.state is ConnState.STREAMING:
                self.state = ConnState.IDLE

    async def _stream_one(
        self,
        state: proto.ResponseState,
        tokens: tuple[str, ...],
        profile: LatencyProfile,
        sim: Simulation,
        truncated: bool,
    ) -> None:
        """Stream one response; it ends completed, steered or cut at max tokens.

        Not cancelled: POST /v1/responses/{id}/cancel only cancels background responses, and
        the WebSocket mode has none (app.cancel answers 400, as the API reference says).
        """
        self._current = state
        self.stats.in_flight[state.id] = self
        self.response_ids.add(state.id)
        try:
            first, self._seq = self._seq, self._seq + 4  # reserve: steer events may interleave
            for event in proto.opening_events(state, first):
                await self._emit(event)
            due = profile.schedule(len(tokens), input_tokens=state.input_tokens, seed=sim.seed)
            start = asyncio.get_running_loop().time()
            fault_at = min(sim.fault_after, len(tokens)) if sim.fault else -1
            for index, (token, offset) in enumerate(zip(tokens, due, strict=True)):
                if index == fault_at:
                    start += await self._inject(sim)
                if await self._interrupted_before(start + offset):
                    break
                state.tokens.append(token)
                self.stats.tokens_sent += 1
                await self._emit(proto.text_delta_event(state, token, self._next_seq()))
            if fault_at == len(tokens) and len(state.tokens) == len(tokens):
                await self._inject(sim)
            state.status, state.incomplete_reason = self._final_status(state, tokens, truncated)
            first, self._seq = self._seq, self._seq + 4
            for event in proto.closing_events(state, first):
                await self._emit(event)
        finally:
            self.stats.in_flight.pop(state.id, None)
            self._finished.add(state.id)
            self._current = None

    async def _inject(self, sim: Simulation) -> float:
        """Fire the request's mid-stream fault; returns how long it stalled the stream."""
        if sim.fault == "drop":
            raise _Dropped
        if sim.fault == "stall":
            loop = asyncio.get_running_loop()
            began = loop.time()
            await self._interrupted_before(began + sim.stall_seconds)
            return loop.time() - began
        return 0.0

    async def _interrupted_before(self, deadline: float) -> bool:
        """Sleep until the token is due, waking early for a steer."""
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining > 0 and not self._wake.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), remaining)
        return bool(self._pending)

    def _final_status(
        self, state: proto.ResponseState, tokens: tuple[str, ...], truncated: bool
    ) -> tuple[str, str | None]:
        if len(state.tokens) < len(tokens):
            return "incomplete", "steered"
        if truncated:
            return "incomplete", "max_output_tokens"
        return "completed", None


# --- the Starlette endpoint -----------------------------------------------------------------------


class _Dropped(Exception):
    """The 'drop' fault fired: hang up like a crashed server (close code 1011, retryable)."""


def refuse_before_stream(request: SimRequest) -> None:
    """Faults the WebSocket cannot stream: 429/500 become an error event; 'error' is HTTP-only."""
    fault = request.simulation.fault
    if fault in ("429", "500"):
        raise RequestError(
            f"simulated fault {fault!r} before the response started", status=int(fault),
            code="rate_limit_exceeded" if fault == "429" else "server_error",
            type="requests" if fault == "429" else "server_error",
        )
    if fault == "error":
        raise RequestError(
            "simulated fault 'error' is only available over HTTP; over WebSocket use 'drop', "
            "'stall', '429' or '500'", param="simulation.fault",
        )
    asked = request.features.first_param()
    if asked is not None:  # the WebSocket mode streams text only (on the local server only)
        raise RequestError(
            f"The local server's WebSocket mode streams text only: {asked!r} works over HTTP "
            "(client.responses.create / .stream), not over responses.connect() yet.",
            param=asked, code="unsupported_parameter",
        )


async def responses_websocket(websocket: WebSocket) -> None:
    """The ASGI endpoint: one Session per socket; closing the socket cancels its generation.

    The API key (when the server has one) is checked on the upgrade by the app's middleware,
    exactly as for the HTTP endpoints.
    """
    await websocket.accept()
    stats: WsStats = websocket.app.state.ws_stats

    async def close_socket(code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            await websocket.close(code, reason)

    state = websocket.app.state
    session = Session(
        websocket.send_text, close_socket, state.simulation, stats, state.response_ids
    )
    stats.open_connections += 1
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            raw = message.get("text") if message.get("text") is not None else message.get("bytes")
            await session.handle(raw or b"")
    except (WebSocketDisconnect, RuntimeError):
        pass  # RuntimeError: we closed the socket ourselves (fault 'drop') while reading
    finally:
        await session.close()
        stats.open_connections -= 1


def install(app: Starlette) -> WsStats:
    """Serve the WebSocket on the same path as POST /v1/responses; returns the app's counters."""
    app.state.ws_stats = WsStats()
    app.router.routes.append(WebSocketRoute(WEBSOCKET_PATH, responses_websocket))
    return app.state.ws_stats

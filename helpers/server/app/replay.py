"""Layer: app (the top). May import: every layer below, and the lesson helpers (helpers.sse).

A replay buffer per response: why an SSE reconnection can lose nothing and repeat nothing.

The server writes every event of a resumable response into a buffer, keyed by the event's
id, *before* any client reads it. A client that lost its connection comes back with the last
id it saw and gets exactly the events after that id, from the buffer, then the live ones as
they come. Which id depends on the protocol: on the classroom demo's stream it is the SSE `id:`
line, which `EventSource` sends back as the `Last-Event-ID` header (app.demo); on the Responses
API it is the event's `sequence_number` in the JSON, sent back as `starting_after=N`, and the
frames carry no `id:` line, as the real API's do not (app.background).

Generation runs in its own task, not in the HTTP handler, so it keeps going when the client
hangs up. That is only safe if it is bounded: a response may generate for at most
`max_generation_seconds`, and a finished buffer is forgotten `keep_seconds` later.

Only asyncio here, no HTTP: the server's handlers turn `follow()` into a response body.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

__all__ = [
    "BufferedEvent",
    "ReplayBuffer",
    "ReplayRegistry",
    "UnknownEventId",
    "UnknownResponse",
]


class UnknownEventId(LookupError):
    """A client asked to resume after an event id this response never sent."""


class UnknownResponse(LookupError):
    """No resumable response with this id (never started, not resumable, or already forgotten)."""


@dataclass(frozen=True, slots=True)
class BufferedEvent:
    """One event exactly as it went on the wire, with the id a client resumes after."""

    id: str
    frame: bytes


@dataclass
class ReplayBuffer:
    """All events of one response, in order; followers wait here for the next one.

    States: *recording* (events may be appended) then *finished* (no more events; `error`
    says why if generation did not end normally). Appending after finish is a bug and raises.
    """

    response_id: str
    max_events: int = 100_000
    events: list[BufferedEvent] = field(default_factory=list)
    finished: bool = False
    error: str | None = None
    finished_at: float | None = None
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    """Set to ask the generation to end early (POST /v1/responses/{id}/cancel, app.cancel)."""
    _positions: dict[str, int] = field(default_factory=dict)
    _grown: asyncio.Event = field(default_factory=asyncio.Event)

    def append(self, event_id: str, frame: bytes) -> None:
        """Record one event. Ids must be unique: a duplicate would make resuming ambiguous."""
        if self.finished:
            raise RuntimeError(f"response {self.response_id} is finished; cannot add {event_id!r}")
        if not event_id:
            raise ValueError(f"every resumable event needs an id; got an empty one: {frame!r}")
        if event_id in self._positions:
            raise ValueError(f"duplicate event id {event_id!r} in response {self.response_id}")
        if len(self.events) >= self.max_events:
            raise OverflowError(f"response {self.response_id} exceeded {self.max_events} events")
        self._positions[event_id] = len(self.events)
        self.events.append(BufferedEvent(event_id, frame))
        self._wake_followers()

    def finish(self, error: str | None = None, *, now: float | None = None) -> None:
        """Mark the end; followers drain what is left and stop."""
        if self.finished:
            return
        self.finished = True
        self.error = error
        self.finished_at = time.monotonic() if now is None else now
        self._wake_followers()

    def position_after(self, last_event_id: str | None) -> int:
        """Index of the first event the client has not seen. No id (or "") means from the start."""
        if not last_event_id:
            return 0
        try:
            return self._positions[last_event_id] + 1
        except KeyError:
            raise UnknownEventId(
                f"response {self.response_id} has no event with id {last_event_id!r} "
                f"(it has {len(self.events)} events so far)"
            ) from None

    def is_delivered(self, position: int) -> bool:
        """True when a client at `position` has everything there will ever be (answer: 204)."""
        return self.finished and position >= len(self.events)

    async def follow(self, position: int = 0) -> AsyncIterator[bytes]:
        """Yield frames from `position`: first the stored ones, then each new one as it lands."""
        while True:
            grown = self._grown  # take it before checking, so no append slips between
            while position < len(self.events):
                yield self.events[position].frame
                position += 1
            if self.finished:
                return
            await grown.wait()

    def _wake_followers(self) -> None:
        self._grown.set()
        self._grown = asyncio.Event()


EventSource = AsyncIterator[tuple[str, bytes]]
"""What a generation produces: (event id, SSE frame bytes) pairs, in order."""


class ReplayRegistry:
    """The resumable responses of one server, each generating in its own bounded task."""

    def __init__(
        self,
        *,
        max_generation_seconds: float = 120.0,
        keep_seconds: float = 300.0,
        max_responses: int = 1000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_generation_seconds = max_generation_seconds
        self.keep_seconds = keep_seconds
        self.max_responses = max_responses
        self._clock = clock
        self._buffers: dict[str, ReplayBuffer] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def __len__(self) -> int:
        return len(self._buffers)

    def start(
        self, response_id: str, events: EventSource, stop: asyncio.Event | None = None
    ) -> ReplayBuffer:
        """Begin recording `events` in a task of the running loop; returns the buffer at once.

        `stop` is the event the generation watches to end early (kept as `buffer.stop`).
        """
        self.forget_expired()
        if response_id in self._buffers:
            raise ValueError(f"response id {response_id!r} is already being recorded")
        if len(self._buffers) >= self.max_responses:
            raise OverflowError(
                f"{len(self._buffers)} resumable responses are kept; the limit is "
                f"{self.max_responses}. Retry after {self.keep_seconds:.0f} s."
            )
        buffer = ReplayBuffer(response_id, stop=stop or asyncio.Event())
        self._buffers[response_id] = buffer
        self._tasks[response_id] = asyncio.get_running_loop().create_task(
            self._record(buffer, events), name=f"replay-{response_id}"
        )
        return buffer

    def get(self, response_id: str) -> ReplayBuffer:
        """The buffer of a resumable response, or UnknownResponse naming the id."""
        self.forget_expired()
        try:
            return self._buffers[response_id]
        except KeyError:
            raise UnknownResponse(
                f"no resumable response {response_id!r}: it was not started with "
                f"background=true, or finished more than {self.keep_seconds:.0f} s ago"
            ) from None

    def forget_expired(self) -> list[str]:
        """Drop buffers finished more than keep_seconds ago; returns their ids."""
        now = self._clock()
        expired = [
            rid
            for rid, buf in self._buffers.items()
            if buf.finished_at is not None and now - buf.finished_at > self.keep_seconds
        ]
        for rid in expired:
            del self._buffers[rid]
            self._tasks.pop(rid, None)
        return expired

    async def aclose(self) -> None:
        """Stop every generation still running (server shutdown)."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _record(self, buffer: ReplayBuffer, events: EventSource) -> None:
        try:
            async with asyncio.timeout(self.max_generation_seconds):
                async for event_id, frame in events:
                    buffer.append(event_id, frame)
        except TimeoutError:
            buffer.finish(
                f"generation stopped after {self.max_generation_seconds:.0f} s "
                "(the limit for a response nobody may be reading)",
                now=self._clock(),
            )
        except asyncio.CancelledError:
            buffer.finish("server shutting down", now=self._clock())
            raise
        except Exception as exc:  # keep the reason for followers, do not crash the loop
            buffer.finish(f"generation failed: {exc!r}", now=self._clock())
        else:
            buffer.finish(now=self._clock())
        finally:
            closer = getattr(events, "aclose", None)
            if closer is not None:
                with contextlib.suppress(Exception):
                    await closer()

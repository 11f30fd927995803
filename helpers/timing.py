"""Measure when each piece of a streamed answer arrives, and what a blocking call costs.

Why a separate module: lessons 4 and 5 need the *same* numbers (time to first token, total,
gaps between pieces, tokens per second) from very different sources: a list of strings, an
async generator, an SDK ``Stream`` of Responses events or Chat Completions chunks. So the
measuring is done once here, on plain data objects, and plotting lives in ``helpers.charts``.

Vocabulary: a *piece* is one non-empty text delta as the client receives it. Servers usually
send one token per delta, so the kit calls a piece a "token" in rates; a delta may still hold
several real tokens. Everything else the stream yields (``response.created``, a chunk with only
a role, ...) is recorded as an *event* with its arrival time, and does not count as a token.

All times are seconds from the moment the clock started, measured with ``time.perf_counter``
(monotonic, high resolution; wall-clock time can jump).

Typical use::

    timed = timed_stream(lambda: client.responses.create(model=m, input=q, stream=True))
    for event in timed:          # the original events pass through unchanged
        ...
    print(timed.timing.summary())
"""

from __future__ import annotations

import inspect
import math
import time
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
)
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

TEXT_DELTA_EVENT = "response.output_text.delta"


# --- what counts as text ----------------------------------------------------------------------


def text_of(item: Any) -> str | None:
    """Return the text an item adds to the visible answer, or None if it adds none.

    Handles the three shapes the kit streams: plain ``str`` pieces, Responses API events (only
    ``response.output_text.delta`` carries answer text) and Chat Completions chunks
    (``choices[0].delta.content``). Empty strings count as no text: nothing became visible.
    """
    if isinstance(item, str):
        return item or None
    if getattr(item, "type", None) == TEXT_DELTA_EVENT:
        return getattr(item, "delta", None) or None
    choices = getattr(item, "choices", None)
    if choices:
        delta = getattr(choices[0], "delta", None)
        return getattr(delta, "content", None) or None
    return None


def kind_of(item: Any) -> str:
    """Name an item for the event log: its ``type``, its ``object`` (chat chunks), or its class."""
    for attribute in ("type", "object"):
        value = getattr(item, attribute, None)
        if isinstance(value, str):
            return value
    return type(item).__name__


def text_of_result(result: Any) -> str:
    """The full answer text of a blocking call's result (str, Response, or ChatCompletion)."""
    if isinstance(result, str):
        return result
    output_text = getattr(result, "output_text", None)
    if isinstance(output_text, str):
        return output_text
    choices = getattr(result, "choices", None)
    if choices:
        return getattr(choices[0].message, "content", None) or ""
    raise TypeError(f"cannot find answer text in a {type(result).__name__}: {result!r:.200}")


# --- the measurements -------------------------------------------------------------------------


@dataclass
class StreamTiming:
    """Arrival times of one answer. Plain data: build it, read it, chart it.

    ``arrivals[i]`` is when ``pieces[i]`` arrived, in seconds after ``started`` (a perf_counter
    value). A blocking call is one piece that arrives at the end: that is what its user sees.
    """

    label: str = "streamed"
    started: float = field(default_factory=time.perf_counter)
    pieces: list[str] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)
    events: list[tuple[float, str]] = field(default_factory=list)
    finished: float | None = None
    completed: bool = False

    def record(self, item: Any, now: float | None = None) -> None:
        """Note one item from the stream: a text piece, or an event that adds no text."""
        moment = (time.perf_counter() if now is None else now) - self.started
        text = text_of(item)
        if text is None:
            self.events.append((moment, kind_of(item)))
        else:
            self.pieces.append(text)
            self.arrivals.append(moment)

    def finish(self, completed: bool, now: float | None = None) -> None:
        """Stop the clock. ``completed`` is False when the stream was stopped or failed."""
        self.finished = (time.perf_counter() if now is None else now) - self.started
        self.completed = completed

    @property
    def text(self) -> str:
        return "".join(self.pieces)

    @property
    def ttft(self) -> float | None:
        """Time to first token: how long the user stared at nothing."""
        return self.arrivals[0] if self.arrivals else None

    @property
    def total(self) -> float | None:
        """Time until the stream ended (None while it is still running)."""
        return self.finished

    @property
    def gaps(self) -> list[float]:
        """Seconds between consecutive pieces: the rhythm of the typing effect."""
        return [later - earlier for earlier, later in pairwise(self.arrivals)]

    @property
    def tokens_per_second(self) -> float | None:
        """Generation speed after the first piece: (pieces - 1) / (last - first arrival).

        The first-token wait is left out on purpose: it is a separate number (``ttft``), and
        mixing it in would make a slow-to-start but fast model look slow at typing.
        """
        if len(self.arrivals) < 2 or self.arrivals[-1] <= self.arrivals[0]:
            return None
        return (len(self.arrivals) - 1) / (self.arrivals[-1] - self.arrivals[0])

    def visible_chars_at(self, moment: float) -> int:
        """How many characters the user could see ``moment`` seconds after the start."""
        return sum(len(p) for p, t in zip(self.pieces, self.arrivals, strict=True) if t <= moment)

    def summary(self) -> str:
        """A few lines for humans; numbers in the shapes tests/nbval_sanitize.cfg rewrites."""
        state = "complete" if self.completed else "stopped early"
        count = f"{len(self.pieces)} piece{'' if len(self.pieces) == 1 else 's'}"
        lines = [f"{self.label}: {count}, {len(self.text)} chars ({state})"]
        lines.append(f"  time to first token: {format_ms(self.ttft)}")
        lines.append(f"  total time:          {format_s(self.total)}")
        rate = self.tokens_per_second
        lines.append(f"  speed after first:   {'n/a' if rate is None else f'{rate:.1f} tokens/s'}")
        return "\n".join(lines)


def percentile(values: Iterable[float], p: float) -> float:
    """The nearest-rank ``p``-th percentile: the smallest value that at least ``p`` % of the
    values do not exceed. ``percentile(gaps, 50)`` is a median that is always one of the gaps.

    With n values, p99 is the largest as long as n <= 100: one stall among 39 gaps *is* the p99.
    """
    ordered = sorted(values)
    if not ordered:
        raise ValueError("percentile of no values")
    if not 0 < p <= 100:
        raise ValueError(f"p must be in (0, 100], got {p}")
    rank = math.ceil(p * len(ordered) / 100)  # 1-based; p * n first: 90 * 10 / 100 is 9.0 exactly
    return ordered[rank - 1]


def format_ms(seconds: float | None) -> str:
    """``0.2123`` -> ``'212 ms'`` (a shape the nbval sanitizer recognises)."""
    return "n/a" if seconds is None else f"{seconds * 1000:.0f} ms"


def format_s(seconds: float | None) -> str:
    """``1.0512`` -> ``'1.05 s'`` (a shape the nbval sanitizer recognises)."""
    return "n/a" if seconds is None else f"{seconds:.2f} s"


# --- wrapping streams -------------------------------------------------------------------------


class TimedStream:
    """Iterate a stream unchanged while recording arrivals into ``.timing``.

    Pass the stream itself, or better a zero-argument function that *opens* it: then the clock
    starts before the request is sent, so the time to first token includes the wait for the
    response headers (the SDK's ``create(stream=True)`` returns only after they arrive).
    """

    def __init__(self, source: Iterable[Any] | Callable[[], Iterable[Any]], label: str):
        self.timing = StreamTiming(label=label)
        self._stream = source() if callable(source) else source
        if not isinstance(self._stream, Iterable):
            raise TypeError(_wrong_kind("timed_stream", "an iterable", self._stream))
        self._iterator: Iterator[Any] = iter(self._stream)

    def __iter__(self) -> TimedStream:
        return self

    def __next__(self) -> Any:
        try:
            item = next(self._iterator)
        except StopIteration:
            self.timing.finish(completed=True)
            raise
        self.timing.record(item)
        return item

    def close(self) -> None:
        """Stop early: close the underlying stream (and its HTTP response, for the SDK)."""
        if self.timing.finished is None:
            self.timing.finish(completed=False)
        for target in _unique(self._stream, self._iterator):
            closer = getattr(target, "close", None)
            if closer is not None:
                closer()

    def __enter__(self) -> TimedStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncTimedStream:
    """The async twin of ``TimedStream``: ``async for`` over it, read ``.timing`` afterwards.

    The source may be an async iterable, or a zero-argument function returning one or
    returning an awaitable of one (``lambda: async_client.responses.create(..., stream=True)``).
    The stream is opened on first use, so the clock starts when iteration starts.
    """

    def __init__(self, source: Any, label: str):
        self.timing = StreamTiming(label=label)
        self._source = source
        self._stream: Any = None
        self._iterator: AsyncIterator[Any] | None = None

    async def open(self) -> None:
        """Start the clock and open the stream (called by the first ``__anext__``)."""
        self.timing.started = time.perf_counter()
        stream = self._source() if callable(self._source) else self._source
        if inspect.isawaitable(stream):
            stream = await stream
        if not isinstance(stream, AsyncIterable):
            raise TypeError(_wrong_kind("atimed_stream", "an async iterable", stream))
        self._stream = stream
        self._iterator = stream.__aiter__()

    def __aiter__(self) -> AsyncTimedStream:
        return self

    async def __anext__(self) -> Any:
        if self._iterator is None:
            await self.open()
        assert self._iterator is not None
        try:
            item = await self._iterator.__anext__()
        except StopAsyncIteration:
            self.timing.finish(completed=True)
            raise
        self.timing.record(item)
        return item

    async def aclose(self) -> None:
        """Stop early: close the underlying stream so the server sees the connection go."""
        if self.timing.finished is None:
            self.timing.finish(completed=False)
        for target in _unique(self._stream, self._iterator):
            closer = getattr(target, "close", None) or getattr(target, "aclose", None)
            if closer is not None:
                result = closer()
                if inspect.isawaitable(result):
                    await result

    async def __aenter__(self) -> AsyncTimedStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


def _wrong_kind(function: str, expected: str, got: Any) -> str:
    """A message that names what was passed and which wrapper fits it instead."""
    other = "atimed_stream" if function == "timed_stream" else "timed_stream"
    fits = isinstance(got, AsyncIterable) if other == "atimed_stream" else isinstance(got, Iterable)
    hint = f"; it is one for {other}" if fits else ""
    got_name = type(got).__name__
    return f"{function} needs {expected} (or a function returning one), got {got_name}{hint}"


def _unique(*objects: Any) -> list[Any]:
    """The objects without repeats (a generator is its own iterator: close it once)."""
    unique: list[Any] = []
    for obj in objects:
        if obj is not None and all(obj is not seen for seen in unique):
            unique.append(obj)
    return unique


def timed_stream(source: Any, label: str = "streamed") -> TimedStream:
    """Wrap a sync stream (or a function opening one); items pass through, times are kept."""
    return TimedStream(source, label)


def atimed_stream(source: Any, label: str = "streamed") -> AsyncTimedStream:
    """Wrap an async stream (or a function opening one); items pass through, times are kept."""
    return AsyncTimedStream(source, label)


# --- blocking calls ---------------------------------------------------------------------------


def time_blocking(call: Callable[[], Any], label: str = "blocking") -> tuple[Any, StreamTiming]:
    """Run a blocking call and time it as one piece arriving at the end.

    That single arrival is the honest model of what a user of a non-streamed answer sees:
    nothing, then everything. So its time to first token equals its total time.
    """
    timing = StreamTiming(label=label)
    result = call()
    return result, _as_one_piece(timing, result)


async def atime_blocking(
    call: Callable[[], Awaitable[Any]], label: str = "blocking"
) -> tuple[Any, StreamTiming]:
    """The async twin of ``time_blocking``, so a race can run it beside a stream."""
    timing = StreamTiming(label=label)
    result = await call()
    return result, _as_one_piece(timing, result)


def _as_one_piece(timing: StreamTiming, result: Any) -> StreamTiming:
    now = time.perf_counter()
    timing.record(text_of_result(result) or "", now=now)
    timing.finish(completed=True, now=now)
    return timing

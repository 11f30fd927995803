"""Checks for lesson 3's exercises (openai stream=True).

Every check runs the learner's code on the real openai SDK, so the events, the exceptions and
the timing are the SDK's own:

- exercise 1 replays streams api.openai.com sent (data/real_streams/) through an
  `httpx2.MockTransport`: one that completed, one cut at `max_output_tokens`, and three spliced
  from their frames (the real error recording's `error` + `response.failed` pair, mid-answer;
  the same without the `error` event, so `response.failed` reaches the loop; a body that simply
  stops)
  and one whose chunked body breaks off mid-answer (the SDK raises APIConnectionError);
- exercises 2 and 3 run against the kit's local server (LocalServers with their own settings: a
  stall, a slow model, a fixed time to first token). The timing checks use causal lower bounds
  (nothing can arrive before the server sent it); the one upper bound, exercise 2's "stopped
  soon after the deadline", has a margin far above what a busy machine adds.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import httpx2
import openai
from openai import OpenAI

from helpers.checks import Counted, call, drain, failed, passed
from helpers.recordings import recording_bytes
from helpers.server import LocalServer
from helpers.server.model.simulated import MODEL_ID, answer_prompt
from helpers.sse import SSEDecoder

PROMPT = "Write a haiku about streaming"


# --------------------------------------------------------------------------- exercise 1


def _frames(name: str) -> list[bytes]:
    """A recording's frames, each with its blank line."""
    return [frame + b"\n\n" for frame in recording_bytes(name).split(b"\n\n") if frame.strip()]


class _Dropped(httpx2.SyncByteStream):
    """A chunked body whose connection drops after `body`: what httpx2 raises then."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    def __iter__(self) -> Iterator[bytes]:
        yield self.body
        raise httpx2.RemoteProtocolError("peer closed connection without sending complete "
                                         "message body (incomplete chunked read)")


def _replay(body: bytes, dropped: bool = False) -> Any:
    """What `client.responses.create(..., stream=True)` returns when the server sent `body`
    (and then, if `dropped`, the connection broke in the middle of a chunked body)."""

    def answer(request: httpx2.Request) -> httpx2.Response:
        headers = {"content-type": "text/event-stream; charset=utf-8"}
        if dropped:
            return httpx2.Response(200, stream=_Dropped(body), headers=headers)
        return httpx2.Response(200, content=body, headers=headers)

    client = OpenAI(
        base_url="http://recording.invalid/v1",
        api_key="not-needed",
        max_retries=0,
        http_client=openai.DefaultHttpxClient(transport=httpx2.MockTransport(answer)),
    )
    return client.responses.create(model="gpt-4o", input="Tell me a story", stream=True)


QUOTA = "You exceeded your current quota"  # the real error recording's message starts so


def _ending_cases() -> list[tuple[str, bytes, list[str], bool]]:
    """(what happened, body, words the RuntimeError must contain, whether the connection drops
    after the body)."""
    cut = _frames("openai-responses-incomplete-1")  # 4 openers, 16 deltas, 3 .done, incomplete
    error_event, failed_event = _frames("openai-responses-error-1")[2:4]
    head = b"".join(cut[:10])  # created ... the 6th delta: "In the bustling city of Detroit"
    return [
        ("it stopped at max_output_tokens (response.incomplete, a real stream)",
         b"".join(cut), ["max_output_tokens"], False),
        ("the API sent an `error` event mid-answer (the SDK raises openai.APIError)",
         head + error_event + failed_event, [QUOTA], False),
        ("it ended with response.failed (no `error` event before it)",
         head + failed_event, [QUOTA], False),
        ("the body just stopped: no terminal event at all (a cut close-delimited body)",
         head, [], False),
        ("the connection dropped mid-answer (the SDK raises openai.APIConnectionError)",
         head, [], True),
    ]


def _deltas(body: bytes) -> list[tuple[str, int]]:
    """Each text delta the SDK yields from `body`, with its place among the events (1, 2, ...);
    the SDK raises at an `error` event, so nothing after one counts."""
    deltas = []
    for place, frame in enumerate(SSEDecoder().feed(body), start=1):
        if frame.event == "error":
            break
        if frame.event == "response.output_text.delta":
            deltas.append((frame.json()["delta"], place))
    return deltas


class _Taken(Counted):
    """The SDK's stream as the learner gets it, counting the events taken from it (close() and
    `with` pass through to the stream)."""

    def close(self) -> None:
        self.items.close()

    def __enter__(self) -> _Taken:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.items.close()


def _run_1(stream_answer: Callable[[Iterable[Any]], Iterable[str]], body: bytes, dropped: bool
           ) -> tuple[list[tuple[str, int]], BaseException | None, str | None]:
    """Each piece the learner yielded with the events taken by then, the exception that ended
    the generator (if any), or a failure message."""
    events = _Taken(_replay(body, dropped))
    result, error = call(1, stream_answer, events)
    if error:
        return [], None, error
    if not isinstance(result, Iterator):
        return [], None, failed(1, f"stream_answer should be a generator that yields the text as "
                                   f"it arrives (use `yield`), not return {result!r}")
    return drain(1, result, "stream_answer", lambda: events.taken)


def _pieces_on_time(got: list[tuple[str, int]], deltas: list[tuple[str, int]], what: str
                    ) -> str | None:
    pieces, want = [piece for piece, _taken in got], [delta for delta, _place in deltas]
    if pieces != want:
        first = next((n for n, (a, b) in enumerate(zip(pieces, want, strict=False)) if a != b),
                     min(len(pieces), len(want)))
        return failed(1, f"when {what}: yield each text delta as it arrives, all of them before "
                         f"any error. The stream had {len(want)} deltas, you yielded "
                         f"{len(pieces)}; piece {first + 1} should be "
                         f"{want[first] if first < len(want) else None!r}, you yielded "
                         f"{pieces[first] if first < len(pieces) else None!r}")
    for (piece, taken), (_delta, place) in zip(got, deltas, strict=True):
        if taken > place:
            return failed(1, f"when {what}, the delta {piece!r} was event {place}, but you "
                             f"yielded it only after taking event {taken}: yield each delta "
                             "before reading the next event (the reader is waiting for it)")
    return None


def check_exercise_1(stream_answer: Callable[[Iterable[Any]], Iterable[str]]) -> str:
    """Exercise 1: each text delta yielded as it arrives; afterwards, a normal end only if the
    stream ended with response.completed, and a RuntimeError that says why for every other
    ending, raised after the text that did arrive came out."""
    body = recording_bytes("openai-responses-text-1")
    got, raised, error = _run_1(stream_answer, body, False)
    if error:
        return error
    what = "the stream completed (the real 'pong' recording)"
    if raised is not None:
        return failed(1, f"when {what}, you raised {type(raised).__name__}: {raised}")
    if (why := _pieces_on_time(got, _deltas(body), what)) is not None:
        return why
    for what, body, words, dropped in _ending_cases():
        got, raised, error = _run_1(stream_answer, body, dropped)
        if error:
            return error
        if (why := _pieces_on_time(got, _deltas(body), what)) is not None:
            return why
        if raised is None:
            return failed(1, f"when {what}, the text is not the whole answer: after yielding it, "
                             "raise RuntimeError (the caller has shown it, and must learn it was "
                             "cut)")
        if not isinstance(raised, RuntimeError):
            return failed(1, f"when {what}, raise RuntimeError; {type(raised).__name__} "
                             f"escaped instead: {raised}")
        missing = [word for word in words if word not in str(raised)]
        if missing:
            return failed(1, f"when {what}, the RuntimeError should say why; {missing[0]!r} is "
                             f"missing from {str(raised)!r}")
    return passed(1)


# --------------------------------------------------------------------------- exercise 2

STALL_SECONDS = 2.5  # the stalled server's silence: 5 x `idle`, and over `idle` + the 1.5 s grace
IDLE = 0.5  # the stalled server's test; the others get IDLE_ELSEWHERE, so a busy machine's
IDLE_ELSEWHERE = 2.0  # pause of half a second between two tokens cannot fail a right answer
DEADLINE = 0.8
SLOW_TOKENS_PER_SECOND = 10.0  # the slow server: a token every 0.1 s
SLOW_PROMPT = PROMPT  # 19 tokens: 1.9 s at 10 tokens/s, more than twice the deadline
LATE = 0.7  # seconds after the deadline by which the answer must have stopped (tokens: 0.1 s)


def _run_2(stream_within: Callable[..., tuple], server: LocalServer, idle: float,
           deadline: float, prompt: str = PROMPT, after: Callable[[], bool] | None = None
           ) -> tuple[Any, float, str | None, bool]:
    """The learner's result, how long it took, a failure message, and what `after()` says
    once it returned (before the client's connections are closed)."""
    # The client's own timeout is longer than the stall: a stalled stream times out only if
    # the learner's code asked for it.
    client = OpenAI(base_url=server.base_url, api_key="unused", max_retries=0, timeout=10.0)
    start = time.perf_counter()
    try:
        result, error = call(2, stream_within, client, MODEL_ID, prompt, idle, deadline)
        elapsed = time.perf_counter() - start
        verdict = after() if after is not None and error is None else True
    finally:
        client.close()  # a stream the learner left open ends here, so the server stops cleanly
    return result, elapsed, error, verdict


def _stream_closed(server: LocalServer, within: float = 0.5) -> bool:
    """Whether the server stopped generating (it notices a closed connection at its next
    token) within `within` seconds."""
    until = time.perf_counter() + within
    while server.live_streams:
        if time.perf_counter() > until:
            return False
        time.sleep(0.02)
    return True


def check_exercise_2(stream_within: Callable[..., tuple]) -> str:
    """Exercise 2: (text, None), (text so far, "idle") after `idle` s of silence, or (text so
    far, "deadline") once `deadline` s have passed since the request; the stream closed."""
    tokens = answer_prompt(PROMPT).tokens
    whole = "".join(tokens)
    with LocalServer(ttft=0.05, tokens_per_second=200, jitter=0) as healthy:
        result, _elapsed, error, _ = _run_2(stream_within, healthy, IDLE_ELSEWHERE, 10.0)
    if error:
        return error
    if result != (whole, None):
        return failed(2, f"a healthy stream should give ({whole!r}, None), got {result!r}")

    with LocalServer(ttft=0.05, tokens_per_second=200, jitter=0, fault="stall", fault_after=5,
                     stall_seconds=STALL_SECONDS) as stalled:
        result, elapsed, error, _ = _run_2(stream_within, stalled, IDLE, 10.0)
    if error:
        return failed(2, f"a server that went quiet must not raise out of your function: "
                         f"{error.split(': ', 1)[1]}")
    want = ("".join(tokens[:5]), "idle")
    if result == want and elapsed > IDLE + 1.5:
        return failed(2, f"idle={IDLE} s, but your function noticed the silence only after "
                         f"{elapsed:.1f} s: the read timeout is `idle` itself")
    if result != want:
        return failed(2, f"the server went quiet for {STALL_SECONDS:.0f} s after 5 tokens, with "
                         f"idle={IDLE}: expected {want!r} (a read timeout of `idle` seconds, on "
                         f"the `client` you are given), got {result!r} after {elapsed:.1f} s")

    was_enabled = gc.isenabled()
    gc.disable()  # a stream left open stays open: only a cycle collection would close it
    try:
        with LocalServer(ttft=0.05, tokens_per_second=SLOW_TOKENS_PER_SECOND, jitter=0) as slow:
            result, elapsed, error, closed = _run_2(
                stream_within, slow, IDLE_ELSEWHERE, DEADLINE, SLOW_PROMPT,
                lambda: _stream_closed(slow),
            )
    finally:
        if was_enabled:
            gc.enable()
    if error:
        return error
    if not (isinstance(result, tuple) and len(result) == 2):
        return failed(2, f"expected a tuple (text, reason), got {result!r}")
    text, reason = result
    whole = answer_prompt(SLOW_PROMPT).text
    if reason != "deadline":
        slow_total = len(answer_prompt(SLOW_PROMPT).tokens) / SLOW_TOKENS_PER_SECOND
        return failed(2, f"a model writing a token every 0.1 s takes {slow_total:.1f} s, past "
                         f"deadline={DEADLINE}: expected (text so far, 'deadline'), got "
                         f"{result!r} after {elapsed:.2f} s (a read timeout bounds the silence "
                         "between two pieces, not the whole answer)")
    if not text or not whole.startswith(text) or text == whole:
        return failed(2, f"at the deadline the text so far is a start of {whole[:40]!r}..., "
                         f"got {text!r}")
    if elapsed > DEADLINE + LATE:
        return failed(2, f"deadline={DEADLINE} s, but your function returned after "
                         f"{elapsed:.2f} s: look at the clock at every event")
    if not closed:
        return failed(2, "after the deadline the server was still generating: close the stream "
                         "(stream.close(), or `with ... as stream:`), or the model keeps writing "
                         "the answer nobody reads (and a real API bills it)")
    return passed(2)


# --------------------------------------------------------------------------- exercise 3

NETWORK_DELAY = 0.5  # seconds the check's network takes to carry the request to the server
CHECK_TTFT = 1.0  # the server's time to first token, from the request's arrival
CHECK_TOKENS_PER_SECOND = 60.0  # the server keeps an absolute schedule: load does not slow it
RATE_QUESTION = "Why does streaming feel faster?"  # 110 tokens: 1.8 s of text at 60 tokens/s
# A right rate stays above MIN_RATE unless the last delta comes 0.8 s late; a rate that counts
# the wait before the first token can reach at most 110 / (1.0 + 1.8) = 39 deltas/s (< 42).
MIN_RATE = 0.7  # a right rate is about 1.0 x the server's (higher when the first token is late)
TIMER_SLACK = 0.02  # an event loop may wake a timer a little early; be generous


class SlowNetwork(httpx2.BaseTransport):
    """An HTTP transport that takes `delay` seconds to carry each request to the server, like a
    slow link or a queue in front of the API: `create()` returns that much later."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.inner = httpx2.HTTPTransport()

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        time.sleep(self.delay)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def check_exercise_3(stream_timings: Callable[[OpenAI, str, str], dict]) -> str:
    """Exercise 3: when create() returned, the first text, the end (all from just before the
    request), and the rate of text deltas after the first."""
    tokens = answer_prompt(RATE_QUESTION).tokens
    first_due = NETWORK_DELAY + CHECK_TTFT
    last_due = first_due + (len(tokens) - 1) / CHECK_TOKENS_PER_SECOND
    with LocalServer(ttft=CHECK_TTFT, tokens_per_second=CHECK_TOKENS_PER_SECOND, jitter=0) as srv:
        client = OpenAI(
            base_url=srv.base_url,
            api_key="unused",
            max_retries=0,
            http_client=openai.DefaultHttpxClient(transport=SlowNetwork(NETWORK_DELAY)),
        )
        result, error = call(3, stream_timings, client, MODEL_ID, RATE_QUESTION)
        client.close()
    if error:
        return error
    keys = {"headers", "first_text", "total", "rate"}
    if not isinstance(result, dict) or set(result) != keys:
        return failed(3, f"expected a dict with the keys {sorted(keys)}, got {result!r}")
    headers, first_text, total, rate = (result[key] for key in ("headers", "first_text",
                                                                "total", "rate"))
    if headers < NETWORK_DELAY - TIMER_SLACK:
        return failed(3, f"headers={headers:.3f} s, but the check's network alone took "
                         f"{NETWORK_DELAY} s to carry the request: start the clock before "
                         "create(), which returns only when the headers are in (and call the "
                         "`client` you are given)")
    if first_text < first_due - TIMER_SLACK:
        return failed(3, f"first_text={first_text:.3f} s, but the first text delta cannot "
                         f"arrive before {first_due:.1f} s (network {NETWORK_DELAY} s + the "
                         f"server's {CHECK_TTFT} s to the first token): time the first text "
                         "delta, from just before the request")
    if not headers <= first_text <= total:
        return failed(3, f"expected headers <= first_text <= total, got {result!r}")
    if total < last_due - TIMER_SLACK:
        return failed(3, f"total={total:.3f} s ends before the last token was due "
                         f"({last_due:.2f} s): time until the stream is finished")
    if rate < MIN_RATE * CHECK_TOKENS_PER_SECOND:
        return failed(3, f"rate={rate:.1f} deltas/s, but this server wrote "
                         f"{CHECK_TOKENS_PER_SECOND:.0f} a second once it started: count the "
                         "deltas after the first, over the time after the first (the wait "
                         "before it is not writing speed)")
    return passed(3)

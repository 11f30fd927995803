"""A reconnecting SSE client: what a browser's EventSource does, written out in Python.

Three pieces make a stream survive a dropped connection:
1. the client remembers where it is: the last SSE event id (`SSEDecoder.last_event_id`) on a
   server that writes `id:` lines, or, on the OpenAI Responses API, which writes none, the last
   `sequence_number` it read from the events' JSON;
2. the server may say how long to wait before reconnecting (`retry:` in ms);
3. the reconnect request carries that place, and the server replays from it: EventSource sends
   the id back as `Last-Event-ID` to the same URL (`same_request_with_last_event_id`); the
   Responses API wants `GET /responses/{id}?stream=true&starting_after=N`
   (`responses_resume_request`, what the openai SDK's `retrieve(..., starting_after=N)` sends).

The client is an explicit state machine with EventSource's states (CONNECTING, OPEN,
CLOSED) plus WAITING for the pause between connections. It yields every event it receives and
hides nothing: if the server replayed an event twice, you would see it twice and could count it.

For tests and lessons, `hang_up_after` makes the client itself cut the connection (a real
socket close, like a phone losing signal): entry k is how many events connection k+1 reads
before hanging up (None: read on until the stream ends or breaks by itself).
"""

from __future__ import annotations

import enum
import json
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx

from helpers.sse import ServerSentEvent, SSEDecoder

__all__ = [
    "FINAL_EVENT_TYPES",
    "Attempt",
    "ReadyState",
    "Request",
    "ResumeError",
    "ResumingEventStream",
    "gaps_and_repeats",
    "responses_resume_request",
    "same_request_with_last_event_id",
    "sequence_number_of",
    "sse_id",
]

FINAL_EVENT_TYPES = frozenset(
    {"response.completed", "response.failed", "response.incomplete", "done"}
)
"""Event types after which the stream is over: no reconnect, even if the socket then closes.
Not `error`: the Responses API follows it with `response.failed`, which we still want."""

DEFAULT_RETRY_MS = 1000
"""Used until the server sends `retry:`; browsers pick a few seconds (Chromium: 3000 ms)."""


class ResumeError(RuntimeError):
    """The stream cannot continue: a bad status, a wrong content type, or too many attempts."""


class ReadyState(enum.Enum):
    CONNECTING = "connecting"  # a request is on its way
    OPEN = "open"  # a 200 text/event-stream response is being read
    WAITING = "waiting"  # the connection dropped; sleeping `retry` ms before reconnecting
    CLOSED = "closed"  # done: final event, 204 No Content, or an error


@dataclass(frozen=True)
class Request:
    """Everything needed to open one connection."""

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    json: Any = None


@dataclass
class Attempt:
    """What happened on one connection, for the learner to inspect."""

    number: int
    request: Request
    status: int | None = None
    events: int = 0
    first_position: str = ""  # where the first event put the client (see `position`)
    last_position: str = ""
    ended_by: str = ""


def sse_id(event: ServerSentEvent, payload: Any) -> str:
    """EventSource's place in a stream: the last SSE `id:` in force ("" before any)."""
    return event.id


def sequence_number_of(event: ServerSentEvent, payload: Any) -> str:
    """The Responses API's place in a stream: the event's `sequence_number`, read from its JSON
    (the API writes no `id:` lines); "" for an event without one."""
    number = payload.get("sequence_number") if isinstance(payload, dict) else None
    return str(number) if isinstance(number, int) else ""


def same_request_with_last_event_id(first: Request, last_event_id: str, _: list[Any]) -> Request:
    """EventSource's rule: reconnect to the same URL, adding `Last-Event-ID` if we have one."""
    headers = dict(first.headers)
    if last_event_id:
        headers["Last-Event-ID"] = last_event_id
    return Request(first.method, first.url, headers, first.json)


def responses_resume_request(
    first: Request, last_sequence_number: str, payloads: list[Any]
) -> Request:
    """The Responses API's rule: GET /responses/{id}?stream=true&starting_after=N.

    The response id comes from the first event (`response.created`), N is the
    `sequence_number` of the last event received (`sequence_number_of`: the API sends no
    `id:` lines, and no `Last-Event-ID` header is sent, since the API has no use for one).
    """
    response_id = next(
        (p["response"]["id"] for p in payloads if isinstance(p, dict) and "response" in p), None
    )
    if response_id is None:
        raise ResumeError("cannot resume: no event carried the response id yet")
    base = first.url.rsplit("/responses", 1)[0]
    query: dict[str, str] = {"stream": "true"}
    if last_sequence_number:
        query["starting_after"] = last_sequence_number
    headers = {k: v for k, v in first.headers.items() if k.lower() != "content-type"}
    return Request("GET", f"{base}/responses/{response_id}?{urlencode(query)}", headers)


def gaps_and_repeats(sequence_numbers: Iterable[int]) -> tuple[int, int]:
    """(lost, duplicated) in a stream whose events are numbered 0, 1, 2, ... in order.

    Lost: numbers between the smallest and largest seen that never arrived.
    Duplicated: arrivals beyond the first of each number.
    """
    seen: set[int] = set()
    repeats = 0
    for number in sequence_numbers:
        if number in seen:
            repeats += 1
        seen.add(number)
    if not seen:
        return 0, 0
    lost = (max(seen) - min(seen) + 1) - len(seen)
    return lost, repeats


ResumeBuilder = Callable[[Request, str, list[Any]], Request]
"""(the first request, the last position, the JSON of every event so far) -> the next request."""

PositionReader = Callable[[ServerSentEvent, Any], str]
"""(an event, its JSON or None) -> the place in the stream it marks, "" if none."""


class ResumingEventStream:
    """Iterate over the events of one logical stream, across as many connections as it takes.

    `resume` builds each reconnect request from the last position; `position` reads that
    position from each event. By default it is what `resume` needs: the SSE id for
    `same_request_with_last_event_id`, the JSON's `sequence_number` for
    `responses_resume_request`.
    """

    def __init__(
        self,
        first: Request,
        *,
        resume: ResumeBuilder = same_request_with_last_event_id,
        position: PositionReader | None = None,
        is_final: Callable[[ServerSentEvent], bool] = lambda e: (
            e.event in FINAL_EVENT_TYPES or e.data == "[DONE]"
        ),
        max_attempts: int = 20,
        hang_up_after: Sequence[int | None] = (),
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if first.method != "GET" and resume is same_request_with_last_event_id:
            raise ValueError(
                f"reconnecting by re-sending {first.method} {first.url} would start a new "
                "answer, not resume this one: pass resume=responses_resume_request (or your own)"
            )
        self.first = first
        self.resume = resume
        # Where the client is, passed to `resume`: by default what that rule resumes from.
        default = sequence_number_of if resume is responses_resume_request else sse_id
        self.position = position or default
        self.is_final = is_final
        self.max_attempts = max_attempts
        self.hang_up_after = list(hang_up_after)
        self._client = client
        self._sleep = sleep
        self.state = ReadyState.CONNECTING
        self.last_position = ""  # the last SSE id, or the last sequence number (`position`)
        self.retry_ms = DEFAULT_RETRY_MS
        self.attempts: list[Attempt] = []
        self.payloads: list[Any] = []  # JSON data of each event (None if not JSON)

    def __iter__(self) -> Iterator[ServerSentEvent]:
        own_client = self._client is None
        client = self._client or httpx.Client(timeout=httpx.Timeout(30.0, connect=5.0))
        try:
            yield from self._run(client)
        finally:
            if own_client:
                client.close()

    def _run(self, client: httpx.Client) -> Iterator[ServerSentEvent]:
        request = self.first
        while self.state is not ReadyState.CLOSED:
            if len(self.attempts) >= self.max_attempts:
                self.state = ReadyState.CLOSED
                raise ResumeError(
                    f"gave up after {self.max_attempts} connections:\n{self.summary()}"
                )
            attempt = Attempt(len(self.attempts) + 1, request)
            self.attempts.append(attempt)
            self.state = ReadyState.CONNECTING
            yield from self._connect_once(client, attempt)
            if self.state is ReadyState.WAITING:
                self._sleep(self.retry_ms / 1000)
                request = self.resume(self.first, self.last_position, self.payloads)

    def _connect_once(self, client: httpx.Client, attempt: Attempt) -> Iterator[ServerSentEvent]:
        request = attempt.request
        planned = attempt.number <= len(self.hang_up_after)
        limit = self.hang_up_after[attempt.number - 1] if planned else None
        try:
            with client.stream(
                request.method, request.url, headers=request.headers, json=request.json
            ) as response:
                attempt.status = response.status_code
                self._check_response(response, attempt)
                if self.state is ReadyState.CLOSED:
                    return
                self.state = ReadyState.OPEN
                decoder = SSEDecoder()
                for chunk in response.iter_raw():
                    for event in decoder.feed(chunk):
                        yield from self._deliver(event, decoder, attempt)
                        if self.state is ReadyState.CLOSED:
                            return
                        if limit is not None and attempt.events >= limit:
                            attempt.ended_by = f"client hung up after {limit} events (injected)"
                            self.state = ReadyState.WAITING
                            return  # leaving `with` closes the socket mid-stream
                attempt.ended_by = "server closed the stream before a final event"
        except (httpx.TransportError, httpx.StreamError) as exc:
            attempt.ended_by = f"connection failed: {type(exc).__name__}: {exc}"
        self.state = ReadyState.WAITING

    def _check_response(self, response: httpx.Response, attempt: Attempt) -> None:
        if response.status_code == 204:
            attempt.ended_by = "204 No Content: nothing more to send"
            self.state = ReadyState.CLOSED
            return
        content_type = response.headers.get("content-type", "")
        if response.status_code != 200 or not content_type.startswith("text/event-stream"):
            self.state = ReadyState.CLOSED
            body = response.read()[:300]
            attempt.ended_by = f"refused: {response.status_code} {content_type}"
            raise ResumeError(
                f"{attempt.request.method} {attempt.request.url} answered "
                f"{response.status_code} ({content_type or 'no content type'}), "
                f"not a 200 event stream: {body!r}"
            )

    def _deliver(
        self, event: ServerSentEvent, decoder: SSEDecoder, attempt: Attempt
    ) -> Iterator[ServerSentEvent]:
        if decoder.retry is not None:
            self.retry_ms = decoder.retry
        try:
            payload = json.loads(event.data)
        except ValueError:
            payload = None
        self.payloads.append(payload)
        place = self.position(event, payload)
        if place:
            self.last_position = place
        attempt.events += 1
        attempt.first_position = attempt.first_position or place
        attempt.last_position = place or attempt.last_position
        yield event
        if self.is_final(event):
            attempt.ended_by = f"final event {event.event!r}"
            self.state = ReadyState.CLOSED

    def summary(self) -> str:
        """One line per connection: status, events (first..last position), and why it ended."""
        return "\n".join(
            f"#{a.number} {a.request.method} {a.status} events={a.events} "
            f"({a.first_position or '-'}..{a.last_position or '-'}): {a.ended_by}"
            for a in self.attempts
        )

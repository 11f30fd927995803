"""Checks for lesson 13's exercises (your app in the middle: a FastAPI relay).

Each check returns the line the notebook prints (helpers.checks says why it never raises).
Exercises 1 and 3 are checked by running the learner's code in a real relay (uvicorn in a
thread) in front of a local server of the check's own, and counting: tokens the model generated
after the page left (exercise 1), `load_policy()` calls running at once (exercise 3). Exercise 2
feeds the learner's generator event sequences and compares what it yields.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any

import httpx
import openai
from fastapi import Depends, FastAPI
from fastapi.sse import EventSourceResponse, ServerSentEvent

from helpers.checks import call, failed, failed_with, passed
from helpers.relay import Ask, RelayServer, Upstream, hang_up_after, iter_relay, ten_users
from helpers.server import LocalServer

PROMPT = "Compare websockets vs SSE"  # 133 tokens on the simulated model
HANG_UP_AFTER = 3
# One redraw interval (lesson 4: 50 ms) is 2 tokens at 40 tokens/s; the check allows 4 (100 ms)
# for a busy machine. A relay that reads on passes 20 more in the 0.5 s the check waits.
TOKENS_PER_SECOND = 40
ALLOWED_AFTER = 4
WAIT_AFTER_HANG_UP = 0.5


def _event_of(item: Any) -> tuple[str | None, Any]:
    """(event, data) of a ServerSentEvent the learner yielded (or of a look-alike)."""
    return getattr(item, "event", None), getattr(item, "data", None)


# --------------------------------------------------------------------------- exercise 1


def _history_relay(fn: Callable[..., Any], upstream: Upstream, history: list) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.model = upstream.client()
        yield
        await app.state.model.close()

    app = FastAPI(lifespan=lifespan)
    app.state.failure = None

    async def learners_events(ask: Ask) -> AsyncIterator[Any]:
        """The learner's generator, closed when the response is over (lesson 13, section 1)."""
        events = fn(app.state.model, upstream, ask.prompt, history)
        try:
            yield events
        finally:
            with contextlib.suppress(Exception):
                await events.aclose()

    @app.post("/api/chat", response_class=EventSourceResponse)
    async def chat(
        events: Any = Depends(learners_events, scope="request"),  # noqa: B008
    ) -> AsyncIterator[ServerSentEvent]:
        try:
            async for item in events:
                yield item
        except Exception as error:  # the learner's crash: reported by the check, not logged
            app.state.failure = error

    return app


def _latest_tally(server: LocalServer) -> dict[str, Any] | None:
    ids = list(server.app.state.token_tallies)
    return server.tokens(ids[-1]) if ids else None


def check_exercise_1(answer_and_record: Callable[..., Any]) -> str:
    """Exercise 1: delta/done, one history entry per request, and the hang-up passed on."""
    if not inspect.isasyncgenfunction(answer_and_record):
        return failed(1, "answer_and_record should be an async generator (async def with yield)")
    with LocalServer(ttft=0.05, tokens_per_second=TOKENS_PER_SECOND, jitter=0) as model:
        upstream = Upstream(model.base_url, "kit-sim-1", "unused")
        history: list[Any] = []
        app = _history_relay(answer_and_record, upstream, history)
        with RelayServer(app) as relay:
            try:
                events = list(iter_relay(relay.url, "haiku", timeout=30))
            except httpx.HTTPError as error:
                events, cut = [], error
            if app.state.failure is not None:
                return failed_with(1, app.state.failure, "answer_and_record")
            if not events or events[-1][0] != "done":
                last = events[-1][0] if events else f"nothing ({cut!r})"
                return failed(
                    1, f"a whole answer should end with a 'done' event, the last was {last}"
                )
            text = "".join(data.get("text", "") for kind, data in events if kind == "delta")
            expected = "".join(_model_answer(model, "haiku"))
            if text != expected:
                return failed(
                    1, f"the deltas should carry the model's text {expected!r}, got {text!r}"
                )
            if history != [{"prompt": "haiku", "text": expected, "complete": True}]:
                return failed(
                    1,
                    "after one whole answer, history should be [{'prompt': 'haiku', 'text': "
                    f"<the answer>, 'complete': True}}], got {history!r}",
                )
            read = hang_up_after(relay.url, PROMPT, HANG_UP_AFTER)
            time.sleep(WAIT_AFTER_HANG_UP)
            tally = _latest_tally(model)
        full = "".join(_model_answer(model, PROMPT))
        for _ in range(200):  # the relay and its tasks are gone; let the history settle
            if len(history) > 1:
                break
            time.sleep(0.01)
    assert tally is not None
    left_at = tally["generated_before_client_left"]
    if left_at is None:
        return failed(
            1,
            f"the page left after {read} deltas, but the model's stream was still open "
            f"{WAIT_AFTER_HANG_UP} s later ({tally['generated']} tokens generated): close it "
            "when the page leaves",
        )
    if left_at - read > ALLOWED_AFTER:
        return failed(
            1,
            f"the model's stream was closed {left_at - read} tokens after the page left "
            f"(at most {ALLOWED_AFTER}): close it at once, not after reading on",
        )
    entries = history[1:]
    if len(entries) != 1:
        return failed(
            1, f"the abandoned request should add one history entry, it added {entries!r}"
        )
    entry = entries[0]
    if (
        not isinstance(entry, dict)
        or entry.get("prompt") != PROMPT
        or entry.get("complete") is not False
    ):
        return failed(
            1,
            f"an abandoned answer's entry should be {{'prompt': {PROMPT!r}, 'text': ..., "
            f"'complete': False}}, got {entry!r}",
        )
    text = entry.get("text")
    if not isinstance(text, str) or not full.startswith(text) or len(text) < read:
        return failed(
            1, f"the abandoned entry's text should be what was read from the model, got {text!r}"
        )
    return passed(1)


def _model_answer(model: LocalServer, prompt: str) -> list[str]:
    client = openai.OpenAI(base_url=model.base_url, api_key="unused", max_retries=0)
    instant = {"simulation": {"ttft": 0, "tokens_per_second": 0}}
    stream = client.responses.create(
        model="kit-sim-1", input=prompt, stream=True, extra_body=instant
    )
    return [e.delta for e in stream if e.type == "response.output_text.delta"]


# --------------------------------------------------------------------------- exercise 2


def _ev(kind: str, **fields: Any) -> SimpleNamespace:
    return SimpleNamespace(type=kind, **fields)


OPENING = [_ev("response.created"), _ev("response.in_progress"), _ev("response.output_item.added")]
SECRET = "upstream internal detail: shard 7 exploded"


def _deltas(*texts: str) -> list[SimpleNamespace]:
    return [_ev("response.output_text.delta", delta=text) for text in texts]


class _Raise:
    """A marker in a case's events: the iterator raises this exception there."""

    def __init__(self, error: Exception) -> None:
        self.error = error


def _api_error() -> openai.APIError:
    import httpx2

    request = httpx2.Request("POST", "http://127.0.0.1/v1/responses")
    return openai.APIError(SECRET, request, body={"message": SECRET})


def _cases() -> list[tuple[str, list[Any], list[str], str]]:
    """(what happens, the events, the texts expected, the ending expected)."""
    body = _deltas("Hel", "lo", " there")
    texts = ["Hel", "lo", " there"]
    done = _ev("response.completed")
    return [
        (
            "a whole answer",
            [*OPENING, *body, _ev("response.output_text.done"), done],
            texts,
            "done",
        ),
        ("a stream that ends without response.completed", [*OPENING, *body], texts, "error"),
        (
            "response.incomplete (max_output_tokens)",
            [*OPENING, *body, _ev("response.incomplete")],
            texts,
            "error",
        ),
        (
            "an openai.APIError mid-stream",
            [*OPENING, *body[:2], _Raise(_api_error())],
            texts[:2],
            "error",
        ),
        (
            "an error event, then response.failed",
            [*OPENING, *body[:1], _ev("error", message=SECRET), _ev("response.failed")],
            texts[:1],
            "error",
        ),
        (
            "response.failed",
            [*OPENING, *body[:2], _ev("response.failed", message=SECRET)],
            texts[:2],
            "error",
        ),
        ("no text at all, completed", [*OPENING, done], [], "done"),
    ]


async def _source(events: list[Any]) -> AsyncIterator[Any]:
    for item in events:
        if isinstance(item, _Raise):
            raise item.error
        await asyncio.sleep(0)
        yield item


async def _collect(fn: Callable[..., Any], events: list[Any]) -> list[tuple[str | None, Any]]:
    return [_event_of(item) async for item in fn(_source(events))]


def _run_apart(fn: Callable[..., Any], events: list[Any]) -> list[tuple[str | None, Any]]:
    """Run the learner's generator to its end in an event loop of its own, in a worker thread
    (the notebook's kernel already runs a loop in this one)."""
    with ThreadPoolExecutor(1) as worker:
        return worker.submit(asyncio.run, _collect(fn, events)).result()


def check_exercise_2(relay_responses: Callable[..., Any]) -> str:
    """Exercise 2: deltas in order, then exactly one ending: done only after completed."""
    if not inspect.isasyncgenfunction(relay_responses):
        return failed(2, "relay_responses should be an async generator (async def with yield)")
    for what, events, texts, ending in _cases():
        got, error = call(2, _run_apart, relay_responses, events, label="relay_responses")
        if error:
            return error
        kinds = [kind for kind, _ in got]
        if not kinds or kinds[-1] not in ("done", "error"):
            return failed(2, f"for {what}: the last event should be 'done' or 'error', got {kinds}")
        endings = [kind for kind in kinds if kind in ("done", "error")]
        if len(endings) != 1:
            return failed(2, f"for {what}: exactly one ending event, got {kinds}")
        if kinds[-1] != ending:
            return failed(2, f"for {what}: the ending should be {ending!r}, got {kinds[-1]!r}")
        sent = [data.get("text") if isinstance(data, dict) else data for kind, data in got[:-1]]
        if kinds[:-1] != ["delta"] * len(texts) or sent != texts:
            return failed(
                2, f"for {what}: expected delta events with texts {texts}, got {got[:-1]!r}"
            )
        data = got[-1][1]
        if ending == "done" and data not in ({}, None):
            return failed(2, f"for {what}: 'done' carries {{}}, got {data!r}")
        if ending == "error":
            message = data.get("message") if isinstance(data, dict) else None
            if not isinstance(message, str) or not message:
                return failed(2, f"for {what}: 'error' should carry a message, got {data!r}")
            if "shard" in json.dumps(data):
                return failed(
                    2,
                    f"for {what}: the error sent to the page repeats the upstream's text: {data!r}",
                )
    return passed(2)


# --------------------------------------------------------------------------- exercise 3

POLICY = "Answer in one short paragraph."
ASKED = "Tell me about quokkas"  # with the policy before it, the simulated model answers otherwise
POLICY_SECONDS = 0.2
USERS = 10
AT_ONCE_NEEDED = 3  # a relay that blocks its loop runs them one at a time: exactly 1


class _PolicyCounter:
    """`load_policy` for the check: sleeps 0.2 s, counting the calls running at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = self.most = self.calls = 0

    def __call__(self) -> str:
        with self.lock:
            self.running += 1
            self.calls += 1
            self.most = max(self.most, self.running)
        try:
            time.sleep(POLICY_SECONDS)
        finally:
            with self.lock:
                self.running -= 1
        return POLICY


def check_exercise_3(make_policy_relay: Callable[..., Any]) -> str:
    """Exercise 3: ten users at once, their load_policy() calls overlapping, answers right."""
    with LocalServer(ttft=0.05, tokens_per_second=400, jitter=0) as model:
        upstream = Upstream(model.base_url, "kit-sim-1", "unused")
        counter = _PolicyCounter()
        app, error = call(3, make_policy_relay, upstream, counter)
        if error:
            return error
        if not isinstance(app, FastAPI):
            return failed(3, f"make_policy_relay should return a FastAPI app, got {app!r}")
        expected = "".join(_model_answer(model, POLICY + "\n\n" + ASKED))
        with RelayServer(app) as relay:
            try:
                one = list(iter_relay(relay.url, ASKED, timeout=30))
            except httpx.HTTPError as cut:
                return failed(3, f"POST /api/chat failed: {cut!r}")
            text = "".join(data.get("text", "") for kind, data in one if kind == "delta")
            if not one or one[-1][0] != "done" or text != expected:
                return failed(
                    3,
                    "one user should get the model's answer to policy + '\\n\\n' + prompt, "
                    f"then 'done': got {text[:60]!r}... and {[kind for kind, _ in one][-1:]}",
                )
            counter.most = counter.calls = 0
            users = ten_users(relay.url, ASKED, USERS)
    if any(user.last_event != "done" for user in users):
        return failed(3, f"with {USERS} users at once, not every answer ended with 'done'")
    if counter.calls != USERS:
        return failed(3, f"load_policy() should run once per request: {counter.calls} calls")
    if counter.most < AT_ONCE_NEEDED:
        return failed(
            3,
            f"at most {counter.most} load_policy() call(s) ran at once: the users still waited "
            "for each other (a sync call in async def blocks the event loop)",
        )
    return passed(3)

"""Lesson 13's checks pass the reference solutions and fail the stubs and plausible mistakes.

Exercises 1 and 3 run the learner's code in a real relay in front of a local server, so each
of their tests takes one to three seconds; they compare counts (tokens after the hang-up,
calls running at once), not wall-clock thresholds.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import openai
import pytest
from check_helpers import assert_fails, assert_passes, solution_fixture
from fastapi import FastAPI
from fastapi.sse import EventSourceResponse, ServerSentEvent

from helpers.checks import lesson13
from helpers.relay import Ask, Upstream, model_text, relay_events

solution = solution_fixture("lesson13")


async def stub_generator(*_args: Any) -> AsyncIterator[Any]:
    raise NotImplementedError
    yield  # an async generator, as in the notebook


# --------------------------------------------------------------------------- exercise 1


def test_exercise_1_stub_fails() -> None:
    assert_fails(lesson13.check_exercise_1(stub_generator), 1, "NotImplementedError")


def test_exercise_1_passes_reference(solution) -> None:
    assert_passes(lesson13.check_exercise_1(solution.answer_and_record), 1)


async def queue_without_cancel(client, upstream, prompt, history):
    """Section 5's mistake with a history: the task reads the model to the end."""
    queue: asyncio.Queue = asyncio.Queue()
    read: list[str] = []

    async def read_model() -> None:
        stream = await client.responses.create(model=upstream.model, input=prompt, stream=True)
        async with stream:
            async for event in stream:
                if event.type == "response.output_text.delta":
                    read.append(event.delta)
                    await queue.put(event.delta)
        history.append({"prompt": prompt, "text": "".join(read), "complete": True})
        await queue.put(None)

    asyncio.get_running_loop().create_task(read_model())
    while (text := await queue.get()) is not None:
        yield ServerSentEvent(event="delta", data={"text": text})
    yield ServerSentEvent(event="done", data={})


def test_exercise_1_fails_a_task_that_reads_on(solution) -> None:
    message = lesson13.check_exercise_1(queue_without_cancel)
    assert_fails(message, 1, "still open")


async def closes_but_forgets(client, upstream, prompt, history):
    """Passes the hang-up on, but records only whole answers."""
    read = []
    async for text in model_text(client, upstream, prompt):
        read.append(text)
        yield ServerSentEvent(event="delta", data={"text": text})
    history.append({"prompt": prompt, "text": "".join(read), "complete": True})
    yield ServerSentEvent(event="done", data={})


def test_exercise_1_fails_when_the_abandoned_answer_is_not_recorded() -> None:
    message = lesson13.check_exercise_1(closes_but_forgets)
    assert_fails(message, 1, "one history entry", "[]")


async def calls_it_complete(client, upstream, prompt, history):
    """Passes the hang-up on and records it, but as complete."""
    read = []
    try:
        async for text in model_text(client, upstream, prompt):
            read.append(text)
            yield ServerSentEvent(event="delta", data={"text": text})
        yield ServerSentEvent(event="done", data={})
    finally:
        history.append({"prompt": prompt, "text": "".join(read), "complete": True})


def test_exercise_1_fails_an_abandoned_answer_marked_complete() -> None:
    assert_fails(lesson13.check_exercise_1(calls_it_complete), 1, "'complete': False")


async def no_task_at_all(client, upstream, prompt, history):
    """A better answer: no task, the generator reads the model itself; try/finally records."""
    read: list[str] = []
    complete = False
    try:
        async for text in model_text(client, upstream, prompt):
            read.append(text)
            yield ServerSentEvent(event="delta", data={"text": text})
        complete = True
        yield ServerSentEvent(event="done", data={})
    finally:
        history.append({"prompt": prompt, "text": "".join(read), "complete": complete})


def test_exercise_1_passes_a_relay_without_a_task() -> None:
    assert_passes(lesson13.check_exercise_1(no_task_at_all), 1)


# --------------------------------------------------------------------------- exercise 2


def test_exercise_2_stub_fails() -> None:
    assert_fails(lesson13.check_exercise_2(stub_generator), 2, "NotImplementedError")


def test_exercise_2_passes_reference(solution) -> None:
    assert_passes(lesson13.check_exercise_2(solution.relay_responses), 2)


async def the_lessons_relay_events(events):
    """Section 1's relay_events over the deltas: done whenever the loop ends."""

    async def deltas():
        async for event in events:
            if event.type == "response.output_text.delta":
                yield event.delta

    async for item in relay_events(deltas()):
        yield item


def test_exercise_2_fails_done_on_a_stream_that_just_ends() -> None:
    message = lesson13.check_exercise_2(the_lessons_relay_events)
    assert_fails(message, 2, "ends without response.completed", "'error', got 'done'")


async def forwards_the_upstream_message(events):
    try:
        async for event in events:
            if event.type == "response.output_text.delta":
                yield ServerSentEvent(event="delta", data={"text": event.delta})
            elif event.type == "response.completed":
                yield ServerSentEvent(event="done", data={})
                return
            elif event.type in ("error", "response.failed", "response.incomplete"):
                message = getattr(event, "message", event.type)
                yield ServerSentEvent(event="error", data={"message": message})
                return
    except openai.APIError as error:
        yield ServerSentEvent(event="error", data={"message": str(error)})
        return
    yield ServerSentEvent(event="error", data={"message": "cut"})


def test_exercise_2_fails_an_error_that_repeats_the_upstream_text() -> None:
    message = lesson13.check_exercise_2(forwards_the_upstream_message)
    assert_fails(message, 2, "repeats the upstream's text")


async def error_then_done(events):
    completed = False
    async for event in events:
        if event.type == "response.output_text.delta":
            yield ServerSentEvent(event="delta", data={"text": event.delta})
        elif event.type == "response.completed":
            completed = True
    if not completed:
        yield ServerSentEvent(event="error", data={"message": "The answer is incomplete."})
    yield ServerSentEvent(event="done", data={})


def test_exercise_2_fails_two_endings() -> None:
    assert_fails(lesson13.check_exercise_2(error_then_done), 2, "exactly one ending")


async def ignores_incomplete(events):
    """Treats response.incomplete as a normal ending: a cut answer shown complete."""
    try:
        async for event in events:
            if event.type == "response.output_text.delta":
                yield ServerSentEvent(event="delta", data={"text": event.delta})
            elif event.type in ("response.completed", "response.incomplete"):
                yield ServerSentEvent(event="done", data={})
                return
    except openai.APIError:
        pass
    yield ServerSentEvent(event="error", data={"message": "The answer failed."})


def test_exercise_2_fails_an_incomplete_answer_shown_done() -> None:
    assert_fails(lesson13.check_exercise_2(ignores_incomplete), 2, "response.incomplete")


async def with_match(events):
    """A better answer: a match statement, a flag, the ending after the loop."""
    ending: ServerSentEvent | None = None
    try:
        async for event in events:
            match event.type:
                case "response.output_text.delta":
                    yield ServerSentEvent(event="delta", data={"text": event.delta})
                case "response.completed":
                    ending = ServerSentEvent(event="done", data={})
                    break
                case "response.incomplete" | "response.failed" | "error":
                    break
    except openai.APIError:
        pass
    yield ending or ServerSentEvent(event="error", data={"message": "Not a complete answer."})


def test_exercise_2_passes_a_match_statement() -> None:
    assert_passes(lesson13.check_exercise_2(with_match), 2)


# --------------------------------------------------------------------------- exercise 3


def test_exercise_3_stub_fails() -> None:
    def stub(*_args: Any) -> Any:
        raise NotImplementedError

    assert_fails(lesson13.check_exercise_3(stub), 3, "NotImplementedError")


def test_exercise_3_passes_reference(solution) -> None:
    assert_passes(lesson13.check_exercise_3(solution.make_policy_relay), 3)


def policy_relay(upstream: Upstream, endpoint_body) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.model = upstream.client()
        yield

    app = FastAPI(lifespan=lifespan)
    app.post("/api/chat", response_class=EventSourceResponse)(endpoint_body(app, upstream))
    return app


def blocking_in_async_def(upstream: Upstream, load_policy) -> FastAPI:
    def endpoint(app, upstream):
        async def chat(ask: Ask):
            policy = load_policy()  # blocks the loop
            async for event in relay_events(
                model_text(app.state.model, upstream, policy + "\n\n" + ask.prompt)
            ):
                yield event

        return chat

    return policy_relay(upstream, endpoint)


def test_exercise_3_fails_the_blocking_call() -> None:
    message = lesson13.check_exercise_3(blocking_in_async_def)
    assert_fails(message, 3, "at most 1 load_policy() call(s) ran at once")


def sleep_zero_first(upstream: Upstream, load_policy) -> FastAPI:
    """'Yield to the loop first': asyncio.sleep(0), then the same blocking call."""

    def endpoint(app, upstream):
        async def chat(ask: Ask):
            await asyncio.sleep(0)
            policy = load_policy()
            async for event in relay_events(
                model_text(app.state.model, upstream, policy + "\n\n" + ask.prompt)
            ):
                yield event

        return chat

    return policy_relay(upstream, endpoint)


def test_exercise_3_fails_sleep_zero_before_the_blocking_call() -> None:
    assert_fails(lesson13.check_exercise_3(sleep_zero_first), 3, "ran at once")


def policy_ignored(upstream: Upstream, load_policy) -> FastAPI:
    """Concurrent, but the policy never reaches the model."""

    def endpoint(app, upstream):
        async def chat(ask: Ask):
            await asyncio.to_thread(load_policy)
            async for event in relay_events(model_text(app.state.model, upstream, ask.prompt)):
                yield event

        return chat

    return policy_relay(upstream, endpoint)


def test_exercise_3_fails_when_the_policy_is_not_sent() -> None:
    assert_fails(lesson13.check_exercise_3(policy_ignored), 3, "policy + '\\n\\n' + prompt")


def def_endpoint_with_sync_client(upstream: Upstream, load_policy) -> FastAPI:
    """A better answer: a plain def endpoint (FastAPI's thread pool) and the sync client."""
    app = FastAPI()
    client = openai.OpenAI(base_url=upstream.base_url, api_key=upstream.api_key)

    @app.post("/api/chat", response_class=EventSourceResponse)
    def chat(ask: Ask):
        policy = load_policy()
        stream = client.responses.create(
            model=upstream.model, input=policy + "\n\n" + ask.prompt, stream=True
        )
        with stream:
            for event in stream:
                if event.type == "response.output_text.delta":
                    yield ServerSentEvent(event="delta", data={"text": event.delta})
        yield ServerSentEvent(event="done", data={})

    return app


def test_exercise_3_passes_a_def_endpoint() -> None:
    assert_passes(lesson13.check_exercise_3(def_endpoint_with_sync_client), 3)


@pytest.mark.parametrize("wrong", [None, "not an app"])
def test_exercise_3_fails_something_that_is_not_an_app(wrong) -> None:
    message = lesson13.check_exercise_3(lambda upstream, load_policy: wrong)
    assert_fails(message, 3, "should return a FastAPI app")

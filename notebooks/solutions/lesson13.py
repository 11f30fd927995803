"""Reference solutions for lesson 13's exercises (your app in the middle: a FastAPI relay)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import openai
from fastapi import Depends, FastAPI
from fastapi.sse import EventSourceResponse, ServerSentEvent

from helpers.relay import Ask, Upstream, model_text, relay_events

END = object()


async def answer_and_record(
    client: openai.AsyncOpenAI, upstream: Upstream, prompt: str, history: list
) -> AsyncIterator[ServerSentEvent]:
    """Keep the task, but cancel it when the generator ends for any reason (`finally`).

    When the page leaves, Starlette cancels the endpoint, so this generator gets CancelledError
    at its `await queue.get()` (or GeneratorExit at a `yield`). Either way `finally` runs: the
    task is cancelled, and its `async with stream` closes the model's stream. The history entry
    is written once, in `finally`, from what the task read.
    """
    queue: asyncio.Queue[Any] = asyncio.Queue()
    read: list[str] = []

    async def read_model() -> None:
        stream = await client.responses.create(model=upstream.model, input=prompt, stream=True)
        async with stream:
            async for event in stream:
                if event.type == "response.output_text.delta":
                    read.append(event.delta)
                    await queue.put(event.delta)
        await queue.put(END)

    reader = asyncio.create_task(read_model())
    complete = False
    try:
        while (text := await queue.get()) is not END:
            yield ServerSentEvent(event="delta", data={"text": text})
        complete = True
        yield ServerSentEvent(event="done", data={})
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
        history.append({"prompt": prompt, "text": "".join(read), "complete": complete})


async def relay_responses(events: AsyncIterator[Any]) -> AsyncIterator[ServerSentEvent]:
    """done only after response.completed; every other ending is an error of our own words."""
    ending = "The answer stopped before the model said it was complete."
    try:
        async for event in events:
            if event.type == "response.output_text.delta":
                yield ServerSentEvent(event="delta", data={"text": event.delta})
            elif event.type == "response.completed":
                yield ServerSentEvent(event="done", data={})
                return
            elif event.type == "response.incomplete":
                ending = "The answer was cut short (the model reached its output limit)."
                break
            elif event.type in ("error", "response.failed"):
                ending = "The model's answer failed part-way."
                break
    except openai.APIError:
        ending = "The model's answer failed part-way."
    yield ServerSentEvent(event="error", data={"message": ending})


def make_policy_relay(upstream: Upstream, load_policy: Any) -> FastAPI:
    """The blocking call goes to a worker thread (`asyncio.to_thread`); the loop stays free."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.model = upstream.client()
        yield
        await app.state.model.close()

    app = FastAPI(lifespan=lifespan)

    async def model_stream(ask: Ask) -> AsyncIterator[AsyncIterator[str]]:
        policy = await asyncio.to_thread(load_policy)  # a worker thread waits, not the loop
        pieces = model_text(app.state.model, upstream, policy + "\n\n" + ask.prompt)
        try:
            yield pieces
        finally:
            await pieces.aclose()  # type: ignore[attr-defined]

    @app.post("/api/chat", response_class=EventSourceResponse)
    async def chat(
        pieces: AsyncIterator[str] = Depends(model_stream, scope="request"),  # noqa: B008
    ) -> AsyncIterator[ServerSentEvent]:
        async for event in relay_events(pieces):
            yield event

    return app

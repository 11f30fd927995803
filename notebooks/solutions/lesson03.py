"""Reference solutions for lesson 3's exercises (openai stream=True)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import openai


def collect_answer(events: Iterable[Any]) -> str:
    """Only `response.output_text.delta` adds text; `.done` repeats it. The text is collected
    outside the try, so when the SDK raises APIError mid-stream (the API sent an `error` event)
    the message can keep what arrived."""
    text = ""
    try:
        for event in events:
            if event.type == "response.output_text.delta":
                text += event.delta
    except openai.APIError as error:
        raise RuntimeError(f"stream failed: {error.message} (text so far: {text!r})") from error
    return text


def stream_keeping_partial(
    client: openai.OpenAI, model: str, prompt: str
) -> tuple[str, str | None]:
    """The text is collected outside the try, so a dropped connection cannot take it along."""
    text = ""
    try:
        stream = client.responses.create(model=model, input=prompt, stream=True)
        for event in stream:
            if event.type == "response.output_text.delta":
                text += event.delta
    except openai.APIConnectionError as error:
        return text, type(error).__name__
    return text, None


def measure_stream(client: openai.OpenAI, model: str, prompt: str) -> tuple[float, float]:
    """Start the clock before the request; TTFT is the first *text*, not the first event."""
    start = time.perf_counter()
    ttft = None
    stream = client.responses.create(model=model, input=prompt, stream=True)
    for event in stream:
        if event.type == "response.output_text.delta" and ttft is None:
            ttft = time.perf_counter() - start
    total = time.perf_counter() - start
    return (ttft if ttft is not None else total), total

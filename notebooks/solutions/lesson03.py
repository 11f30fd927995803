"""Reference solutions for lesson 3's exercises (openai stream=True)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import Any

import openai


def stream_answer(events: Iterable[Any]) -> Iterator[str]:
    """Show first, judge at the end: each text delta is yielded the moment it arrives (the
    reader should not wait for the verdict), and only after the last event is the verdict
    known. Only response.completed makes the text an answer; every other ending raises once
    the text that did arrive is out: response.incomplete (why: incomplete_details.reason),
    response.failed (why: response.error), the APIError the SDK raises for an `error` event or
    a dropped connection (APIConnectionError is a subclass), or no terminal event at all."""
    ending = None
    try:
        for event in events:
            if event.type == "response.output_text.delta":
                yield event.delta
            elif event.type in ("response.completed", "response.incomplete", "response.failed"):
                ending = event
    except openai.APIError as error:
        raise RuntimeError(f"the stream failed: {error.message}") from error
    if ending is None:
        raise RuntimeError("the stream stopped without a terminal event: the text is cut")
    response = ending.response
    if ending.type == "response.incomplete":
        why = response.incomplete_details.reason if response.incomplete_details else "unknown"
        raise RuntimeError(f"the answer is incomplete ({why})")
    if ending.type == "response.failed":
        why = response.error.message if response.error else "unknown"
        raise RuntimeError(f"the response failed: {why}")


def stream_within(
    client: openai.OpenAI, model: str, prompt: str, idle: float, deadline: float
) -> tuple[str, str | None]:
    """Two limits, two tools: the read timeout bounds the silence between two pieces (a stalled
    server raises APITimeoutError), and only the clock, read at every event, bounds the whole
    answer. `with` closes the stream on every way out, so the server stops writing."""
    start = time.perf_counter()
    text = ""
    try:
        with client.with_options(timeout=idle).responses.create(
            model=model, input=prompt, stream=True
        ) as stream:
            for event in stream:
                if event.type == "response.output_text.delta":
                    text += event.delta
                if time.perf_counter() - start > deadline:
                    return text, "deadline"
    except openai.APITimeoutError:
        return text, "idle"
    return text, None


def stream_timings(client: openai.OpenAI, model: str, prompt: str) -> dict[str, float]:
    """One clock, started before create(): create() returns when the headers are in; the first
    *text* delta comes later; the rate counts the deltas after the first over the time after
    the first, so the wait before the first token does not count as slow writing."""
    start = time.perf_counter()
    stream = client.responses.create(model=model, input=prompt, stream=True)
    headers = time.perf_counter() - start
    arrivals = []
    with stream:
        for event in stream:
            if event.type == "response.output_text.delta":
                arrivals.append(time.perf_counter() - start)
    total = time.perf_counter() - start
    first, last = arrivals[0], arrivals[-1]
    rate = (len(arrivals) - 1) / (last - first) if last > first else 0.0
    return {"headers": headers, "first_text": first, "total": total, "rate": rate}

"""Checks for lesson 3's exercises (openai stream=True).

Exercise 1 feeds stand-in events, and raises `openai.APIError` mid-way as the SDK does when the
API sends an `error` event. Exercises 2 and 3 are checked against the kit's local server with the
real openai client,
because what they teach (an exception mid-stream, time to the first *text*) only exists on a
real connection. The timing check uses causal lower bounds only: the server cannot send the
first token before its TTFT, so a correct measurement can never be smaller; no upper bound is
checked, so a slow machine cannot make a correct answer fail.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from types import SimpleNamespace
from typing import Any

import httpx2
import openai
from openai import OpenAI

from helpers.checks import call, failed, passed
from helpers.server import LocalServer
from helpers.server.model.simulated import MODEL_ID, answer_prompt

PROMPT = "Write a haiku about streaming"
CHECK_TTFT = 1.0  # seconds; far above what reaching the server costs even on a busy shared
# machine (tens of ms), so timing the first event instead of the first text always shows up
CHECK_TOKENS_PER_SECOND = 50.0
TIMER_SLACK = 0.02  # an event loop may wake a timer a little early; be generous


# --------------------------------------------------------------------------- exercise 1


def _event(event_type: str, **fields: Any) -> SimpleNamespace:
    """Stand-in for an SDK event: the exercise only reads attributes."""
    return SimpleNamespace(type=event_type, **fields)


FAILURE = "The model failed mid-stream."


def _failure() -> openai.APIError:
    """What openai 3.63 raises from the iteration when the API sends an `error` event: a plain
    APIError (no status: HTTP 200 had arrived) whose body is the event's `error` object."""
    request = httpx2.Request("POST", "http://127.0.0.1/v1/responses")
    body = {"type": "server_error", "code": "server_error", "message": FAILURE, "param": None}
    return openai.APIError(FAILURE, request, body=body)


def sample_events(*, fail_after: int | None = None) -> Iterator[SimpleNamespace]:
    """A Responses stream's events for the haiku, as the SDK yields them; with `fail_after`,
    the iteration raises APIError after that many text deltas, as the SDK does mid-stream."""
    tokens = answer_prompt(PROMPT).tokens
    yield from (_event("response.created"), _event("response.in_progress"))
    yield from (_event("response.output_item.added"), _event("response.content_part.added"))
    for index, token in enumerate(tokens):
        if index == fail_after:
            raise _failure()
        yield _event("response.output_text.delta", delta=token)
    text = "".join(tokens)
    yield from (_event("response.output_text.done", text=text), _event("response.completed"))


def check_exercise_1(collect_answer: Callable[[Iterable[Any]], str]) -> str:
    """Exercise 1: the text of the deltas; an APIError mid-stream becomes a RuntimeError that
    names the error and keeps the partial text."""
    want = answer_prompt(PROMPT).text
    result, error = call(1, collect_answer, sample_events())
    if error:
        return error
    if result != want:
        return failed(1, f"expected {want!r}, got {result!r}")
    partial = "".join(answer_prompt(PROMPT).tokens[:4])
    try:
        result = collect_answer(sample_events(fail_after=4))
    except RuntimeError as raised:
        message = str(raised)
        if FAILURE not in message or partial not in message:
            return failed(1, f"the RuntimeError should name the error ({FAILURE!r}) and keep the "
                             f"text so far ({partial!r}); its message was {message!r}")
        return passed(1)
    except Exception as raised:
        return failed(1, f"an APIError mid-stream should become a RuntimeError; "
                         f"{type(raised).__name__}({raised}) escaped instead")
    return failed(1, f"the stream failed mid-way, so this must raise RuntimeError, but "
                     f"{result!r} was returned")


# --------------------------------------------------------------------------- exercise 2


def check_exercise_2(stream_keeping_partial: Callable[[OpenAI, str, str], tuple]) -> str:
    """Exercise 2: a dropped connection gives (text so far, "APIConnectionError")."""
    tokens = answer_prompt(PROMPT).tokens
    with LocalServer(ttft=0.05, tokens_per_second=200) as healthy:
        client = OpenAI(base_url=healthy.base_url, api_key="unused", max_retries=0)
        result, error = call(2, stream_keeping_partial, client, MODEL_ID, PROMPT)
        client.close()
    if error:
        return error
    whole = "".join(tokens)
    if result != (whole, None):
        return failed(2, f"a healthy stream should give ({whole!r}, None), got {result!r}")
    with LocalServer(ttft=0.05, tokens_per_second=200, fault="drop", fault_after=5) as dropping:
        client = OpenAI(base_url=dropping.base_url, api_key="unused", max_retries=0)
        result, error = call(2, stream_keeping_partial, client, MODEL_ID, PROMPT)
        client.close()
    if error:
        return failed(2, f"a dropped connection must not escape: {error.split(': ', 1)[1]}")
    want = ("".join(tokens[:5]), "APIConnectionError")
    if result != want:
        return failed(2, f"after a drop after 5 tokens expected {want!r}, got {result!r}")
    return passed(2)


# --------------------------------------------------------------------------- exercise 3


def check_exercise_3(measure_stream: Callable[[OpenAI, str, str], tuple]) -> str:
    """Exercise 3: (seconds to the first text delta, seconds to the end of the stream)."""
    tokens = answer_prompt(PROMPT).tokens
    last_token_due = CHECK_TTFT + (len(tokens) - 1) / CHECK_TOKENS_PER_SECOND
    with LocalServer(ttft=CHECK_TTFT, tokens_per_second=CHECK_TOKENS_PER_SECOND, jitter=0) as srv:
        client = OpenAI(base_url=srv.base_url, api_key="unused", max_retries=0)
        result, error = call(3, measure_stream, client, MODEL_ID, PROMPT)
        client.close()
    if error:
        return error
    if not (isinstance(result, tuple) and len(result) == 2):
        return failed(3, f"expected a tuple (ttft, total) in seconds, got {result!r}")
    ttft, total = result
    if ttft < CHECK_TTFT - TIMER_SLACK:
        return failed(3, f"ttft {ttft:.3f} s is shorter than the server's {CHECK_TTFT} s delay "
                         "before the first token: did you time the first event, not the text?")
    if total < last_token_due - TIMER_SLACK:
        return failed(3, f"total {total:.3f} s ends before the last token was due "
                         f"({last_token_due:.2f} s): time until the stream is finished")
    if ttft > total:
        return failed(3, f"ttft ({ttft:.3f} s) cannot be later than total ({total:.3f} s)")
    return passed(3)

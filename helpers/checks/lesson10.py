"""Checks for lesson 10's exercises (same stream, three dialects).

Each check returns the line the notebook prints (helpers.checks says why it never raises). The
streams below are small, hand-written copies of what the three APIs send, frame by frame, as
`helpers.sse.ServerSentEvent`s, including the awkward parts: Chat's `[DONE]`, Anthropic's `ping`
and cumulative usage, and an error that arrives after some text.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from helpers.checks import call, failed, passed
from helpers.sse import ServerSentEvent

DIALECTS = ("responses", "chat", "messages")


def _frame(event: str | None, payload: Any) -> ServerSentEvent:
    data = payload if isinstance(payload, str) else json.dumps(payload)
    return ServerSentEvent(event=event or "message", data=data)


def _responses(pieces: list[str], *, fail: bool = False) -> list[ServerSentEvent]:
    usage = {"input_tokens": 4, "output_tokens": len(pieces), "total_tokens": 4 + len(pieces)}
    frames = [_frame(t, {"type": t}) for t in ("response.created", "response.in_progress")]
    for piece in pieces:
        frames.append(
            _frame(
                "response.output_text.delta", {"type": "response.output_text.delta", "delta": piece}
            )
        )
    if fail:
        failure = {"type": "server_error", "code": "server_error", "message": "model failed",
                   "param": None}  # nested under "error", as the API sends it
        frames.append(_frame("error", {"type": "error", "error": failure}))
        frames.append(_frame("response.failed", {"type": "response.failed", "response": {}}))
        return frames
    frames.append(_frame("response.output_text.done", {"type": "response.output_text.done"}))
    done = {"type": "response.completed", "response": {"status": "completed", "usage": usage}}
    return [*frames, _frame("response.completed", done)]


def _chat(pieces: list[str], *, fail: bool = False) -> list[ServerSentEvent]:
    def chunk(delta: dict[str, Any], finish: str | None = None, **more: Any) -> ServerSentEvent:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return _frame(None, {"object": "chat.completion.chunk", "choices": [choice], **more})

    frames = [chunk({"role": "assistant", "content": ""})]
    frames += [chunk({"content": piece}) for piece in pieces]
    if fail:
        failure = {"message": "model failed", "type": "server_error", "param": None, "code": None}
        return [*frames, _frame(None, {"error": failure})]
    usage = {"prompt_tokens": 4, "completion_tokens": len(pieces), "total_tokens": 4 + len(pieces)}
    last = _frame(None, {"object": "chat.completion.chunk", "choices": [], "usage": usage})
    return [*frames, chunk({}, "stop"), last, _frame(None, "[DONE]")]


def _messages(pieces: list[str], *, fail: bool = False) -> list[ServerSentEvent]:
    def event(kind: str, **fields: Any) -> ServerSentEvent:
        return _frame(kind, {"type": kind, **fields})

    start = {"usage": {"input_tokens": 4, "output_tokens": 1}, "content": []}
    frames = [
        event("message_start", message=start),
        event("content_block_start", index=0, content_block={"type": "text", "text": ""}),
        event("ping"),
    ]
    for piece in pieces:
        delta = {"type": "text_delta", "text": piece}
        frames.append(event("content_block_delta", index=0, delta=delta))
    if fail:
        return [
            *frames,
            event("error", error={"type": "overloaded_error", "message": "Overloaded"}),
        ]
    return [
        *frames,
        event("ping"),
        event("content_block_stop", index=0),
        event(
            "message_delta", delta={"stop_reason": "end_turn"}, usage={"output_tokens": len(pieces)}
        ),
        event("message_stop"),
    ]


BUILD = {"responses": _responses, "chat": _chat, "messages": _messages}
CASES = [["Hel", "lo", "!"], ["one"], ["a", "", "b"]]


def _as_list(number: int, fn: Callable[..., Iterable[Any]], dialect: str, frames: list) -> Any:
    def run() -> list[Any]:
        return list(fn(dialect, iter(frames)))

    got, error = call(number, run, label=f"{fn.__name__}({dialect!r}, ...)")
    return got, error


def _expected_text(pieces: list[str]) -> list[str]:
    return [piece for piece in pieces if piece]


def _raises_on_error(number: int, fn: Callable[..., Iterable[Any]], dialect: str) -> str | None:
    """An error frame after two pieces: the pieces come out, then an exception (not a quiet end)."""
    frames, seen = BUILD[dialect](["x", "y"], fail=True), []
    try:
        for item in fn(dialect, iter(frames)):
            seen.append(item)
    except NotImplementedError:
        return failed(number, f"{fn.__name__} still raises NotImplementedError")
    except Exception:
        return (
            None
            if len(seen) == 2
            else failed(number, f"{dialect}: expected the 2 pieces before the error, got {seen!r}")
        )
    return failed(number, f"{dialect}: the stream ended with an error frame but nothing raised")


# --- exercise 1 -----------------------------------------------------------------------------------


def check_exercise_1(text_deltas: Callable[[str, Iterable[ServerSentEvent]], Iterator[str]]) -> str:
    """Exercise 1: the text pieces of any dialect's stream, in order, no empty ones."""
    for dialect in DIALECTS:
        for pieces in CASES:
            got, error = _as_list(1, text_deltas, dialect, BUILD[dialect](pieces))
            if error:
                return error
            if got != _expected_text(pieces):
                return failed(1, f"{dialect}: expected {_expected_text(pieces)!r}, got {got!r}")
        if problem := _raises_on_error(1, text_deltas, dialect):
            return problem
    return passed(1)


# --- exercise 2 -----------------------------------------------------------------------------------


def check_exercise_2(
    unify: Callable[[str, Iterable[ServerSentEvent]], Iterator[tuple[str, Any]]],
) -> str:
    """Exercise 2: ("text", piece) items, then one ("usage", {input_tokens, output_tokens})."""
    for dialect in DIALECTS:
        for pieces in CASES:
            got, error = _as_list(2, unify, dialect, BUILD[dialect](pieces))
            if error:
                return error
            usage = {"input_tokens": 4, "output_tokens": len(pieces)}
            want = [("text", piece) for piece in _expected_text(pieces)] + [("usage", usage)]
            if [tuple(item) for item in got] != want:
                return failed(2, f"{dialect}: expected {want!r}, got {got!r}")
        if problem := _raises_on_error(2, unify, dialect):
            return problem
    return passed(2)

"""Checks for lesson 10's exercises (same stream, three dialects).

Each check returns the line the notebook prints (helpers.checks says why it never raises). The
streams below are small, hand-written copies of what the three APIs send, frame by frame, as
`helpers.sse.ServerSentEvent`s (with the bytes that mean nothing: Anthropic's padding before the
closing brace, the `obfuscation` fields, Chat's `"usage": null` on every chunk), including the
awkward parts: Chat's `[DONE]`, Anthropic's `ping`,
thinking block and cumulative usage, an error that arrives after some text, and streams that
"look finished" although they are not: a Responses stream that ends `response.failed` or
`response.incomplete` with no `error` frame, a Chat `finish_reason: "length"`, a Messages
`stop_reason: "max_tokens"`, an answer stopped by a content filter (Responses' `content_filter`
reason, Chat's `"content_filter"`, Messages' `"refusal"`: neither whole nor cut by the token
limit), a connection that closed before any end frame, and one that closed after the reason but
before the end frame (Chat's `[DONE]`, Messages' `message_stop`).

The frames are fed one at a time through a generator that counts what was read, so an answer
that reads the whole stream before yielding its first piece is told so.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from helpers.checks import failed, failed_with, passed
from helpers.sse import ServerSentEvent

DIALECTS = ("responses", "chat", "messages")
INPUT_TOKENS = 4
THINKING = ["The user asks", " for a greeting."]  # two thinking pieces (Messages only)


def _frame(event: str | None, payload: Any, pad: int = 0) -> ServerSentEvent:
    """A frame; `pad` spaces before the closing brace, as Anthropic pads every frame but `ping`."""
    data = payload if isinstance(payload, str) else json.dumps(payload)
    if pad:
        data = f"{data[:-1]}{' ' * pad}}}"
    return ServerSentEvent(event=event or "message", data=data)


@dataclass(frozen=True)
class Case:
    """One hand-written stream and what a right answer makes of it."""

    dialect: str
    ending: str  # "stop", "stop_sequence", "length", "filtered", "error", "failed", "cut",
    # "cut_late" (the connection closed after the reason, before the end frame)
    pieces: tuple[str, ...]
    frames: tuple[ServerSentEvent, ...]
    output_tokens: int
    first_text_at: int  # how many frames a reader must have read to hold the first piece
    thinking: bool = False

    @property
    def text(self) -> list[str]:
        return [piece for piece in self.pieces if piece]

    @property
    def stop(self) -> str | None:
        """Exercise 2's last word in Chat's vocabulary; None when the stream must raise."""
        return {"stop": "stop", "stop_sequence": "stop", "length": "length"}.get(self.ending)

    @property
    def usage(self) -> dict[str, int]:
        return {"input_tokens": INPUT_TOKENS, "output_tokens": self.output_tokens}

    def describe(self) -> str:
        what = {
            "stop": "a whole answer",
            "stop_sequence": "a whole answer (ended by a stop sequence)",
            "length": "an answer cut by the token limit",
            "error": "an error frame after some text",
            "failed": "response.failed with no error frame",
            "filtered": "an answer stopped by a content filter",
            "cut": "a connection that closed before the end frame",
            "cut_late": "a connection that closed after the stop reason, before the end frame",
        }[self.ending]
        return f"{self.dialect}, {what}{' (thinking first)' if self.thinking else ''}"


def _responses(pieces: list[str], ending: str) -> list[ServerSentEvent]:
    def event(kind: str, **fields: Any) -> ServerSentEvent:
        return _frame(kind, {"type": kind, **fields})

    usage = {"input_tokens": INPUT_TOKENS, "output_tokens": len(pieces),
             "total_tokens": INPUT_TOKENS + len(pieces)}
    frames = [event("response.created", response={"status": "in_progress", "usage": None}),
              event("response.in_progress", response={"status": "in_progress", "usage": None})]
    frames += [event("response.output_text.delta", delta=piece, obfuscation="Xq7")
               for piece in pieces]
    if ending == "cut":
        return frames
    if ending == "error":
        failure = {"type": "server_error", "code": "server_error", "message": "model failed",
                   "param": None}  # nested under "error", as the API sends it
        failed_response = {"status": "failed", "error": failure, "usage": None}
        return [*frames, event("error", error=failure),
                event("response.failed", response=failed_response)]
    if ending == "failed":  # the final event alone says so
        failure = {"code": "server_error", "message": "model failed"}
        return [*frames, event("response.failed",
                               response={"status": "failed", "error": failure, "usage": usage})]
    frames.append(event("response.output_text.done", text="".join(pieces)))
    if ending in ("length", "filtered"):
        why = "max_output_tokens" if ending == "length" else "content_filter"
        cut = {"status": "incomplete", "incomplete_details": {"reason": why}, "usage": usage}
        return [*frames, event("response.incomplete", response=cut)]
    done = {"status": "completed", "incomplete_details": None, "usage": usage}
    return [*frames, event("response.completed", response=done)]


def _chat(pieces: list[str], ending: str) -> list[ServerSentEvent]:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> ServerSentEvent:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return _frame(None, {"object": "chat.completion.chunk", "choices": [choice],
                             "usage": None, "obfuscation": "b9"})  # as include_usage sends it

    frames = [chunk({"role": "assistant", "content": ""})]
    frames += [chunk({"content": piece}) for piece in pieces]
    if ending == "cut":
        return frames
    if ending == "error":
        failure = {"message": "model failed", "type": "server_error", "param": None, "code": None}
        return [*frames, _frame(None, {"error": failure})]
    usage = {"prompt_tokens": INPUT_TOKENS, "completion_tokens": len(pieces),
             "total_tokens": INPUT_TOKENS + len(pieces)}
    last = _frame(None, {"object": "chat.completion.chunk", "choices": [], "usage": usage,
                         "obfuscation": "Q"})
    finish = {"length": "length", "filtered": "content_filter"}.get(ending, "stop")
    if ending == "cut_late":  # the reason and the usage came, `[DONE]` did not
        return [*frames, chunk({}, finish), last]
    return [*frames, chunk({}, finish), last, _frame(None, "[DONE]")]


def _messages(pieces: list[str], ending: str, thinking: bool = False) -> list[ServerSentEvent]:
    def event(kind: str, **fields: Any) -> ServerSentEvent:
        pad = 0 if kind == "ping" else (len(frames) * 7 + 3) % 16  # 0-15 spaces, not on ping
        return _frame(kind, {"type": kind, **fields}, pad)

    frames: list[ServerSentEvent] = []
    start = {"usage": {"input_tokens": INPUT_TOKENS, "output_tokens": 1}, "content": [],
             "stop_reason": None}
    frames.append(event("message_start", message=start))
    index = 0
    if thinking:
        frames.append(event("content_block_start", index=0,
                            content_block={"type": "thinking", "thinking": "", "signature": ""}))
        frames.append(event("ping"))
        frames += [event("content_block_delta", index=0,
                         delta={"type": "thinking_delta", "thinking": piece})
                   for piece in THINKING]
        frames.append(event("content_block_delta", index=0,
                            delta={"type": "signature_delta", "signature": "EqQBCkYIBxgCKkA"}))
        frames.append(event("content_block_stop", index=0))
        index = 1
    frames.append(event("content_block_start", index=index,
                        content_block={"type": "text", "text": ""}))
    if not thinking:
        frames.append(event("ping"))
    frames += [event("content_block_delta", index=index,
                     delta={"type": "text_delta", "text": piece}) for piece in pieces]
    if ending == "cut":
        return frames
    if ending == "error":
        return [*frames,
                event("error", error={"type": "overloaded_error", "message": "Overloaded"})]
    reason = {"stop": "end_turn", "stop_sequence": "stop_sequence", "length": "max_tokens",
              "filtered": "refusal", "cut_late": "end_turn"}[ending]
    output = len(pieces) + (len(THINKING) + 1 if thinking else 0)
    delta = {"stop_reason": reason, "stop_sequence": "\n\n" if reason == "stop_sequence" else None}
    frames += [
        event("ping"),
        event("content_block_stop", index=index),
        event("message_delta", delta=delta,
              usage={"input_tokens": INPUT_TOKENS, "output_tokens": output}),
    ]
    return frames if ending == "cut_late" else [*frames, event("message_stop")]


def _case(dialect: str, ending: str, pieces: list[str], thinking: bool = False) -> Case:
    if dialect == "responses":
        frames = _responses(pieces, ending)
    elif dialect == "chat":
        frames = _chat(pieces, ending)
    else:
        frames = _messages(pieces, ending, thinking)
    output = len(pieces) + (len(THINKING) + 1 if thinking else 0)
    first = next((n for n, f in enumerate(frames, 1) if _carries_text(f)), len(frames))
    return Case(dialect, ending, tuple(pieces), tuple(frames), output, first, thinking)


def _carries_text(frame: ServerSentEvent) -> bool:
    """Does this frame carry a non-empty piece of the answer's text (any dialect)?"""
    if frame.data == "[DONE]":
        return False
    data = json.loads(frame.data)
    if data.get("type") == "response.output_text.delta":
        return bool(data["delta"])
    if data.get("choices"):
        return bool(data["choices"][0]["delta"].get("content"))
    delta = data.get("delta") if data.get("type") == "content_block_delta" else None
    return bool(delta and delta["type"] == "text_delta" and delta["text"])


CASES = [
    *(_case(d, "stop", p) for d in DIALECTS for p in (["Hel", "lo", "!"], ["one"], ["a", "", "b"])),
    *(_case(d, ending, ["x", "y"]) for d in DIALECTS for ending in ("length", "filtered")),
    *(_case(d, ending, ["x", "y"]) for d in DIALECTS for ending in ("error", "cut")),
    _case("responses", "failed", ["x", "y"]),
    # closed after the reason, before the end frame (Responses' reason is in its end frame)
    *(_case(d, "cut_late", ["x", "y"]) for d in ("chat", "messages")),
    _case("messages", "stop", ["Hel", "lo"], thinking=True),
    _case("messages", "stop_sequence", ["a", "b"]),
]


def _run(fn: Callable[..., Iterable[Any]], case: Case) -> tuple[list[Any], Exception | None, int]:
    """(items yielded, the exception raised or None, frames read when the first item came)."""
    read = 0

    def feed() -> Iterator[ServerSentEvent]:
        nonlocal read
        for frame in case.frames:
            read += 1
            yield frame

    seen: list[Any] = []
    first = -1
    try:
        for item in fn(case.dialect, feed()):
            if first < 0:
                first = read
            seen.append(item)
    except Exception as error:
        return seen, error, first
    return seen, None, first


def _verdict(number: int, fn: Callable[..., Iterable[Any]], case: Case,
             want: list[Any], raises: bool, normalize: Callable[[Any], Any]) -> str | None:
    """None when `fn` treated this stream right, else the failure message."""
    seen, error, first = _run(fn, case)
    got = [normalize(item) for item in seen]
    where = case.describe()
    if isinstance(error, NotImplementedError):
        return failed_with(number, error, fn.__name__)
    if error is not None and not raises:
        return failed(number, f"{where}: raised {type(error).__name__}: {error} "
                              f"(after {got!r})")
    if got != want:
        return failed(number, f"{where}: expected {want!r}"
                              f"{' and then an exception' if raises else ''}, got {got!r}")
    if raises and error is None:
        return failed(number, f"{where}: nothing raised, so it looks finished; raise after the "
                              "text that came before")
    if case.text and first > case.first_text_at + 1:
        return failed(number, f"{where}: the first piece came out after {first} frames were "
                              f"read, though frame {case.first_text_at} carried it: yield each "
                              "piece as its frame arrives")
    return None


# --- exercise 1 -----------------------------------------------------------------------------------


def check_exercise_1(text_deltas: Callable[[str, Iterable[ServerSentEvent]], Iterator[str]]) -> str:
    """Exercise 1: the answer's text pieces in order, then an exception unless it was whole."""
    for case in CASES:
        problem = _verdict(1, text_deltas, case, case.text, case.stop != "stop", lambda x: x)
        if problem:
            return problem
    return passed(1)


# --- exercise 2 -----------------------------------------------------------------------------------


def _as_pair(item: Any) -> Any:
    return tuple(item) if isinstance(item, list | tuple) else item


def check_exercise_2(
    unify: Callable[[str, Iterable[ServerSentEvent]], Iterator[tuple[str, Any]]],
) -> str:
    """Exercise 2: ("text", piece)s, then ("usage", {...}) and ("stop", "stop" or "length")."""
    for case in CASES:
        want: list[Any] = [("text", piece) for piece in case.text]
        if case.stop is not None:
            want += [("usage", case.usage), ("stop", case.stop)]
        problem = _verdict(2, unify, case, want, case.stop is None, _as_pair)
        if problem:
            return problem
    return passed(2)

"""Lesson 10's event map: the same answer in three streaming dialects, frame by frame.

OpenAI's Responses API and Anthropic's Messages API name every frame on its `event:` line;
OpenAI's Chat Completions sends data-only frames (all of type `message`), so `label()` names a
Chat frame by what its JSON carries. `event_map()` fills in the lesson's table (start, text
piece, usage, stop reason, end, keep-alive, error, tool-call arguments) from frames that arrived.
`masked()` hides ids and clock times so two runs print the same, `shorten()` cuts a long line
in the middle and `inner()` leaves a frame's envelope out; `post_sse()` is lesson 2's decoding
loop with an arrival clock.

    stream = post_sse(url, headers, body)
    labels = [label("chat", frame) for frame in stream.frames]
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from helpers.recordings import event_kind
from helpers.sse import ServerSentEvent, SSEDecoder

__all__ = [
    "ARGUMENT_PIECE",
    "DIALECTS",
    "TEXT_PIECE",
    "Stream",
    "event_map",
    "holds",
    "inner",
    "label",
    "masked",
    "payload",
    "post_sse",
    "shorten",
    "table",
]

DIALECTS = ("responses", "chat", "messages")

TEXT_PIECE = {  # the frame that carries one piece of the answer's text
    "responses": "response.output_text.delta",
    "chat": "chunk+content",
    "messages": "content_block_delta[text_delta]",
}
ARGUMENT_PIECE = {  # the frame that carries one piece of a tool call's arguments
    "responses": "response.function_call_arguments.delta",
    "chat": "chunk+tool_calls",
    "messages": "content_block_delta[input_json_delta]",
}


@dataclass(frozen=True)
class Stream:
    """One streamed reply: its status, its bytes as sent, its frames and when each arrived."""

    status: int
    raw: bytes
    frames: list[ServerSentEvent]
    arrivals: list[float]  # seconds since the request was sent, one per frame


def post_sse(url: str, headers: dict[str, str], body: dict[str, Any],
             timeout: float = 60) -> Stream:
    """POST `body` as JSON and decode the streamed reply with helpers.sse as it arrives."""
    decoder, raw, frames, arrivals = SSEDecoder(), bytearray(), [], []
    started = time.perf_counter()
    with httpx.stream("POST", url, json=body, headers=headers, timeout=timeout) as reply:
        for chunk in reply.iter_raw():
            raw += chunk
            new = decoder.feed(chunk)
            frames += new
            arrivals += [time.perf_counter() - started] * len(new)
    frames += decoder.close()
    arrivals += [time.perf_counter() - started] * (len(frames) - len(arrivals))
    return Stream(reply.status_code, bytes(raw), frames, arrivals)


def payload(frame: ServerSentEvent) -> Any:
    """The frame's JSON, or None for Chat's closing `data: [DONE]` (which is not JSON)."""
    return None if frame.data == "[DONE]" else json.loads(frame.data)


def label(dialect: str, frame: ServerSentEvent) -> str:
    """A name for any frame: its `event:` line (with the kind of block or item it carries, as
    helpers.recordings.event_kind writes it), or for a Chat chunk what its JSON holds."""
    if dialect != "chat":
        return event_kind(frame)
    chunk = payload(frame)
    if chunk is None:
        return "[DONE]"
    if "error" in chunk:
        return "{error}"
    if not chunk.get("choices"):
        return "chunk+usage" if chunk.get("usage") else "chunk"
    choice = chunk["choices"][0]
    delta = choice.get("delta") or {}
    if choice.get("finish_reason"):
        return "chunk+finish_reason"
    for key in ("tool_calls", "refusal", "content"):  # what it carries, before its role
        if delta.get(key):
            return f"chunk+{key}"
    return "chunk+role" if "role" in delta else "chunk"


def holds(value: Any, key: str) -> bool:
    """Does this JSON hold a non-null `key` anywhere (`usage` sits at different depths)?"""
    if isinstance(value, dict):
        return value.get(key) is not None or any(holds(v, key) for v in value.values())
    return isinstance(value, list) and any(holds(v, key) for v in value)


def _stop_reason(dialect: str, data: Any) -> str | None:
    """The reason the answer ended, if this frame says it."""
    if not isinstance(data, dict):
        return None
    if dialect == "responses":  # the final event: its status, and why it is incomplete
        response = data.get("response") or {}
        if response.get("status") not in ("completed", "incomplete", "failed"):
            return None
        return (response.get("incomplete_details") or {}).get("reason") or response["status"]
    if dialect == "chat":
        return (data.get("choices") or [{}])[0].get("finish_reason")
    return (data.get("delta") or {}).get("stop_reason")


def _where(labels: Iterable[str]) -> str:
    """Distinct labels in order of arrival, a repeated one with its count."""
    counts = Counter(labels)
    return " + ".join(lab if counts[lab] == 1 else f"{lab} x{counts[lab]}" for lab in counts)


def event_map(dialect: str, frames: Sequence[ServerSentEvent],
              faulted: Sequence[ServerSentEvent] = (),
              tool_frames: Sequence[ServerSentEvent] = ()) -> dict[str, str]:
    """Each row of the lesson's table, for one dialect, from the frames of one text answer.

    `faulted`: the frames of an answer that the local server's fault injector broke after some
    text (a real API cannot be made to fail on purpose, hence the row's name); `tool_frames`:
    the frames of an answer that called a tool. Rows without their frames say "(not run)".
    """
    labels = [label(dialect, f) for f in frames]
    datas = [payload(f) for f in frames]
    stops = [(lab, _stop_reason(dialect, d)) for lab, d in zip(labels, datas, strict=True)]
    bare = [lab for lab, d in zip(labels[:-1], datas[:-1], strict=True) if d == {"type": lab}]
    error_labels = [label(dialect, f) for f in faulted]
    first_error = next((i for i, lab in enumerate(error_labels) if "error" in lab), None)
    error = "(not run)" if first_error is None else " then ".join(error_labels[first_error:])
    tool_labels = [label(dialect, f) for f in tool_frames]
    return {
        "start": labels[0],
        "text piece": _where(lab for lab in labels if lab == TEXT_PIECE[dialect]),
        "usage": _where(lab for lab, d in zip(labels, datas, strict=True) if holds(d, "usage")),
        "stop reason": " + ".join(f"{lab} ({why})" for lab, why in stops if why),
        "end": labels[-1],
        "keep-alive": _where(bare) or "none (SSE comments allowed)",
        "error (local fault injection)": error,
        "tool-call arguments": _where(lab for lab in tool_labels if lab == ARGUMENT_PIECE[dialect])
        or "(not run)",
    }


def table(maps: dict[str, dict[str, str]]) -> list[str]:
    """The maps of several dialects as lines of a plain table, one column per dialect."""
    rows = list(next(iter(maps.values())))
    first = max(len(row) for row in rows) + 2
    widths = {name: max(len(name), *map(len, m.values())) + 2 for name, m in maps.items()}
    lines = [" " * first + "".join(f"{name:{widths[name]}}" for name in maps).rstrip()]
    for row in rows:
        cells = "".join(f"{maps[name][row]:{widths[name]}}" for name in maps)
        lines.append(f"{row:{first}}{cells}".rstrip())
    return lines


def masked(text: str) -> str:
    """Ids and clock times change every run: hide them so two runs print the same."""
    text = re.sub(r'"(created_at|created)":\d+', r'"\1":<TIME>', text)
    return re.sub(r"\b(resp|msg|chatcmpl|call|fc|toolu)[_-][A-Za-z0-9]{8,}", r"\1_<ID>", text)


def shorten(line: str, width: int = 100) -> str:
    """One line, its middle cut when it is long (the end of a frame matters in lesson 10)."""
    return line if len(line) <= width else f"{line[: width - 36]} ... {line[-31:]}"


def inner(dialect: str, frame: ServerSentEvent) -> Any:
    """The part of a frame that differs from frame to frame (the envelope left out): a Chat
    chunk's delta, else the item, content block or delta the frame carries."""
    data = payload(frame)
    if dialect == "chat":
        return data["choices"][0]["delta"]
    return data.get("item") or data.get("content_block") or data.get("delta")

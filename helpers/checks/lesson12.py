"""Checks for lesson 12's exercises (tool calls, structured output and reasoning).

Each check returns the line the notebook prints (helpers.checks says why it never raises). The
inputs are small hand-written copies of what the APIs send, with the awkward parts real apps
meet. Exercise 1: Chat chunks shaped as `chunk.model_dump()` writes them (every field present,
None when absent), the last one the usage chunk whose `choices` is empty
(`stream_options={"include_usage": True}`), a call's id and name only on its first piece, two
calls whose pieces interleave, text before the calls, and streams that end without calls (cut
short by `length`, or a plain answer). Exercise 2: every prefix of a streamed JSON object, with a
comma inside a string, a comma between escaped quotes, a comma inside an array, a number that
is still growing ("2" of "24") and three layouts (compact, spaced, indented).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from helpers.checks import call, failed, passed

# --- exercise 1: the assistant message a Chat tool loop sends back -------------------------------


def _delta(**fields: Any) -> dict[str, Any]:
    """A delta as `model_dump()` writes it: every field present, None when not sent."""
    return {"audio": None, "content": None, "function_call": None, "refusal": None, "role": None,
            "tool_calls": None} | fields


def _chunk(delta: dict[str, Any] | None = None, finish: str | None = None) -> dict[str, Any]:
    choice = {"delta": delta or _delta(), "finish_reason": finish, "index": 0, "logprobs": None}
    return {"id": "chatcmpl-12", "choices": [choice], "created": 1764900000, "model": "m",
            "object": "chat.completion.chunk", "usage": None}


USAGE_CHUNK = {"id": "chatcmpl-12", "choices": [], "created": 1764900000, "model": "m",
               "object": "chat.completion.chunk",
               "usage": {"completion_tokens": 31, "prompt_tokens": 58, "total_tokens": 89}}
"""The last chunk with `stream_options={"include_usage": True}`: usage, and no choice at all."""

CALLS = {
    0: ("call_a", "get_weather", ['{"city', '":"Paris",', '"unit":"celsius"}']),
    1: ("call_b", "get_weather", ['{"city":', '"Tokyo"', ',"unit":"celsius"}']),
}


def _piece(index: int, arguments: str, opens: bool) -> dict[str, Any]:
    call_id, name, _ = CALLS[index]
    return {"index": index, "id": call_id if opens else None,
            "function": {"arguments": arguments, "name": name if opens else None},
            "type": "function" if opens else None}


def _stream(order: list[int], *, opener: bool, text: tuple[str, ...] = (), finish: str =
            "tool_calls", usage: bool = True, stop_after: int | None = None
            ) -> list[dict[str, Any]]:
    """Chunks for the two calls' pieces sent in `order` (call indexes). With `opener`, each call
    opens with a piece that carries only its id and name (arguments ""), as the real API sends
    it; without, the first arguments piece carries them. `stop_after` cuts the stream after
    that many pieces (a stream cut short)."""
    chunks = [_chunk(_delta(role="assistant"))]
    chunks += [_chunk(_delta(content=piece)) for piece in text]
    sent = {0: 0, 1: 0}
    for count, index in enumerate(order):
        if stop_after is not None and count == stop_after:
            break
        number = sent[index]
        opens = number == 0
        if opener and opens:
            chunks.append(_chunk(_delta(tool_calls=[_piece(index, "", True)])))
            opens = False
        chunks.append(_chunk(_delta(tool_calls=[_piece(index, CALLS[index][2][number], opens)])))
        sent[index] += 1
    chunks.append(_chunk(finish=finish))
    return [*chunks, USAGE_CHUNK] if usage else chunks


def _wanted(text: str | None) -> dict[str, Any]:
    tool_calls = [{"id": call_id, "type": "function",
                   "function": {"name": name, "arguments": "".join(pieces)}}
                  for call_id, name, pieces in CALLS.values()]
    return {"role": "assistant", "content": text, "tool_calls": tool_calls}


EXERCISE_1 = (
    ("two calls, one after the other, then the usage chunk",
     _stream([0, 0, 0, 1, 1, 1], opener=True), _wanted(None)),
    ("text first, then two calls whose pieces interleave, then the usage chunk",
     _stream([0, 1, 0, 1, 1, 0], opener=False, text=("Checking ", "both cities.")),
     _wanted("Checking both cities.")),
    ("two calls with no usage chunk (include_usage not set)",
     _stream([1, 0, 1, 1, 0, 0], opener=True, usage=False), _wanted(None)),
    ("a stream cut short by max_completion_tokens (finish_reason length) mid-arguments",
     _stream([0, 0, 0, 1, 1, 1], opener=True, finish="length", stop_after=5), None),
    ("a plain answer (finish_reason stop)",
     [_chunk(_delta(role="assistant", content="")), _chunk(_delta(content="It is sunny.")),
      _chunk(finish="stop"), USAGE_CHUNK], None),
)


def _same_message(got: Any, want: dict[str, Any]) -> bool:
    """Equal to `want`, where content None and "" are the same (no text) and any other key the
    learner adds must be None (e.g. "refusal": None)."""
    if not isinstance(got, dict):
        return False
    if (got.get("content") or None) != want["content"]:
        return False
    core = ("role", "tool_calls")
    if any(got.get(key) != want[key] for key in core):
        return False
    return all(got[key] is None for key in got if key not in (*core, "content"))


def check_exercise_1(assistant_message: Callable[[list[dict[str, Any]]], Any]) -> str:
    """Exercise 1: the assistant message with every call in index order, or None without calls."""
    for label, chunks, want in EXERCISE_1:
        got, error = call(1, assistant_message, [dict(chunk) for chunk in chunks])
        if error:
            return error if "NotImplementedError" in error else f"{error} (on {label})"
        if want is None:
            if got is not None:
                return failed(1, f"{label}: there is nothing to run, expected None, got {got!r}")
        elif not _same_message(got, want):
            return failed(1, f"{label}: expected {want!r}, got {got!r}")
    return passed(1)


# --- exercise 2: a field shown as soon as it is final ---------------------------------------------

FORM = {
    "city": "Lisbon, Portugal",
    "summary": 'Sun, then "light, brief" showers',
    "high_c": 24,
    "low_c": -3,
    "rain_hours": [15, 18],
    "rain": True,
}
LAYOUTS = {  # opening, between fields, between key and value, closing
    "compact": ("{", ",", ":", "}"),
    "spaced": ("{", ", ", ": ", "}"),
    "indented": ("{\n  ", ",\n  ", ": ", "\n}"),
}
"""How models write the same object: no blanks, json.dumps' blanks, and pretty-printed."""


def _layout(opening: str, between: str, colon: str, closing: str
            ) -> tuple[str, dict[str, tuple[int, int]]]:
    """FORM as text, and for each key: (where its value ends, where the , or } after it is)."""
    text, ends = opening, {}
    for number, (key, value) in enumerate(FORM.items()):
        inside = (",", ":") if between == "," else (", ", ": ")  # blanks inside the array too
        text += json.dumps(key) + colon + json.dumps(value, separators=inside)
        ends[key] = len(text)
        text += between if number < len(FORM) - 1 else closing
    spans = {}
    for key, value_end in ends.items():
        blanks = len(text[value_end:]) - len(text[value_end:].lstrip())
        spans[key] = (value_end, value_end + blanks)
    return text, spans


def _bounds(prefix_length: int, spans: dict[str, tuple[int, int]]) -> tuple[set[str], set[str]]:
    """(must show, may show) after this many characters: a field must be shown once the , or }
    after its value arrived; it may be shown as soon as its value can no longer change (a
    string at its closing quote, an array at its ], true at its e; a number only once a
    character after it arrived, since 2 may become 24)."""
    must = {key for key, (_, delimiter) in spans.items() if prefix_length > delimiter}
    may = set()
    for key, (value_end, _) in spans.items():
        number = isinstance(FORM[key], int | float) and not isinstance(FORM[key], bool)
        if prefix_length > value_end or (prefix_length == value_end and not number):
            may.add(key)
    return must, may


def check_exercise_2(final_fields: Callable[[str], Any]) -> str:
    """Exercise 2: after every prefix, at least the fields closed by a , or }, only final ones,
    each with its whole value."""
    for layout, parts in LAYOUTS.items():
        text, spans = _layout(*parts)
        for end in range(len(text) + 1):
            prefix = text[:end]
            got, error = call(2, final_fields, prefix)
            if error:
                return error if "NotImplementedError" in error else f"{error} (after {prefix!r})"
            if not isinstance(got, dict):
                return failed(2, f"after {prefix!r} ({layout}): expected a dict, got {got!r}")
            must, may = _bounds(end, spans)
            missing = [key for key in FORM if key in must and key not in got]
            early = [key for key in got if key not in may]
            wrong = [key for key in got if key in may and got[key] != FORM[key]]
            if missing:
                return failed(2, f"after {prefix!r} ({layout}): {missing[0]!r} is final (a , or }} "
                                 f"closed it), got {got!r}")
            if early or wrong:
                key = (early or wrong)[0]
                return failed(2, f"after {prefix!r} ({layout}): {key!r} = {got[key]!r} shown, but "
                                 f"it can still change (its final value is {FORM.get(key)!r})")
    return passed(2)

"""Checks for lesson 12's exercises (tool calls, structured output and reasoning).

Each check returns the line the notebook prints (helpers.checks says why it never raises). The
inputs are small hand-written copies of what the APIs send, with the awkward parts real apps
meet: two parallel calls whose Chat deltas interleave, a first piece that carries the id and the
name, a number that is still growing ("4" of "42") and a string value holding a comma.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from helpers.checks import call, failed, passed

# --- exercise 1: Chat tool-call deltas, joined by index ----------------------------------------


def _piece(index: int, arguments: str, call_id: str | None = None, name: str | None = None
           ) -> dict[str, Any]:
    tool_call: dict[str, Any] = {"index": index, "function": {"arguments": arguments}}
    if call_id is not None:
        tool_call.update(id=call_id, type="function")
        tool_call["function"]["name"] = name
    return {"choices": [{"index": 0, "delta": {"tool_calls": [tool_call]},
                         "finish_reason": None}]}


def _chunks(order: list[int], name_alone: bool = False) -> list[dict[str, Any]]:
    """Two calls' argument pieces, sent in the given order of call indexes; with `name_alone`,
    each call opens with a piece that carries only its id and name (arguments ""), as the real
    API and the local server send it."""
    pieces = {
        0: ['{"city', '":"Paris",', '"unit":"c"}'],
        1: ['{"city":', '"Tokyo"', ',"unit":"c"}'],
    }
    ids = {0: ("call_a", "get_weather"), 1: ("call_b", "get_weather")}
    sent = {0: 0, 1: 0}
    chunks = [{"choices": [{"index": 0, "delta": {"role": "assistant", "content": None},
                            "finish_reason": None}]}]
    for index in order:
        number = sent[index]
        first = ids[index] if number == 0 else (None, None)
        if name_alone and number == 0:
            chunks.append(_piece(index, "", *first))
            first = (None, None)
        chunks.append(_piece(index, pieces[index][number], *first))
        sent[index] += 1
    chunks.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]})
    return chunks


EXPECTED_CALLS = [
    {"id": "call_a", "name": "get_weather", "arguments": '{"city":"Paris","unit":"c"}'},
    {"id": "call_b", "name": "get_weather", "arguments": '{"city":"Tokyo","unit":"c"}'},
]
ORDERS = (([0, 0, 0, 1, 1, 1], True), ([0, 1, 0, 1, 1, 0], False), ([1, 0, 1, 1, 0, 0], True))


def check_exercise_1(accumulate_tool_calls: Callable[[list[dict[str, Any]]], Any]) -> str:
    """Exercise 1: [{"id", "name", "arguments"}] in index order, whatever the arrival order."""
    for order, name_alone in ORDERS:
        got, error = call(1, accumulate_tool_calls, _chunks(order, name_alone))
        if error:
            return error
        if got != EXPECTED_CALLS:
            return failed(1, f"pieces arriving in index order {order}: expected "
                             f"{EXPECTED_CALLS}, got {got!r}")
    return passed(1)


# --- exercise 2: show a form field only once it is final ---------------------------------------

FORM = {"name": "Ada, Countess", "age": 42, "city": "London"}
FORM_TEXT = json.dumps(FORM, separators=(",", ":"))


def _final_after(prefix: str) -> dict[str, Any]:
    """What a correct answer shows for this prefix of FORM_TEXT: each field whose next field's
    value has begun to arrive, and every field once the stream is done."""
    done = prefix == FORM_TEXT
    begun = [key for key in FORM if f'"{key}":{json.dumps(FORM[key])[0]}' in prefix]
    final = begun if done else begun[:-1]
    return {key: FORM[key] for key in final}


def check_exercise_2(final_fields: Callable[[str, bool], Any]) -> str:
    """Exercise 2: every prefix of a streamed object gives only the fields that are final."""
    for end in range(len(FORM_TEXT) + 1):
        prefix = FORM_TEXT[:end]
        done = end == len(FORM_TEXT)
        got, error = call(2, final_fields, prefix, done)
        if error:
            return error
        want = _final_after(prefix)
        if got != want:
            return failed(2, f"after {prefix!r} (done={done}): expected {want!r}, got {got!r}")
    return passed(2)

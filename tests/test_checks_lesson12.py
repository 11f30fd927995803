"""Lesson 12's checks pass the reference solutions and fail the stubs and plausible mistakes."""

from __future__ import annotations

import json
from typing import Any

import jiter
import pytest
from check_helpers import assert_fails, assert_passes, assert_stub_fails, solution_fixture
from openai.types.chat import ChatCompletionChunk

from helpers.checks import lesson12

solution = solution_fixture("lesson12")


@pytest.mark.parametrize("number", [1, 2])
def test_stubs_fail(number: int) -> None:
    assert_stub_fails(lesson12, number)


def test_reference_solutions_pass(solution) -> None:
    assert_passes(lesson12.check_exercise_1(solution.assistant_message), 1)
    assert_passes(lesson12.check_exercise_2(solution.final_fields), 2)


def test_exercise_1_fixtures_are_what_the_sdk_dumps() -> None:
    """Every chunk the check sends survives the SDK's own type unchanged (fields, Nones)."""
    for _, chunks, _ in lesson12.EXERCISE_1:
        for chunk in chunks:
            dumped = ChatCompletionChunk.model_validate(chunk).model_dump(exclude_unset=True)
            assert dumped == chunk


# --- exercise 1: wrong answers ---------------------------------------------------------------


def test_exercise_1_rejects_the_first_choice_of_every_chunk(solution) -> None:
    def first_choice(chunks: list[dict[str, Any]]) -> dict[str, Any] | None:
        # chunk["choices"][0] breaks on the usage chunk, whose choices list is empty
        return solution.assistant_message([{**c, "choices": [c["choices"][0]]} for c in chunks])

    assert_fails(lesson12.check_exercise_1(first_choice), 1, "IndexError", "usage chunk")


def test_exercise_1_rejects_calls_kept_after_a_cut(solution) -> None:
    def ignores_finish(chunks: list[dict[str, Any]]) -> dict[str, Any] | None:
        stopped = [{**c, "choices": [{**ch, "finish_reason": ch["finish_reason"] and "tool_calls"}
                                     for ch in c["choices"]]} for c in chunks]
        return solution.assistant_message(stopped)

    assert_fails(lesson12.check_exercise_1(ignores_finish), 1, "length", "expected None")


def test_exercise_1_rejects_joining_by_arrival_order() -> None:
    def by_arrival(chunks: list[dict[str, Any]]) -> dict[str, Any] | None:
        calls: list[dict[str, Any]] = []
        text, finish = "", None
        for chunk in chunks:
            for choice in chunk["choices"]:
                text += choice["delta"]["content"] or ""
                finish = choice["finish_reason"] or finish
                for piece in choice["delta"]["tool_calls"] or []:
                    if piece["id"]:  # a new call: assume the pieces that follow are its own
                        calls.append({"id": piece["id"], "type": "function", "function": {
                            "name": piece["function"]["name"], "arguments": ""}})
                    calls[-1]["function"]["arguments"] += piece["function"]["arguments"]
        if finish != "tool_calls":
            return None
        return {"role": "assistant", "content": text or None, "tool_calls": calls}

    assert_fails(lesson12.check_exercise_1(by_arrival), 1, "interleave")


def test_exercise_1_rejects_a_name_taken_from_every_piece(solution) -> None:
    def last_piece_wins(chunks: list[dict[str, Any]]) -> dict[str, Any] | None:
        message = solution.assistant_message(chunks)
        if message:  # later pieces carry name None: overwriting loses the name
            for tool_call in message["tool_calls"]:
                tool_call["function"]["name"] = None
        return message

    assert_fails(lesson12.check_exercise_1(last_piece_wins), 1, "expected")


def test_exercise_1_rejects_calls_without_their_type(solution) -> None:
    def untyped(chunks: list[dict[str, Any]]) -> dict[str, Any] | None:
        message = solution.assistant_message(chunks)
        if message:
            message["tool_calls"] = [{k: v for k, v in c.items() if k != "type"}
                                     for c in message["tool_calls"]]
        return message

    assert_fails(lesson12.check_exercise_1(untyped), 1, "'type': 'function'")


# --- exercise 1: other right answers -----------------------------------------------------------


def test_exercise_1_accepts_an_answer_through_the_sdk_types() -> None:
    """Chunks validated into ChatCompletionChunk, content "" for no text, refusal None kept."""

    def with_sdk(chunks: list[dict[str, Any]]) -> dict[str, Any] | None:
        calls: dict[int, dict[str, Any]] = {}
        text, finish = "", None
        for chunk in map(ChatCompletionChunk.model_validate, chunks):
            for choice in chunk.choices:
                text += choice.delta.content or ""
                finish = choice.finish_reason or finish
                for piece in choice.delta.tool_calls or []:
                    entry = calls.setdefault(piece.index, {"type": "function", "function": {
                        "arguments": ""}})
                    if piece.id:
                        entry["id"] = piece.id
                    if piece.function and piece.function.name:
                        entry["function"]["name"] = piece.function.name
                    if piece.function and piece.function.arguments:
                        entry["function"]["arguments"] += piece.function.arguments
        if finish != "tool_calls":
            return None
        return {"role": "assistant", "content": text, "refusal": None,
                "tool_calls": [calls[i] for i in sorted(calls)]}

    assert_passes(lesson12.check_exercise_1(with_sdk), 1)


# --- exercise 2: wrong answers -----------------------------------------------------------------


def _partial(buffer: str) -> dict[str, Any]:
    return jiter.from_json(buffer.encode(), partial_mode="trailing-strings") if buffer else {}


def test_exercise_2_rejects_showing_every_parsed_field() -> None:
    assert_fails(lesson12.check_exercise_2(_partial), 2, "'city' = ''")


def test_exercise_2_rejects_waiting_for_the_next_key() -> None:
    """Section 5's rule (every field but the last): a field waits for the next key, and the last
    field is never shown."""

    def all_but_last(buffer: str) -> dict[str, Any]:
        partial = _partial(buffer)
        return {key: partial[key] for key in list(partial)[:-1]}

    assert_fails(lesson12.check_exercise_2(all_but_last), 2, "'city' is final", "got {}")


def test_exercise_2_rejects_a_comma_anywhere() -> None:
    """The last field is final when the text ends with , or }: a comma inside a string too."""

    def trailing_comma(buffer: str) -> dict[str, Any]:
        partial = _partial(buffer)
        keys = list(partial)
        closed = buffer.rstrip().endswith((",", "}"))
        return {key: partial[key] for key in (keys if closed else keys[:-1])}

    assert_fails(lesson12.check_exercise_2(trailing_comma), 2, "'city' = 'Lisbon,'",
                 "can still change")


def _scanner(*, escapes: bool, depth_counts: bool) -> Any:
    def final_fields(buffer: str) -> dict[str, Any]:
        depth, in_string, escaped, last = 0, False, False, None
        for position, char in enumerate(buffer):
            if in_string:
                if escaped:
                    escaped = False
                elif char == "\\" and escapes:
                    escaped = True
                elif char == '"':
                    in_string = False
            elif char == '"':
                in_string = True
            elif char in "[{":
                depth += 1
            elif char in "]}":
                depth -= 1
                if depth == 0:
                    last = position
            elif char == "," and (depth == 1 or not depth_counts):
                last = position
        return {} if last is None else _partial(buffer[:last] + "}")

    return final_fields


def test_exercise_2_rejects_a_scanner_blind_to_escaped_quotes() -> None:
    blind = _scanner(escapes=False, depth_counts=True)
    assert_fails(lesson12.check_exercise_2(blind), 2, "'summary' = 'Sun, then \"light}'")


def test_exercise_2_rejects_a_scanner_blind_to_arrays() -> None:
    flat = _scanner(escapes=True, depth_counts=False)
    assert_fails(lesson12.check_exercise_2(flat), 2, "'rain_hours' = [15]")


def test_the_scanner_twin_of_the_solution_passes() -> None:
    """The two mistakes above are the only difference from a right scanner."""
    assert_passes(lesson12.check_exercise_2(_scanner(escapes=True, depth_counts=True)), 2)


# --- exercise 2: a better answer -----------------------------------------------------------------


def test_exercise_2_accepts_a_value_shown_as_soon_as_it_is_whole(solution) -> None:
    """Earlier than the rule asks: a string at its closing quote, an array at its ], true at its
    e, a number once a blank follows it."""

    def earliest(buffer: str) -> dict[str, Any]:
        fields = solution.final_fields(buffer)
        try:
            whole = json.loads(buffer.rstrip() + "}")
        except ValueError:
            return fields
        if not whole:
            return fields
        last = whole[list(whole)[-1]]
        growing = isinstance(last, int | float) and not isinstance(last, bool)
        if growing and buffer == buffer.rstrip():  # 2 may still become 24
            return fields
        return whole

    assert earliest('{"city":"Lisbon, Portugal"') == {"city": "Lisbon, Portugal"}
    assert_passes(lesson12.check_exercise_2(earliest), 2)


def test_exercise_2_rejects_a_number_shown_before_it_ended(solution) -> None:
    """The same early answer without its guard: a 2 shown as final becomes 24."""

    def too_early(buffer: str) -> dict[str, Any]:
        try:
            return json.loads(buffer.rstrip() + "}")
        except ValueError:
            return solution.final_fields(buffer)

    assert_fails(lesson12.check_exercise_2(too_early), 2, "'high_c' = 2 shown")

"""Lesson 10's checks pass the reference solutions and fail the stubs and plausible mistakes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from check_helpers import assert_fails, assert_passes, assert_stub_fails, solution_fixture

from helpers.checks import lesson10

solution = solution_fixture("lesson10")


@pytest.mark.parametrize("number", [1, 2])
def test_stubs_fail(number: int) -> None:
    assert_stub_fails(lesson10, number)


def test_reference_solutions_pass(solution) -> None:
    assert_passes(lesson10.check_exercise_1(solution.text_deltas), 1)
    assert_passes(lesson10.check_exercise_2(solution.unify), 2)


def test_the_fixtures_hold_what_the_review_found_missing() -> None:
    endings = {(case.dialect, case.ending) for case in lesson10.CASES}
    assert {("responses", "failed"), ("responses", "length"), ("chat", "length"),
            ("messages", "length")} <= endings  # failed / incomplete / length / max_tokens
    assert all((d, "cut") in endings and (d, "error") in endings for d in lesson10.DIALECTS)
    failed = next(c for c in lesson10.CASES if c.ending == "failed")
    assert not any(frame.event == "error" for frame in failed.frames)
    cut = next(c for c in lesson10.CASES if c.dialect == "messages" and c.ending == "length")
    assert json.loads(cut.frames[-2].data)["delta"]["stop_reason"] == "max_tokens"
    assert cut.frames[-1].event == "message_stop"  # it "looks finished"
    assert all((d, "filtered") in endings for d in lesson10.DIALECTS)  # content filter / refusal
    assert {("chat", "cut_late"), ("messages", "cut_late")} <= endings
    late = {c.dialect: c.frames[-1] for c in lesson10.CASES if c.ending == "cut_late"}
    assert json.loads(late["chat"].data)["usage"]  # the reason and the usage came, no [DONE]
    assert late["messages"].event == "message_delta"  # the reason came, no message_stop


# --- a different right answer: one small state machine per stream, raising where it knows ------


class Broken(Exception):
    pass


class _Reader:
    """Reads one stream frame by frame; `pieces()` yields text, `.usage` and `.reason` fill in."""

    GOOD: ClassVar[dict[str, str]] = {
        "completed": "stop", "stop": "stop", "end_turn": "stop", "stop_sequence": "stop",
        "max_output_tokens": "length", "length": "length", "max_tokens": "length",
    }

    def __init__(self, dialect: str, events: Any, raise_on_cut: bool) -> None:
        self.dialect, self.events, self.raise_on_cut = dialect, events, raise_on_cut
        self.usage: dict[str, int] = {}
        self.reason: str | None = None
        self.closed = False

    def pieces(self) -> Iterator[str]:
        for event in self.events:
            if event.data == "[DONE]":
                self.closed = True
                continue
            data = json.loads(event.data)
            if isinstance(data.get("error"), dict) and event.event != "response.failed":
                raise Broken(data["error"]["message"])
            yield from getattr(self, f"_{self.dialect}")(data)
        if not self.closed:
            raise Broken("no end frame")
        if self.reason not in self.GOOD:
            raise Broken(f"ended {self.reason}")

    def _responses(self, data: dict[str, Any]) -> Iterator[str]:
        if data["type"] == "response.output_text.delta" and data["delta"]:
            yield data["delta"]
        if data["type"] in ("response.completed", "response.incomplete", "response.failed"):
            response = data["response"]
            self.reason = (response.get("incomplete_details") or {}).get("reason") or \
                response["status"]
            self.usage = {k: (response.get("usage") or {}).get(k)
                          for k in ("input_tokens", "output_tokens")}
            self.closed = True

    def _chat(self, data: dict[str, Any]) -> Iterator[str]:
        if data.get("usage"):
            u = data["usage"]
            self.usage = {"input_tokens": u["prompt_tokens"],
                          "output_tokens": u["completion_tokens"]}
        for choice in data.get("choices", []):
            if choice["delta"].get("content"):
                yield choice["delta"]["content"]
            self.reason = choice["finish_reason"] or self.reason

    def _messages(self, data: dict[str, Any]) -> Iterator[str]:
        kind = data["type"]
        if kind == "message_start":
            self.usage = {k: data["message"]["usage"][k] for k in ("input_tokens", "output_tokens")}
        delta = data.get("delta") or {}
        if kind == "content_block_delta" and delta.get("type") == "text_delta" and delta["text"]:
            yield delta["text"]
        if kind == "message_delta":
            self.reason = data["delta"]["stop_reason"]
            self.usage["output_tokens"] = data["usage"]["output_tokens"]
            if self.reason == "max_tokens" and self.raise_on_cut:  # before message_stop is read
                raise Broken("max_tokens")
        if kind == "message_stop":
            self.closed = True


def state_machine_text(dialect, events):
    reader = _Reader(dialect, events, raise_on_cut=True)
    yield from reader.pieces()
    if _Reader.GOOD[reader.reason] != "stop":
        raise Broken("cut by the token limit")


def state_machine_unify(dialect, events):
    reader = _Reader(dialect, events, raise_on_cut=False)
    for piece in reader.pieces():
        yield ["text", piece]  # lists are fine too
    yield ("usage", reader.usage)
    yield ("stop", _Reader.GOOD[reader.reason])


def test_exercise_1_accepts_a_state_machine_that_raises_where_it_knows() -> None:
    assert_passes(lesson10.check_exercise_1(state_machine_text), 1)


def test_exercise_2_accepts_another_shape_of_the_same_answer() -> None:
    assert_passes(lesson10.check_exercise_2(state_machine_unify), 2)


# --- exercise 1: wrong answers -------------------------------------------------------------------


def raises_on_error_frames_only(dialect, events):
    """The old reference: an error frame raises, every other ending looks finished."""
    for event in events:
        if dialect == "chat" and event.data == "[DONE]":
            return
        if event.event == "ping":
            continue
        data = json.loads(event.data)
        if event.event == "error" or "error" in data:
            raise RuntimeError("stream error")
        if data.get("type") == "response.output_text.delta" and data["delta"]:
            yield data["delta"]
        elif dialect == "chat" and data["choices"] and data["choices"][0]["delta"].get("content"):
            yield data["choices"][0]["delta"]["content"]
        elif data.get("type") == "content_block_delta" and data["delta"].get("text"):
            yield data["delta"]["text"]


def test_exercise_1_rejects_a_failed_or_cut_stream_that_looks_finished() -> None:
    assert_fails(lesson10.check_exercise_1(raises_on_error_frames_only), 1,
                 "responses, an answer cut by the token limit", "nothing raised")


def test_exercise_1_rejects_checking_the_end_frame_but_not_the_reason() -> None:
    def end_frame_only(dialect, events):
        ends = {"responses": ("response.completed", "response.incomplete", "response.failed"),
                "chat": ("[DONE]",), "messages": ("message_stop",)}[dialect]
        seen_end = False
        for event in events:
            kind = "[DONE]" if event.data == "[DONE]" else json.loads(event.data).get("type")
            seen_end = seen_end or kind in ends
            if not seen_end:
                yield from raises_on_error_frames_only(dialect, [event])
        if not seen_end:
            raise RuntimeError("cut")

    assert_fails(lesson10.check_exercise_1(end_frame_only), 1, "cut by the token limit")


def test_exercise_1_rejects_parsing_done_as_json() -> None:
    def every_frame_is_json(dialect, events):
        for event in events:
            payload = json.loads(event.data)  # Chat's last frame is `[DONE]`, not JSON
            if payload.get("type") == "response.output_text.delta" and payload["delta"]:
                yield payload["delta"]

    assert_fails(lesson10.check_exercise_1(every_frame_is_json), 1, "chat")


def test_exercise_1_rejects_a_quiet_end_on_an_error_frame(solution) -> None:
    def error_ends_the_stream(dialect, events):
        def until_error():
            for event in events:
                if event.event == "error" or '"error": {' in event.data:
                    return  # treated as the end of the answer
                yield event

        try:
            yield from solution.text_deltas(dialect, until_error())
        except solution.StreamError as error:
            if "end frame" not in str(error):
                raise

    assert_fails(lesson10.check_exercise_1(error_ends_the_stream), 1, "error frame",
                 "nothing raised")


def test_exercise_1_rejects_reading_the_whole_stream_first(solution) -> None:
    def whole_stream_first(dialect, events):
        yield from list(solution.text_deltas(dialect, list(events)))

    assert_fails(lesson10.check_exercise_1(whole_stream_first), 1,
                 "yield each piece as its frame arrives")


def test_exercise_1_rejects_thinking_shown_as_text(solution) -> None:
    def thinking_too(dialect, events):
        stash = []

        def spy():
            for event in events:
                if '"thinking_delta"' in event.data:
                    stash.append(json.loads(event.data)["delta"]["thinking"])
                yield event

        for piece in solution.text_deltas(dialect, spy()):
            yield from stash
            stash.clear()
            yield piece

    assert_fails(lesson10.check_exercise_1(thinking_too), 1, "(thinking first)", "expected")


def test_exercise_1_rejects_taking_the_stop_reason_for_the_end(solution) -> None:
    def ends_at_the_reason(dialect, events):
        def until_reason():
            for event in events:
                yield event
                data = {} if event.data == "[DONE]" else json.loads(event.data)
                said = (data.get("choices") or [{}])[0].get("finish_reason") or (
                    data.get("type") == "message_delta" and data["delta"]["stop_reason"])
                if said:  # as if the end frame came right after the reason
                    end = "[DONE]" if dialect == "chat" else '{"type": "message_stop"}'
                    yield type(event)(event="message" if dialect == "chat" else "message_stop",
                                      data=end)
                    return

        yield from solution.text_deltas(dialect, until_reason())

    assert_fails(lesson10.check_exercise_1(ends_at_the_reason), 1,
                 "closed after the stop reason, before the end frame", "nothing raised")


def test_exercise_1_rejects_a_filtered_answer_taken_as_whole(solution) -> None:
    def only_the_token_limit_is_not_whole(dialect, events):
        try:
            yield from solution.text_deltas(dialect, events)
        except solution.StreamError as error:
            if "'content_filter'" not in str(error) and "'refusal'" not in str(error):
                raise

    assert_fails(lesson10.check_exercise_1(only_the_token_limit_is_not_whole), 1,
                 "stopped by a content filter", "nothing raised")


# --- exercise 2: wrong answers -------------------------------------------------------------------


def test_exercise_2_rejects_usage_from_message_start_only(solution) -> None:
    def first_usage_wins(dialect, events):
        for kind, value in solution.unify(dialect, events):
            if kind == "usage" and dialect == "messages":
                value = {"input_tokens": 4, "output_tokens": 1}  # message_start's count
            yield kind, value

    assert_fails(lesson10.check_exercise_2(first_usage_wins), 2, "messages")


def test_exercise_2_rejects_usage_read_where_the_key_is_null(solution) -> None:
    def usage_key_present(dialect, events):
        kept = []

        def spy():
            for event in events:
                data = None if event.data == "[DONE]" else json.loads(event.data)
                if dialect == "chat" and data and "usage" in data:  # `"usage": null` on most
                    kept.append(data["usage"]["prompt_tokens"])
                yield event

        yield from solution.unify(dialect, spy())

    assert_fails(lesson10.check_exercise_2(usage_key_present), 2, "chat", "TypeError")


def test_exercise_1_rejects_an_end_frame_recognised_by_its_bytes(solution) -> None:
    def bytes_compared(dialect, events):
        def rewritten():
            for event in events:
                if event.event == "message_stop" and event.data != '{"type": "message_stop"}':
                    continue  # padded: not recognised, so the stream "never ended"
                yield event

        yield from solution.text_deltas(dialect, rewritten())

    assert_fails(lesson10.check_exercise_1(bytes_compared), 1, "messages, a whole answer",
                 "end frame")


def test_exercise_2_rejects_chat_usage_names_left_as_they_are(solution) -> None:
    def raw_names(dialect, events):
        for kind, value in solution.unify(dialect, events):
            if kind == "usage" and dialect == "chat":
                value = {"prompt_tokens": value["input_tokens"], "completion_tokens": 1}
            yield kind, value

    assert_fails(lesson10.check_exercise_2(raw_names), 2, "chat")


def test_exercise_2_rejects_every_ending_reported_as_stop(solution) -> None:
    def always_stop(dialect, events):
        for kind, value in solution.unify(dialect, events):
            yield kind, "stop" if kind == "stop" else value

    assert_fails(lesson10.check_exercise_2(always_stop), 2, "cut by the token limit",
                 "('stop', 'length')")


def test_exercise_2_rejects_each_dialects_own_reason(solution) -> None:
    def native_reason(dialect, events):
        reasons = []

        def spy():
            for event in events:
                if event.event == "message_delta":
                    reasons.append(json.loads(event.data)["delta"]["stop_reason"])
                yield event

        for kind, value in solution.unify(dialect, spy()):
            yield kind, (reasons[0] if kind == "stop" and reasons else value)

    assert_fails(lesson10.check_exercise_2(native_reason), 2, "messages, a whole answer")


def test_exercise_2_rejects_every_early_ending_reported_as_length(solution) -> None:
    def filtered_as_length(dialect, events):
        cut = {"responses": '"max_output_tokens"', "chat": '"length"', "messages": '"max_tokens"'}

        def rewritten():  # a content filter or a refusal read as the token limit
            for event in events:
                data = event.data.replace('"content_filter"', cut[dialect])
                yield type(event)(event=event.event, data=data.replace('"refusal"', cut[dialect]))

        yield from solution.unify(dialect, rewritten())

    assert_fails(lesson10.check_exercise_2(filtered_as_length), 2, "stopped by a content filter",
                 "('stop', 'length')")


def test_exercise_2_rejects_a_cut_connection_reported_as_an_answer(solution) -> None:
    def forgiving(dialect, events):
        try:
            yield from solution.unify(dialect, events)
        except solution.StreamError as error:
            if "end frame" not in str(error):
                raise
            yield "usage", {"input_tokens": 0, "output_tokens": 0}
            yield "stop", "length"

    assert_fails(lesson10.check_exercise_2(forgiving), 2, "closed before the end frame")

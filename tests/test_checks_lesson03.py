"""Lesson 3's checks pass the reference solutions and fail the stubs and plausible mistakes.

Every check runs the learner's code on the real openai SDK: exercise 1 on replayed recordings,
exercises 2 and 3 against the kit's local server.
"""

from __future__ import annotations

import time

import openai
import pytest
from check_helpers import assert_fails, assert_passes, assert_stub_fails, solution_fixture

from helpers.checks import lesson03

solution = solution_fixture("lesson03")

TERMINAL = ("response.completed", "response.incomplete", "response.failed")


@pytest.mark.parametrize("number", [1, 2, 3])
def test_stubs_fail(number: int) -> None:
    assert_stub_fails(lesson03, number)


# --------------------------------------------------------------------------- exercise 1


def test_exercise_1_passes_reference(solution):
    assert_passes(lesson03.check_exercise_1(solution.stream_answer), 1)


def test_exercise_1_passes_judging_by_the_final_status():
    def by_status(events):  # another right answer: the last event's response and its status
        last = None
        try:
            for event in events:
                if event.type == "response.output_text.delta":
                    yield event.delta
                last = event
        except openai.APIError as error:
            raise RuntimeError(error.message) from error
        if last is None or last.type not in TERMINAL:
            raise RuntimeError(f"cut after {getattr(last, 'type', None)}")
        if last.response.status != "completed":
            details = last.response.incomplete_details or last.response.error
            raise RuntimeError(f"{last.response.status}: {details}")

    assert_passes(lesson03.check_exercise_1(by_status), 1)


def test_exercise_1_passes_closing_the_stream_with_a_with_block(solution):
    def with_block(events):  # another right answer: the stream closed on every way out
        with events:
            yield from solution.stream_answer(events)

    assert_passes(lesson03.check_exercise_1(with_block), 1)


def test_exercise_1_fails_the_loop_of_section_1():
    def deltas_only(events):  # section 1's loop as a generator: a cut answer looks whole
        for event in events:
            if event.type == "response.output_text.delta":
                yield event.delta

    assert_fails(lesson03.check_exercise_1(deltas_only), 1, "max_output_tokens",
                 "raise RuntimeError")


def test_exercise_1_fails_how_it_ended_turned_into_a_function(solution):
    def collect_then_judge(events):  # section 2's how_it_ended: the verdict before the text
        pieces = []
        try:
            for event in events:
                if event.type == "response.output_text.delta":
                    pieces.append(event.delta)
        except openai.APIError as error:
            raise RuntimeError(error.message) from error
        yield from pieces

    assert_fails(lesson03.check_exercise_1(collect_then_judge), 1, "before reading the next")


def test_exercise_1_fails_yielding_the_text_so_far(solution):
    def snapshots(events):  # the whole text so far each time: the caller would repeat it
        text = ""
        for piece in solution.stream_answer(events):
            text += piece
            yield text

    assert_fails(lesson03.check_exercise_1(snapshots), 1, "yield each text delta as it arrives")


def test_exercise_1_fails_a_plain_function():
    def returns_text(events):  # the first idea: a function that returns the text
        return "".join(e.delta for e in events if e.type == "response.output_text.delta")

    assert_fails(lesson03.check_exercise_1(returns_text), 1, "generator")


def test_exercise_1_fails_when_the_api_error_escapes():
    def no_except(events):
        last = None
        for event in events:
            if event.type == "response.output_text.delta":
                yield event.delta
            last = event.type
        if last != "response.completed":
            raise RuntimeError(f"{last}: max_output_tokens")

    assert_fails(lesson03.check_exercise_1(no_except), 1, "APIError", "escaped")


def test_exercise_1_fails_when_a_stream_without_terminal_event_passes_as_whole():
    def only_bad_endings(events):
        try:
            for event in events:
                if event.type == "response.output_text.delta":
                    yield event.delta
                elif event.type in ("response.incomplete", "response.failed"):
                    response = event.response
                    raise RuntimeError(str(response.incomplete_details or response.error))
        except openai.APIError as error:
            raise RuntimeError(error.message) from error

    assert_fails(lesson03.check_exercise_1(only_bad_endings), 1, "no terminal event")


def test_exercise_1_fails_when_response_failed_is_ignored():
    def trusts_the_sdk(events):  # the SDK raises for `error`, so failed "never arrives"
        last = None
        try:
            for event in events:
                if event.type == "response.output_text.delta":
                    yield event.delta
                last = event
        except openai.APIError as error:
            raise RuntimeError(error.message) from error
        if last is None or last.type == "response.incomplete" or last.type not in TERMINAL:
            raise RuntimeError("cut: max_output_tokens")

    assert_fails(lesson03.check_exercise_1(trusts_the_sdk), 1, "response.failed")


def test_exercise_1_fails_when_only_the_error_event_is_caught(solution):
    def error_events_only(events):  # catches the error event's APIError, lets a drop escape
        try:
            yield from solution.stream_answer(events)
        except RuntimeError as error:
            if isinstance(error.__cause__, openai.APIConnectionError):
                raise error.__cause__ from None
            raise

    assert_fails(lesson03.check_exercise_1(error_events_only), 1, "dropped",
                 "APIConnectionError escaped")


def test_exercise_1_fails_without_saying_why(solution):
    def no_reason(events):
        try:
            yield from solution.stream_answer(events)
        except RuntimeError:
            raise RuntimeError("the answer is not whole") from None

    assert_fails(lesson03.check_exercise_1(no_reason), 1, "should say why")


# --------------------------------------------------------------------------- exercise 2


def test_exercise_2_passes_reference(solution):
    assert_passes(lesson03.check_exercise_2(solution.stream_within), 2)


def test_exercise_2_passes_the_stream_helper_and_an_explicit_close():
    def with_helper(client, model, prompt, idle, deadline):  # another right answer
        start, text = time.perf_counter(), ""
        stream = client.with_options(timeout=idle).responses.stream(model=model, input=prompt)
        try:
            with stream as events:
                for event in events:
                    if event.type == "response.output_text.delta":
                        text = event.snapshot
                    if time.perf_counter() - start > deadline:
                        return text, "deadline"
        except openai.APITimeoutError:
            return text, "idle"
        return text, None

    assert_passes(lesson03.check_exercise_2(with_helper), 2)


def collect(client, model, prompt, *, timeout, deadline=None, close=True):
    """A family of answers: a read timeout, maybe a clock, maybe a close."""
    start, text = time.perf_counter(), ""
    stream = client.with_options(timeout=timeout).responses.create(
        model=model, input=prompt, stream=True
    )
    try:
        for event in stream:
            if event.type == "response.output_text.delta":
                text += event.delta
            if deadline is not None and time.perf_counter() - start > deadline:
                if close:
                    stream.close()
                return text, "deadline"
    except openai.APITimeoutError:
        return text, "idle"
    return text, None


def test_exercise_2_fails_a_read_timeout_alone():
    def read_timeout_only(client, model, prompt, idle, deadline):
        return collect(client, model, prompt, timeout=idle)

    assert_fails(lesson03.check_exercise_2(read_timeout_only), 2, "'deadline'")


def test_exercise_2_fails_the_deadline_as_a_read_timeout():
    def deadline_as_timeout(client, model, prompt, idle, deadline):
        text, reason = collect(client, model, prompt, timeout=deadline)
        return text, "deadline" if reason == "idle" else reason

    assert_fails(lesson03.check_exercise_2(deadline_as_timeout), 2, "went quiet")


def test_exercise_2_fails_a_clock_without_a_read_timeout():
    def clock_only(client, model, prompt, idle, deadline):  # blocked in next() while silent
        return collect(client, model, prompt, timeout=client.timeout, deadline=deadline)

    assert_fails(lesson03.check_exercise_2(clock_only), 2, "went quiet")


def test_exercise_2_fails_leaving_the_stream_open():
    def no_close(client, model, prompt, idle, deadline):
        return collect(client, model, prompt, timeout=idle, deadline=deadline, close=False)

    assert_fails(lesson03.check_exercise_2(no_close), 2, "still generating")


# --------------------------------------------------------------------------- exercise 3


def test_exercise_3_passes_reference(solution):
    assert_passes(lesson03.check_exercise_3(solution.stream_timings), 3)


def timings(client, model, prompt, *, clock_after_create=False, first_event=False,
            rate_over_total=False):
    """A family of answers, each with at most one mistake."""
    start = time.perf_counter()
    stream = client.responses.create(model=model, input=prompt, stream=True)
    headers = time.perf_counter() - start
    if clock_after_create:
        start = time.perf_counter()
    arrivals, first_any = [], None
    for event in stream:
        first_any = first_any or time.perf_counter() - start
        if event.type == "response.output_text.delta":
            arrivals.append(time.perf_counter() - start)
    total = time.perf_counter() - start
    first = first_any if first_event else arrivals[0]
    if rate_over_total:
        rate = len(arrivals) / total
    else:
        rate = len(arrivals) / (arrivals[-1] - arrivals[0])  # n, not n - 1: also right
    return {"headers": headers, "first_text": first, "total": total, "rate": rate}


def test_exercise_3_passes_the_family_without_a_mistake():
    assert_passes(lesson03.check_exercise_3(timings), 3)


def test_exercise_3_fails_a_clock_started_after_create():
    def late_clock(client, model, prompt):
        result = timings(client, model, prompt, clock_after_create=True)
        return result | {"headers": 0.0}  # "create() took no time": the clock was not running

    assert_fails(lesson03.check_exercise_3(late_clock), 3, "start the clock before")


def test_exercise_3_fails_the_first_event_for_the_first_text():
    def first_event(client, model, prompt):
        return timings(client, model, prompt, first_event=True)

    assert_fails(lesson03.check_exercise_3(first_event), 3, "time the first text delta")


def test_exercise_3_fails_a_rate_over_the_whole_time():
    def over_total(client, model, prompt):
        return timings(client, model, prompt, rate_over_total=True)

    assert_fails(lesson03.check_exercise_3(over_total), 3, "the deltas after the first")


def test_exercise_3_fails_on_a_wrong_shape():
    def as_tuple(client, model, prompt):
        result = timings(client, model, prompt)
        return result["first_text"], result["total"]

    assert_fails(lesson03.check_exercise_3(as_tuple), 3, "expected a dict")

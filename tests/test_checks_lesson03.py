"""Lesson 3's checks pass the reference solutions and fail the stubs and plausible mistakes.

Exercises 2 and 3 run against the kit's local server with the real openai client.
"""

from __future__ import annotations

import time

import openai
import pytest
from check_helpers import assert_fails, assert_passes, assert_stub_fails, solution_fixture

from helpers.checks import lesson03

solution = solution_fixture("lesson03")


@pytest.mark.parametrize("number", [1, 2, 3])
def test_stubs_fail(number: int) -> None:
    assert_stub_fails(lesson03, number)


# --------------------------------------------------------------------------- exercise 1


def test_exercise_1_passes_reference(solution):
    assert_passes(lesson03.check_exercise_1(solution.collect_answer), 1)


def test_exercise_1_fails_when_done_text_is_added_too():
    def also_done(events):
        text = ""
        for event in events:
            if event.type == "response.output_text.delta":
                text += event.delta
            elif event.type == "response.output_text.done":
                text += event.text
        return text

    assert_fails(lesson03.check_exercise_1(also_done), 1)


def test_exercise_1_fails_when_the_api_error_escapes():
    def ignores_errors(events):
        return "".join(e.delta for e in events if e.type == "response.output_text.delta")

    message = lesson03.check_exercise_1(ignores_errors)
    assert_fails(message, 1)
    assert "should become a RuntimeError" in message and "APIError" in message


def test_exercise_1_fails_when_it_waits_for_an_error_event_the_sdk_never_yields():
    def waits_for_error_event(events):
        text = ""
        for event in events:
            if event.type == "response.output_text.delta":
                text += event.delta
            elif event.type == "error":  # openai 3.63 raises APIError before yielding it
                raise RuntimeError(f"{event.message} {text}")
        return text

    assert_fails(lesson03.check_exercise_1(waits_for_error_event), 1)


def test_exercise_1_fails_when_partial_text_is_lost():
    def loses_text(events):
        text = ""
        try:
            for event in events:
                if event.type == "response.output_text.delta":
                    text += event.delta
        except openai.APIError as error:
            raise RuntimeError(error.message) from error
        return text

    message = lesson03.check_exercise_1(loses_text)
    assert_fails(message, 1)
    assert "text so far" in message


# --------------------------------------------------------------------------- exercise 2


def test_exercise_2_passes_reference(solution):
    assert_passes(lesson03.check_exercise_2(solution.stream_keeping_partial), 2)


def test_exercise_2_fails_when_the_drop_escapes():
    def no_handling(client, model, prompt):
        stream = client.responses.create(model=model, input=prompt, stream=True)
        text = "".join(e.delta for e in stream if e.type == "response.output_text.delta")
        return text, None

    message = lesson03.check_exercise_2(no_handling)
    assert_fails(message, 2)
    assert "APIConnectionError" in message


def test_exercise_2_fails_when_partial_text_is_dropped():
    def forgets_partial(client, model, prompt):
        try:
            stream = client.responses.create(model=model, input=prompt, stream=True)
            text = "".join(e.delta for e in stream if e.type == "response.output_text.delta")
        except openai.APIConnectionError as error:
            return "", type(error).__name__
        return text, None

    assert_fails(lesson03.check_exercise_2(forgets_partial), 2)


# --------------------------------------------------------------------------- exercise 3


def test_exercise_3_passes_reference(solution):
    assert_passes(lesson03.check_exercise_3(solution.measure_stream), 3)


def test_exercise_3_fails_timing_the_first_event_instead_of_the_first_text():
    def first_event(client, model, prompt):
        start = time.perf_counter()
        stream = client.responses.create(model=model, input=prompt, stream=True)
        ttft = None
        for _event in stream:
            if ttft is None:
                ttft = time.perf_counter() - start
        return ttft, time.perf_counter() - start

    message = lesson03.check_exercise_3(first_event)
    assert_fails(message, 3)
    assert "first event" in message


def test_exercise_3_fails_when_total_stops_at_the_first_token():
    def stops_early(client, model, prompt):
        start = time.perf_counter()
        with client.responses.stream(model=model, input=prompt) as stream:
            for event in stream:
                if event.type == "response.output_text.delta":
                    ttft = time.perf_counter() - start
                    return ttft, ttft
        return 0.0, 0.0

    message = lesson03.check_exercise_3(stops_early)
    assert_fails(message, 3)
    assert "before the last token" in message


def test_exercise_3_fails_on_a_wrong_shape():
    assert_fails(lesson03.check_exercise_3(lambda client, model, prompt: 1.0), 3)

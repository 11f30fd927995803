"""Steering rules of the simulated model (helpers.server.model.steering): pure, checked exactly."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers.server.model.simulated import answer_prompt, find_canned_answer, tokenize
from helpers.server.model.steering import (
    SteerKind,
    classify_steer,
    ends_sentence,
    plan_successor,
    rest_of_sentence,
    steer_input_text,
)

WS_ANSWER = answer_prompt("Compare websockets vs SSE").tokens
TOPIC = "websockets_vs_sse"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("stop", SteerKind.STOP),
        ("Please STOP now, and make it shorter", SteerKind.SHORTER),  # stop *and* an ask
        ("Stop there and answer in one short sentence.", SteerKind.SHORTER),
        ("never mind, write a haiku instead", SteerKind.NEW_TOPIC),
        ("stop talking about websockets", SteerKind.STOP),  # same topic: nothing else asked
        ("shorter please", SteerKind.SHORTER),
        ("tl;dr", SteerKind.SHORTER),
        ("actually, explain chunked transfer encoding", SteerKind.NEW_TOPIC),
        ("go on about websockets", SteerKind.CONTINUE),  # same topic: nothing to switch to
        ("hmm, interesting", SteerKind.CONTINUE),
        ("my stopwatch says it is slow", SteerKind.NEW_TOPIC),  # "stopwatch" is not "stop"
    ],
)
def test_classify_steer(text: str, kind: SteerKind) -> None:
    assert classify_steer(text, TOPIC) is kind


def test_stop_says_nothing_more() -> None:
    plan = plan_successor(
        "stop", emitted=WS_ANSWER[:7], remaining=WS_ANSWER[7:], current_topic=TOPIC
    )
    assert plan.kind is SteerKind.STOP
    assert plan.tokens == ()


def test_stop_and_an_ask_at_a_sentence_boundary_still_answers_one_sentence() -> None:
    first = rest_of_sentence((), WS_ANSWER)
    plain = plan_successor("shorter", emitted=first, remaining=WS_ANSWER[len(first):],
                           current_topic=TOPIC)
    asked = plan_successor("Stop there and answer in one short sentence.", emitted=first,
                           remaining=WS_ANSWER[len(first):], current_topic=TOPIC)
    assert plain.tokens == ()  # "shorter" right after a sentence: nothing more
    assert asked.tokens == rest_of_sentence((), WS_ANSWER[len(first):]) != ()


def test_shorter_finishes_the_sentence_in_progress() -> None:
    plan = plan_successor(
        "shorter", emitted=WS_ANSWER[:5], remaining=WS_ANSWER[5:], current_topic=TOPIC
    )
    assert "".join(WS_ANSWER[:5]) == "Server-Sent Events and"
    assert plan.text == (
        " WebSockets both keep a connection open, but they solve different problems."
    )


def test_shorter_right_after_a_sentence_ends_adds_nothing() -> None:
    first_sentence = len(tokenize("Server-Sent Events and WebSockets both keep a connection open, "
                                  "but they solve different problems."))
    plan = plan_successor(
        "shorter", emitted=WS_ANSWER[:first_sentence], remaining=WS_ANSWER[first_sentence:],
        current_topic=TOPIC,
    )
    assert plan.tokens == ()


def test_shorter_before_any_text_gives_the_first_sentence() -> None:
    plan = plan_successor("brief", emitted=(), remaining=WS_ANSWER, current_topic=TOPIC)
    assert plan.text.endswith("different problems.")


def test_a_new_topic_switches_to_that_corpus_answer() -> None:
    plan = plan_successor(
        "tell me about chunked encoding instead", emitted=WS_ANSWER[:5],
        remaining=WS_ANSWER[5:], current_topic=TOPIC,
    )
    chunked = find_canned_answer("chunked")
    assert chunked is not None
    assert (plan.kind, plan.topic, plan.text) == (SteerKind.NEW_TOPIC, "chunked", chunked.answer)


def test_anything_else_continues_unchanged() -> None:
    plan = plan_successor(
        "ok", emitted=WS_ANSWER[:5], remaining=WS_ANSWER[5:], current_topic=TOPIC
    )
    assert plan.tokens == WS_ANSWER[5:]


def test_a_decimal_point_is_not_a_sentence_end() -> None:
    tokens = tokenize("HTTP/1.1 streams. Next")
    assert "".join(rest_of_sentence(tokens[:4], tokens[4:])) == "1 streams."
    assert not ends_sentence(".", "1")
    assert ends_sentence(".", " Next")
    assert ends_sentence("\n", "x")


@given(st.integers(min_value=0, max_value=len(WS_ANSWER)))
def test_shorter_is_a_prefix_of_the_rest_and_ends_a_sentence(cut: int) -> None:
    rest = rest_of_sentence(WS_ANSWER[:cut], WS_ANSWER[cut:])
    assert WS_ANSWER[cut : cut + len(rest)] == rest
    shown = WS_ANSWER[: cut + len(rest)]
    if shown and cut + len(rest) < len(WS_ANSWER):
        assert ends_sentence(shown[-1], WS_ANSWER[len(shown)])


@pytest.mark.parametrize(
    ("steer_input", "text"),
    [
        ("shorter", "shorter"),
        ([{"role": "user", "content": "stop"}], "stop"),
        ([{"type": "message", "role": "user",
           "content": [{"type": "input_text", "text": "a"}, {"type": "input_text", "text": "b"}]}],
         "a b"),
    ],
)
def test_steer_input_text_accepts_the_sdk_shapes(steer_input: object, text: str) -> None:
    assert steer_input_text(steer_input) == text


@pytest.mark.parametrize(
    ("steer_input", "names"),
    [
        ("   ", "empty string"),
        ([], "non-empty"),
        (42, "42"),
        ([{"role": "assistant", "content": "x"}], "input[0]"),
        ([{"role": "user", "content": [{"type": "input_image"}]}], "input[0].content[0]"),
        ([{"role": "user", "type": "function_call_output", "content": "x"}], "input[0].type"),
    ],
)
def test_bad_steer_input_is_named(steer_input: object, names: str) -> None:
    with pytest.raises(ValueError, match=names.replace("[", r"\[").replace("]", r"\]")):
        steer_input_text(steer_input)

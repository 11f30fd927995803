"""Checks for lesson 9's exercises (WebSockets: the two-way case).

Each check returns the line the notebook prints (helpers.checks says why it never raises).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from helpers.checks import call, failed, passed, with_args
from helpers.server.model.simulated import answer_prompt, tokenize
from helpers.server.model.steering import rest_of_sentence

_call = partial(call, show_call=partial(with_args, cut=60))  # a crash's message shows the arguments


# --- exercise 1 -----------------------------------------------------------------------------------


def _e(kind: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, **fields}


DELTA, CREATED = _e("response.output_text.delta", delta="x"), _e("response.created")
ACCEPTED, PENDING = _e("response.steer.accepted"), _e("response.steer.pending")
FAILED = _e("response.steer.failed", error={"code": "response_already_completed"})
STEERED_END = _e("response.incomplete")

# (events from the moment the steer was sent, the outcome, what a wrong answer misses)
OUTCOME_CASES: list[tuple[list[dict[str, Any]], str, str]] = [
    ([DELTA, DELTA], "waiting", "nothing has answered the steer yet"),
    ([DELTA, ACCEPTED, DELTA], "waiting", "accepted is not the commit point"),
    ([ACCEPTED, STEERED_END, CREATED, DELTA], "committed", "the successor's response.created "
     "is the commit point"),
    ([CREATED, DELTA, ACCEPTED], "waiting", "that response.created came before the steer was "
     "accepted: it is the running response's own"),
    ([ACCEPTED, _e("response.completed"), PENDING], "pending", "the server still owns the input: "
     "do not resend it"),
    ([ACCEPTED, _e("response.completed"), PENDING, CREATED], "committed", "a successor after "
     "pending commits it"),
    ([DELTA, _e("response.completed"), FAILED], "failed", "the input was never applied: send it "
     "as a new request"),
]


def check_exercise_1(steer_outcome: Callable[[list[dict[str, Any]]], str]) -> str:
    """Exercise 1: read a steer's fate from the events: waiting, committed, pending or failed."""
    for events, want, why in OUTCOME_CASES:
        got, error = _call(1, steer_outcome, [dict(e) for e in events])
        if error:
            return error
        if got != want:
            kinds = [e["type"].removeprefix("response.") for e in events]
            return failed(1, f"after {kinds} expected {want!r}, got {got!r}: {why}")
    return passed(1)


# --- exercise 2 -----------------------------------------------------------------------------------


def _delta(text: str) -> dict[str, Any]:
    return {"type": "response.output_text.delta", "delta": text}


def _event(event_type: str) -> dict[str, Any]:
    return {"type": event_type}


_STEERED_CHAIN = [
    _event("response.created"), _delta("Hel"), _delta("lo"),
    _event("response.steer.accepted"),
    _delta(","),  # sent before the server handled the steer: still the first response's text
    _event("response.output_text.done"), _event("response.incomplete"),
    _event("response.created"), _delta(" world"), _delta("."),
    _event("response.output_text.done"), _event("response.completed"),
]
_STOPPED_CHAIN = [
    _event("response.created"), _delta("Hi"), _event("response.steer.accepted"),
    _event("response.incomplete"), _event("response.created"), _event("response.completed"),
]
_PLAIN = [_event("response.created"), _delta("a"), _delta("bc"), _event("response.completed")]

SPLIT_CASES = [
    (_STEERED_CHAIN, ("Hello,", " world.")),
    (_STOPPED_CHAIN, ("Hi", "")),
    (_PLAIN, ("abc", "")),
]


def check_exercise_2(split_at_steer: Callable[[list[dict[str, Any]]], tuple[str, str]]) -> str:
    """Exercise 2: the steered response's text and the successor's, from one chain's events."""
    for events, want in SPLIT_CASES:
        got, error = _call(2, split_at_steer, [dict(e) for e in events])
        if error:
            return error
        if not isinstance(got, tuple | list) or tuple(got) != want:
            types = [e["type"].removeprefix("response.") for e in events]
            return failed(2, f"expected {want}, got {got!r:.60} for the events {types}")
    return passed(2)


# --- exercise 3 -----------------------------------------------------------------------------------


def _sentence_cases() -> list[tuple[list[str], list[str]]]:
    answer = list(answer_prompt("Compare websockets vs SSE").tokens)
    haiku = list(answer_prompt("write a haiku").tokens)
    decimal = tokenize("It speaks HTTP/1.1 over TCP. Then more.")
    first_sentence_end = len(tokenize("".join(answer).split(". ")[0] + "."))
    cuts = (0, 5, 16, first_sentence_end, first_sentence_end + 1, 40)
    cases = [(answer[:cut], answer[cut:]) for cut in cuts]
    cases += [(haiku[:2], haiku[2:]), (decimal[:4], decimal[4:]), (answer, [])]
    return cases


def check_exercise_3(finish_sentence: Callable[[list[str], list[str]], list[str]]) -> str:
    """Exercise 3: the tokens that finish the sentence in progress (the "shorter" rule)."""
    for shown, remaining in _sentence_cases():
        got, error = _call(3, finish_sentence, list(shown), list(remaining))
        if error:
            return error
        want = list(rest_of_sentence(shown, remaining))
        if not isinstance(got, list | tuple) or list(got) != want:
            where = "".join(shown)[-30:]
            return failed(
                3, f"after ...{where!r} expected {''.join(want)!r}, got {got!r:.80}"
            )
    return passed(3)

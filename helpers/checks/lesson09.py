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
    ([DELTA, ACCEPTED, DELTA, STEERED_END], "waiting", "the steered response ended, but only the "
     "successor's response.created commits the input"),
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

# (way, one-way delay in seconds, tokens per second, handshake round trips, expected tokens)
# Chosen so that no expected count sits on a rounding edge: rate x time is never within 0.2 of
# a whole number, so the order of a learner's multiplications cannot flip an answer.
FLIGHT_CASES: list[tuple[str, float, float, int, int, str]] = [
    ("hang up", 0.05, 100, 1, 0, "the client stops showing at once"),
    ("steer", 0.03, 40, 1, 2, "the stop travels to the server while the tokens already on their "
     "way still arrive"),
    ("steer", 0.08, 55, 1, 8, "a far link"),
    ("steer", 0.001, 100, 1, 0, "loopback: nothing is in flight"),
    ("cancel", 0.03, 40, 0, 2, "a spare connection: the cancel costs what the steer costs"),
    ("cancel", 0.03, 40, 1, 4, "a new connection: one round trip for TCP's handshake first"),
    ("cancel", 0.03, 40, 2, 7, "TLS 1.3 adds a second round trip"),
    ("cancel", 0.07, 90, 1, 25, "a far link, a new connection"),
]


def check_exercise_2(tokens_after_stop: Callable[..., int]) -> str:
    """Exercise 2: how many tokens a user still sees after clicking Stop, for each way."""
    for way, one_way, rate, handshakes, want, why in FLIGHT_CASES:
        got, error = _call(2, tokens_after_stop, way, one_way, rate, handshakes)
        if error:
            return error
        if isinstance(got, bool) or not isinstance(got, int) or got != want:
            return failed(2, f"tokens_after_stop({way!r}, {one_way}, {rate}, {handshakes}): "
                             f"expected {want}, got {got!r:.40} ({why})")
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

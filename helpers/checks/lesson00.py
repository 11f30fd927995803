"""Checks for lesson 0's exercises (start here).

Each check returns the line the notebook prints (helpers.checks says why it never raises).
"""

from __future__ import annotations

from collections.abc import Callable

from helpers.backends import choose_backend_name
from helpers.checks import call, failed, passed

ARRIVALS = [(0.31, "Words"), (0.34, " arrive"), (0.36, " like"), (0.40, " rain"), (0.42, ",")]
MOMENTS = {
    0.0: "",
    0.3: "",
    0.31: "Words",
    0.35: "Words arrive",
    0.40: "Words arrive like rain",
    5.0: "Words arrive like rain,",
}


def check_exercise_1(visible_text_at: Callable[[list[tuple[float, str]], float], str]) -> str:
    """Exercise 1: the text a reader of the stream can see at a given moment."""
    for moment, want in MOMENTS.items():
        result, error = call(1, visible_text_at, list(ARRIVALS), moment)
        if error:
            return error
        if result != want:
            return failed(1, f"at {moment} s the reader sees {want!r}, you returned {result!r}")
    result, error = call(1, visible_text_at, [], 1.0)
    if error:
        return error
    if result != "":
        return failed(1, f"with no arrivals nothing is visible, you returned {result!r}")
    return passed(1)


ENVIRONMENTS = [
    {},
    {"OPENAI_API_KEY": "<a key>"},
    {"OPENAI_BASE_URL": "http://localhost:11434/v1"},
    {"OPENAI_BASE_URL": "http://localhost:11434/v1", "OPENAI_API_KEY": "<a key>"},
    {"KIT_BACKEND": "local", "OPENAI_API_KEY": "<a key>"},
    {"KIT_BACKEND": "openai"},
    {"OPENAI_API_KEY": ""},
]


def check_exercise_2(which_backend: Callable[[dict[str, str]], str]) -> str:
    """Exercise 2: the same choice as helpers.backends, for a set of environments."""
    for env in ENVIRONMENTS:
        result, error = call(2, which_backend, dict(env))
        if error:
            return error
        want = choose_backend_name(env)
        if result != want:
            return failed(2, f"for the environment {env} expected {want!r}, got {result!r}")
    return passed(2)

"""Checks for lesson 8's exercises (reconnect and resume).

Each check returns the line the notebook prints (helpers.checks says why it never raises).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from urllib.parse import parse_qs, urlsplit

from helpers.checks import call, failed, passed, with_args_tuple

_call = partial(call, show_call=with_args_tuple)  # a crash's message shows the arguments


# (sequence numbers as received, expected (lost, duplicated))
AUDIT_CASES = [
    ([0, 1, 2, 3, 4], (0, 0)),
    ([0, 1, 2, 2, 3, 4], (0, 1)),  # a replay that started one event too early
    ([0, 1, 3, 4], (1, 0)),  # a replay that started one event too late
    ([0, 1, 4, 2, 2, 2], (1, 2)),  # out of order, 3 never came, 2 three times
    ([5, 6, 7], (0, 0)),  # a stream resumed from the middle starts there
    ([], (0, 0)),
]


def check_exercise_1(count_lost_and_duplicated: Callable[[list[int]], tuple[int, int]]) -> str:
    """Exercise 1: audit a stream's sequence numbers: (lost, duplicated)."""
    for numbers, want in AUDIT_CASES:
        got, error = _call(1, count_lost_and_duplicated, list(numbers))
        if error:
            return error
        if not isinstance(got, (tuple, list)) or tuple(got) != want:
            return failed(1, f"for {numbers} expected (lost, duplicated) = {want}, got {got!r}")
    return passed(1)


BASE = "http://127.0.0.1:8000/v1"


def check_exercise_2(resume_url: Callable[[str, str, int], str]) -> str:
    """Exercise 2: the Responses API's resume URL for a response and the last event seen."""
    for base, response_id, last in [
        (BASE, "resp_abc", 17),
        ("https://api.openai.com/v1", "resp_9", 0),
    ]:
        got, error = _call(2, resume_url, base, response_id, last)
        if error:
            return error
        if not isinstance(got, str):
            return failed(2, f"expected a str URL, got {type(got).__name__}")
        parts = urlsplit(got)
        want_path = urlsplit(base).path + f"/responses/{response_id}"
        if (parts.scheme, parts.netloc) != urlsplit(base)[:2]:
            return failed(2, f"{got!r} does not go to the same server as {base!r}")
        if parts.path != want_path:
            return failed(2, f"expected the path {want_path!r}, got {parts.path!r}")
        query = parse_qs(parts.query)
        if query.get("stream") != ["true"]:
            return failed(2, f"{got!r} must ask for a stream: stream=true")
        if query.get("starting_after") != [str(last)]:
            return failed(
                2,
                f"after event {last}, starting_after must be {last} (the last one you HAVE), "
                f"got {query.get('starting_after')}",
            )
    return passed(2)


IDS = ["0", "1", "2", "3", "4"]


def check_exercise_3(ids_to_replay: Callable[[list[str], str | None], list[str]]) -> str:
    """Exercise 3: the server side: which buffered ids a reconnecting client must get."""
    cases = [("2", ["3", "4"]), ("0", ["1", "2", "3", "4"]), ("4", []), (None, IDS), ("", IDS)]
    for last, want in cases:
        got, error = _call(3, ids_to_replay, list(IDS), last)
        if error:
            return error
        if not isinstance(got, (list, tuple)) or list(got) != want:
            return failed(3, f"after Last-Event-ID {last!r} expected {want}, got {got!r}")
    try:
        got = ids_to_replay(list(IDS), "7")
    except NotImplementedError:
        return failed(3, "ids_to_replay still raises NotImplementedError")
    except LookupError as error:
        if "7" not in str(error):
            return failed(3, f"the error for an unknown id should name it ('7'): {error}")
        return passed(3)
    except Exception as error:
        return failed(3, f"an unknown id should raise LookupError, not {type(error).__name__}")
    return failed(
        3, f"an unknown id ('7') must raise LookupError naming it, not return {got!r}: "
        "replaying everything would duplicate, replaying nothing would lose"
    )

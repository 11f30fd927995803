"""The Messages dialect without a server: the stop-sequence scanner and the error shape."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from helpers.server.dialects.anthropic import StopScanner, error_body
from helpers.server.model.source import RequestError


def scan(pieces: list[str], stops: tuple[str, ...]) -> tuple[str, str | None]:
    scanner, shown = StopScanner(stops), []
    for piece in pieces:
        text, stop = scanner.feed(piece)
        shown.append(text)
        if stop is not None:
            return "".join(shown), stop
    return "".join(shown) + scanner.flush(), None


def expected(text: str, stops: tuple[str, ...]) -> tuple[str, str | None]:
    hits = [(text.find(stop), stop) for stop in stops if stop in text]
    if not hits:
        return text, None
    index, stop = min(hits)
    return text[:index], stop


@given(
    pieces=st.lists(st.text(alphabet="ab\n", max_size=4), max_size=12),
    stops=st.lists(st.text(alphabet="ab\n", min_size=1, max_size=3), max_size=3),
)
def test_any_split_stops_where_the_whole_text_would(pieces: list[str], stops: list[str]) -> None:
    assert scan(pieces, tuple(stops)) == expected("".join(pieces), tuple(stops))


def test_a_possible_start_of_a_stop_sequence_is_held_back() -> None:
    scanner = StopScanner(("\n\nHuman:",))
    assert scanner.feed("Hi.\n") == ("Hi.", None)  # "\n" could begin the stop sequence
    assert scanner.feed("\nHu") == ("", None)
    assert scanner.feed("g") == ("\n\nHug", None)  # it did not: released at once


def test_error_types_follow_the_status() -> None:
    kinds = {
        status: error_body(RequestError("x", status=status))["error"]["type"]
        for status in (400, 401, 404, 413, 429, 500, 529)
    }
    assert kinds == {
        400: "invalid_request_error",
        401: "authentication_error",
        404: "not_found_error",
        413: "request_too_large",
        429: "rate_limit_error",
        500: "api_error",
        529: "overloaded_error",
    }

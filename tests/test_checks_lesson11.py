"""Lesson 11's checks pass the reference solutions and fail the stubs and plausible mistakes."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from check_helpers import assert_fails, assert_passes, solution_fixture, stub

from helpers.checks import lesson11
from helpers.proxy import location_block
from helpers.server import LocalServer

solution = solution_fixture("lesson11")


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    with LocalServer() as server:
        yield server.base_url


@pytest.mark.parametrize("number", [1, 2, 3])
def test_stubs_fail(number: int, upstream: str) -> None:
    message = getattr(lesson11, f"check_exercise_{number}")(stub, upstream)
    assert_fails(message, number, "NotImplementedError")


def test_exercise_1_passes_reference(solution, upstream: str) -> None:
    assert_passes(lesson11.check_exercise_1(solution.streaming_location, upstream), 1)


def test_exercise_1_fails_the_buffering_block(upstream: str) -> None:
    """The team's lines alone: nginx holds the whole answer back (found by running it)."""
    block = location_block(gzip=True, honour_accel_buffering=False)
    assert_fails(lesson11.check_exercise_1(lambda: block, upstream), 1, "nginx still buffers")


def test_exercise_1_fails_when_the_teams_lines_are_dropped(upstream: str) -> None:
    block = location_block()  # streams, but by deleting what the team asked for
    message = lesson11.check_exercise_1(lambda: block, upstream)
    assert_fails(message, 1, "'gzip on;' must stay")


def test_exercise_1_reports_nginxs_own_error(solution, upstream: str) -> None:
    block = solution.streaming_location().replace(
        "proxy_buffering off;", "proxy_buffering perhaps;"
    )
    message = lesson11.check_exercise_1(lambda: block, upstream)
    assert_fails(message, 1, "nginx refused it", 'invalid value "perhaps"')


def test_exercise_2_passes_reference(solution, upstream: str) -> None:
    assert_passes(lesson11.check_exercise_2(solution.heartbeat_interval, upstream), 2)


@pytest.mark.parametrize(
    ("interval", "fragment"),
    [
        (lambda timeout: timeout - 1, "use less than half"),  # just under: one late beat kills it
        (lambda timeout: timeout / 2, "use less than half"),  # a lost beat: a gap of the timeout
        (lambda timeout: timeout, "use less than half"),
        (lambda timeout: 0.01, "bytes and wake-ups for nothing"),
        (lambda timeout: "15", "should return seconds"),
    ],
    ids=["just-under", "half", "equal", "too-often", "a-string"],
)
def test_exercise_2_fails_mistakes(interval, fragment: str, upstream: str) -> None:
    assert_fails(lesson11.check_exercise_2(interval, upstream), 2, fragment)


def test_exercise_3_passes_reference(solution, upstream: str) -> None:
    assert_passes(lesson11.check_exercise_3(solution.text_from_reads, upstream), 3)


def decode_each_read(reads: list[bytes]) -> str:
    """The classic mistake: each read decoded on its own (a cut character raises)."""
    text = ""
    for block in b"".join(r.decode().encode() for r in reads).split(b"\n\n"):
        if block.startswith(b"event: response.output_text.delta"):
            text += json.loads(block.split(b"data: ", 1)[1])["delta"]
    return text


def each_read_is_an_event(reads: list[bytes]) -> str:
    """The other mistake: trusting that one read is one event (true only when nothing buffers)."""
    text = ""
    for read in reads:
        for line in read.decode("utf-8", "replace").split("\n"):
            if line.startswith("data: ") and '"response.output_text.delta"' in line:
                text += json.loads(line[6:])["delta"]
    return text


@pytest.mark.parametrize(
    ("learner", "fragments"),
    [
        (decode_each_read, ("UnicodeDecodeError", "with reads of 1 byte")),
        (each_read_is_an_event, ("with reads of 1 byte: got ''",)),
    ],
    ids=["decode-each-read", "one-read-one-event"],
)
def test_exercise_3_fails_mistakes(learner, fragments: tuple[str, ...], upstream: str) -> None:
    assert_fails(lesson11.check_exercise_3(learner, upstream), 3, *fragments)

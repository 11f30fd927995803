"""Lesson 2's checks pass the reference solutions and fail the stubs and plausible mistakes."""

from __future__ import annotations

import gzip
import re
import zlib

import pytest
from check_helpers import assert_fails, assert_passes, assert_stub_fails, solution_fixture

from helpers.checks import lesson02

solution = solution_fixture("lesson02")


@pytest.mark.parametrize("number", [1, 2, 3])
def test_stubs_fail(number: int) -> None:
    assert_stub_fails(lesson02, number)


# --------------------------------------------------------------------------- exercise 1


def test_exercise_1_passes_reference(solution):
    assert_passes(lesson02.check_exercise_1(solution.format_sse), 1)


def test_exercise_1_fails_one_data_line_for_multiline_data():
    def one_line(data, event=None, id=None):
        head = (f"event: {event}\n" if event else "") + (f"id: {id}\n" if id else "")
        return f"{head}data: {data}\n\n".encode()

    message = lesson02.check_exercise_1(one_line)
    assert_fails(message, 1)
    assert "line two" in message


def test_exercise_1_fails_without_space_after_colon(solution):
    def no_space(data, event=None, id=None):
        return solution.format_sse(data, event, id).replace(b"data: ", b"data:")

    message = lesson02.check_exercise_1(no_space)
    assert_fails(message, 1)
    assert "starts with a space" in message


def test_exercise_1_fails_when_event_line_break_is_accepted(solution):
    def unchecked(data, event=None, id=None):
        lines = [f"event: {event}"] if event is not None else []
        lines += [f"id: {id}"] if id is not None else []
        lines += [f"data: {line}" for line in data.split("\n")]
        return ("\n".join(lines) + "\n\n").encode()

    message = lesson02.check_exercise_1(unchecked)
    assert_fails(message, 1)
    assert "line break" in message


# --------------------------------------------------------------------------- exercise 2


def test_exercise_2_passes_reference(solution):
    assert_passes(lesson02.check_exercise_2(solution.parse_sse), 2)


def parse_with(split_lines, strip_value, dispatch_empty=False):
    """A family of plausible hand parsers, each with one shortcut."""

    def parse_sse(text):
        events, data, event_type = [], [], ""
        for line in split_lines(text):
            if not line:
                if data or (dispatch_empty and event_type):
                    events.append((event_type or "message", "\n".join(data)))
                data, event_type = [], ""
                continue
            if line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            value = strip_value(value)
            if name == "data":
                data.append(value)
            elif name == "event":
                event_type = value
        return events

    return parse_sse


def reference_split(text):
    """Complete lines only: the part after the last line ending is not a line yet."""
    return re.split(r"\r\n|\r|\n", text)[:-1]


def test_exercise_2_family_with_no_shortcut_passes():
    # guards the family itself: without a shortcut it must pass, so the failures below mean
    # the check caught that one shortcut
    parser = parse_with(reference_split, lambda value: value.removeprefix(" "))
    assert_passes(lesson02.check_exercise_2(parser), 2)


def test_exercise_2_fails_str_splitlines():
    parser = parse_with(str.splitlines, lambda value: value.removeprefix(" "))
    message = lesson02.check_exercise_2(parser)
    assert_fails(message, 2)


def test_exercise_2_fails_strip_all_spaces():
    parser = parse_with(reference_split, str.strip)
    message = lesson02.check_exercise_2(parser)
    assert_fails(message, 2)
    assert "two spaces" in message


def test_exercise_2_fails_dispatching_an_empty_block():
    parser = parse_with(reference_split, lambda value: value.removeprefix(" "), True)
    message = lesson02.check_exercise_2(parser)
    assert_fails(message, 2)
    assert "empty-block" in message


def test_exercise_2_fails_splitting_on_lf_only():
    parser = parse_with(lambda text: text.split("\n")[:-1], lambda value: value.removeprefix(" "))
    message = lesson02.check_exercise_2(parser)
    assert_fails(message, 2)
    assert "crlf" in message


# --------------------------------------------------------------------------- exercise 3


def test_exercise_3_passes_reference(solution):
    assert_passes(lesson02.check_exercise_3(solution.gzip_for_streaming), 3)


def test_exercise_3_accepts_the_trailer_as_a_separate_piece():
    def separate_trailer(events):
        compressor = zlib.compressobj(wbits=31)
        pieces = [compressor.compress(e) + compressor.flush(zlib.Z_SYNC_FLUSH) for e in events]
        return [*pieces, compressor.flush()]

    assert_passes(lesson02.check_exercise_3(separate_trailer), 3)


def test_exercise_3_fails_without_flush():
    def unflushed(events):
        compressor = zlib.compressobj(wbits=31)
        pieces = [compressor.compress(event) for event in events]
        pieces[-1] += compressor.flush()
        return pieces

    message = lesson02.check_exercise_3(unflushed)
    assert_fails(message, 3)
    assert "flushed" in message


def test_exercise_3_fails_one_gzip_member_per_event():
    def one_member_each(events):
        return [gzip.compress(event) for event in events]

    message = lesson02.check_exercise_3(one_member_each)
    assert_fails(message, 3)
    assert "after piece 2" in message

"""Lesson 1's checks pass the reference solutions and fail the stubs and plausible mistakes."""

from __future__ import annotations

import json

import pytest
from check_helpers import assert_fails, assert_passes, assert_stub_fails, solution_fixture

from helpers.checks import lesson01

solution = solution_fixture("lesson01")


@pytest.mark.parametrize("number", [1, 2, 3])
def test_stubs_fail(number: int) -> None:
    assert_stub_fails(lesson01, number)


def test_exercise_1_passes_reference(solution):
    assert_passes(lesson01.check_exercise_1(solution.parse_size_line), 1)


def test_exercise_1_fails_the_trusting_int():
    def trusting(line):  # the hand client of section 3
        return int(line.split(b";")[0], 16)

    assert_fails(lesson01.check_exercise_1(trusting), 1, "0x1f", "int(x, 16) accepts it")


def test_exercise_1_fails_a_str_regex_whose_digits_are_unicode_digits():
    import re

    def unicode_digits(line):  # on str, \d also matches "١" (ARABIC-INDIC DIGIT ONE)
        if line == b"":
            raise ConnectionError
        match = re.fullmatch(r"([\da-fA-F]+)[ \t]*(;.*)?\r\n", line.decode())
        if not match:
            raise ValueError(line)
        return int(match.group(1), 16)

    assert_fails(lesson01.check_exercise_1(unicode_digits), 1, "a non-ASCII digit")


def test_exercise_1_fails_when_a_closed_connection_is_a_value_error(solution):
    def value_error_on_close(line):
        if line == b"":
            raise ValueError("empty")
        return solution.parse_size_line(line)

    assert_fails(lesson01.check_exercise_1(value_error_on_close), 1, "ConnectionError")


def test_exercise_1_fails_when_extensions_are_refused(solution):
    def no_extensions(line):
        if b";" in line:
            raise ValueError(line)
        return solution.parse_size_line(line)

    assert_fails(lesson01.check_exercise_1(no_extensions), 1, "5;name=value")


def test_exercise_2_passes_reference(solution):
    assert_passes(lesson01.check_exercise_2(solution.frame_json_lines), 2)


def test_exercise_2_fails_one_message_per_read():
    def per_read(reads):
        return [json.loads(data) for data in reads]

    assert_fails(lesson01.check_exercise_2(per_read), 2)


def test_exercise_2_fails_decoding_each_read_as_text():
    def decode_each(reads):
        text = "".join(data.decode("utf-8", errors="replace") for data in reads)
        return [json.loads(line) for line in text.splitlines() if line]

    message = lesson01.check_exercise_2(decode_each)
    assert_fails(message, 2)
    assert "caf" in message  # the split 'é' became U+FFFD


def test_exercise_2_fails_when_leftover_is_dropped_silently():
    def drops_leftover(reads):
        lines = b"".join(reads).split(b"\n")
        return [json.loads(line) for line in lines[:-1] if line]

    message = lesson01.check_exercise_2(drops_leftover)
    assert_fails(message, 2)
    assert "unfinished last line" in message


def test_exercise_3_passes_reference(solution):
    assert_passes(lesson01.check_exercise_3(solution.decode_chunked_body), 3)


def test_exercise_3_fails_splitting_on_crlf():
    def split_on_crlf(body: bytes) -> bytes:
        parts = body.split(b"\r\n")
        return b"".join(parts[1::2])

    assert_fails(lesson01.check_exercise_3(split_on_crlf), 3)


def test_exercise_3_fails_decimal_sizes():
    def decimal_sizes(body: bytes) -> bytes:
        out, position = b"", 0
        while True:
            line_end = body.index(b"\r\n", position)
            size = int(body[position:line_end].split(b";")[0])
            if size == 0:
                return out
            out += body[line_end + 2 : line_end + 2 + size]
            position = line_end + 4 + size

    assert_fails(lesson01.check_exercise_3(decimal_sizes), 3)


def test_reference_decoder_names_the_bad_bytes(solution):
    with pytest.raises(ValueError, match="cut short"):
        solution.decode_chunked_body(b"5\r\nHel")

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
    assert_passes(lesson01.check_exercise_1(solution.encode_chunk_by_hand), 1)


def test_exercise_1_accepts_uppercase_hex():
    def upper(payload: bytes) -> bytes:
        if not payload:
            raise ValueError("empty")
        return f"{len(payload):X}\r\n".encode() + payload + b"\r\n"

    assert_passes(lesson01.check_exercise_1(upper), 1)


def test_exercise_1_fails_decimal_size():
    def decimal(payload: bytes) -> bytes:
        if not payload:
            raise ValueError("empty")
        return f"{len(payload)}\r\n".encode() + payload + b"\r\n"

    message = lesson01.check_exercise_1(decimal)
    assert_fails(message, 1)
    assert "26" in message  # the first payload whose decimal and hex sizes differ


def test_exercise_1_fails_when_empty_payload_is_accepted():
    def accepts_empty(payload: bytes) -> bytes:
        return f"{len(payload):x}\r\n".encode() + payload + b"\r\n"

    message = lesson01.check_exercise_1(accepts_empty)
    assert_fails(message, 1)
    assert "empty payload" in message


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

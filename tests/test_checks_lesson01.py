"""Lesson 1's checks pass the reference solutions and fail the stubs and plausible mistakes."""

from __future__ import annotations

import io
import json

import pytest
from check_helpers import assert_fails, assert_passes, assert_stub_fails, solution_fixture

from helpers.checks import lesson01
from helpers.chunked import ChunkedDecoder, ChunkedError

solution = solution_fixture("lesson01")


@pytest.mark.parametrize("number", [1, 2, 3])
def test_stubs_fail(number: int) -> None:
    assert_stub_fails(lesson01, number)


def test_exercise_1_passes_reference(solution):
    assert_passes(lesson01.check_exercise_1(solution.parse_size_line), 1)


def test_exercise_1_passes_a_parser_without_a_regex():
    hex_digits = set(b"0123456789abcdefABCDEF")

    def by_hand(line):  # another right answer: check each byte against the hex digits
        if not line.endswith(b"\n"):
            raise ConnectionError("closed")
        if not line.endswith(b"\r\n"):
            raise ValueError(line)
        size = line[:-2].split(b";", 1)[0].rstrip(b" \t")
        if not size or not set(size) <= hex_digits:
            raise ValueError(line)
        return int(size, 16)

    assert_passes(lesson01.check_exercise_1(by_hand), 1)


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


def test_exercise_1_fails_when_only_an_empty_line_is_a_close(solution):
    def empty_only(line):  # b"1f" (closed mid-line) taken for a malformed size
        if line == b"":
            raise ConnectionError("closed")
        if not line.endswith(b"\r\n"):
            raise ValueError(line)
        return solution.parse_size_line(line)

    assert_fails(lesson01.check_exercise_1(empty_only), 1, "b'1f'", "ConnectionError")


def test_exercise_1_fails_a_bare_lf_accepted(solution):
    def any_line_ending(line):  # rstrip(b"\r\n") takes b"1f\n" as well
        if not line.endswith(b"\n"):
            raise ConnectionError("closed")
        return solution.parse_size_line(line.rstrip(b"\r\n") + b"\r\n")

    assert_fails(lesson01.check_exercise_1(any_line_ending), 1, "a bare LF")


def test_exercise_1_fails_when_extensions_are_refused(solution):
    def no_extensions(line):
        if b";" in line:
            raise ValueError(line)
        return solution.parse_size_line(line)

    assert_fails(lesson01.check_exercise_1(no_extensions), 1, "5;name=value")


def test_exercise_2_passes_reference(solution):
    assert_passes(lesson01.check_exercise_2(solution.frame_json_lines), 2)


def test_exercise_2_passes_a_bytearray_framer_that_finds_each_newline():
    def framer(reads):  # another right answer: one buffer, cut at each b"\n" found
        buffer = bytearray()
        for data in reads:
            buffer += data
            while (newline := buffer.find(b"\n")) >= 0:
                line, buffer = bytes(buffer[:newline]), buffer[newline + 1 :]
                yield json.loads(line)
        if buffer:
            raise ValueError(f"leftover {bytes(buffer)!r}")

    assert_passes(lesson01.check_exercise_2(framer), 2)


def test_exercise_2_fails_joining_all_reads_first():
    def join_first(reads):  # right messages, but only after the last read
        *lines, rest = b"".join(reads).split(b"\n")
        if rest:
            raise ValueError(f"leftover {rest!r}")
        return [json.loads(line) for line in lines]

    assert_fails(lesson01.check_exercise_2(join_first), 2, "came out only after read")


def test_exercise_2_fails_one_message_per_read():
    def per_read(reads):
        for data in reads:
            yield json.loads(data)

    assert_fails(lesson01.check_exercise_2(per_read), 2)


def test_exercise_2_fails_decoding_each_read_as_text():
    def decode_each(reads):
        text = ""
        for data in reads:
            text += data.decode("utf-8", errors="replace")
            *lines, text = text.split("\n")
            yield from (json.loads(line) for line in lines)

    message = lesson01.check_exercise_2(decode_each)
    assert_fails(message, 2)
    assert "caf" in message  # the split 'é' became U+FFFD


def test_exercise_2_fails_when_leftover_is_dropped_silently():
    def drops_leftover(reads):
        buffer = b""
        for data in reads:
            buffer += data
            *lines, buffer = buffer.split(b"\n")
            yield from (json.loads(line) for line in lines)

    assert_fails(lesson01.check_exercise_2(drops_leftover), 2, "raise ValueError")


# --------------------------------------------------------------------------- exercise 3


def test_exercise_3_passes_reference(solution):
    assert_passes(lesson01.check_exercise_3(solution.read_chunked), 3)


def test_exercise_3_passes_reading_payload_and_crlf_at_once(solution):
    def by_frame(wire):  # another right answer: read(size + 2), then look at the last two
        while (size := solution.parse_size_line(wire.readline())) != 0:
            frame = wire.read(size + 2)
            if len(frame) < size + 2:
                raise ConnectionError(f"closed after {frame!r}")
            if frame[-2:] != b"\r\n":
                raise ValueError(f"no CRLF after the payload: {frame!r}")
            yield frame[:-2]
        while (line := wire.readline()) != b"\r\n":
            if not line.endswith(b"\n"):
                raise ConnectionError(f"closed among the trailers: {line!r}")

    assert_passes(lesson01.check_exercise_3(by_frame), 3)


def test_exercise_3_fails_the_library_decoder_fed_by_read1():
    def with_decoder(wire):  # right, but it is section 7's library, not the hand client
        decoder = ChunkedDecoder()
        while not decoder.done:
            data = wire.read1(65536)
            if not data:
                try:
                    decoder.close()
                except ChunkedError as error:
                    raise ConnectionError(str(error)) from error
            yield from decoder.feed(data)

    assert_fails(lesson01.check_exercise_3(with_decoder), 3, "ChunkedDecoder")


def test_exercise_1_fails_the_library_parser():
    from helpers.chunked import parse_chunk_size

    def library(line):  # right, but it is helpers.chunked's own parser
        if not line.endswith(b"\n"):
            raise ConnectionError("closed")
        if not line.endswith(b"\r\n"):
            raise ValueError(line)
        return parse_chunk_size(line[:-2])

    assert_fails(lesson01.check_exercise_1(library), 1, "parse_chunk_size")


def test_exercise_3_fails_the_trusting_hand_loop():
    def hand_loop(wire):  # section 3's loop, as a generator
        while True:
            size = int(wire.readline().split(b";")[0], 16)
            payload = wire.read(size)
            wire.read(2)
            if size == 0:
                return
            yield payload

    assert_fails(lesson01.check_exercise_3(hand_loop), 3)


def test_exercise_3_fails_reading_the_whole_body_first(solution):
    def read_all_first(wire):  # wire.read() waits for the server to close
        yield from solution.read_chunked(io.BytesIO(wire.read()))

    assert_fails(lesson01.check_exercise_3(read_all_first), 3, "the end of the connection")


def test_exercise_3_fails_a_strict_loop_that_ignores_trailers(solution):
    def no_trailers(wire):
        while (size := solution.parse_size_line(wire.readline())) != 0:
            payload = wire.read(size)
            if len(payload) < size:
                raise ConnectionError("closed")
            if wire.read(2) != b"\r\n":
                raise ValueError("no CRLF")
            yield payload
        if wire.read(2) != b"\r\n":  # the hand client's read(2): no room for trailers
            raise ValueError("no final CRLF")

    assert_fails(lesson01.check_exercise_3(no_trailers), 3)


def test_exercise_3_fails_when_a_close_is_a_value_error(solution):
    def value_errors(wire):
        try:
            yield from solution.read_chunked(wire)
        except ConnectionError as error:
            raise ValueError(str(error)) from None

    assert_fails(lesson01.check_exercise_3(value_errors), 3, "raise ConnectionError")


def test_exercise_3_fails_a_missing_final_crlf_accepted(solution):
    def lenient_end(wire):
        while (size := solution.parse_size_line(wire.readline())) != 0:
            payload, crlf = wire.read(size), wire.read(2)
            if len(payload) < size or len(crlf) < 2:
                raise ConnectionError("closed")
            if crlf != b"\r\n":
                raise ValueError("no CRLF")
            yield payload
        while wire.readline() not in (b"\r\n", b""):  # b"": closed, taken as the end
            pass

    assert_fails(lesson01.check_exercise_3(lenient_end), 3, "final blank line")


def test_exercise_3_fails_a_cut_size_line_taken_for_a_bad_one(solution):
    def cut_size_line_is_value_error(wire):
        def size_of(line):
            if line and not line.endswith(b"\n"):
                raise ValueError(f"no CRLF: {line!r}")
            return solution.parse_size_line(line)

        while (size := size_of(wire.readline())) != 0:
            payload, crlf = wire.read(size), wire.read(2)
            if len(payload) < size or len(crlf) < 2:
                raise ConnectionError("closed")
            if crlf != b"\r\n":
                raise ValueError("no CRLF")
            yield payload
        while (line := wire.readline()) != b"\r\n":
            if not line.endswith(b"\n"):
                raise ConnectionError("closed")

    assert_fails(lesson01.check_exercise_3(cut_size_line_is_value_error), 3,
                 "middle of a size line", "raise ConnectionError")


def test_exercise_3_fails_a_list_built_before_returning(solution):
    def as_list(wire):
        return list(solution.read_chunked(wire))

    assert_fails(lesson01.check_exercise_3(as_list), 3, "before yielding it")


def test_wire_waits_like_a_socket_file():
    wire = lesson01.Wire([b"ab\n", b"cd", b"ef\n"])
    assert wire.readline() == b"ab\n" and wire.waited_for == 0
    assert wire.read1(10) == b"cd" and wire.waited_for == 1
    assert wire.read(10) == b"ef\n" and wire.waited_for == 3  # past the end: waited for the close
    assert wire.read(1) == b"" and wire.readline() == b""

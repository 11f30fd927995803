"""Lesson 2's checks pass the reference solutions and fail the stubs and plausible mistakes."""

from __future__ import annotations

import codecs
import re

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
        lines += [f"data: {line}" for line in re.split(r"\r\n|\r|\n", data)]
        return ("\n".join(lines) + "\n\n").encode()

    assert_fails(lesson02.check_exercise_1(unchecked), 1, "line break")


def test_exercise_1_fails_splitting_data_on_lf_only():
    def lf_only(data, event=None, id=None):  # "a\rb" goes out as one line; the reader sees two
        if any(value and re.search("[\r\n]", value) for value in (event, id)):
            raise ValueError("line break")
        lines = [f"event: {event}"] if event is not None else []
        lines += [f"id: {id}"] if id is not None else []
        lines += [f"data: {line}" for line in data.split("\n")]
        return ("\n".join(lines) + "\n\n").encode()

    assert_fails(lesson02.check_exercise_1(lf_only), 1, "'a\\rb'")


def test_exercise_1_fails_str_splitlines():
    def splitlines(data, event=None, id=None):  # also cuts at U+2028, U+0085, \x0b, \x0c
        if any(value and re.search("[\r\n]", value) for value in (event, id)):
            raise ValueError("line break")
        lines = [f"event: {event}"] if event is not None else []
        lines += [f"id: {id}"] if id is not None else []
        lines += [f"data: {line}" for line in data.splitlines() or [""]]
        return ("\n".join(lines) + "\n\n").encode()

    assert_fails(lesson02.check_exercise_1(splitlines), 1, "keeps")


def test_exercise_1_fails_checking_the_event_for_lf_only(solution):
    def lf_check(data, event=None, id=None):
        if event is not None and "\n" in event:
            raise ValueError(event)
        return solution.format_sse(data, None, id).replace(
            b"data:", f"event: {event}\ndata:".encode(), 1) if event is not None else \
            solution.format_sse(data, None, id)

    assert_fails(lesson02.check_exercise_1(lf_check), 1, "'two\\rlines'")


def test_exercise_1_fails_an_unchecked_id(solution):
    def unchecked_id(data, event=None, id=None):
        encoded = solution.format_sse(data, event)
        return f"id: {id}\n".encode() + encoded if id is not None else encoded

    assert_fails(lesson02.check_exercise_1(unchecked_id), 1, "id=")


def test_exercise_1_fails_calling_the_helper_of_section_1():
    from helpers.sse import format_event

    def helper(data, event=None, id=None):  # right, but it is the helper the lesson shows
        return format_event(data, event=event, id=id)

    assert_fails(lesson02.check_exercise_1(helper), 1, "format_event")


def test_exercise_1_passes_normalising_line_endings_first():
    def normalise(data, event=None, id=None):  # another right answer
        for value in (event, id):
            if value is not None and ("\r" in value or "\n" in value):
                raise ValueError(value)
        head = "".join(f"{name}: {value}\n" for name, value in (("event", event), ("id", id))
                       if value is not None)
        body = data.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\ndata: ")
        return f"{head}data: {body}\n\n".encode()

    assert_passes(lesson02.check_exercise_1(normalise), 1)


# --------------------------------------------------------------------------- exercise 2


def test_exercise_2_passes_reference(solution):
    assert_passes(lesson02.check_exercise_2(solution.parse_sse), 2)


def parse_with(split_lines, strip_value, dispatch_empty=False, id_rule="spec"):
    """A family of plausible hand parsers, each with one shortcut. id_rule: "spec" (a buffer
    committed at every blank line), "at_once" (section 3's parse_lines: the ID changes when
    the id: line is read), "with_data" (committed only when an event is dispatched),
    "keeps_nul" (the NUL rule forgotten)."""

    def parse_sse(text):
        events, data, event_type, id_buffer, last_id = [], [], "", "", ""
        for line in split_lines(text):
            if not line:
                if id_rule != "with_data":
                    last_id = id_buffer
                if data or (dispatch_empty and event_type):
                    events.append((event_type or "message", "\n".join(data)))
                    last_id = id_buffer
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
            elif name == "id" and ("\0" not in value or id_rule == "keeps_nul"):
                id_buffer = value
                if id_rule == "at_once":
                    last_id = value
        return events, last_id

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


def test_exercise_2_fails_the_id_of_parse_lines():
    parser = parse_with(reference_split, lambda value: value.removeprefix(" "), id_rule="at_once")
    assert_fails(lesson02.check_exercise_2(parser), 2, "cut here", "Last-Event-ID '1'")


def test_exercise_2_fails_an_id_committed_only_with_an_event():
    parser = parse_with(reference_split, lambda value: value.removeprefix(" "),
                        id_rule="with_data")
    assert_fails(lesson02.check_exercise_2(parser), 2, "id: 4", "Last-Event-ID '4'")


def test_exercise_2_fails_an_id_with_nul_accepted():
    parser = parse_with(reference_split, lambda value: value.removeprefix(" "),
                        id_rule="keeps_nul")
    assert_fails(lesson02.check_exercise_2(parser), 2, "Last-Event-ID '6'")


def test_exercise_2_fails_the_decoder_of_section_4_fed_the_text():
    from helpers.sse import SSEDecoder

    def with_decoder(text):  # right, but the decoder is the answer the exercise asks for
        decoder = SSEDecoder()
        events = decoder.feed(text.encode())
        return [(event.event, event.data) for event in events], decoder.last_event_id

    assert_fails(lesson02.check_exercise_2(with_decoder), 2, "SSEDecoder")


def test_exercise_2_passes_a_state_machine_over_characters():
    def by_characters(text):  # another right answer: no regex, one character at a time
        events, data, event_type, id_buffer, last_id = [], [], "", "", ""
        line, after_cr = "", False
        for char in text:
            if after_cr and char == "\n":
                after_cr = False
                continue
            after_cr = char == "\r"
            if char not in "\r\n":
                line += char
                continue
            if not line:
                last_id = id_buffer
                if data:
                    events.append((event_type or "message", "\n".join(data)))
                data, event_type = [], ""
            elif not line.startswith(":"):
                name, _colon, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if name == "data":
                    data.append(value)
                elif name == "event":
                    event_type = value
                elif name == "id" and "\0" not in value:
                    id_buffer = value
            line = ""
        return events, last_id

    assert_passes(lesson02.check_exercise_2(by_characters), 2)


def test_exercise_2_fails_skipping_a_line_without_a_colon(solution):
    def needs_colon(text):  # a bare `data` line is a field with an empty value, not noise
        kept = "".join(line for line in re.split(r"(?<=\r\n)|(?<=\r)(?!\n)|(?<=\n)", text)
                       if ":" in line or not line.strip("\r\n"))
        return solution.parse_sse(kept)

    message = lesson02.check_exercise_2(needs_colon)
    assert_fails(message, 2)
    assert "data\\n\\n" in message


# --------------------------------------------------------------------------- exercise 3


def test_exercise_3_passes_reference(solution):
    assert_passes(lesson02.check_exercise_3(solution.sse_lines), 3)


def test_exercise_3_passes_a_character_loop():
    def char_loop(reads):  # another right answer: one character at a time
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        line, skip_lf, first = "", False, True
        for data in reads:
            for char in decoder.decode(data):
                if first:
                    first = False
                    if char == "\ufeff":
                        continue
                if skip_lf and char == "\n":
                    skip_lf = False
                    continue
                skip_lf = char == "\r"
                if char in "\r\n":
                    yield line
                    line = ""
                else:
                    line += char

    assert_passes(lesson02.check_exercise_3(char_loop), 3)


def test_exercise_3_fails_joining_every_read_first():
    def join_first(reads):
        text = b"".join(reads).decode("utf-8", "replace").removeprefix("\ufeff")
        return re.split(r"\r\n|\r|\n", text)[:-1]

    assert_fails(lesson02.check_exercise_3(join_first), 3, "came out only after read")


def test_exercise_3_fails_httpx_style_splitlines():
    def splitlines(reads):
        buffer = ""
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        for data in reads:
            buffer += decoder.decode(data)
            *lines, buffer = buffer.splitlines(keepends=True) or [""]
            if buffer.endswith(("\r", "\n")):
                lines, buffer = [*lines, buffer], ""
            yield from (line.rstrip("\r\n") for line in lines)

    assert_fails(lesson02.check_exercise_3(splitlines), 3)


def test_exercise_3_fails_holding_a_cr_back_for_the_next_read():
    def hold_cr(reads):  # right lines, but a CR at the end of a read waits for the next read
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        buffer, first = "", True
        for data in reads:
            buffer += decoder.decode(data)
            if first and buffer:
                buffer, first = buffer.removeprefix("\ufeff"), False
            *lines, buffer = re.split(r"\r\n|\n|\r(?!$)", buffer)
            yield from lines

    assert_fails(lesson02.check_exercise_3(hold_cr), 3, "came out only after read 2")


def test_exercise_3_fails_decoding_each_read_on_its_own():
    def per_read(reads):
        buffer = ""
        for data in reads:
            buffer += data.decode("utf-8", "replace")
            *lines, buffer = re.split(r"\r\n|\r|\n", buffer)
            yield from lines

    assert_fails(lesson02.check_exercise_3(per_read), 3)


def test_exercise_3_fails_a_crlf_split_across_reads_seen_as_two_endings():
    def no_cr_memory(reads):
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        line, first = "", True
        for data in reads:
            text = decoder.decode(data)
            if first and text:
                text, first = text.removeprefix("\ufeff"), False
            *complete, rest = re.split(r"\r\n|\r|\n", text)
            for piece in complete:
                yield line + piece
                line = ""
            line += rest

    assert_fails(lesson02.check_exercise_3(no_cr_memory), 3, "a CRLF split across reads")


def _bom_wrong(*, every_read: bool):
    """sse_lines right in every way but the byte order mark: kept, or (every_read) dropped at
    the start of each read, not only at the stream's."""

    def sse_lines(reads):
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        line, after_cr = "", False
        for data in reads:
            text = decoder.decode(data)
            if every_read:
                text = text.removeprefix("\ufeff")
            if not text:
                continue
            if after_cr:
                text = text.removeprefix("\n")
            after_cr = text.endswith("\r")
            *complete, rest = re.split(r"\r\n|\r|\n", text)
            for piece in complete:
                yield line + piece
                line = ""
            line += rest

    return sse_lines


def test_exercise_3_fails_without_the_byte_order_mark_rule():
    assert_fails(lesson02.check_exercise_3(_bom_wrong(every_read=False)), 3, "byte order mark")


def test_exercise_3_fails_dropping_a_byte_order_mark_at_every_read():
    assert_fails(lesson02.check_exercise_3(_bom_wrong(every_read=True)), 3, "after the start")


def test_exercise_3_fails_dropping_a_byte_order_mark_at_every_line(solution):
    def bom_per_line(reads):  # a line-level rule: one U+FEFF off the front of every line
        for line in solution.sse_lines(reads):
            yield line.removeprefix("\ufeff")

    assert_fails(lesson02.check_exercise_3(bom_per_line), 3, "byte order mark")


@pytest.mark.parametrize(("name", "reads"), lesson02.LINE_CASES)
def test_exercise_3_expected_lines_give_the_decoders_events(solution, name, reads):
    # the check's own line splitter agrees with helpers.sse: its lines, parsed, are the events
    lines = [line for line, _needed in lesson02.lines_as_they_complete(reads)]
    events = lesson02.decode_all(b"".join(reads))
    text = "".join(line + "\n" for line in lines)
    assert solution.parse_sse(text)[0] == [(event.event, event.data) for event in events], name

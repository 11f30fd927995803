"""helpers.sse: the writer, the decoder's spec details, and properties checked with hypothesis.

The spec's own test cases (WPT) are in test_sse_spec_cases.py; the inputs on which popular
decoders disagree with the spec are in test_sse_tricky_cases.py.
"""

from __future__ import annotations

import codecs
import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.sse import ServerSentEvent, SSEDecoder, format_comment, format_event


def decode(*pieces: bytes) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    events = [event for piece in pieces for event in decoder.feed(piece)]
    return events + decoder.close()


def as_tuples(events: list[ServerSentEvent]) -> list[tuple[str, str, str]]:
    return [(e.event, e.data, e.id) for e in events]


# --------------------------------------------------------------------------- format_event


def test_format_event_puts_fields_in_a_fixed_order_and_ends_with_a_blank_line():
    assert format_event("hi", event="delta", id="7", retry=1500) == (
        b"event: delta\nid: 7\nretry: 1500\ndata: hi\n\n"
    )
    assert format_event("hi") == b"data: hi\n\n"


def test_format_event_splits_data_on_every_kind_of_line_break():
    assert format_event("a\nb\r\nc\rd") == b"data: a\ndata: b\ndata: c\ndata: d\n\n"
    assert format_event("last\n") == b"data: last\ndata:\n\n"


def test_format_event_with_empty_data_still_sends_one_data_line():
    # Without a data line the block would dispatch nothing.
    assert format_event("") == b"data:\n\n"
    assert decode(format_event("")) == [ServerSentEvent("message", "", "")]


def test_format_event_keeps_a_leading_space_of_the_data():
    # The reader strips ONE space after the colon, so we always write one.
    assert format_event(" indented") == b"data:  indented\n\n"
    assert decode(format_event(" indented"))[0].data == " indented"


def test_format_event_encodes_utf8_and_leaves_other_unicode_breaks_alone():
    # U+2028 and \x0b are not SSE line breaks: they stay inside the data line.
    assert format_event("café\u2028\x0b") == "data: café\u2028\x0b\n\n".encode()


@pytest.mark.parametrize(
    "kwargs",
    [{"event": "a\nb"}, {"event": "a\rb"}, {"id": "1\n2"}, {"id": "1\r"}, {"id": "1\x002"}],
)
def test_format_event_refuses_event_or_id_that_would_break_the_stream(kwargs):
    with pytest.raises(ValueError) as caught:
        format_event("x", **kwargs)
    assert repr(next(iter(kwargs.values()))) in str(caught.value)


@pytest.mark.parametrize("retry", [-1, 1.5, "100", True])
def test_format_event_refuses_a_retry_that_is_not_a_non_negative_int(retry):
    with pytest.raises(ValueError, match="retry"):
        format_event("x", retry=retry)


def test_format_event_refuses_bytes_data():
    with pytest.raises(TypeError, match="str"):
        format_event(b"x")  # type: ignore[arg-type]


def test_format_comment_is_a_comment_line_that_never_dispatches():
    assert format_comment("ping") == b": ping\n"
    assert format_comment() == b":\n"
    assert format_comment("a\nb") == b": a\n: b\n"
    decoder = SSEDecoder()
    assert decoder.feed(format_comment("ping") * 3) == []
    # A heartbeat sent in the middle of an event does not disturb it.
    body = b"data: one\n" + format_comment("ping") + b"data: two\n\n"
    assert as_tuples(decode(body)) == [("message", "one\ntwo", "")]


# --------------------------------------------------------------------------- decoder details


def test_a_typical_llm_stream():
    body = (
        b'event: response.output_text.delta\ndata: {"delta": "Hel"}\n\n'
        b'event: response.output_text.delta\ndata: {"delta": "lo"}\n\n'
    )
    events = decode(body)
    assert [e.event for e in events] == ["response.output_text.delta"] * 2
    assert [e.json()["delta"] for e in events] == ["Hel", "lo"]


def test_json_raises_on_data_that_is_not_json():
    with pytest.raises(json.JSONDecodeError):
        decode(b"data: [DONE]\n\n")[0].json()


@pytest.mark.parametrize(
    "pieces",
    [
        [b"data: a\r", b"\ndata: b\r\n\r\n"],  # CRLF split across feeds: ONE line ending
        [b"data: a\r", b"\n", b"data: b\r", b"\n\r", b"\n"],
        [b"data: a\rdata: b\r\r"],  # lone CRs
        [b"data: a\ndata: b\n\n"],
        [b"data: a\r\ndata: b\n\r"],  # mixed endings
    ],
)
def test_cr_lf_and_crlf_all_end_lines_even_across_feeds(pieces):
    assert as_tuples(decode(*pieces)) == [("message", "a\nb", "")]


def test_a_cr_then_an_lf_in_a_later_feed_is_one_line_ending_but_a_second_lf_is_another():
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"\n") == []  # completes the CRLF, not a blank line
    assert decoder.feed(b"\n") == [ServerSentEvent("message", "a", "")]


@pytest.mark.parametrize("character", ["\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028"])
def test_only_cr_and_lf_are_line_breaks_not_what_str_splitlines_splits_on(character):
    assert decode(f"data: a{character}b\n\n".encode())[0].data == f"a{character}b"


def test_bom_split_across_feeds_is_still_stripped():
    assert as_tuples(decode(b"\xef", b"\xbb", b"\xbfdata: x\n\n")) == [("message", "x", "")]


def test_bom_is_only_stripped_at_the_very_start_of_the_stream():
    # After the first feed, a BOM starting a line is part of the field name: unknown field.
    assert as_tuples(decode(b"data: a\n\n", b"\xef\xbb\xbfdata: b\n\n")) == [("message", "a", "")]


def test_invalid_utf8_becomes_replacement_characters():
    assert decode(b"data: a\xffb\xc3\n\n")[0].data == "a\ufffdb\ufffd"


def test_a_character_split_across_feeds_is_decoded_whole():
    euro = "€".encode()
    assert decode(b"data: " + euro[:1], euro[1:2], euro[2:] + b"\n\n")[0].data == "€"


def test_close_flushes_an_incomplete_character_and_drops_the_unfinished_event():
    decoder = SSEDecoder()
    assert decoder.feed(b"data: done\n\ndata: cut \xe2\x82") == [ServerSentEvent(data="done")]
    assert decoder.close() == []  # the unfinished event (with its U+FFFD) is dropped
    assert decoder.close() == []  # closing twice is harmless


def test_feed_after_close_is_a_programming_error():
    decoder = SSEDecoder()
    decoder.close()
    with pytest.raises(RuntimeError, match="after close"):
        decoder.feed(b"data: x\n\n")


def test_an_event_without_its_blank_line_is_dropped_at_close():
    assert decode(b"data: one\n\ndata: two\n") == [ServerSentEvent(data="one")]


def test_field_without_colon_has_an_empty_value():
    assert decode(b"data\n\n") == [ServerSentEvent(data="")]
    assert as_tuples(decode(b"id: 1\nid\ndata: x\n\n")) == [("message", "x", "")]


def test_exactly_one_leading_space_is_stripped():
    assert decode(b"data:   three\n\n")[0].data == "  three"
    assert decode(b"data:no-space\n\n")[0].data == "no-space"
    assert decode(b"event:  spaced\ndata: x\n\n")[0].event == " spaced"


def test_only_the_first_colon_separates_name_and_value():
    assert decode(b"data: a:b: c\n\n")[0].data == "a:b: c"


def test_field_names_are_case_sensitive_and_unknown_ones_ignored():
    assert decode(b"Data: no\nDATA: no\nfoo: bar\ndata: yes\n\n") == [ServerSentEvent(data="yes")]


def test_a_block_without_data_dispatches_nothing_and_resets_the_event_type():
    events = decode(b"event: lost\n\ndata: x\n\n")
    assert as_tuples(events) == [("message", "x", "")]


def test_an_id_only_block_dispatches_nothing_but_sets_the_last_event_id():
    decoder = SSEDecoder()
    assert decoder.feed(b"id: 42\n\n") == []
    assert decoder.last_event_id == "42"
    assert decoder.feed(b"data: x\n\n") == [ServerSentEvent("message", "x", "42")]


def test_the_last_event_id_is_committed_at_the_blank_line_not_before():
    decoder = SSEDecoder()
    decoder.feed(b"id: 1\ndata: a\n\nid: 2\n")
    assert decoder.last_event_id == "1"
    decoder.feed(b"\n")
    assert decoder.last_event_id == "2"


def test_the_last_event_id_persists_across_events_and_blank_lines():
    body = b"id: a\ndata: 1\n\n\n\ndata: 2\n\nid: b\ndata: 3\n\ndata: 4\n\n"
    assert [e.id for e in decode(body)] == ["a", "a", "b", "b"]


def test_an_id_containing_null_is_ignored():
    assert [e.id for e in decode(b"id: ok\ndata: 1\n\nid: b\x00d\ndata: 2\n\n")] == ["ok", "ok"]


@pytest.mark.parametrize(
    ("line", "retry"),
    [
        (b"retry: 3000", 3000),
        (b"retry:0", 0),
        (b"retry: 0010", 10),
        (b"retry: 12345678901234567890", 12345678901234567890),
        (b"retry: -1", None),
        (b"retry: 1.5", None),
        (b"retry: 1e3", None),
        (b"retry:  100", None),  # the second space is part of the value
        (b"retry: 100 ", None),
        (b"retry:", None),
        ("retry: ١٢٣".encode(), None),  # Arabic-Indic digits: str.isdigit() alone says yes
        ("retry: ²".encode(), None),
    ],
)
def test_retry_is_set_only_by_ascii_digits(line, retry):
    decoder = SSEDecoder()
    decoder.feed(line + b"\n")
    assert decoder.retry == retry


def test_a_retry_too_long_for_int_is_ignored_instead_of_raising():
    # Python's int() refuses strings of more than 4300 digits (ValueError).
    decoder = SSEDecoder()
    decoder.feed(b"retry: " + b"9" * 5000 + b"\n")
    assert decoder.retry is None
    decoder.feed(b"retry: " + b"0" * 5000 + b"25\n")  # leading zeros do not count
    assert decoder.retry == 25


def test_a_long_line_in_many_small_reads_arrives_whole():
    line = "".join(chr(0x41 + n % 26) for n in range(200_000))
    body = f"data: {line}\n\n".encode()
    assert decode(*(body[i : i + 97] for i in range(0, len(body), 97)))[0].data == line


def test_a_later_invalid_retry_keeps_the_earlier_valid_one():
    decoder = SSEDecoder()
    decoder.feed(b"retry: 500\nretry: soon\n")
    assert decoder.retry == 500


def test_comment_lines_are_ignored_anywhere():
    body = b": hello\ndata: a\n:\n: data: no\ndata: b\n\n"
    assert decode(body) == [ServerSentEvent(data="a\nb")]


def test_many_events_in_one_feed_come_out_in_order():
    body = b"".join(format_event(str(n), id=str(n)) for n in range(500))
    events = SSEDecoder().feed(body)
    assert [(e.data, e.id) for e in events] == [(str(n), str(n)) for n in range(500)]


# --------------------------------------------------------------------------- a spec oracle


def oracle_decode(body: bytes) -> tuple[list[tuple[str, str, str]], str, int | None]:
    """The spec's algorithm transcribed naively: whole input, one character at a time.

    Slow and obviously-shaped on purpose; the real decoder must agree with it on any bytes.
    """
    text = codecs.decode(body, "utf-8", errors="replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    lines, line, i = [], "", 0
    while i < len(text):
        char = text[i]
        if char == "\r" or char == "\n":
            lines.append(line)
            line = ""
            if char == "\r" and text[i + 1 : i + 2] == "\n":
                i += 1
        else:
            line += char
        i += 1
    # `line` (no line ending after it) is discarded at end of stream.
    events, data, event_type, id_buffer, last_id, retry = [], "", "", "", "", None
    for line in lines:
        if line == "":
            last_id = id_buffer
            if data == "":
                event_type = ""
                continue
            if data.endswith("\n"):
                data = data[:-1]
            events.append((event_type or "message", data, last_id))
            data, event_type = "", ""
            continue
        if line.startswith(":"):
            continue
        if ":" in line:
            name, value = line[: line.index(":")], line[line.index(":") + 1 :]
            if value.startswith(" "):
                value = value[1:]
        else:
            name, value = line, ""
        if name == "event":
            event_type = value
        elif name == "data":
            data += value + "\n"
        elif name == "id" and "\0" not in value:
            id_buffer = value
        elif name == "retry" and re.fullmatch("[0-9]+", value):
            retry = int(value)
    return events, last_id, retry


# Byte soup made of the pieces that matter: field names, separators, every line ending,
# a BOM, NUL, digits, and valid and truncated UTF-8.
SSE_TOKENS = [
    b"data",
    b"event",
    b"id",
    b"retry",
    b":",
    b" ",
    b"\r",
    b"\n",
    b"\r\n",
    b"\n\n",
    b"\xef\xbb\xbf",
    b"\x00",
    b"7",
    b"x",
    b"\xe2\x82\xac",
    b"\xe2\x82",
    b"\xff",
    b"\x0b",
]
sse_like_bytes = st.lists(st.sampled_from(SSE_TOKENS), max_size=40).map(b"".join)
any_bytes = st.one_of(sse_like_bytes, st.binary(max_size=80))


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({cut % (len(data) + 1) for cut in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


def decode_with_state(pieces: list[bytes]) -> tuple[list[tuple[str, str, str]], str, int | None]:
    decoder = SSEDecoder()
    events = [event for piece in pieces for event in decoder.feed(piece)] + decoder.close()
    return as_tuples(events), decoder.last_event_id, decoder.retry


@settings(max_examples=400, deadline=None)
@given(any_bytes)
def test_agrees_with_the_naive_spec_transcription_on_any_bytes(body):
    assert decode_with_state([body]) == oracle_decode(body)


@settings(max_examples=250, deadline=None)
@given(any_bytes, st.lists(st.integers(min_value=0), max_size=10))
def test_any_split_gives_the_same_events_as_feeding_whole(body, cuts):
    assert decode_with_state(split_at(body, cuts)) == decode_with_state([body])


@settings(max_examples=150, deadline=None)
@given(any_bytes)
def test_byte_by_byte_gives_the_same_events_as_feeding_whole(body):
    one_by_one = [body[i : i + 1] for i in range(len(body))]
    assert decode_with_state(one_by_one) == decode_with_state([body])


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.lists(st.integers(min_value=0), max_size=5))
def test_arbitrary_bytes_never_raise(body, cuts):
    decode_with_state(split_at(body, cuts))


encodable_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
field_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\0"), max_size=20
)


@st.composite
def event_specs(draw) -> dict:
    return {
        "data": draw(encodable_text),
        "event": draw(st.none() | field_text),
        "id": draw(st.none() | field_text),
        "retry": draw(st.none() | st.integers(min_value=0, max_value=10**12)),
    }


@settings(max_examples=150, deadline=None)
@given(st.lists(event_specs(), min_size=1, max_size=5), st.lists(st.integers(0), max_size=8))
def test_format_event_round_trips_through_the_decoder(specs, cuts):
    body = b"".join(format_event(**spec) + format_comment("keep-alive") for spec in specs)
    decoder = SSEDecoder()
    events = [e for piece in split_at(body, cuts) for e in decoder.feed(piece)] + decoder.close()

    expected, last_id, last_retry = [], "", None
    for spec in specs:
        last_id = spec["id"] if spec["id"] is not None else last_id
        last_retry = spec["retry"] if spec["retry"] is not None else last_retry
        data = re.sub("\r\n|\r", "\n", spec["data"])  # line breaks come back as LF
        expected.append((spec["event"] or "message", data, last_id))
    assert as_tuples(events) == expected
    assert decoder.last_event_id == last_id
    assert decoder.retry == last_retry

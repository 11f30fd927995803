"""helpers.chunked: encoder, state-machine decoder, malformed input, and two real peers.

Peers: h11 (the HTTP/1.1 parser under uvicorn) decodes our encoder's output, and a real
server on a 127.0.0.1 socket sends a chunked body that our decoder reads as recv() returns it.
"""

from __future__ import annotations

import http.client
import socket
import threading

import h11
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.chunked import (
    LAST_CHUNK,
    MAX_CHUNK_SIZE,
    MAX_LINE_LENGTH,
    ChunkedDecoder,
    ChunkedError,
    State,
    encode_chunk,
    parse_chunk_size,
)


def decode_all(*pieces: bytes) -> tuple[list[bytes], ChunkedDecoder]:
    decoder = ChunkedDecoder()
    payloads = []
    for piece in pieces:
        payloads.extend(decoder.feed(piece))
    return payloads, decoder


def one_byte_at_a_time(body: bytes) -> list[bytes]:
    return [body[i : i + 1] for i in range(len(body))]


# --------------------------------------------------------------------------- encoding


def test_encode_chunk_frames_data_with_its_hex_size():
    assert encode_chunk(b"Hello") == b"5\r\nHello\r\n"
    assert encode_chunk(b"x" * 26) == b"1a\r\n" + b"x" * 26 + b"\r\n"
    assert encode_chunk(bytearray(b"\r\n")) == b"2\r\n\r\n\r\n"


def test_encode_chunk_refuses_empty_data_because_it_would_end_the_body():
    with pytest.raises(ValueError, match="LAST_CHUNK"):
        encode_chunk(b"")


def test_last_chunk_alone_is_a_complete_empty_body():
    payloads, decoder = decode_all(LAST_CHUNK)
    assert payloads == []
    assert decoder.done


# --------------------------------------------------------------------------- decoding


def test_decodes_a_body_fed_whole():
    body = encode_chunk(b"Hello") + encode_chunk(b", world") + LAST_CHUNK
    payloads, decoder = decode_all(body)
    assert payloads == [b"Hello", b", world"]
    assert decoder.done


def test_a_payload_is_returned_by_the_feed_that_completes_it_and_only_then():
    decoder = ChunkedDecoder()
    results = [decoder.feed(b) for b in one_byte_at_a_time(b"3\r\nabc\r\n")]
    # b"3", b"\r", b"\n", b"a", b"b", b"c" -> only the sixth feed completes the payload.
    assert results == [[], [], [], [], [], [b"abc"], [], []]
    assert not decoder.done


def test_states_follow_the_rfc_grammar_byte_by_byte():
    decoder = ChunkedDecoder()
    seen = [decoder.state]
    for byte in one_byte_at_a_time(b"1\r\nx\r\n0\r\nT: 1\r\n\r\n"):
        decoder.feed(byte)
        if decoder.state is not seen[-1]:
            seen.append(decoder.state)
    assert seen == [
        State.SIZE_LINE,
        State.DATA,
        State.DATA_CRLF,
        State.SIZE_LINE,
        State.TRAILERS,
        State.DONE,
    ]


@pytest.mark.parametrize("size", [b"1a", b"1A", b"001A", b"1A ", b"1a\t"])
def test_size_is_hex_in_either_case_with_optional_whitespace_before_extensions(size):
    payloads, _ = decode_all(size + b"\r\n" + b"z" * 26 + b"\r\n" + LAST_CHUNK)
    assert payloads == [b"z" * 26]


def test_chunk_extensions_are_accepted_and_skipped():
    body = b'5;name=value;flag ; q="a;b"\r\nHello\r\n0;last=yes\r\n\r\n'
    payloads, decoder = decode_all(body)
    assert payloads == [b"Hello"]
    assert decoder.done


def test_trailer_fields_are_accepted_and_skipped():
    body = b"2\r\nhi\r\n0\r\nX-Checksum: abc\r\nServer-Timing: total;dur=12\r\n\r\n"
    payloads, decoder = decode_all(body)
    assert payloads == [b"hi"]
    assert decoder.done


def test_not_done_until_the_blank_line_after_the_last_chunk():
    decoder = ChunkedDecoder()
    decoder.feed(b"0\r\n")
    assert not decoder.done
    decoder.feed(b"\r")
    assert not decoder.done
    decoder.feed(b"\n")
    assert decoder.done


def test_payload_bytes_are_not_interpreted():
    tricky = b"0\r\n\r\n5\r\n\xff\x00"
    payloads, _ = decode_all(encode_chunk(tricky) + LAST_CHUNK)
    assert payloads == [tricky]


def test_a_size_line_of_exactly_the_limit_is_accepted():
    size_line = b"0" * (MAX_LINE_LENGTH - 1) + b"1"
    payloads, _ = decode_all(*one_byte_at_a_time(size_line + b"\r\nx\r\n" + LAST_CHUNK))
    assert payloads == [b"x"]


def test_parse_chunk_size():
    assert parse_chunk_size(b"ff") == 255
    assert parse_chunk_size(b"FF;ext=1") == 255
    assert parse_chunk_size(b"0") == 0
    assert parse_chunk_size(b"%x" % MAX_CHUNK_SIZE) == MAX_CHUNK_SIZE


# --------------------------------------------------------------------------- malformed input

MALFORMED = [
    # (body, words the message must contain, the offending bytes as the message quotes them)
    (b"zz\r\n", "not hexadecimal", "b'zz'"),
    (b"0x5\r\nHello\r\n", "not hexadecimal", "b'0x5'"),  # int(_, 16) would accept it
    (b"+5\r\nHello\r\n", "not hexadecimal", "b'+5'"),
    (b" 5\r\nHello\r\n", "not hexadecimal", "b' 5'"),
    (b"5_0\r\n", "not hexadecimal", "b'5_0'"),  # so would it
    (b"\xef\xbc\x95\r\n", "not hexadecimal", r"b'\xef\xbc\x95'"),  # a full-width digit 5
    (b"5\nHello\r\n", "not hexadecimal", r"b'5\nHello'"),  # a bare LF does not end the line
    (b"\r\n", "empty chunk size", "b''"),
    (b";ext=1\r\n", "empty chunk size", "b';ext=1'"),
    (b"5\r\nHelloXY", "expected CRLF after chunk data", "b'XY'"),
    (b"5\r\nHello\n", "expected CRLF after chunk data", r"b'\n'"),
    (b"5\r\nHelloo\r\n", "expected CRLF after chunk data", r"b'o\r'"),
    (b"80000001\r\n", "absurd", "b'80000001'"),
    (b"f" * 40 + b"\r\n", "absurd", "b'ffffffff"),
    (b"1" * (MAX_LINE_LENGTH + 2), "chunk size line longer than 4096", "b'1111"),
    (b"0\r\nno colon here\r\n\r\n", "trailer line", "b'no colon here'"),
    (b"0\r\n" + b"T: " + b"x" * MAX_LINE_LENGTH, "trailer line longer than 4096", "b'T: xxx"),
    (b"0\r\n\r\nHTTP/1.1 200 OK", "after the end of the chunked body", "b'HTTP/1.1 200 OK'"),
]


@pytest.mark.parametrize(("body", "words", "quoted"), MALFORMED)
def test_malformed_input_raises_an_error_naming_the_offending_bytes(body, words, quoted):
    with pytest.raises(ChunkedError) as caught:
        decode_all(body)
    assert words in str(caught.value)
    assert quoted in str(caught.value)


@pytest.mark.parametrize(("body", "words", "quoted"), MALFORMED)
def test_malformed_input_fails_the_same_way_byte_by_byte(body, words, quoted):
    with pytest.raises(ChunkedError) as caught:
        decode_all(*one_byte_at_a_time(body))
    assert words in str(caught.value)


def test_chunked_error_is_a_value_error():
    with pytest.raises(ValueError):
        decode_all(b"zz\r\n")


def test_payloads_completed_before_an_error_travel_with_the_error():
    with pytest.raises(ChunkedError) as caught:
        decode_all(b"5\r\nHello\r\n3\r\nabcXX")
    assert caught.value.payloads == [b"Hello", b"abc"]


def test_feeding_after_done_is_an_error_naming_the_bytes():
    _, decoder = decode_all(LAST_CHUNK)
    assert decoder.feed(b"") == []
    with pytest.raises(ChunkedError, match="b'extra'"):
        decoder.feed(b"extra")


def test_a_failed_decoder_keeps_failing():
    decoder = ChunkedDecoder()
    with pytest.raises(ChunkedError):
        decoder.feed(b"zz\r\n")
    with pytest.raises(ChunkedError, match="earlier"):
        decoder.feed(b"5\r\nHello\r\n")


def test_close_mid_chunk_says_how_much_of_the_chunk_arrived():
    decoder = ChunkedDecoder()
    decoder.feed(b"a\r\nabc")
    with pytest.raises(ChunkedError, match="connection closed after 3 of 10 bytes of a chunk"):
        decoder.close()


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"", "waiting for a chunk size line"),
        (b"5\r\nHello\r\n1", "waiting for a chunk size line (unconsumed bytes: b'1')"),
        (b"5\r\nHello", "waiting for the CRLF after chunk data"),
        (b"5\r\nHello\r\n0\r\n", "reading trailer fields"),
        (b"5\r\nHello\r\n0\r\nT: 1\r\n", "reading trailer fields"),
    ],
)
def test_close_before_the_end_of_the_body_raises(body, words):
    _, decoder = decode_all(body)
    with pytest.raises(ChunkedError) as caught:
        decoder.close()
    assert words in str(caught.value)


def test_close_after_the_end_is_fine():
    _, decoder = decode_all(encode_chunk(b"x") + LAST_CHUNK)
    decoder.close()
    assert decoder.done


# --------------------------------------------------------------------------- properties

payload_lists = st.lists(st.binary(min_size=1, max_size=300), max_size=8)
extensions = st.sampled_from([b"", b";a=1", b"; name=value", b';q="x;y"'])
trailer_sections = st.sampled_from([b"", b"X-A: 1\r\n", b"X-A: 1\r\nX-B:\r\n"])


@st.composite
def chunked_bodies(draw) -> tuple[list[bytes], bytes]:
    """A valid body with random hex case, extensions and trailers, plus its payloads."""
    payloads = draw(payload_lists)
    parts = []
    for payload in payloads:
        size = b"%X" % len(payload) if draw(st.booleans()) else b"%x" % len(payload)
        parts.append(size + draw(extensions) + b"\r\n" + payload + b"\r\n")
    parts.append(b"0" + draw(extensions) + b"\r\n" + draw(trailer_sections) + b"\r\n")
    return payloads, b"".join(parts)


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({cut % (len(data) + 1) for cut in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


@settings(max_examples=150, deadline=None)
@given(chunked_bodies(), st.lists(st.integers(min_value=0), max_size=12))
def test_any_split_of_a_valid_body_gives_the_same_payloads(case, cuts):
    expected, body = case
    whole, decoder = decode_all(body)
    assert whole == expected
    assert decoder.done
    pieces, decoder = decode_all(*split_at(body, cuts))
    assert pieces == expected
    assert decoder.done


@settings(max_examples=40, deadline=None)
@given(chunked_bodies())
def test_byte_by_byte_gives_the_same_payloads(case):
    expected, body = case
    payloads, decoder = decode_all(*one_byte_at_a_time(body))
    assert payloads == expected
    assert decoder.done


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.lists(st.integers(min_value=0), max_size=6))
def test_arbitrary_bytes_raise_nothing_but_chunked_error(data, cuts):
    decoder = ChunkedDecoder()
    try:
        for piece in split_at(data, cuts):
            decoder.feed(piece)
        decoder.close()
    except ChunkedError:
        pass


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=100).map(lambda b: b"1\r\nx\r\n" + b), st.integers(0, 120))
def test_near_valid_bytes_never_lose_a_completed_payload(data, cut):
    # Whether the tail is valid or not, the payload b"x" reaches the caller exactly once:
    # either from feed()'s return value or from the ChunkedError's `payloads`.
    decoder = ChunkedDecoder()
    received = []
    try:
        for piece in split_at(data, [cut]):
            received.extend(decoder.feed(piece))
    except ChunkedError as error:
        received.extend(error.payloads)
    assert received[:1] == [b"x"]


# --------------------------------------------------------------------------- peers


def h11_decode_body(body: bytes) -> list[bytes]:
    """Let h11 (uvicorn's HTTP/1.1 parser) read `body` as a chunked response body."""
    conn = h11.Connection(our_role=h11.CLIENT)
    conn.send(h11.Request(method="GET", target="/", headers=[("Host", "x")]))
    conn.send(h11.EndOfMessage())
    conn.receive_data(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + body)
    data = []
    while True:
        event = conn.next_event()
        if isinstance(event, h11.Data):
            data.append(bytes(event.data))
        elif isinstance(event, h11.EndOfMessage | h11.NEED_DATA):
            return data


@settings(max_examples=100, deadline=None)
@given(chunked_bodies())
def test_h11_reads_the_same_bytes_from_valid_bodies(case):
    expected, body = case
    assert b"".join(h11_decode_body(body)) == b"".join(expected)


@settings(max_examples=50, deadline=None)
@given(payload_lists)
def test_h11_reads_what_encode_chunk_writes(payloads):
    body = b"".join(encode_chunk(p) for p in payloads) + LAST_CHUNK
    assert b"".join(h11_decode_body(body)) == b"".join(payloads)


CHUNKS_SENT = [b"data: one\n\n", b"data: two", b"\n\n", "data: café ☕\n\n".encode()]


@pytest.fixture
def chunked_server():
    """A real HTTP/1.1 server on 127.0.0.1 (port 0) that writes each chunk in its own send()."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)

    def serve() -> None:
        for _ in range(2):  # one connection for our decoder, one for http.client
            conn, _ = listener.accept()
            with conn:
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                request = b""
                while b"\r\n\r\n" not in request:
                    request += conn.recv(4096)
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                    b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                )
                for chunk in CHUNKS_SENT:
                    conn.sendall(encode_chunk(chunk))
                conn.sendall(LAST_CHUNK)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    thread.join(timeout=10)
    listener.close()


def test_decodes_a_real_chunked_response_from_a_socket(chunked_server):
    with socket.create_connection(("127.0.0.1", chunked_server), timeout=10) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        received = b""
        while b"\r\n\r\n" not in received:
            received += sock.recv(4096)
        head, body_start = received.split(b"\r\n\r\n", 1)
        assert b"Transfer-Encoding: chunked" in head
        decoder = ChunkedDecoder()
        payloads = decoder.feed(body_start)
        while not decoder.done:
            data = sock.recv(4096)
            if not data:
                decoder.close()  # raises if the body was cut short
            payloads += decoder.feed(data)
    assert payloads == CHUNKS_SENT

    # The standard library's own chunked decoder, on the same server, agrees.
    conn = http.client.HTTPConnection("127.0.0.1", chunked_server, timeout=10)
    conn.request("GET", "/")
    assert conn.getresponse().read() == b"".join(CHUNKS_SENT)
    conn.close()

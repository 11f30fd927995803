"""Checks for lesson 1's exercises (raw chunked HTTP).

Each check returns the line the notebook prints (helpers.checks says why it never raises).
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Callable, Iterable
from functools import partial
from itertools import accumulate

from helpers.checks import (
    call,
    drain,
    drain_counted,
    failed,
    names_used,
    outcome,
    passed,
    with_args_tuple,
)

_call = partial(call, show_call=with_args_tuple)  # a crash's message shows the arguments

LIBRARY = {"parse_chunk_size", "ChunkedDecoder"}  # helpers.chunked: what exercises 1 and 3 build


# Exercise 1: a size line read strictly (RFC 9112 section 7.1: chunk-size = 1*HEXDIG, then
# optional extensions after ';' with optional blanks before it, then CRLF).
GOOD_SIZE_LINES = [
    (b"1f\r\n", 31),
    (b"1F\r\n", 31),
    (b"0\r\n", 0),
    (b"000a\r\n", 10),
    (b"5;name=value\r\n", 5),
    (b"5 ;name\r\n", 5),
]
BAD_SIZE_LINES = [  # each one int(x, 16) or a loose split would let through
    (b"0x1f\r\n", "a '0x' prefix"),
    (b"+1f\r\n", "a sign"),
    (b"1_f\r\n", "an underscore"),
    (b" 1f\r\n", "a leading blank"),
    (b"\r\n", "no digits"),
    (b"1f\n", "a bare LF instead of CRLF"),
    (b"1g\r\n", "a non-hex digit"),
    ("\u0661\r\n".encode(), "a non-ASCII digit"),
]
CLOSED_LINES = [  # readline() returns a line without b"\n" only when the server closed
    (b"", "before the line began"),
    (b"1f", "in the middle of the size line"),
    (b"1f\r", "between the CR and the LF"),
]


def check_exercise_1(parse_size_line: Callable[[bytes], int]) -> str:
    """Exercise 1: a chunk-size line parsed strictly; a closed connection is not a size."""
    if helper := names_used(parse_size_line, LIBRARY):
        return failed(1, f"parse_size_line uses helpers.chunked.{helper}, the library version of "
                         "this exercise: check the bytes yourself")
    for line, want in GOOD_SIZE_LINES:
        result, error = _call(1, parse_size_line, line)
        if error:
            return error
        if result != want:
            return failed(1, f"for {line!r} expected {want}, got {result!r}")
    for line, what in BAD_SIZE_LINES:
        result, error = outcome(parse_size_line, line)
        if isinstance(error, ValueError):
            continue
        if error:
            return failed(1, f"{line!r} ({what}) should raise ValueError, not "
                             f"{type(error).__name__}: {error}")
        return failed(1, f"{line!r} has {what}: it must raise ValueError, you returned "
                         f"{result!r} (int(x, 16) accepts it; check the digits yourself)")
    for line, when in CLOSED_LINES:
        result, error = outcome(parse_size_line, line)
        if isinstance(error, ConnectionError):
            continue
        if error:
            return failed(1, f"{line!r} is what readline() returns when the server closed {when}: "
                             f"raise ConnectionError, not {type(error).__name__}")
        return failed(1, f"{line!r} (the server closed {when}) must raise ConnectionError, you "
                         f"returned {result!r}")
    return passed(1)


MESSAGES = [{"delta": "Hel"}, {"delta": "lo, "}, {"delta": "café"}, {"delta": "!"}]


def _split_every(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def _reads_needed(reads: list[bytes]) -> list[int]:
    """For each line, how many reads must have arrived before it is complete."""
    needed: list[int] = []
    for number, data in enumerate(reads, start=1):
        needed += [number] * data.count(b"\n")
    return needed


def _frame_all(
    frame_json_lines: Callable[[Iterable[bytes]], Iterable[dict]], reads: list[bytes]
) -> tuple[list[tuple[dict, int]], Exception | None, str | None]:
    """Run the learner's framer over `reads`: each message with the reads taken when it came
    out, the exception that ended it (if any), or a failure message."""
    return drain_counted(2, frame_json_lines, reads, show_call=with_args_tuple)


def check_exercise_2(frame_json_lines: Callable[[Iterable[bytes]], Iterable[dict]]) -> str:
    """Exercise 2: newline-delimited JSON from reads cut anywhere, each message out as soon as
    its line is complete (not after the last read)."""
    wire = b"".join(json.dumps(m, ensure_ascii=False).encode() + b"\n" for m in MESSAGES)
    for size in (len(wire), 1, 5, 16):
        reads = _split_every(wire, size)
        got, raised, error = _frame_all(frame_json_lines, reads)
        if error:
            return error
        if raised is not None:
            return failed(2, f"with reads of {size} bytes, {type(raised).__name__}: {raised}")
        messages = [message for message, _taken in got]
        if messages != MESSAGES:
            return failed(2, f"with reads of {size} bytes expected {MESSAGES}, got {messages!r}")
        for number, ((message, taken), needed) in enumerate(
            zip(got, _reads_needed(reads), strict=True), start=1
        ):
            if taken > needed:
                return failed(2, f"with reads of {size} bytes, message {number} ({message}) was "
                                 f"complete after read {needed} of {len(reads)} but came out "
                                 f"only after read {taken}: yield each message as soon as its "
                                 "line is complete (the next read may be seconds away)")
    got, raised, error = _frame_all(frame_json_lines, [b'{"delta": "a"}\n{"del'])
    if error:
        return error
    if [message for message, _taken in got] != [{"delta": "a"}]:
        return failed(2, "the complete first line of [b'{\"delta\": \"a\"}\\n{\"del'] should "
                         f"come out before the error; got {[m for m, _t in got]!r}")
    if raised is None:
        return failed(2, "the stream ended inside a line (leftover b'{\"del'): raise ValueError")
    if not isinstance(raised, ValueError):
        return failed(2, f"an unfinished last line should raise ValueError, not {raised!r}")
    if "del" not in str(raised):
        return failed(2, f"the error should show the leftover bytes, got: {raised}")
    return passed(2)


# Exercise 3: the hand client's frame loop, made strict and streaming.

NEXT_RESPONSE = b"HTTP/1.1 200 OK\r\n"  # a kept-alive connection: the next answer follows


class Wire:
    """What `sock.makefile("rb")` gives a reader, over bytes that arrive in segments (one per
    server write, seconds apart in real life): `readline()`, `read(n)` and `read1(n)`.

    As on a socket, `read(n)` waits until n bytes arrived or the server closed, and `readline()`
    until a b"\\n" arrived; `read1(n)` returns what the current segment still holds. The wire
    records the furthest segment a read had to wait for (len(segments): the connection's end).
    """

    def __init__(self, segments: list[bytes]) -> None:
        self.data = b"".join(segments)
        self.ends = list(accumulate(len(segment) for segment in segments))
        self.position = 0
        self.waited_for = -1

    def _wait_for(self, end: int) -> None:
        """A read needs the bytes before offset `end`: wait for the segment holding the last."""
        if end <= self.position:
            return
        # past the last byte: more than will ever come, so wait for the close
        segment = len(self.ends) if end > len(self.data) else bisect_right(self.ends, end - 1)
        self.waited_for = max(self.waited_for, segment)

    def _take(self, end: int) -> bytes:
        data = self.data[self.position : end]
        self.position = min(end, len(self.data))
        return data

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            self._wait_for(len(self.data) + 1)
            return self._take(len(self.data))
        if size == 0:
            return b""
        self._wait_for(self.position + size)
        return self._take(self.position + size)

    def readline(self, size: int | None = -1) -> bytes:
        newline = self.data.find(b"\n", self.position)
        end = newline + 1 if newline >= 0 else len(self.data) + 1
        if size is not None and size >= 0:
            end = min(end, self.position + size)
        self._wait_for(end)
        return self._take(end)

    def read1(self, size: int | None = -1) -> bytes:
        if self.position >= len(self.data):
            self._wait_for(len(self.data) + 1)
            return b""
        segment_end = self.ends[bisect_right(self.ends, self.position)]
        end = segment_end if size is None or size < 0 else min(segment_end, self.position + size)
        self._wait_for(end)
        return self._take(end)


GOOD_BODY = [
    b"5\r\nHello\r\n",
    b"9;lang=en\r\n, \r\nworld\r\n",  # an extension, and a CRLF inside the payload
    b"1A\r\n" + b"z" * 26 + b"\r\n",  # upper-case hex
    b"0\r\n\r\n",
]
TRAILER_BODY = [b"5\r\nHello\r\n", b"0\r\nChecksum: 3d2f\r\nServer-Timing: total;dur=812\r\n\r\n"]
HELLO = ([b"Hello"],)
BAD_BODIES: list[tuple[list[bytes], type[Exception], tuple[list[bytes], ...], str]] = [
    ([b"5\r\nHello\r\n", b"0x5\r\nworld\r\n", b"0\r\n\r\n"], ValueError, HELLO,
     "a size line with a '0x' prefix"),
    ([b"5\r\nHello\r\n", b"zz\r\nworld\r\n", b"0\r\n\r\n"], ValueError, HELLO,
     "a size line that is not hex"),
    ([b"5\r\nHello\r\n", b"5\r\nworldXY", b"0\r\n\r\n"], ValueError, HELLO,
     "a payload not followed by CRLF"),
    ([b"5\r\nHello\r\n", b"6\r\n wor"], ConnectionError, HELLO,
     "a close in the middle of a payload"),
    ([b"5\r\nHello\r\n", b"6\r\n world"], ConnectionError, ([b"Hello"], [b"Hello", b" world"]),
     "a close before the CRLF after a payload"),
    ([b"5\r\nHello\r\n"], ConnectionError, HELLO,
     "a close before the last chunk"),
    ([b"5\r\nHello\r\n", b"1"], ConnectionError, HELLO,
     "a close in the middle of a size line"),
    ([b"5\r\nHello\r\n", b"0\r\n"], ConnectionError, HELLO,
     "a close after the last chunk but before the final blank line (CRLF)"),
    ([b"5\r\nHello\r\n", b"0\r\nChecksum: 3d2f\r\n"], ConnectionError, HELLO,
     "a close among the trailer fields, before the final blank line"),
]


def _read_all(
    read_chunked: Callable[[Wire], Iterable[bytes]], segments: list[bytes]
) -> tuple[list[tuple[bytes, int]], Wire, Exception | None, str | None]:
    """Each payload with the segment the wire had waited for when it came out; the wire; the
    exception that ended the reading, if any; or a failure message."""
    wire = Wire(segments)
    result, error = _call(3, read_chunked, wire)
    if error:
        return [], wire, None, error
    got, raised, failure = drain(3, result, "read_chunked", lambda: wire.waited_for)
    return got, wire, raised, failure


def _check_payloads_on_time(got: list[tuple[bytes, int]], segments: list[bytes]) -> str | None:
    for number, (payload, waited_for) in enumerate(got, start=1):
        frame = number - 1  # payload n is in segment n - 1
        if waited_for > frame:
            waited = ("the end of the connection" if waited_for >= len(segments)
                      else f"write {waited_for + 1}")
            return failed(3, f"payload {number} ({payload!r}) was in the server's write {number}, "
                             f"but your reader waited for {waited} before yielding it: yield each "
                             "payload once its frame is read (read(n) waits for n bytes or the "
                             "close; read exactly the size line, the payload and its CRLF)")
    return None


def check_exercise_3(read_chunked: Callable[[Wire], Iterable[bytes]]) -> str:
    """Exercise 3: payloads yielded as their frames arrive; strict about the framing; a close
    before the final blank line is a ConnectionError; trailers read; nothing read past the end."""
    if helper := names_used(read_chunked, LIBRARY):
        return failed(3, f"read_chunked uses helpers.chunked.{helper}, the library version of "
                         "this exercise: read the frames yourself, with your parse_size_line")
    for body, want in ((GOOD_BODY, [b"Hello", b", \r\nworld", b"z" * 26]),
                       (TRAILER_BODY, [b"Hello"])):
        segments = [*body, NEXT_RESPONSE]
        got, wire, raised, error = _read_all(read_chunked, segments)
        if error:
            return error
        if raised is not None:
            return failed(3, f"{b''.join(body)!r} is a valid body, but reading it raised "
                             f"{type(raised).__name__}: {raised}")
        payloads = [payload for payload, _waited in got]
        if payloads != want:
            return failed(3, f"for {b''.join(body)!r} expected the payloads {want!r}, got "
                             f"{payloads!r}")
        if (why := _check_payloads_on_time(got, segments)) is not None:
            return why
        body_end = len(b"".join(body))
        if wire.position != body_end or wire.waited_for >= len(body):
            return failed(3, f"after {b''.join(body)!r} the connection carries the next "
                             f"response ({NEXT_RESPONSE!r}): stop right after the body's final "
                             f"blank line (trailer fields included); you read {wire.position} "
                             f"bytes of a {body_end}-byte body")
    for segments, want_error, want_payloads, what in BAD_BODIES:
        got, wire, raised, error = _read_all(read_chunked, segments)
        if error:
            return error
        shown = b"".join(segments)
        payloads = [payload for payload, _waited in got]
        if payloads not in want_payloads:
            return failed(3, f"{shown!r} has {what}: the payloads before it ({want_payloads[0]!r}) "
                             f"should come out first, got {payloads!r}")
        if raised is None:
            return failed(3, f"{shown!r} has {what}: it must raise {want_error.__name__}, "
                             "but your reader ended as if the body were complete")
        if not isinstance(raised, want_error):
            hint = ("the server closed the connection: raise ConnectionError, so a cut answer is "
                    "never taken for a bad one" if want_error is ConnectionError else
                    "the bytes are not chunked coding: raise ValueError")
            return failed(3, f"{shown!r} has {what}: {hint}; got {type(raised).__name__}: "
                             f"{raised}")
    return passed(3)

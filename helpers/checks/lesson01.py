"""Checks for lesson 1's exercises (raw chunked HTTP).

Each check returns the line the notebook prints (helpers.checks says why it never raises).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial

from helpers.checks import call, failed, passed, with_args_tuple

_call = partial(call, show_call=with_args_tuple)  # a crash's message shows the arguments

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
    (b"1f", "no CRLF (the line was cut short)"),
    (b"1g\r\n", "a non-hex digit"),
    ("\u0661\r\n".encode(), "a non-ASCII digit"),
]


def check_exercise_1(parse_size_line: Callable[[bytes], int]) -> str:
    """Exercise 1: a chunk-size line parsed strictly; a closed connection is not a size."""
    for line, want in GOOD_SIZE_LINES:
        result, error = _call(1, parse_size_line, line)
        if error:
            return error
        if result != want:
            return failed(1, f"for {line!r} expected {want}, got {result!r}")
    for line, what in BAD_SIZE_LINES:
        try:
            result = parse_size_line(line)
        except ValueError:
            continue
        except Exception as error:
            return failed(1, f"{line!r} ({what}) should raise ValueError, not "
                             f"{type(error).__name__}: {error}")
        return failed(1, f"{line!r} has {what}: it must raise ValueError, you returned "
                         f"{result!r} (int(x, 16) accepts it; check the digits yourself)")
    try:
        result = parse_size_line(b"")
    except ConnectionError:
        return passed(1)
    except Exception as error:
        return failed(1, "b'' is what readline() returns once the server has closed: raise "
                         f"ConnectionError, not {type(error).__name__}")
    return failed(1, f"b'' (the server closed) must raise ConnectionError, you returned {result!r}")


MESSAGES = [{"delta": "Hel"}, {"delta": "lo, "}, {"delta": "café"}, {"delta": "!"}]


def _split_every(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def check_exercise_2(frame_json_lines: Callable[[list[bytes]], list[dict]]) -> str:
    """Exercise 2: rebuild newline-delimited JSON messages from reads cut anywhere."""
    wire = b"".join(json.dumps(m, ensure_ascii=False).encode() + b"\n" for m in MESSAGES)
    for size in (len(wire), 1, 5, 16):
        reads = _split_every(wire, size)
        result, error = _call(2, frame_json_lines, reads)
        if error:
            return error
        if result != MESSAGES:
            return failed(2, f"with reads of {size} bytes expected {MESSAGES}, got {result!r}")
    try:
        result = frame_json_lines([b'{"delta": "a"}\n{"del'])
    except ValueError as error:
        if "del" not in str(error):
            return failed(2, f"the error should show the leftover bytes, got: {error}")
        return passed(2)
    except Exception as error:
        return failed(2, f"an unfinished last line should raise ValueError, not {error!r}")
    return failed(2, f"an unfinished last line must raise ValueError, got {result!r}")


CHUNKED_BODY = b"5\r\nHello\r\n9;lang=en\r\n, \r\nworld\r\n1A\r\n" + b"z" * 26 + b"\r\n0\r\n\r\n"
CHUNKED_PAYLOAD = b"Hello, \r\nworld" + b"z" * 26


def check_exercise_3(decode_chunked_body: Callable[[bytes], bytes]) -> str:
    """Exercise 3: undo chunked framing, including hex sizes, extensions and CRLF in payloads."""
    result, error = _call(3, decode_chunked_body, CHUNKED_BODY)
    if error:
        return error
    if result != CHUNKED_PAYLOAD:
        return failed(3, f"expected {CHUNKED_PAYLOAD!r}, got {result!r}")
    try:
        result = decode_chunked_body(b"5\r\nHel")
    except ValueError:
        return passed(3)
    except Exception as error:
        return failed(3, f"a body cut short should raise ValueError, not {error!r}")
    return failed(3, f"a body cut short must raise ValueError, got {result!r}")

"""Checks for lesson 1's exercises (raw chunked HTTP).

Each check returns the line the notebook prints (helpers.checks says why it never raises).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial

from helpers.checks import call, failed, passed, with_args_tuple

_call = partial(call, show_call=with_args_tuple)  # a crash's message shows the arguments

CASES_TO_ENCODE = [b"hi", b"0123456789abcdefghijklmnop", b"x" * 300, b"two\r\nlines"]


def _expected_frames(payload: bytes) -> set[bytes]:
    """Both hex spellings are valid: HTTP says chunk sizes are case-insensitive hex digits."""
    return {f"{len(payload):{case}}\r\n".encode() + payload + b"\r\n" for case in "xX"}


def check_exercise_1(encode_chunk_by_hand: Callable[[bytes], bytes]) -> str:
    """Exercise 1: frame one payload as an HTTP/1.1 chunk; refuse an empty payload."""
    for payload in CASES_TO_ENCODE:
        result, error = _call(1, encode_chunk_by_hand, payload)
        if error:
            return error
        if result not in _expected_frames(payload):
            want = min(_expected_frames(payload))
            return failed(1, f"for {payload!r} expected {want!r}, got {result!r}")
    try:
        result = encode_chunk_by_hand(b"")
    except NotImplementedError:
        return failed(1, "encode_chunk_by_hand still raises NotImplementedError")
    except ValueError:
        return passed(1)
    except Exception as error:
        return failed(1, f"an empty payload should raise ValueError, not {type(error).__name__}")
    return failed(1, f"an empty payload must raise ValueError (0 ends the body), got {result!r}")


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

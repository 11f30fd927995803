"""HTTP/1.1 chunked transfer coding (RFC 9112 §7.1): how a server streams a body of unknown length.

Each chunk is its size in hex, CRLF, the bytes, CRLF. A chunk of size 0 ends the body,
optionally followed by trailer fields, then a blank line:

    5\\r\\nHello\\r\\n  7\\r\\n, world\\r\\n  0\\r\\n\\r\\n

The decoder is sans-IO and written as an explicit state machine, so you can feed it the
bytes exactly as recv() returns them (even one at a time) and watch the state change.
It is strict on purpose: a malformed size is how request-smuggling attacks start, so bad
input raises ChunkedError naming the offending bytes rather than being guessed at.
"""

from __future__ import annotations

import re
from enum import Enum

__all__ = [
    "LAST_CHUNK",
    "MAX_CHUNK_SIZE",
    "MAX_LINE_LENGTH",
    "ChunkedDecoder",
    "ChunkedError",
    "State",
    "encode_chunk",
    "parse_chunk_size",
]

LAST_CHUNK = b"0\r\n\r\n"  # size 0, no trailers, the blank line that ends the body
MAX_LINE_LENGTH = 4096  # a size line or trailer line longer than this is not a real server
MAX_CHUNK_SIZE = 2**31  # 2 GiB: anything bigger is a bug or an attack, not a streamed answer

_HEX_DIGITS = re.compile(rb"[0-9A-Fa-f]+")
_CRLF = b"\r\n"


class ChunkedError(ValueError):
    """The bytes are not valid chunked coding. The message quotes the offending bytes.

    `payloads` holds the chunks that the failing feed() call completed before the error,
    so nothing that arrived intact is lost.
    """

    def __init__(self, message: str, payloads: list[bytes] | None = None) -> None:
        super().__init__(message)
        self.payloads: list[bytes] = payloads or []


def _preview(data: bytes | bytearray, limit: int = 60) -> str:
    """repr() of at most `limit` bytes, so an error message stays readable."""
    data = bytes(data)
    if len(data) <= limit:
        return repr(data)
    return f"{data[:limit]!r}... ({len(data)} bytes)"


# --------------------------------------------------------------------------- encoding


def encode_chunk(data: bytes) -> bytes:
    """Frame `data` as one chunk. Empty data is refused: a size-0 chunk would end the body."""
    if not data:
        raise ValueError(
            "encode_chunk(b'') would be the last chunk; send LAST_CHUNK to end the body"
        )
    return b"%x\r\n%b\r\n" % (len(data), data)


# --------------------------------------------------------------------------- decoding


def parse_chunk_size(line: bytes) -> int:
    """Size from a size line (without its CRLF), e.g. b"1A;name=value" -> 26.

    Extensions after ';' are skipped. We check the digits ourselves because int(x, 16)
    also accepts "0x1a", "+1a", " 1a" and "1_a", none of which is valid here.
    """
    size_field = line.split(b";", 1)[0].rstrip(b" \t")  # whitespace may precede ';'
    if not size_field:
        raise ChunkedError(f"empty chunk size in size line {_preview(line)}")
    if not _HEX_DIGITS.fullmatch(size_field):
        raise ChunkedError(
            f"chunk size is not hexadecimal: {_preview(size_field)} in size line {_preview(line)}"
        )
    significant = size_field.lstrip(b"0")
    if len(significant) > 16 or int(significant or b"0", 16) > MAX_CHUNK_SIZE:
        raise ChunkedError(
            f"chunk size {_preview(size_field)} is absurd (limit {MAX_CHUNK_SIZE} bytes)"
        )
    return int(size_field, 16)


class State(Enum):
    """Where the decoder is in the grammar. The normal path is SIZE_LINE -> DATA -> DATA_CRLF,
    back to SIZE_LINE for the next chunk, and after the size-0 chunk TRAILERS -> DONE.
    """

    SIZE_LINE = "waiting for a chunk size line"
    DATA = "reading chunk data"
    DATA_CRLF = "waiting for the CRLF after chunk data"
    TRAILERS = "reading trailer fields after the last chunk"
    DONE = "done"
    FAILED = "failed"


class ChunkedDecoder:
    """Feed bytes in, get complete chunk payloads out; `.done` once the last chunk is read."""

    def __init__(self) -> None:
        self.state = State.SIZE_LINE
        self._buffer = bytearray()  # received bytes not consumed yet
        self._chunk = bytearray()  # payload of the chunk being read
        self._chunk_size = 0

    @property
    def done(self) -> bool:
        return self.state is State.DONE

    def feed(self, data: bytes) -> list[bytes]:
        """Consume `data`; return the payloads of the chunks it completed, in order."""
        if self.state is State.FAILED:
            raise ChunkedError("feed() after an earlier ChunkedError")
        if self.state is State.DONE and data:
            raise ChunkedError(f"bytes after the end of the chunked body: {_preview(data)}")
        self._buffer += data
        payloads: list[bytes] = []
        try:
            while self._step(payloads):
                pass
        except ChunkedError as error:
            self.state = State.FAILED
            error.payloads = payloads
            raise
        return payloads

    def close(self) -> None:
        """The connection ended. Raise if the body was cut short: never drop data silently."""
        if self.state is State.DONE:
            return
        if self.state is State.DATA:
            raise ChunkedError(
                f"connection closed after {len(self._chunk)} of {self._chunk_size} bytes of a chunk"
            )
        raise ChunkedError(
            f"connection closed while {self.state.value}"
            f" (unconsumed bytes: {_preview(self._buffer)})"
        )

    # Each step handles the current state; it returns False when it needs more bytes.

    def _step(self, payloads: list[bytes]) -> bool:
        if self.state is State.SIZE_LINE:
            return self._read_size_line()
        if self.state is State.DATA:
            return self._read_data(payloads)
        if self.state is State.DATA_CRLF:
            return self._read_data_crlf()
        if self.state is State.TRAILERS:
            return self._read_trailer_line()
        if self._buffer:  # State.DONE
            raise ChunkedError(f"bytes after the end of the chunked body: {_preview(self._buffer)}")
        return False

    def _take_line(self, what: str) -> bytes | None:
        """Remove and return one CRLF-terminated line (without CRLF), or None if incomplete."""
        end = self._buffer.find(_CRLF, 0, MAX_LINE_LENGTH + 2)
        if end < 0:
            if len(self._buffer) > MAX_LINE_LENGTH + 1:
                raise ChunkedError(
                    f"{what} longer than {MAX_LINE_LENGTH} bytes: {_preview(self._buffer)}"
                )
            return None
        line = bytes(self._buffer[:end])
        del self._buffer[: end + 2]
        return line

    def _read_size_line(self) -> bool:
        line = self._take_line("chunk size line")
        if line is None:
            return False
        self._chunk_size = parse_chunk_size(line)
        self.state = State.DATA if self._chunk_size else State.TRAILERS
        return True

    def _read_data(self, payloads: list[bytes]) -> bool:
        missing = self._chunk_size - len(self._chunk)
        self._chunk += self._buffer[:missing]
        del self._buffer[:missing]
        if len(self._chunk) < self._chunk_size:
            return False
        payloads.append(bytes(self._chunk))
        self._chunk.clear()
        self.state = State.DATA_CRLF
        return True

    def _read_data_crlf(self) -> bool:
        received = bytes(self._buffer[:2])
        if not _CRLF.startswith(received):
            raise ChunkedError(f"expected CRLF after chunk data, got {_preview(received)}")
        if len(received) < 2:
            return False
        del self._buffer[:2]
        self.state = State.SIZE_LINE
        return True

    def _read_trailer_line(self) -> bool:
        line = self._take_line("trailer line")
        if line is None:
            return False
        if not line:
            self.state = State.DONE
        elif b":" not in line:
            raise ChunkedError(f"trailer line is not a 'name: value' field: {_preview(line)}")
        return True  # a trailer field: accepted and skipped

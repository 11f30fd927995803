"""A tiny HTTP/1.1 server on a raw socket, for watching the bytes of a streamed response.

Why: web frameworks hide the wire. Here the caller says exactly which bytes are written and
how long to pause before each write, so a lesson can show chunk frames, SSE events, or a
message deliberately split across writes, and a test can reproduce the same pattern.
The server adds nothing to the body: framing (chunked, SSE, ...) is the caller's choice.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Sequence
from types import TracebackType

MAX_HEAD_BYTES = 65536
"""A request head larger than this is refused: a tiny teaching server should not buffer forever."""

Write = tuple[float, bytes]
"""One step of a response body: (seconds to pause first, bytes to write)."""


class RequestHeadError(ValueError):
    """The client sent something that is not a complete HTTP/1.1 request head."""


def response_head(status: str, headers: Sequence[tuple[str, str]]) -> bytes:
    """Build the status line and headers, ending with the blank line that starts the body."""
    lines = [f"HTTP/1.1 {status}"] + [f"{name}: {value}" for name, value in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def read_request_head(conn: socket.socket) -> bytes:
    """Read up to and including the blank line after the request headers.

    Why a loop: TCP delivers bytes, not messages; the head may arrive in several reads.
    """
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        if len(buffer) > MAX_HEAD_BYTES:
            raise RequestHeadError(f"request head longer than {MAX_HEAD_BYTES} bytes")
        data = conn.recv(4096)
        if not data:
            raise RequestHeadError(f"connection closed before the end of the head: {buffer!r}")
        buffer += data
    head, _, _ = buffer.partition(b"\r\n\r\n")
    return head + b"\r\n\r\n"


class RawStreamServer:
    """Serve the same scripted response to every request, on 127.0.0.1 and a free port.

    Each connection gets `head` then each write of `writes` after its pause, then the
    socket is closed. TCP_NODELAY is set so every write leaves at once as its own segment.
    Use it as a context manager: leaving the block stops the server and joins its threads.
    """

    def __init__(
        self,
        writes: Sequence[Write],
        *,
        headers: Sequence[tuple[str, str]] = (("Transfer-Encoding", "chunked"),),
        status: str = "200 OK",
    ) -> None:
        self.head = response_head(status, [*headers, ("Connection", "close")])
        self.writes = list(writes)
        self.request_heads: list[bytes] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._listener: socket.socket | None = None
        self._threads: list[threading.Thread] = []

    @property
    def port(self) -> int:
        if self._listener is None:
            raise RuntimeError("the server is not running: use it in a `with` block")
        return self._listener.getsockname()[1]

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> RawStreamServer:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.settimeout(0.05)
        self._listener = listener
        self._start_thread(self._accept_loop)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        accept_thread, *_ = self._threads
        accept_thread.join(timeout=5)  # after this no new connection thread can start
        for thread in self._threads:
            thread.join(timeout=5)
        if self._listener is not None:
            self._listener.close()

    def _start_thread(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._start_thread(self._serve, conn)

    def _serve(self, conn: socket.socket) -> None:
        """Answer one connection; a client that hangs up early is recorded, not raised."""
        with conn:
            conn.settimeout(5)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                self.request_heads.append(read_request_head(conn))
                conn.sendall(self.head)
                for pause, data in self.writes:
                    if self._stop.wait(pause):
                        return
                    conn.sendall(data)
            except (OSError, RequestHeadError) as error:
                self.errors.append(f"{type(error).__name__}: {error}")

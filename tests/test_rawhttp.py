"""The raw-socket server writes exactly the scripted bytes, records bad requests, stops cleanly."""

from __future__ import annotations

import socket
import threading

import httpx
import pytest

from helpers.rawhttp import RawStreamServer, RequestHeadError, read_request_head, response_head


def read_all(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        received = b""
        while data := sock.recv(4096):
            received += data
    return received


def test_response_head_ends_with_blank_line():
    head = response_head("200 OK", [("Content-Type", "text/plain")])
    assert head == b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n"


def test_server_writes_exactly_the_scripted_bytes():
    writes = [(0.0, b"3\r\nabc\r\n"), (0.01, b"0\r\n\r\n")]
    with RawStreamServer(writes) as server:
        received = read_all(server.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"Transfer-Encoding: chunked" in head
    assert body == b"3\r\nabc\r\n0\r\n\r\n"


def test_request_head_sent_in_pieces_is_reassembled():
    with (
        RawStreamServer([(0.0, b"0\r\n\r\n")]) as server,
        socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock,
    ):
        for piece in (b"GET /x HT", b"TP/1.1\r\nHo", b"st: y\r\n", b"\r\n"):
            sock.sendall(piece)
        while sock.recv(4096):
            pass
    assert server.request_heads == [b"GET /x HTTP/1.1\r\nHost: y\r\n\r\n"]


def test_httpx_reads_the_scripted_chunks():
    writes = [(0.0, b"5\r\nHello\r\n"), (0.01, b"6\r\n world\r\n"), (0.0, b"0\r\n\r\n")]
    with RawStreamServer(writes) as server, httpx.stream("GET", server.url("/")) as response:
        assert b"".join(response.iter_raw()) == b"Hello world"


def test_client_hanging_up_mid_head_is_recorded_not_raised():
    with RawStreamServer([]) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\n")
        # Connections are accepted in order, so once this second one is answered the first
        # has been accepted too; leaving the block then joins its thread.
        read_all(server.port, b"GET / HTTP/1.1\r\n\r\n")
    assert len(server.errors) == 1
    assert "RequestHeadError" in server.errors[0]
    assert "GET / HTTP/1.1" in server.errors[0]


def test_read_request_head_refuses_an_endless_head():
    left, right = socket.socketpair()
    with left, right:
        sender = threading.Thread(target=lambda: right.sendall(b"X" * 70000))
        sender.start()
        with pytest.raises(RequestHeadError, match="longer than"):
            read_request_head(left)
        sender.join()


def test_port_outside_with_block_is_a_clear_error():
    server = RawStreamServer([])
    with pytest.raises(RuntimeError, match="with"):
        _ = server.port


def test_stop_interrupts_a_long_pause_and_joins_threads():
    before = threading.active_count()
    with (
        RawStreamServer([(60.0, b"never")]) as server,
        socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock,
    ):
        sock.sendall(b"GET / HTTP/1.1\r\n\r\n")
        sock.recv(4096)  # the head arrives; the body write is 60 s away
    assert threading.active_count() == before

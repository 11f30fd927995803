"""helpers.h2frames against a real nginx speaking HTTP/2 (h2c) in front of the kit's server.

Compared on frames and reads, never on seconds: over HTTP/2 each delta travels in its own DATA
frame (no chunk-size lines anywhere), and the same port still speaks HTTP/1.1.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from helpers.h2frames import _hpack_int, h2c_post, split_frames
from helpers.proxy import NginxProxy
from helpers.reads import timed_reads
from helpers.server import LocalServer

DELTA = "response.output_text.delta"
REQUEST = {
    "model": "kit-sim-1",
    "input": "Why stream?",
    "stream": True,
    "max_output_tokens": 30,
    "simulation": {"ttft": 0.1, "tokens_per_second": 40, "jitter": 0},
}


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with LocalServer() as srv:
        yield srv


def test_hpack_integers_match_rfc_7541_examples() -> None:
    assert _hpack_int(10, 5) == bytes([10])  # C.1.1
    assert _hpack_int(1337, 5) == bytes([31, 154, 10])  # C.1.2
    assert _hpack_int(42, 8) == bytes([42])  # C.1.3


def test_split_frames_keeps_a_partial_frame_for_later() -> None:
    whole = b"\x00\x00\x03\x00\x00\x00\x00\x00\x01abc"
    frames, rest = split_frames(whole + whole[:5])
    assert frames == [(0, 0, 1, b"abc")] and rest == whole[:5]


def test_a_stream_through_nginx_over_http2_is_data_frames(server: LocalServer) -> None:
    with NginxProxy(server.base_url, http2=True) as proxy:
        timeline = h2c_post(proxy.base_url + "/responses", REQUEST)
        plain = timed_reads(proxy.base_url + "/responses", REQUEST)  # same port, HTTP/1.1
    assert timeline.status == 200
    per_frame = timeline.events_per_frame()
    assert sum(events.count(DELTA) for events in per_frame) == 30
    # Spread over many DATA frames (one per delta unless the machine is slow enough for nginx
    # to read two at once), and every frame holds SSE text only: no chunk-size line anywhere.
    assert sum(1 for events in per_frame if DELTA in events) > 2
    assert all(f.payload.startswith(b"event: ") for f in timeline.data if f.payload)
    assert timeline.data[-1].flags & 0x1  # END_STREAM ends the body, not a zero chunk
    assert "POST /v1/responses HTTP/2.0 200" in proxy.access_log
    assert plain.status == 200 and len(plain.reads_with(DELTA)) > 2
    assert "POST /v1/responses HTTP/1.1 200" in proxy.access_log

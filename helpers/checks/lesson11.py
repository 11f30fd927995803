"""Checks for lesson 11's exercises (streaming through the real web: nginx, heartbeats, fetch()).

Each check returns the line the notebook prints (helpers.checks says why it never raises).
Exercise 1 is checked by running nginx with the learner's block, not by reading it.
"""

from __future__ import annotations

from collections.abc import Callable

from helpers.checks import call, failed, passed, with_args
from helpers.proxy import NginxConfigError, NginxMissing, NginxProxy
from helpers.reads import streamed_request, timed_reads
from helpers.sse import SSEDecoder

DELTA = "response.output_text.delta"
TOKENS = 24
# What the operations team insists on keeping in the block (exercise 1).
REQUIRED = ("gzip on;", "gzip_types text/event-stream;", "proxy_ignore_headers X-Accel-Buffering;")


# --------------------------------------------------------------------------- exercise 1


def check_exercise_1(streaming_location: Callable[[], str], upstream: str) -> str:
    """Exercise 1: a location block that keeps the team's gzip lines and still streams."""
    block, error = call(1, streaming_location)
    if error:
        return error
    if not isinstance(block, str):
        return failed(1, f"streaming_location() should return the block as a str, got {block!r}")
    missing = [line for line in REQUIRED if line not in block]
    if missing:
        return failed(1, f"the team's line {missing[0]!r} must stay in the block")
    try:
        with NginxProxy(upstream, location=block) as proxy:
            url = proxy.base_url + "/responses"
            timeline = timed_reads(url, streamed_request(TOKENS), gzip=True)
    except (NginxConfigError, NginxMissing) as refusal:
        return failed(1, f"nginx refused it: {refusal}")
    if timeline.status != 200 or len(timeline.arrivals(DELTA)) != TOKENS:
        return failed(
            1,
            f"through your block the answer did not arrive whole "
            f"(status {timeline.status}, {len(timeline.arrivals(DELTA))} deltas)",
        )
    reads = len(timeline.reads_with(DELTA))
    if reads < TOKENS // 3:
        return failed(1, f"all {TOKENS} deltas arrived in {reads} read(s): nginx still buffers")
    return passed(1)


# --------------------------------------------------------------------------- exercise 2

# proxy idle timeout (s) -> the interval must leave room for one late heartbeat
TIMEOUTS = (60.0, 100.0, 30.0, 1.0)


def check_exercise_2(heartbeat_interval: Callable[[float], float], upstream: str) -> str:
    """Exercise 2: an interval under half the timeout (one lost beat survives), not wasteful."""
    for timeout in TIMEOUTS:
        interval, error = call(2, heartbeat_interval, timeout, show_call=with_args)
        if error:
            return error
        if not isinstance(interval, (int, float)) or isinstance(interval, bool):
            return failed(
                2, f"heartbeat_interval({timeout}) should return seconds, got {interval!r}"
            )
        if interval >= timeout / 2:  # one lost beat leaves a gap of twice the interval
            return failed(
                2,
                f"heartbeat_interval({timeout}) = {interval}: one late or lost "
                f"heartbeat would let the {timeout} s timeout fire; use less than half",
            )
        if interval < timeout / 10:
            return failed(
                2,
                f"heartbeat_interval({timeout}) = {interval}: more than ten "
                "heartbeats per timeout is bytes and wake-ups for nothing",
            )
    try:
        with NginxProxy(upstream, read_timeout=1.0) as proxy:
            request = streamed_request(TOKENS, ttft=2.5, heartbeat=heartbeat_interval(1.0))
            timeline = timed_reads(proxy.base_url + "/responses", request)
    except (NginxConfigError, NginxMissing) as refusal:
        return failed(2, f"could not run nginx: {refusal}")
    if not timeline.complete:
        return failed(2, "through nginx with a 1 s timeout, a 2.5 s first token was still cut")
    return passed(2)


# --------------------------------------------------------------------------- exercise 3

# How a fetch() body can be cut into reads: anywhere, even inside a UTF-8 character.
CUTS = {"one read": 0, "reads of 1 byte": 1, "reads of 7 bytes": 7, "reads of 64 bytes": 64}


def _cut(body: bytes, size: int) -> list[bytes]:
    return [body] if size == 0 else [body[i : i + size] for i in range(0, len(body), size)]


def check_exercise_3(text_from_reads: Callable[[list[bytes]], str], upstream: str) -> str:
    """Exercise 3: the answer text from a stream's reads, however they are cut."""
    timeline = timed_reads(upstream + "/responses", {**streamed_request(TOKENS), "input": "haiku"})
    # A heartbeat between two events: a comment every reader must skip.
    body = timeline.body.replace(b"\n\n", b"\n\n: keep-alive\n\n", 1)
    expected = "".join(e.json()["delta"] for e in SSEDecoder().feed(body) if e.event == DELTA)
    if "—" not in expected:  # pragma: no cover - the simulated haiku has an em dash
        return failed(3, "the check's answer lost its non-ASCII character; tell the kit's authors")
    for label, size in CUTS.items():
        text, error = call(3, text_from_reads, _cut(body, size))
        if error:
            return error if size == 0 else f"{error} (with {label})"
        if text != expected:
            return failed(3, f"with {label}: got {text!r}, expected {expected!r}")
    return passed(3)

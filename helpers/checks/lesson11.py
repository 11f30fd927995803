"""Checks for lesson 11's exercises (streaming through the real web: nginx, heartbeats, fetch()).

Each check returns the line the notebook prints (helpers.checks says why it never raises).
Exercise 1 is checked by running nginx with the learner's block (and by finding the team's three
lines in it as nginx reads them, comments left out); exercise 2 (async) feeds the learner's
heartbeat wrapper a stream with quiet gaps; exercise 3 hands the learner's generator one read at a
time, looks at what it yielded before each next read, and wants ConnectionError from a body that
ended before a terminal event (a cut a proxy passed on as a clean end).
"""

from __future__ import annotations

import asyncio
import itertools
import re
import statistics
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import Any

from helpers.checks import call, failed, failed_with, passed
from helpers.proxy import NginxConfigError, NginxMissing, NginxProxy
from helpers.reads import streamed_request, timed_reads
from helpers.sse import SSEDecoder

DELTA = "response.output_text.delta"
TOKENS = 24
# What the operations team insists on keeping in the block (exercise 1), as nginx reads it: a
# directive and one value it must have (more values, other spacing or quotes are fine).
REQUIRED = ("gzip on;", "gzip_types text/event-stream;", "proxy_ignore_headers X-Accel-Buffering;")
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|#[^\n]*|[;{}]|[^\s;{}"\'#]+')


def directives(block: str) -> list[tuple[str, list[str]]]:
    """(name, values) of each directive in an nginx block, comments left out, quotes removed."""
    found: list[tuple[str, list[str]]] = []
    words: list[str] = []
    for token in _TOKEN.findall(block):
        if token.startswith("#"):
            continue  # a comment: nginx does not see it
        if token in {";", "{", "}"}:
            if words:
                found.append((words[0], words[1:]))
            words = []
        else:
            words.append(token[1:-1] if token[:1] in {'"', "'"} else token)
    return found


def _missing_line(block: str) -> str | None:
    """The first of the team's lines that nginx would not find in `block`."""
    seen = directives(block)
    for line in REQUIRED:
        name, value = line.rstrip(";").split()
        if not any(n == name and value.lower() in map(str.lower, v) for n, v in seen):
            return line
    return None


# --------------------------------------------------------------------------- exercise 1


def check_exercise_1(streaming_location: Callable[[], str], upstream: str) -> str:
    """Exercise 1: a location block that keeps the team's gzip lines, compresses, and streams."""
    block, error = call(1, streaming_location)
    if error:
        return error
    if not isinstance(block, str):
        return failed(1, f"streaming_location() should return the block as a str, got {block!r}")
    missing = _missing_line(block)
    if missing:
        return failed(1, f"the team's line {missing!r} must stay in the block (not as a comment)")
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
    if timeline.headers.get("content-encoding") != "gzip":
        return failed(
            1,
            "the stream came through uncompressed: the team wants gzip for event streams, "
            "so keep compression working and stop the buffering instead",
        )
    reads = len(timeline.reads_with(DELTA))
    if reads < TOKENS // 3:
        return failed(1, f"all {TOKENS} deltas arrived in {reads} read(s): nginx still buffers")
    return passed(1)


# --------------------------------------------------------------------------- exercise 2

HEARTBEAT_INTERVAL = 0.2  # seconds of quiet before a heartbeat, in the check's run
FIRST_GAP, PAUSE, FAST_GAP, FAST_FRAMES = 0.9, 0.7, 0.03, 16


def _frame(n: int) -> bytes:
    return f'event: delta\ndata: {{"n": {n}}}\n\n'.encode()


def _schedule() -> list[float]:
    """Seconds of quiet before each frame: a slow first token, a fast run, a pause, a fast run."""
    fast = [FAST_GAP] * (FAST_FRAMES - 1)
    return [FIRST_GAP, *fast, PAUSE, *fast]


async def _frames(schedule: list[float], made: list[float]) -> AsyncIterator[bytes]:
    """The frames after their quiet gaps; `made` gets the time each was ready."""
    for n, quiet in enumerate(schedule):
        await asyncio.sleep(quiet)
        made.append(time.monotonic())
        yield _frame(n)


def _is_comment(item: bytes) -> bool:
    lines = item.split(b"\n")
    return item.endswith(b"\n") and all(line.startswith(b":") for line in lines[:-1] if line)


async def check_exercise_2(with_heartbeats: Callable[..., AsyncIterator[bytes]]) -> str:
    """Exercise 2: frames pass unchanged; a comment whenever `interval` s passed in silence."""
    schedule = _schedule()
    expected = [_frame(n) for n in range(len(schedule))]
    out: list[tuple[float, bytes]] = []
    made: list[float] = []
    started = time.monotonic()
    try:
        stream = with_heartbeats(_frames(schedule, made), HEARTBEAT_INTERVAL)
        if not hasattr(stream, "__anext__"):
            return failed(2, f"with_heartbeats(...) should be an async generator, got {stream!r}")
        async for item in stream:
            out.append((time.monotonic() - started, item))
            if len(out) > 10 * len(schedule):
                return failed(2, "with_heartbeats(...) kept yielding long after the frames ended")
    except Exception as error:  # a crash in the learner's code becomes the verdict
        return failed_with(2, error, "with_heartbeats(...)")
    ended = time.monotonic() - started
    if any(not isinstance(item, bytes) for _, item in out):
        wrong = next(item for _, item in out if not isinstance(item, bytes))
        return failed(2, f"yield bytes, as a server writes them; got {wrong!r}")
    frames = [item for _, item in out if item in expected]
    beats = [(t, item) for t, item in out if item not in expected]
    if frames != expected:
        return failed(
            2,
            f"{len(frames)} of the {len(expected)} frames came out, in this order: "
            f"{[expected.index(f) for f in frames][:12]}; every frame must pass, once, in order "
            "(asyncio.wait_for cancels a pending read on timeout, and a cancelled async "
            "generator is closed)",
        )
    not_comment = [item for _, item in beats if not _is_comment(item)]
    if not_comment:
        return failed(2, f"{not_comment[0]!r} is not an SSE comment: a reader would see it")
    whole = b"".join(item for _, item in out)
    if [e.data for e in SSEDecoder().feed(whole)] != [
        f.split(b"data: ")[1][:-2].decode() for f in expected
    ]:
        return failed(2, "your heartbeats changed what a reader decodes: end each with a newline")
    index = [i for i, (_, item) in enumerate(out) if item in expected]
    # Held frames: a wrapper that sleeps `interval` and then looks delays every token by up to that.
    delays = [out[i][0] - (made[n] - started) for n, i in enumerate(index)]
    if statistics.median(delays) > HEARTBEAT_INTERVAL / 4:
        return failed(
            2,
            f"frames reached the reader a median {statistics.median(delays):.2f} s after they were "
            "ready: pass each frame on as soon as it arrives (wait for the frame, not for a clock)",
        )
    before_first = index[0]
    pause = index[FAST_FRAMES] - index[FAST_FRAMES - 1] - 1
    in_fast_runs = sum(b - a - 1 for a, b in itertools.pairwise(index)) - pause
    if before_first < 2:
        return failed(
            2,
            f"{before_first} heartbeat(s) during the {FIRST_GAP} s before the first frame "
            f"(interval {HEARTBEAT_INTERVAL} s): a proxy's idle timer would run out",
        )
    if pause < 2:
        return failed(
            2,
            f"{pause} heartbeat(s) during a {PAUSE} s pause in the middle of the answer "
            f"(interval {HEARTBEAT_INTERVAL} s): quiet can come after the first token too",
        )
    if in_fast_runs > 2:  # one or two may come from a busy machine
        return failed(
            2,
            f"{in_fast_runs} heartbeats while frames came every {FAST_GAP} s: send one only "
            f"after {HEARTBEAT_INTERVAL} s with nothing sent",
        )
    last_frame = out[index[-1]][0]
    if ended - last_frame > HEARTBEAT_INTERVAL + 0.5:
        return failed(2, f"the wrapper ended {ended - last_frame:.1f} s after the last frame")
    return passed(2)


# --------------------------------------------------------------------------- exercise 3

# How a fetch() body can be cut into reads: anywhere, even inside a UTF-8 character.
CUTS = {"one read": 0, "reads of 1 byte": 1, "reads of 7 bytes": 7, "reads of 64 bytes": 64}
# The events after which a Responses stream has ended properly (lesson 3).
TERMINAL = ("response.completed", "response.incomplete", "response.failed")
CUT_AFTER = 8  # deltas before the cut a proxy turns into a clean end


def _cut(body: bytes, size: int) -> list[bytes]:
    return [body] if size == 0 else [body[i : i + size] for i in range(0, len(body), size)]


def _delta_ends(body: bytes) -> list[tuple[int, str]]:
    """(byte offset just after the event's blank line, its delta text) for each delta event."""
    ends, offset = [], 0
    for block in body.split(b"\n\n")[:-1]:
        offset += len(block) + 2
        events = SSEDecoder().feed(block + b"\n\n")
        ends += [(offset, e.json()["delta"]) for e in events if e.event == DELTA]
    return ends


def _one_cut(
    text_from_reads: Callable[[Iterable[bytes]], Iterator[str]],
    body: bytes,
    size: int,
    label: str,
    *,
    cut: bool = False,
) -> str | None:
    """None if right for this body and cut; else the failure message. `cut`: the body ended
    without a terminal event, so the learner must raise ConnectionError after the last piece."""
    reads, ends, out, late = _cut(body, size), _delta_ends(body), [], []
    expected = "".join(text for _, text in ends)
    raised: Exception | None = None

    def source() -> Iterator[bytes]:
        offset = 0
        for number, read in enumerate(reads):
            due = "".join(text for end, text in ends if end <= offset)
            if not late and len("".join(out)) < len(due):
                late.append((number, due[len("".join(out)) :]))
            yield read
            offset += len(read)

    try:
        pieces = text_from_reads(source())
        if isinstance(pieces, (str, bytes)) or not hasattr(pieces, "__next__"):
            return failed(
                3,
                f"text_from_reads(...) should yield pieces (a generator), got "
                f"{type(pieces).__name__} {pieces!r:.60}",
            )
        for piece in pieces:
            if not isinstance(piece, str):
                return failed(3, f"yield str pieces of the answer, got {piece!r}")
            out.append(piece)
    except ConnectionError as error:
        raised = error
    except Exception as error:  # a crash in the learner's code becomes the verdict
        message = failed_with(3, error, "text_from_reads(...)")
        if isinstance(error, NotImplementedError):
            return message
        if cut:
            return f"{message} (with {label}): raise ConnectionError for a cut answer"
        return f"{message} (with {label})"
    text = "".join(out)
    if text != expected:
        return failed(3, f"with {label}: got {text!r}, expected {expected!r}")
    if late:
        number, missing = late[0]
        return failed(
            3,
            f"with {label}: after {number} reads the event(s) carrying {missing[:30]!r} were "
            "complete but not yet yielded; yield each piece as soon as its blank line arrives",
        )
    if cut and raised is None:
        return failed(
            3,
            f"with {label}: no terminal event came and your generator just stopped, as if "
            "the answer were whole; raise ConnectionError after the last piece",
        )
    if not cut and raised is not None:
        last = body.rstrip().rsplit(b"event: ", 1)[-1].split(b"\n", 1)[0].decode()
        return failed(
            3,
            f"with {label}: you raised {type(raised).__name__} ({raised}), but the stream ended "
            f"with {last}, a terminal event: the answer ended properly",
        )
    return None


def check_exercise_3(text_from_reads: Callable[..., Any], upstream: str) -> str:
    """Exercise 3: yield the answer's text from reads cut anywhere, each piece without delay,
    and raise ConnectionError when the body ended before a terminal event."""
    url = upstream + "/responses"
    timeline = timed_reads(url, {**streamed_request(TOKENS), "input": "haiku"})
    # A heartbeat between two events: a comment every reader must skip.
    body = timeline.body.replace(b"\n\n", b"\n\n: keep-alive\n\n", 1)
    expected = "".join(text for _, text in _delta_ends(body))
    if "—" not in expected:  # pragma: no cover - the simulated haiku has an em dash
        return failed(3, "the check's answer lost its non-ASCII character; tell the kit's authors")
    for label, size in CUTS.items():
        message = _one_cut(text_from_reads, body, size, label)
        if message:
            return message
    # Cut short by max_output_tokens: response.incomplete is a terminal event, the stream is whole.
    short = timed_reads(url, {**streamed_request(16), "input": "haiku"}).body
    label = "a stream that ends with response.incomplete, in reads of 7 bytes"
    message = _one_cut(text_from_reads, short, 7, label)
    if message:
        return message
    # Cut by the server, ended cleanly by a proxy as jupyter-server-proxy does (its error text
    # appended), and cut in the middle of an event with nothing after it.
    after = _delta_ends(body)[CUT_AFTER - 1][0]
    cuts = {
        f"a body cut after {CUT_AFTER} deltas, ended cleanly by a proxy": (
            body[:after] + b"Connection closed"
        ),
        f"a body cut inside the event after delta {CUT_AFTER}": body[: after + 20],
    }
    for label, cut_body in cuts.items():
        message = _one_cut(text_from_reads, cut_body, 7, f"{label}, in reads of 7 bytes", cut=True)
        if message:
            return message
    return passed(3)

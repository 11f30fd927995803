"""Lesson 11's checks pass the reference solutions and fail the stubs and plausible mistakes."""

from __future__ import annotations

import asyncio
import codecs
import json
from collections.abc import AsyncIterator, Iterable, Iterator

import pytest
from check_helpers import assert_fails, assert_passes, solution_fixture, stub

from helpers.checks import lesson11
from helpers.proxy import location_block
from helpers.server import LocalServer

solution = solution_fixture("lesson11")


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    with LocalServer() as server:
        yield server.base_url


@pytest.mark.parametrize("number", [1, 3])
def test_stubs_fail(number: int, upstream: str) -> None:
    message = getattr(lesson11, f"check_exercise_{number}")(stub, upstream)
    assert_fails(message, number, "NotImplementedError")


def test_exercise_2_stub_fails() -> None:
    assert_fails(asyncio.run(lesson11.check_exercise_2(stub)), 2, "NotImplementedError")


def test_exercise_1_passes_reference(solution, upstream: str) -> None:
    assert_passes(lesson11.check_exercise_1(solution.streaming_location, upstream), 1)


def test_exercise_1_fails_the_buffering_block(upstream: str) -> None:
    """The team's lines alone: nginx holds the whole answer back (found by running it)."""
    block = location_block(gzip=True, honour_accel_buffering=False)
    assert_fails(lesson11.check_exercise_1(lambda: block, upstream), 1, "nginx still buffers")


def test_exercise_1_fails_when_the_teams_lines_are_dropped(upstream: str) -> None:
    block = location_block()  # streams, but by deleting what the team asked for
    message = lesson11.check_exercise_1(lambda: block, upstream)
    assert_fails(message, 1, "'gzip on;' must stay")


def test_exercise_1_reports_nginxs_own_error(solution, upstream: str) -> None:
    block = solution.streaming_location().replace(
        "proxy_buffering off;", "proxy_buffering perhaps;"
    )
    message = lesson11.check_exercise_1(lambda: block, upstream)
    assert_fails(message, 1, "nginx refused it", 'invalid value "perhaps"')


def test_exercise_1_fails_a_block_that_keeps_the_lines_as_comments(solution, upstream: str) -> None:
    """The team's line is "kept", commented out: it would stream, but nothing is compressed."""
    block = solution.streaming_location().replace("gzip on;", "# gzip on;")
    assert_fails(lesson11.check_exercise_1(lambda: block, upstream), 1, "'gzip on;' must stay")


def test_exercise_1_fails_a_block_that_compresses_nothing(upstream: str) -> None:
    """The team's lines are all there, but a nested location for the API turns gzip off: the
    stream flows, uncompressed. (`gzip_min_length` would not do it: it reads Content-Length,
    which a stream does not have.)"""
    block = location_block(gzip=True, honour_accel_buffering=False)
    block += "location /v1/ { proxy_pass http://kit_upstream; gzip off; }"
    assert_fails(lesson11.check_exercise_1(lambda: block, upstream), 1, "uncompressed")


def test_exercise_1_fails_when_the_ignored_header_is_commented_out(upstream: str) -> None:
    """Streams gzipped, but only because the header is honoured again: the team's line is gone."""
    block = "\n".join(
        ["proxy_pass http://kit_upstream;", "# proxy_ignore_headers X-Accel-Buffering;",
         "gzip on;", "gzip_types text/event-stream;"]
    )  # fmt: skip
    message = lesson11.check_exercise_1(lambda: block, upstream)
    assert_fails(message, 1, "'proxy_ignore_headers X-Accel-Buffering;' must stay", "comment")


def test_exercise_1_fails_a_header_added_for_the_browser(upstream: str) -> None:
    """add_header sends X-Accel-Buffering to the client; nginx's own buffering never reads it."""
    block = location_block(gzip=True, honour_accel_buffering=False)
    block += "add_header X-Accel-Buffering no;"
    assert_fails(lesson11.check_exercise_1(lambda: block, upstream), 1, "nginx still buffers")


@pytest.mark.parametrize(
    "lines",
    [
        ["gzip  on;", "gzip_types text/event-stream application/json;"],
        ["gzip on;", 'gzip_types "text/event-stream";'],
    ],
    ids=["spacing-and-more-types", "quoted"],
)
def test_exercise_1_passes_the_teams_lines_written_differently(lines, upstream: str) -> None:
    """nginx reads these as the team's lines (and the ignored header with a second one): pass."""
    block = "\n".join(
        ["proxy_pass http://kit_upstream;", "proxy_buffering off;",
         "proxy_ignore_headers X-Accel-Buffering X-Accel-Expires;", *lines]
    )  # fmt: skip
    assert_passes(lesson11.check_exercise_1(lambda: block, upstream), 1)


def test_exercise_1_passes_a_shorter_block(upstream: str) -> None:
    """No upstream keep-alive lines: nginx speaks HTTP/1.0 to the server, and it still streams."""
    block = "\n".join(
        ["proxy_pass http://kit_upstream;", "proxy_buffering off;", *lesson11.REQUIRED]
    )
    assert_passes(lesson11.check_exercise_1(lambda: block, upstream), 1)


# --------------------------------------------------------------------------- exercise 2


def run2(learner) -> str:
    return asyncio.run(lesson11.check_exercise_2(learner))


def test_exercise_2_passes_reference(solution) -> None:
    assert_passes(run2(solution.with_heartbeats), 2)


async def queue_pump(frames: AsyncIterator[bytes], interval: float) -> AsyncIterator[bytes]:
    """Another right answer: a task moves frames into a queue; waiting on the queue may time out
    safely, because a cancelled Queue.get() loses nothing."""
    queue: asyncio.Queue = asyncio.Queue()

    async def pump() -> None:
        async for frame in frames:
            await queue.put(frame)
        await queue.put(None)

    task = asyncio.create_task(pump())
    try:
        while True:
            try:
                frame = await asyncio.wait_for(queue.get(), interval)
            except TimeoutError:
                yield b":\n\n"  # an empty comment is a comment too
                continue
            if frame is None:
                return
            yield frame
    finally:
        task.cancel()


async def shielded(frames: AsyncIterator[bytes], interval: float) -> AsyncIterator[bytes]:
    """A third: asyncio.shield keeps the read alive when wait_for gives up on it."""
    pending = asyncio.ensure_future(anext(frames, None))
    while True:
        try:
            frame = await asyncio.wait_for(asyncio.shield(pending), interval)
        except TimeoutError:
            yield b": still thinking\n"
            continue
        if frame is None:
            return
        yield frame
        pending = asyncio.ensure_future(anext(frames, None))


@pytest.mark.parametrize("learner", [queue_pump, shielded], ids=["queue", "shield"])
def test_exercise_2_passes_other_right_answers(learner) -> None:
    assert_passes(run2(learner), 2)


async def wait_for_the_next_frame(frames, interval):
    """The classic mistake: the timeout cancels the pending read, which closes the generator."""
    while True:
        try:
            frame = await asyncio.wait_for(anext(frames), interval)
        except TimeoutError:
            yield b": keep-alive\n\n"
            continue
        except StopAsyncIteration:
            return
        yield frame


async def only_before_the_first_frame(frames, interval):
    """Heartbeats for a slow first token only; a pause later in the answer gets none."""
    first = asyncio.ensure_future(anext(frames))
    while not first.done():
        done, _ = await asyncio.wait({first}, timeout=interval)
        if not done:
            yield b": keep-alive\n\n"
    yield first.result()
    async for frame in frames:
        yield frame


async def on_a_clock(frames, interval):
    """A heartbeat every `interval` seconds whatever happens, frames or not."""
    pending = asyncio.ensure_future(anext(frames, None))
    clock = asyncio.ensure_future(asyncio.sleep(interval))
    while True:
        done, _ = await asyncio.wait({pending, clock}, return_when=asyncio.FIRST_COMPLETED)
        if clock in done:
            yield b": keep-alive\n\n"
            clock = asyncio.ensure_future(asyncio.sleep(interval))
        if pending in done:
            frame = pending.result()
            if frame is None:
                clock.cancel()
                return
            yield frame
            pending = asyncio.ensure_future(anext(frames, None))


async def on_a_poll(frames, interval):
    """Sleeps `interval`, then looks: heartbeats right, but every frame waits up to `interval`."""
    pending = asyncio.ensure_future(anext(frames, None))
    while True:
        await asyncio.sleep(interval)
        if not pending.done():
            yield b": keep-alive\n\n"
            continue
        frame = pending.result()
        if frame is None:
            return
        yield frame
        pending = asyncio.ensure_future(anext(frames, None))


async def once_per_silence(frames, interval):
    """One heartbeat per quiet stretch, however long it lasts."""
    pending = asyncio.ensure_future(anext(frames, None))
    while True:
        done, _ = await asyncio.wait({pending}, timeout=interval)
        if not done:
            yield b": keep-alive\n\n"
            await pending
        frame = pending.result()
        if frame is None:
            return
        yield frame
        pending = asyncio.ensure_future(anext(frames, None))


async def no_newline(frames, interval):
    """A comment without its newline glues itself to the next frame's first line."""
    async for frame in shielded(frames, interval):
        yield b": keep-alive" if frame.startswith(b":") else frame


@pytest.mark.parametrize(
    ("learner", "fragment"),
    [
        (wait_for_the_next_frame, "0 of the 32 frames came out"),
        (only_before_the_first_frame, "pause in the middle of the answer"),
        (on_a_clock, "heartbeats while frames came every"),
        (no_newline, "is not an SSE comment"),
        (on_a_poll, "after they were ready"),
        (once_per_silence, "heartbeat(s) during the 0.9 s before the first frame"),
    ],
    ids=["wait-for-cancels", "first-token-only", "on-a-clock", "no-newline", "on-a-poll", "once"],
)
def test_exercise_2_fails_mistakes(learner, fragment: str) -> None:
    assert_fails(run2(learner), 2, fragment)


# --------------------------------------------------------------------------- exercise 3


def test_exercise_3_passes_reference(solution, upstream: str) -> None:
    assert_passes(lesson11.check_exercise_3(solution.text_from_reads, upstream), 3)


TERMINAL = ("response.completed", "response.incomplete", "response.failed")


def split_bytes_first(reads: Iterable[bytes], *, check_the_end: bool = True) -> Iterator[str]:
    """A better answer: split the bytes at blank lines and decode whole events only. A blank
    line never falls inside a UTF-8 character, so no incremental decoder is needed."""
    pending, last = b"", None
    for read in reads:
        pending += read
        *blocks, pending = pending.split(b"\n\n")
        for block in blocks:
            for line in block.decode("utf-8").split("\n"):
                if line.startswith("data: "):
                    event = json.loads(line[6:])
                    last = event["type"]
                    if last == "response.output_text.delta":
                        yield event["delta"]
    if check_the_end and last not in TERMINAL:
        raise ConnectionResetError(f"stream ended after {last}")  # a ConnectionError too


class CutStream(ConnectionError):
    """A learner's own exception class, under ConnectionError."""


def with_the_kits_decoder(reads: Iterable[bytes]) -> Iterator[str]:
    """Another: helpers.sse's decoder fed read by read (it keeps partial events and characters)."""
    from helpers.sse import SSEDecoder

    decoder, ended = SSEDecoder(), False
    for read in reads:
        for event in decoder.feed(read):
            if event.event == "response.output_text.delta":
                yield event.json()["delta"]
            ended = ended or event.event in TERMINAL
    if not ended:
        raise CutStream("no terminal event")


@pytest.mark.parametrize(
    "learner", [split_bytes_first, with_the_kits_decoder], ids=["bytes-split", "helpers.sse"]
)
def test_exercise_3_passes_other_right_answers(learner, upstream: str) -> None:
    assert_passes(lesson11.check_exercise_3(learner, upstream), 3)


def never_checks_the_end(reads: Iterable[bytes]) -> Iterator[str]:
    """Every piece on time, but a body that stopped early ends as quietly as a whole one."""
    yield from split_bytes_first(reads, check_the_end=False)


def completed_only(reads: Iterable[bytes]) -> Iterator[str]:
    """Takes only response.completed as an ending: a max_output_tokens stream "was cut"."""
    from helpers.sse import SSEDecoder

    decoder, last = SSEDecoder(), None
    for read in reads:
        for event in decoder.feed(read):
            last = event.event
            if event.event == "response.output_text.delta":
                yield event.json()["delta"]
    if last != "response.completed":
        raise ConnectionError(f"stream ended after {last}")


def raises_value_error(reads: Iterable[bytes]) -> Iterator[str]:
    """Right moment, wrong exception: a cut connection is not a bad value."""
    try:
        yield from split_bytes_first(reads)
    except ConnectionError as error:
        raise ValueError(str(error)) from None


def raises_before_the_last_pieces(reads: Iterable[bytes]) -> Iterator[str]:
    """Looks for the ending first: collects everything, then raises without showing the text."""
    reads = list(reads)
    body = b"".join(reads)
    if b"event: response.completed" not in body and b"event: response.incomplete" not in body:
        raise ConnectionError("cut")
    yield from split_bytes_first(reads)


def join_then_split(reads: Iterable[bytes]) -> Iterator[str]:
    """Right text, wrong time: it reads the whole body before the first word is shown."""
    yield from split_bytes_first([b"".join(reads)])


def decode_each_read(reads: Iterable[bytes]) -> Iterator[str]:
    """The classic mistake: each read decoded on its own (a cut character raises)."""
    pending = ""
    for read in reads:
        pending += read.decode()
        *blocks, pending = pending.split("\n\n")
        for block in blocks:
            if block.startswith("event: response.output_text.delta"):
                yield json.loads(block.split("data: ", 1)[1])["delta"]


def each_read_is_an_event(reads: Iterable[bytes]) -> Iterator[str]:
    """Trusting that one read is one event (true only when nothing buffers)."""
    for read in reads:
        for line in read.decode("utf-8", "replace").split("\n"):
            if line.startswith("data: ") and '"response.output_text.delta"' in line:
                yield json.loads(line[6:])["delta"]


def one_event_late(reads: Iterable[bytes]) -> Iterator[str]:
    """Waits for the next event to begin before handing on the one before it."""
    decoder, pending = codecs.getincrementaldecoder("utf-8")(), ""
    for read in reads:
        pending += decoder.decode(read)
        *blocks, pending = pending.split("\n\nevent: ")
        for block in blocks:
            if block.split("\n", 1)[0].endswith("response.output_text.delta"):
                yield json.loads(block.split("data: ", 1)[1])["delta"]
    for block in pending.split("\n\n"):  # the rest, at the end
        if "response.output_text.delta" in block.split("\n", 1)[0]:
            yield json.loads(block.split("data: ", 1)[1])["delta"]


def returns_a_string(reads: Iterable[bytes]) -> str:
    """The exercise's old shape: the whole text at the end."""
    return "".join(with_the_kits_decoder(reads))


@pytest.mark.parametrize(
    ("learner", "fragments"),
    [
        (join_then_split, ("with reads of 1 byte: after", "not yet yielded")),
        (decode_each_read, ("UnicodeDecodeError", "with reads of 1 byte")),
        (each_read_is_an_event, ("with reads of 1 byte: got ''",)),
        (one_event_late, ("not yet yielded",)),
        (returns_a_string, ("should yield pieces (a generator), got str",)),
        (never_checks_the_end, ("ended cleanly by a proxy", "just stopped")),
        (completed_only, ("response.incomplete", "a terminal event")),
        (raises_value_error, ("raised ValueError", "raise ConnectionError for a cut answer")),
        (raises_before_the_last_pieces, ("not yet yielded",)),
    ],
    ids=[
        "join-then-split",
        "decode-each-read",
        "one-read-one-event",
        "one-late",
        "a-string",
        "quiet-end",
        "completed-only",
        "value-error",
        "raise-first",
    ],
)
def test_exercise_3_fails_mistakes(learner, fragments: tuple[str, ...], upstream: str) -> None:
    assert_fails(lesson11.check_exercise_3(learner, upstream), 3, *fragments)

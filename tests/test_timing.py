"""helpers.timing: arrival bookkeeping on real iterators, real async generators, real SDK types.

No assertion is about speed: sleeps only create gaps whose *order* and rough size we check
with generous bounds (a loaded 2-core machine can only make gaps longer, never shorter).
"""

import asyncio
import time

import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.responses import ResponseCreatedEvent, ResponseTextDeltaEvent

from helpers.timing import (
    StreamTiming,
    atime_blocking,
    atimed_stream,
    format_ms,
    format_s,
    kind_of,
    percentile,
    text_of,
    text_of_result,
    time_blocking,
    timed_stream,
)


def text_delta(delta: str, sequence_number: int = 1) -> ResponseTextDeltaEvent:
    return ResponseTextDeltaEvent(
        type="response.output_text.delta",
        delta=delta,
        item_id="msg_1",
        output_index=0,
        content_index=0,
        sequence_number=sequence_number,
        logprobs=[],
    )


def chat_chunk(content: str | None, role: str | None = None) -> ChatCompletionChunk:
    return ChatCompletionChunk.model_validate(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": "m",
            "choices": [{"index": 0, "delta": {"content": content, "role": role}}],
        }
    )


def created_event() -> ResponseCreatedEvent:
    return ResponseCreatedEvent.model_validate(
        {
            "type": "response.created",
            "sequence_number": 0,
            "response": {
                "id": "resp_1",
                "object": "response",
                "created_at": 0,
                "model": "m",
                "output": [],
                "parallel_tool_calls": True,
                "tool_choice": "auto",
                "tools": [],
            },
        }
    )


# --- text extraction --------------------------------------------------------------------------


def test_text_of_each_shape():
    assert text_of("Hel") == "Hel"
    assert text_of("") is None
    assert text_of(text_delta("lo")) == "lo"
    assert text_of(created_event()) is None
    assert text_of(chat_chunk("wor")) == "wor"
    assert text_of(chat_chunk(None, role="assistant")) is None
    assert text_of(42) is None


def test_kind_of_names_events():
    assert kind_of(created_event()) == "response.created"
    assert kind_of(chat_chunk(None, role="assistant")) == "chat.completion.chunk"
    assert kind_of(3.5) == "float"


def test_text_of_result_for_chat_completion_and_bad_input():
    completion = ChatCompletion.model_validate(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 0,
            "model": "m",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": "Hi there"},
                }
            ],
        }
    )
    assert text_of_result(completion) == "Hi there"
    assert text_of_result("plain") == "plain"
    with pytest.raises(TypeError, match="int"):
        text_of_result(17)


# --- the data object --------------------------------------------------------------------------


def test_timing_properties_from_recorded_moments():
    timing = StreamTiming(started=100.0)
    timing.record(created_event(), now=100.05)
    timing.record("Hel", now=100.2)
    timing.record("lo", now=100.3)
    timing.record(" you", now=100.6)
    timing.finish(completed=True, now=100.7)
    assert timing.text == "Hello you"
    assert timing.ttft == pytest.approx(0.2)
    assert timing.total == pytest.approx(0.7)
    assert timing.gaps == pytest.approx([0.1, 0.3])
    assert timing.tokens_per_second == pytest.approx(2 / 0.4)
    assert timing.events == [(pytest.approx(0.05), "response.created")]
    assert timing.visible_chars_at(0.25) == 3
    assert timing.visible_chars_at(0.1) == 0
    assert timing.visible_chars_at(1.0) == len("Hello you")


def test_empty_and_single_piece_timings_have_no_rate():
    empty = StreamTiming()
    assert (empty.ttft, empty.total, empty.tokens_per_second, empty.gaps) == (None, None, None, [])
    one = StreamTiming(started=0.0)
    one.record("x", now=0.5)
    assert one.tokens_per_second is None
    assert "n/a" in empty.summary()


def test_summary_uses_sanitizable_shapes():
    timing = StreamTiming(started=0.0, label="fast")
    for i, piece in enumerate(["a", "b", "c"]):
        timing.record(piece, now=0.2 + i * 0.05)
    timing.finish(completed=True, now=0.4)
    summary = timing.summary()
    assert summary.splitlines()[0] == "fast: 3 pieces, 3 chars (complete)"
    assert "200 ms" in summary
    assert "0.40 s" in summary
    assert "20.0 tokens/s" in summary
    assert format_ms(0.0124) == "12 ms" and format_s(1.0) == "1.00 s"


# --- sync streams -----------------------------------------------------------------------------


def slow_pieces(pieces, gap):
    for piece in pieces:
        time.sleep(gap)
        yield piece


def test_timed_stream_passes_items_through_and_records_gaps():
    items = [created_event(), text_delta("Hi"), text_delta(" there")]
    timed = timed_stream(slow_pieces(items, 0.02))
    passed = list(timed)
    assert passed == items
    timing = timed.timing
    assert timing.pieces == ["Hi", " there"]
    assert [kind for _, kind in timing.events] == ["response.created"]
    assert timing.completed is True
    assert timing.ttft >= 0.03  # two 20 ms sleeps happened before the first text
    assert all(gap >= 0.015 for gap in timing.gaps)
    assert timing.total >= timing.arrivals[-1]


def test_timed_stream_clock_starts_before_a_callable_opens_the_stream():
    def open_slowly():
        time.sleep(0.05)  # like the SDK waiting for response headers
        return iter(["a", "b"])

    timed = timed_stream(open_slowly)
    assert list(timed) == ["a", "b"]
    assert timed.timing.ttft >= 0.04


def test_closing_a_timed_stream_closes_the_source_and_marks_it_incomplete():
    closed = []

    def source():
        try:
            yield from ["a", "b", "c", "d"]
        finally:
            closed.append(True)

    with timed_stream(source()) as timed:
        for piece in timed:
            if piece == "b":
                break
    assert closed == [True]
    assert timed.timing.text == "ab"
    assert timed.timing.completed is False
    assert timed.timing.total is not None


def test_chat_chunks_count_only_content():
    chunks = [chat_chunk(None, role="assistant"), chat_chunk("Hi"), chat_chunk("!"), chat_chunk("")]
    timed = timed_stream(chunks)
    list(timed)
    assert timed.timing.text == "Hi!"
    assert len(timed.timing.events) == 2


# --- async streams ----------------------------------------------------------------------------


async def async_pieces(pieces, gap, closed=None):
    try:
        for piece in pieces:
            await asyncio.sleep(gap)
            yield piece
    finally:
        if closed is not None:
            closed.append(True)


def test_atimed_stream_records_real_sleep_gaps():
    async def main():
        timed = atimed_stream(async_pieces(["x", "y", "z"], 0.02))
        return [piece async for piece in timed], timed.timing

    pieces, timing = asyncio.run(main())
    assert pieces == ["x", "y", "z"]
    assert timing.completed and timing.text == "xyz"
    assert timing.ttft >= 0.015
    assert len(timing.gaps) == 2 and min(timing.gaps) >= 0.015


def test_atimed_stream_opens_an_awaitable_factory():
    async def open_stream():
        await asyncio.sleep(0.03)
        return async_pieces(["a"], 0)

    async def main():
        timed = atimed_stream(open_stream)
        return [p async for p in timed], timed.timing

    pieces, timing = asyncio.run(main())
    assert pieces == ["a"] and timing.ttft >= 0.025


def test_cancelling_the_consumer_closes_the_async_source():
    closed: list[bool] = []

    async def consume(timed):
        async with timed:
            async for _ in timed:
                pass

    async def main():
        timed = atimed_stream(async_pieces(["a"] * 100, 0.01, closed))
        task = asyncio.create_task(consume(timed))
        while len(timed.timing.pieces) < 3:
            await asyncio.sleep(0.005)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return timed.timing

    timing = asyncio.run(main())
    assert closed == [True]
    assert 3 <= len(timing.pieces) < 100
    assert timing.completed is False


def test_wrong_kind_of_stream_gets_a_clear_error():
    with pytest.raises(TypeError, match=r"timed_stream needs an iterable .* got int$"):
        timed_stream(42)

    async def pieces():
        yield "a"

    with pytest.raises(TypeError, match="got async_generator; it is one for atimed_stream"):
        timed_stream(pieces())

    async def main():
        with pytest.raises(TypeError, match="got list; it is one for timed_stream"):
            async for _ in atimed_stream(lambda: ["a", "b"]):
                pass

    asyncio.run(main())


# --- blocking calls ---------------------------------------------------------------------------


def test_time_blocking_is_one_piece_at_the_end():
    def call():
        time.sleep(0.03)
        return "whole answer"

    result, timing = time_blocking(call)
    assert result == "whole answer"
    assert timing.pieces == ["whole answer"]
    assert timing.ttft == timing.total
    assert timing.total >= 0.025
    assert timing.label == "blocking"


def test_atime_blocking_runs_beside_a_stream():
    async def call():
        await asyncio.sleep(0.03)
        return "done"

    async def main():
        blocking, streamed = await asyncio.gather(
            atime_blocking(call), _drain(atimed_stream(async_pieces(["a", "b"], 0.01)))
        )
        return blocking, streamed

    async def _drain(timed):
        async for _ in timed:
            pass
        return timed.timing

    (result, blocking), streamed = asyncio.run(main())
    assert result == "done" and blocking.text == "done"
    assert streamed.ttft < blocking.ttft  # 10 ms vs 30 ms of real sleeping, on one event loop


def test_percentile_is_nearest_rank():
    gaps = [0.005] * 38 + [0.5]  # 39 gaps, one stall
    assert percentile(gaps, 50) == 0.005
    assert percentile(gaps, 90) == 0.005
    assert percentile(gaps, 99) == 0.5  # n <= 100: p99 is the largest
    assert percentile([0.5] + [0.005] * 199, 99) == 0.005  # 1 in 200 hides above p99
    assert percentile(range(1, 11), 90) == 9  # 90 * 10 / 100 is exact: no rounding up to 10
    assert percentile([3, 1, 2], 100) == 3
    assert percentile([3, 1, 2], 1) == 1
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)
    with pytest.raises(ValueError, match="p must be"):
        percentile([1], 0)

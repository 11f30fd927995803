"""Lesson 4's checks pass the reference solutions and fail the stubs and plausible mistakes."""

from __future__ import annotations

import asyncio

import pytest
from check_helpers import assert_fails, assert_passes, assert_stub_fails, solution_fixture, stub

from helpers.checks import lesson04
from helpers.timing import text_of

solution = solution_fixture("lesson04")


async def async_stub(*_args):
    raise NotImplementedError


@pytest.mark.parametrize(
    ("number", "learner"), [(1, stub), (2, stub), (3, async_stub)], ids=["1", "2", "3"]
)
def test_stubs_fail(number: int, learner) -> None:
    assert_stub_fails(lesson04, number, learner)


# --- Exercise 1 ---------------------------------------------------------------------------------


def test_exercise_1(solution):
    assert_passes(lesson04.check_exercise_1(solution.screen_text_at), 1)


def test_exercise_1_rejects_the_arrivals_instead_of_the_redraws():
    def arrived_by_t(timing, redraws, t):  # lesson 0's answer: ignores the throttle
        return "".join(p for p, a in zip(timing.pieces, timing.arrivals, strict=True) if a <= t)

    assert_fails(lesson04.check_exercise_1(arrived_by_t), 1, "t=0.27", "at the next redraw")


def test_exercise_1_rejects_a_redraw_that_shows_only_its_own_piece():
    def one_piece_per_redraw(timing, redraws, t):
        shown = sum(1 for r in redraws if r <= t)
        return "".join(timing.pieces[:shown])

    assert_fails(lesson04.check_exercise_1(one_piece_per_redraw), 1, "t=0.3: expected 'Hello, wor'")


def test_exercise_1_rejects_strictly_before(solution):
    def strictly_before(timing, redraws, t):
        return solution.screen_text_at(timing, [r for r in redraws if r < t], t)

    assert_fails(lesson04.check_exercise_1(strictly_before), 1, "t=0.2: expected 'Hel', got ''")


def test_exercise_1_accepts_bisect_and_counting_the_drawn_pieces():
    from bisect import bisect_right

    def with_bisect(timing, redraws, t):
        drawn = bisect_right(redraws, t)
        if drawn == 0:
            return ""
        return "".join(timing.pieces[: bisect_right(timing.arrivals, redraws[drawn - 1])])

    assert_passes(lesson04.check_exercise_1(with_bisect), 1)


# --- Exercise 2 ---------------------------------------------------------------------------------


def test_exercise_2(solution):
    assert_passes(lesson04.check_exercise_2(solution.redraw_times), 2)


def test_exercise_2_rejects_the_three_classic_throttle_mistakes():
    def every_arrival(arrivals, interval):  # no throttle at all
        return list(arrivals)

    def leading_only(arrivals, interval):  # drops the tail of a burst: last tokens never shown
        redraws = []
        for moment in arrivals:
            if not redraws or moment - redraws[-1] >= interval:
                redraws.append(moment)
        return redraws

    def fixed_ticker(arrivals, interval):  # redraws even when nothing new arrived
        count = int(arrivals[-1] / interval) + 2
        return [i * interval for i in range(count)]

    assert_fails(lesson04.check_exercise_2(every_arrival), 2, "closer than 0.05")
    assert_fails(lesson04.check_exercise_2(leading_only), 2, "is not drawn within 0.05 s")
    assert_fails(lesson04.check_exercise_2(fixed_ticker), 2, "shows nothing new")


def test_exercise_2_accepts_a_throttle_that_waits_for_its_timer():
    """Another right answer: a timer loop. Draw when allowed; otherwise the next redraw is the
    moment the interval has passed, and it shows whatever arrived meanwhile."""

    def timer_loop(arrivals, interval):
        redraws = []
        index = 0
        while index < len(arrivals):
            moment = arrivals[index]
            if redraws and moment < redraws[-1] + interval:
                moment = redraws[-1] + interval
            redraws.append(moment)
            while index < len(arrivals) and arrivals[index] <= moment:
                index += 1
        return redraws

    assert_passes(lesson04.check_exercise_2(timer_loop), 2)


def test_throttle_rules_accept_the_solution_on_random_arrivals(solution):
    import random

    rng = random.Random(4)
    for _ in range(200):
        arrivals = sorted(round(rng.uniform(0, 1), rng.choice([2, 3, 6])) for _ in range(30))
        interval = rng.choice([0.01, 0.05, 0.1])
        redraws = solution.redraw_times(arrivals, interval)
        assert lesson04.throttle_problem(arrivals, interval, redraws) is None


# --- Exercise 3 ---------------------------------------------------------------------------------


def test_exercise_3(solution):
    assert_passes(asyncio.run(lesson04.check_exercise_3(solution.first_n_tokens)), 3)


def test_exercise_3_accepts_the_lessons_own_close_and_other_right_answers():
    async def close_in_finally(open_stream, n):  # what section 5 teaches: await stream.close()
        stream = open_stream()
        text, count = "", 0
        try:
            async for event in stream:
                if event.type == "response.output_text.delta":
                    text += event.delta
                    count += 1
                    if count >= n:
                        break
        finally:
            await stream.close()
        return text

    async def async_with(open_stream, n):
        pieces = []
        async with open_stream() as stream:
            async for event in stream:
                if event.type == "response.output_text.delta":
                    pieces.append(event.delta)
                    if len(pieces) == n:
                        break
        return "".join(pieces)

    async def aclosing_and_anext(open_stream, n):  # contextlib.aclosing calls aclose()
        from contextlib import aclosing

        text, count = "", 0
        async with aclosing(open_stream()) as stream:
            while count < n:
                try:
                    event = await anext(stream)
                except StopAsyncIteration:
                    break
                piece = text_of(event)
                if piece is not None:
                    text, count = text + piece, count + 1
        return text

    for answer in (close_in_finally, async_with, aclosing_and_anext):
        assert_passes(asyncio.run(lesson04.check_exercise_3(answer)), 3)


def test_exercise_3_rejects_reading_everything_then_slicing():
    """The review's weak spot: the fake stream closes itself at its end, like the SDK's."""

    async def read_all_then_slice(open_stream, n):
        pieces = []
        async for event in open_stream():
            piece = text_of(event)
            if piece is not None:
                pieces.append(piece)
        return "".join(pieces[:n])

    async def one_piece_too_many(open_stream, n):  # checks the count before reading, not after
        stream = open_stream()
        pieces = []
        try:
            async for event in stream:
                if len(pieces) >= n:
                    break
                piece = text_of(event)
                if piece is not None:
                    pieces.append(piece)
        finally:
            await stream.close()
        return "".join(pieces[:n])

    assert_fails(
        asyncio.run(lesson04.check_exercise_3(read_all_then_slice)), 3,
        "n=3", "you read 8 text pieces",
    )
    assert_fails(
        asyncio.run(lesson04.check_exercise_3(one_piece_too_many)), 3, "you read 4 text pieces"
    )


def test_exercise_3_rejects_break_without_close_and_counting_every_event():
    async def break_without_close(open_stream, n):
        text = ""
        count = 0
        async for event in open_stream():
            piece = text_of(event)
            if piece:
                text += piece
                count += 1
                if count >= n:
                    break
        return text

    async def counts_every_event(open_stream, n):
        stream = open_stream()
        text = ""
        try:
            for _ in range(n):
                event = await stream.__anext__()
                text += text_of(event) or ""
        finally:
            await stream.aclose()
        return text

    async def crashes_on_a_short_answer(open_stream, n):  # asks for more than the answer has
        stream = open_stream()
        text, count = "", 0
        try:
            while count < n:
                piece = text_of(await stream.__anext__())
                if piece is not None:
                    text, count = text + piece, count + 1
        finally:
            await stream.close()
        return text

    assert_fails(
        asyncio.run(lesson04.check_exercise_3(break_without_close)), 3, "was not closed"
    )
    assert_fails(
        asyncio.run(lesson04.check_exercise_3(counts_every_event)), 3, "expected 'Streams can be '"
    )
    assert_fails(
        asyncio.run(lesson04.check_exercise_3(crashes_on_a_short_answer)), 3, "n=13",
        "StopAsyncIteration",
    )

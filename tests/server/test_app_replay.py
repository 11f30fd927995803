"""helpers.server.app.replay: the server-side buffer a reconnecting client resumes from."""

from __future__ import annotations

import asyncio

import pytest

from helpers.server.app.replay import (
    ReplayBuffer,
    ReplayRegistry,
    UnknownEventId,
    UnknownResponse,
)


def frame(i: int) -> bytes:
    return f"id: {i}\ndata: token {i}\n\n".encode()


async def collect(buffer: ReplayBuffer, position: int) -> list[bytes]:
    return [f async for f in buffer.follow(position)]


def filled(n: int, *, finished: bool = True) -> ReplayBuffer:
    buffer = ReplayBuffer("resp_test")
    for i in range(n):
        buffer.append(str(i), frame(i))
    if finished:
        buffer.finish()
    return buffer


def test_resume_after_each_id_gives_exactly_the_rest() -> None:
    buffer = filled(6)
    for last in range(6):
        position = buffer.position_after(str(last))
        assert asyncio.run(collect(buffer, position)) == [frame(i) for i in range(last + 1, 6)]


def test_no_id_means_from_the_start() -> None:
    buffer = filled(3)
    assert buffer.position_after(None) == 0
    assert buffer.position_after("") == 0
    assert asyncio.run(collect(buffer, 0)) == [frame(0), frame(1), frame(2)]


def test_unknown_id_is_refused_naming_it() -> None:
    buffer = filled(3)
    with pytest.raises(UnknownEventId, match=r"'7'.*3 events"):
        buffer.position_after("7")


def test_duplicate_and_empty_ids_are_refused() -> None:
    buffer = filled(2, finished=False)
    with pytest.raises(ValueError, match="duplicate event id '1'"):
        buffer.append("1", frame(1))
    with pytest.raises(ValueError, match="needs an id"):
        buffer.append("", b"data: x\n\n")


def test_append_after_finish_is_a_bug() -> None:
    buffer = filled(1)
    with pytest.raises(RuntimeError, match="finished"):
        buffer.append("9", frame(9))


def test_delivered_only_when_finished_and_caught_up() -> None:
    buffer = filled(3, finished=False)
    assert not buffer.is_delivered(3)
    buffer.finish()
    assert buffer.is_delivered(3)
    assert not buffer.is_delivered(2)


def test_follower_receives_live_events_in_order() -> None:
    async def scenario() -> list[bytes]:
        buffer = ReplayBuffer("resp_live")
        follower = asyncio.create_task(collect(buffer, 0))
        for i in range(5):
            await asyncio.sleep(0)  # let the follower wait between appends
            buffer.append(str(i), frame(i))
        buffer.finish()
        return await follower

    assert asyncio.run(scenario()) == [frame(i) for i in range(5)]


async def numbered_frames(n: int, *, pause: float = 0.0, fail_at: int | None = None):
    for i in range(n):
        if i == fail_at:
            raise RuntimeError("boom")
        await asyncio.sleep(pause)
        yield str(i), frame(i)


def test_generation_continues_with_nobody_reading() -> None:
    async def scenario() -> ReplayBuffer:
        registry = ReplayRegistry()
        buffer = registry.start("resp_a", numbered_frames(20))
        # Nobody follows. Wait until the task is done, then a late client reads everything.
        while not buffer.finished:
            await asyncio.sleep(0.001)
        return buffer

    buffer = asyncio.run(scenario())
    assert buffer.error is None
    assert asyncio.run(collect(buffer, buffer.position_after("9"))) == [
        frame(i) for i in range(10, 20)
    ]


def test_generation_is_bounded_in_time() -> None:
    async def scenario() -> ReplayBuffer:
        registry = ReplayRegistry(max_generation_seconds=0.05)
        buffer = registry.start("resp_slow", numbered_frames(1000, pause=0.01))
        await collect(buffer, 0)
        return buffer

    buffer = asyncio.run(scenario())
    assert buffer.finished
    assert buffer.error is not None and "stopped after" in buffer.error
    assert len(buffer.events) < 1000


def test_generation_failure_is_kept_for_followers() -> None:
    async def scenario() -> tuple[ReplayBuffer, list[bytes]]:
        registry = ReplayRegistry()
        buffer = registry.start("resp_fail", numbered_frames(10, fail_at=4))
        return buffer, await collect(buffer, 0)

    buffer, frames = asyncio.run(scenario())
    assert frames == [frame(i) for i in range(4)]
    assert buffer.error is not None and "boom" in buffer.error


def test_finished_buffers_are_forgotten_after_keep_seconds() -> None:
    now = [100.0]

    async def scenario() -> ReplayRegistry:
        registry = ReplayRegistry(keep_seconds=30, clock=lambda: now[0])
        buffer = registry.start("resp_old", numbered_frames(2))
        await collect(buffer, 0)
        return registry

    registry = asyncio.run(scenario())
    now[0] += 29
    assert registry.get("resp_old").finished
    now[0] += 2
    with pytest.raises(UnknownResponse, match="resp_old"):
        registry.get("resp_old")
    assert len(registry) == 0


def test_registry_refuses_beyond_its_limit_and_duplicate_ids() -> None:
    async def scenario() -> None:
        registry = ReplayRegistry(max_responses=2)
        registry.start("resp_1", numbered_frames(1))
        with pytest.raises(ValueError, match="already"):
            registry.start("resp_1", numbered_frames(1))
        registry.start("resp_2", numbered_frames(1))
        with pytest.raises(OverflowError, match="limit is 2"):
            registry.start("resp_3", numbered_frames(1))
        await registry.aclose()

    asyncio.run(scenario())


def test_aclose_stops_running_generations() -> None:
    async def scenario() -> ReplayBuffer:
        registry = ReplayRegistry()
        buffer = registry.start("resp_forever", numbered_frames(10**6, pause=0.01))
        await asyncio.sleep(0.03)
        await registry.aclose()
        return buffer

    buffer = asyncio.run(scenario())
    assert buffer.finished and buffer.error == "server shutting down"

"""helpers.widgets without a browser: real ipywidgets objects, real asyncio, the real SDK against
the real local server. What a browser must show is checked in tests/browser/.

Nothing here asserts a speed. Where the test must wait for something to happen (a stream to
reach a few tokens, the server to notice a closed connection) it polls with a generous deadline.
"""

import asyncio
import json
import time

import comm
import ipywidgets as widgets
import pytest
from openai import AsyncOpenAI

from helpers.markdown_stream import IncrementalMarkdown, render_markdown
from helpers.server import LocalServer
from helpers.timing import StreamTiming
from helpers.widgets import LiveTokenView, RaceView, metrics_text, text_html

PROMPT = "Why does streaming feel faster?"


async def words(count: int, gap: float, closed: list[bool] | None = None):
    try:
        for index in range(count):
            await asyncio.sleep(gap)
            yield f"w{index} "
    finally:
        if closed is not None:
            closed.append(True)


async def wait_until(condition, deadline: float = 10.0) -> None:
    end = time.monotonic() + deadline
    while not condition():
        if time.monotonic() > end:
            raise AssertionError("condition not reached before the deadline")
        await asyncio.sleep(0.01)


# --- pure parts -------------------------------------------------------------------------------


def test_text_html_escapes_model_output_and_keeps_whitespace():
    rendered = text_html("<b>hi</b>\n  & bye")
    assert "&lt;b&gt;hi&lt;/b&gt;\n  &amp; bye" in rendered
    assert "white-space: pre-wrap" in rendered


def test_metrics_text_while_waiting_and_after():
    timing = StreamTiming(started=10.0)
    assert metrics_text(timing, "waiting", now=10.25) == (
        "waiting · elapsed 0.25 s · first token … · 0 pieces · … tokens/s"
    )
    timing.record("a", now=10.2)
    timing.record("b", now=10.3)
    timing.finish(completed=True, now=10.4)
    assert metrics_text(timing, "complete", now=99.0) == (
        "complete · elapsed 0.40 s · first token 200 ms · 2 pieces · 10.0 tokens/s"
    )


def test_dom_hooks_for_the_browser_test():
    view = LiveTokenView("streamed")
    assert "kit-live-text" in view.text._dom_classes
    assert "kit-metrics" in view.metrics._dom_classes
    assert "kit-stop" in view.stop_button._dom_classes
    assert view.stop_button.disabled  # nothing to stop yet
    bundle = view._repr_mimebundle_()
    assert bundle["text/plain"] == "LiveTokenView('streamed')"
    assert "application/vnd.jupyter.widget-view+json" in bundle


# --- running a stream -------------------------------------------------------------------------


def test_run_shows_the_whole_text_and_completes():
    async def main():
        view = LiveTokenView(throttle=0.01)
        timing = await view.run(lambda: words(5, 0.01))
        return view, timing

    view, timing = asyncio.run(main())
    assert view.state == "complete"
    assert timing.text == "w0 w1 w2 w3 w4 "
    assert view.text.value == text_html("w0 w1 w2 w3 w4 ")
    assert view.metrics.value.startswith("complete · ") and "5 pieces" in view.metrics.value
    assert view.stop_button.disabled
    assert "(complete)" in view.report()


def test_throttle_buffers_a_burst_into_few_redraws():
    """500 pieces arriving with no pause between them must not become 500 widget updates."""
    changes: list[str] = []

    async def burst():
        for index in range(500):
            yield f"{index} "

    async def main():
        view = LiveTokenView(throttle=0.05)
        view.text.observe(lambda change: changes.append(change["new"]), names="value")
        await view.run(burst)
        return view

    view = asyncio.run(main())
    assert len(view.timing.pieces) == 500
    assert view.redraws <= 3  # the ticker's first draw, maybe one more, and the final flush
    assert len(changes) <= view.redraws
    assert changes[-1] == text_html("".join(f"{i} " for i in range(500)))  # nothing lost


def test_throttle_draws_each_token_of_a_slow_stream_at_once():
    """Tokens 200 ms apart, throttle 20 ms: the leading edge shows every prefix, none is merged."""
    shown: list[str] = []

    async def main():
        view = LiveTokenView(throttle=0.02)
        view.text.observe(lambda change: shown.append(change["new"]), names="value")
        await view.run(lambda: words(4, 0.2))

    asyncio.run(main())
    prefixes = [text_html("w0 w1 w2 w3 "[: 3 * k]) for k in range(1, 5)]
    assert [value for value in shown if value in prefixes] == prefixes


def test_stop_cancels_the_task_closes_the_source_and_keeps_the_partial_text():
    closed: list[bool] = []

    async def main():
        view = LiveTokenView(throttle=0.01)
        task = view.start(lambda: words(1000, 0.005, closed))
        await wait_until(lambda: len(view.timing.pieces) >= 3)
        assert view.state == "streaming" and not view.stop_button.disabled
        view.stop_button.click()  # the same handler the browser's click runs
        timing = await task  # our own cancel is absorbed: the task returns normally
        return view, timing

    view, timing = asyncio.run(main())
    assert closed == [True]
    assert view.state == "stopped" and timing.completed is False
    assert 3 <= len(timing.pieces) < 1000
    assert view.text.value == text_html(timing.text)  # final flush after Stop
    assert "(stopped early)" in view.report()


def test_a_cancel_that_is_not_stop_still_propagates():
    async def main():
        view = LiveTokenView()
        task = asyncio.ensure_future(view.run(lambda: words(1000, 0.01)))
        await wait_until(lambda: view.timing.pieces)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return view

    assert asyncio.run(main()).state == "failed"


def test_a_failing_stream_is_reported_and_keeps_what_arrived():
    async def broken():
        yield "partial "
        raise ConnectionError("server went away after 1 token")

    async def main():
        view = LiveTokenView()
        with pytest.raises(ConnectionError, match="after 1 token"):
            await view.run(broken)
        return view

    view = asyncio.run(main())
    assert view.state == "failed"
    assert isinstance(view.error, ConnectionError)
    assert view.text.value == text_html("partial ")
    assert view.metrics.value.endswith("· ConnectionError: server went away after 1 token")


def test_start_outside_an_event_loop_says_what_to_do():
    with pytest.raises(RuntimeError, match=r"asyncio.run\(view.run"):
        LiveTokenView().start(lambda: words(1, 0))


def test_a_running_view_refuses_a_second_stream_and_illegal_moves():
    async def main():
        view = LiveTokenView()
        view.start(lambda: words(50, 0.01))
        await wait_until(lambda: view.state == "streaming")
        with pytest.raises(RuntimeError, match="already running"):
            await view.run(lambda: words(1, 0))
        view.stop()
        await view.wait()
        with pytest.raises(RuntimeError, match="cannot go from 'stopped' to 'streaming'"):
            view._enter("streaming")

    asyncio.run(main())


def test_race_stop_buttons_work_while_the_race_runs_in_the_background():
    async def slow_answer():
        await asyncio.sleep(0.5)
        return "w0 w1 w2 "

    async def main():
        race = RaceView(throttle=0.01)
        task = asyncio.ensure_future(race.run(slow_answer, lambda: words(3, 0.15)))
        await wait_until(lambda: race.blocking.state == "waiting")
        race.blocking.stop_button.click()
        blocking, streamed = await task
        return race, blocking, streamed

    race, blocking, streamed = asyncio.run(main())
    assert race.blocking.state == "stopped" and blocking.text == ""
    assert race.streamed.state == "complete" and streamed.text == "w0 w1 w2 "


# --- markdown=True: rendered as it grows, only what changed is sent ----------------------------

MARKDOWN = (
    "# Streaming\n\nIt shows **each token** as it arrives.\n\n- first\n- second\n\n"
    "```python\nfor event in stream:\n\n    print(event)\n```\n\n"
    "| a | b |\n|---|---|\n| 1 | 2 |\n\n"
    "Done, *really* <img src=x onerror=alert(1)>."
)


async def pieces(text: str, size: int = 3, gap: float = 0.0):
    for index in range(0, len(text), size):
        await asyncio.sleep(gap)
        yield text[index : index + size]


def shown_html(view: LiveTokenView) -> str:
    return "".join(block.value for block in view.markdown_blocks())


def test_markdown_is_off_by_default_and_lesson_4_still_sees_raw_text():
    view = LiveTokenView()
    assert view.markdown is False and isinstance(view.text.value, str)
    assert asyncio.run(view.run(lambda: pieces("**raw**"))).text == "**raw**"
    assert view.text.value == text_html("**raw**")


def test_markdown_view_ends_equal_to_the_whole_render_and_is_safe():
    async def main():
        view = LiveTokenView(throttle=0.0, markdown=True)
        await view.run(lambda: pieces(MARKDOWN, 3, 0.001))
        return view

    view = asyncio.run(main())
    assert shown_html(view) == render_markdown(MARKDOWN)
    assert "<strong>each token</strong>" in shown_html(view) and "<img" not in shown_html(view)
    assert "kit-live-text" in view.text._dom_classes and "kit-markdown" in view.text._dom_classes
    blocks = view.markdown_blocks()
    assert len(blocks) == 6  # heading, paragraph, list, code, table, last paragraph
    assert "kit-md-open" not in blocks[-1]._dom_classes  # nothing is open any more
    assert view.report().startswith(MARKDOWN)


def IncrementalMarkdown_blocks(text: str) -> list[str]:
    renderer = IncrementalMarkdown()
    renderer.feed(text)
    return [*renderer.blocks, *renderer.end().added]


class Changes(list):
    def append_change(self, change) -> None:
        self.append(change["new"])


def test_markdown_blocks_are_sent_once_and_only_the_open_block_is_redrawn():
    values: dict[int, list[str]] = {}

    async def main():
        view = LiveTokenView(throttle=0.0, markdown=True)

        def watch_blocks(_change=None):
            for block in view.markdown_blocks()[:-1]:
                if id(block) not in values:
                    values[id(block)] = Changes([block.value])
                    block.observe(values[id(block)].append_change, names="value")
            for page in view.text.children:
                if isinstance(page, widgets.Box) and id(page) not in values:
                    values[id(page)] = Changes()
                    page.observe(watch_blocks, names="children")

        view.text.observe(watch_blocks, names="children")
        await view.run(lambda: pieces(MARKDOWN * 4, 2, 0.001))  # 24 blocks: a page and more
        return view

    view = asyncio.run(main())
    assert view._pages and view._loose  # a page of BLOCKS_PER_PAGE, and blocks after it
    for block in view.markdown_blocks()[:-1]:
        assert values[id(block)] == [block.value], "a finished block was sent again"
    assert view.redraws > 20 and view._renderer.ended


class Frontend:
    """What a browser's widget manager holds, message by message (comm_open, update, close),
    and what the view shows after each: the HTML of its blocks in order, the boxes resolved."""

    def __init__(self, monkeypatch) -> None:
        self.models: dict[str, dict] = {}
        self.shown: list[str] = []  # after each message
        self.redraws: list[int] = []  # len(self.shown) when a redraw ended
        self.view: LiveTokenView | None = None
        frontend = self

        def publish_msg(comm_, msg_type, data=None, metadata=None, buffers=None, **keys):
            if msg_type == "comm_open":
                frontend.models[comm_.comm_id] = dict(data["state"])
            elif msg_type == "comm_msg" and data.get("method") == "update":
                frontend.models[comm_.comm_id].update(data["state"])
            elif msg_type == "comm_close":
                frontend.models.pop(comm_.comm_id, None)
            if frontend.view is not None:
                frontend.shown.append(frontend.html(frontend.view.text.model_id))

        monkeypatch.setattr(comm.DummyComm, "publish_msg", publish_msg)

    def html(self, model_id: str) -> str:
        state = self.models[model_id]
        if "children" not in state:
            return state["value"]
        return "".join(self.html(child.removeprefix("IPY_MODEL_")) for child in state["children"])

    def watch(self, view: LiveTokenView) -> None:
        self.view = view
        redraw = view.redraw

        def redraw_and_mark() -> None:
            redraw()
            self.redraws.append(len(self.shown))

        view.redraw = redraw_and_mark


def test_markdown_a_finished_block_moves_to_its_own_widget_in_one_message(monkeypatch):
    """Between two redraws the page shows the first redraw's blocks or the second's, never a
    mix: a finished block never shows twice (in its new widget and still in the open one) nor
    not at all. (The browser test samples a real JupyterLab after each kernel message too.)"""
    frontend = Frontend(monkeypatch)
    code = "".join(f"    value_{i} = compute({i})\n" for i in range(300))  # pieces while open
    answer = f"{MARKDOWN}\n\n- a list\n- open while\n\nthe next line grows\n\n"
    answer += f"```python\n{code}```\n\n" + "\n\n".join(f"Paragraph {i}." for i in range(40))

    async def main():
        view = LiveTokenView(throttle=0.0, markdown=True)
        frontend.watch(view)
        await view.run(lambda: pieces(answer, 5, 0.0002))
        return view

    view = asyncio.run(main())
    assert shown_html(view) == render_markdown(answer) == frontend.shown[-1]
    assert len(view._pages) >= 2 and len(frontend.redraws) > 100
    at_redraw = [frontend.shown[end - 1] for end in frontend.redraws]
    for before, after, start, end in zip(
        at_redraw, at_redraw[1:], frontend.redraws, frontend.redraws[1:], strict=False
    ):
        for shown in frontend.shown[start:end]:
            assert shown in (before, after), "a redraw showed a state between two states"
    assert {shown for shown in frontend.shown[frontend.redraws[0] :]} <= set(at_redraw)


def test_markdown_widgets_replaced_or_dropped_are_closed(monkeypatch):
    """Each move replaces the open widget and a closed fence drops its pieces: those close, and
    no Layout is made per block, so the kernel holds only the widgets on show."""
    from ipywidgets.widgets.widget import _instances

    code = "".join(f"    value_{i} = compute({i})\n" for i in range(300))
    answer = f"{MARKDOWN}\n\n```python\n{code}```\n\n" + "\n\n".join(
        f"Paragraph {i}." for i in range(40)
    )
    before = set(_instances)
    view = LiveTokenView(throttle=0.0, markdown=True)
    fresh = len(set(_instances) - before)  # the view's own widgets, one open block among them
    asyncio.run(view.run(lambda: pieces(answer, 5)))
    kept = len(set(_instances) - before)
    assert kept == fresh + len(view.markdown_blocks()) - 1 + len(view._pages)
    assert len(view.markdown_blocks()) == len(IncrementalMarkdown_blocks(answer)) > 40


def test_markdown_messages_stay_small_while_the_plain_view_resends_everything(monkeypatch):
    """Each comm message's data, as a kernel would send it (DummyComm stands in for it here)."""
    sizes: list[int] = []

    def publish_msg(self, msg_type, data=None, metadata=None, buffers=None, **keys):
        sizes.append(len(json.dumps(data)))

    monkeypatch.setattr(comm.DummyComm, "publish_msg", publish_msg)
    long_answer = "\n\n".join(f"Paragraph {i} says **something** useful." for i in range(60))

    def largest(markdown: bool) -> int:
        sizes.clear()
        view = LiveTokenView(throttle=0.0, markdown=markdown)
        asyncio.run(view.run(lambda: pieces(long_answer, 4)))
        return max(sizes[-100:])  # the end of the answer, where the plain view's text is long

    assert largest(markdown=False) > len(long_answer)  # the whole text, again and again
    # bounded by the answer's shape, not its length: a new widget's whole state, a page's 16 ids
    assert largest(markdown=True) < 1500


def test_markdown_a_long_open_code_fence_is_sent_in_pieces(monkeypatch):
    sizes: list[int] = []
    monkeypatch.setattr(
        comm.DummyComm,
        "publish_msg",
        lambda self, msg_type, data=None, *args, **keys: sizes.append(len(json.dumps(data))),
    )
    code = "".join(f"    value_{i} = compute({i}, '<tag>')\n" for i in range(400))
    answer = f"Intro\n\n```python\ndef main():\n{code}```\n\nAfter the code.\n"
    most_pieces = 0

    async def main():
        nonlocal most_pieces
        view = LiveTokenView(throttle=0.0, markdown=True)
        task = view.start(lambda: pieces(answer, 7, 0.0005))
        while not task.done():
            most_pieces = max(most_pieces, len(view._fence_pieces))
            await asyncio.sleep(0.002)
        await task
        return view

    view = asyncio.run(main())
    assert most_pieces >= 5  # 16 kB of code in 2 kB pieces, while the fence was open
    # the whole block only once it closed: while the next line is awaited, then as a block
    assert len([size for size in sizes if size > 3000]) <= 3, sorted(sizes)[-5:]
    assert view._fence_pieces == [] and len(view.markdown_blocks()) == 3  # intro, code, after
    assert shown_html(view) == render_markdown(answer)


def test_markdown_shows_an_unclosed_marker_closed_while_open():
    async def main():
        view = LiveTokenView(throttle=0.0, markdown=True)
        seen: list[str] = []
        view.markdown_blocks()[-1].observe(lambda c: seen.append(c["new"]), names="value")
        await view.run(lambda: pieces("Say **bold words** now", 2, 0.001))
        return seen

    seen = asyncio.run(main())
    assert all("**" not in value for value in seen), seen
    assert seen[-1] == "<p>Say <strong>bold words</strong> now</p>\n"


def test_markdown_view_runs_again_from_a_clean_slate():
    async def main():
        view = LiveTokenView(throttle=0.0, markdown=True)
        await view.run(lambda: pieces("# One\n\ntext\n", 4))
        await view.run(lambda: pieces("Two", 4))
        return view

    view = asyncio.run(main())
    assert shown_html(view) == "<p>Two</p>\n" and len(view.markdown_blocks()) == 1


def test_markdown_stopped_midway_shows_what_arrived_rendered_as_sent():
    async def main():
        view = LiveTokenView(throttle=0.01, markdown=True)
        task = view.start(lambda: pieces(MARKDOWN * 20, 2, 0.002))
        await wait_until(lambda: len(view.timing.text) > 200)
        view.stop()
        await task
        return view

    view = asyncio.run(main())
    assert view.state == "stopped"
    assert shown_html(view) == render_markdown(view.timing.text)


# --- with the real SDK and the real local server ----------------------------------------------


@pytest.fixture(scope="module")
def server():
    with LocalServer(ttft=0.05, tokens_per_second=200, seed=1) as running:
        yield running


def test_stop_closes_the_sdk_stream_and_the_server_sees_it(server):
    async def main():
        async with AsyncOpenAI(base_url=server.base_url, api_key="unused") as client:
            view = LiveTokenView(throttle=0.02)
            source = lambda: client.responses.create(  # noqa: E731
                model="kit-sim-1",
                input=PROMPT,
                stream=True,
                extra_body={"simulation": {"tokens_per_second": 20}},
            )
            task = view.start(source)
            await wait_until(lambda: len(view.timing.pieces) >= 3)
            assert server.live_streams == 1
            view.stop()
            timing = await task
            await wait_until(lambda: server.live_streams == 0)
            return view, timing

    view, timing = asyncio.run(main())
    assert view.state == "stopped"
    assert 3 <= len(timing.pieces) < 40
    assert [kind for _, kind in timing.events][:2] == ["response.created", "response.in_progress"]


def test_race_blocking_vs_streamed_same_text_stream_shows_text_first(server):
    async def main():
        async with AsyncOpenAI(base_url=server.base_url, api_key="unused") as client:
            race = RaceView(throttle=0.02)
            request = {"model": "kit-sim-1", "input": PROMPT}
            return race, await race.run(
                lambda: client.responses.create(**request),
                lambda: client.responses.create(**request, stream=True),
            )

    race, (blocking, streamed) = asyncio.run(main())
    assert blocking.text == streamed.text and len(streamed.pieces) > 20
    assert blocking.pieces == [blocking.text]  # nothing, then everything
    # ~60 tokens at 200 tokens/s: the stream's first token is ~0.3 s before the blocking answer
    assert streamed.ttft < blocking.ttft
    assert race.blocking.state == race.streamed.state == "complete"
    assert "both answers are the same text" in race.report()
    assert race._repr_mimebundle_()["text/plain"] == "RaceView('blocking' vs 'streamed')"

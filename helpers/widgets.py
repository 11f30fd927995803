"""Live token widgets: watch an answer type itself out, see the numbers, press Stop.

Three ideas, each small:

* **One growing text widget.** Every redraw sets the *whole* text of one HTML widget (inside a
  ``pre-wrap`` block), so the browser shows a typing effect, not a list of flickering outputs.
* **A throttle (leading + trailing).** A token is drawn at once if the last redraw is at least
  ``throttle`` old (50 ms by default); otherwise one redraw is scheduled for when it is. So a slow
  stream shows every token immediately, a fast one (hundreds of tokens/s) costs at most 20 widget
  messages per second, and a final redraw never leaves the last tokens behind. A slow ticker
  (every 100 ms) goes through the same throttle to keep "elapsed" moving while nothing arrives.
* **A task, not a loop in the cell.** ``view.start(...)`` runs the stream as an asyncio task on
  the kernel's event loop and returns at once, so the kernel stays free to receive the Stop
  click. Stop cancels the task; cancelling closes the HTTP stream (the server sees the client
  go). ``await view.run(...)`` (or ``await task``) waits for the end; do that in a later cell,
  or in the same cell when no one will press Stop (a headless run such as nbval).

Without a frontend (nbconvert, nbval) the widgets still update their values, nobody sees
them, and ``view.report()`` gives the plain-text result to print.

``LiveTokenView(markdown=True)`` shows the answer as Markdown instead, through
``helpers.markdown_stream.IncrementalMarkdown`` (safe HTML, rendered as it grows) and sends only
what changed: each finished block becomes its own small HTML widget, sent once and never again,
and a redraw updates only the widget of the last, still-open block. A block that finishes moves
to its own widget in one update of the box (never shown twice, nor missing, for a moment). Off by
default: lesson 4 shows the raw text first, one widget whose whole text is set on every redraw.

The view is an explicit state machine::

    idle -> waiting -> streaming -> complete
               |           |
               +-----------+-----> stopped (Stop pressed)  |  failed (the stream raised)
"""

from __future__ import annotations

import asyncio
import html
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import ipywidgets as widgets
from ipywidgets.widgets.widget_string import HTMLStyle

from helpers.markdown_stream import IncrementalMarkdown
from helpers.timing import StreamTiming, atimed_stream, format_ms, format_s, text_of_result

DEFAULT_THROTTLE = 0.05
METRICS_EVERY = 0.1  # how often "elapsed" moves while no token arrives
BLOCKS_PER_PAGE = 16  # markdown=True: finished blocks per box (see _append_block)
FENCE_PIECE = 2048  # markdown=True: characters of an open code fence per widget (_grow_fence)
FINAL_STATES = ("complete", "stopped", "failed")
ALLOWED = {
    "idle": ("waiting",),
    "waiting": ("streaming", *FINAL_STATES),
    "streaming": FINAL_STATES,
    "complete": ("waiting",),
    "stopped": ("waiting",),
    "failed": ("waiting",),
}


def text_html(text: str) -> str:
    """The answer as HTML: escaped (model output is not markup) and wrapped like a terminal."""
    return (
        '<pre style="white-space: pre-wrap; word-break: break-word; margin: 0; '
        f'font-size: 1.1em; min-height: 4em">{html.escape(text)}</pre>'
    )


def _restyle_pre(start: str, margin: str) -> str:
    """An open fence's '<pre><code ...>' with a margin style (our own HTML: the code is escaped)."""
    return start.replace("<pre>", f'<pre style="{margin}">', 1)


def metrics_text(timing: StreamTiming, state: str, now: float | None = None) -> str:
    """One line of live numbers. Elapsed ticks even before the first token: the felt wait."""
    if state == "idle":
        return "idle"
    if timing.total is not None:
        elapsed = timing.total
    else:
        elapsed = (time.perf_counter() if now is None else now) - timing.started
    rate = timing.tokens_per_second
    return " · ".join(
        [
            state,
            f"elapsed {format_s(elapsed)}",
            f"first token {format_ms(timing.ttft) if timing.ttft is not None else '…'}",
            f"{len(timing.pieces)} piece{'' if len(timing.pieces) == 1 else 's'}",  # blocking: 1
            f"{rate:.1f} tokens/s" if rate is not None else "… tokens/s",
        ]
    )


async def one_answer(call: Callable[[], Awaitable[Any]]) -> AsyncIterator[str]:
    """Turn a blocking call into a 'stream' of exactly one piece: nothing, then everything."""
    yield text_of_result(await call())


class LiveTokenView:
    """A text area that grows as tokens arrive, a metrics line, and a Stop button.

    ``markdown=True``: the answer is rendered as Markdown (``allow_images`` passes on to the
    renderer); ``view.text`` is then a box of one HTML widget per block, the last one open.
    """

    def __init__(
        self,
        label: str = "streamed",
        throttle: float = DEFAULT_THROTTLE,
        *,
        markdown: bool = False,
        allow_images: bool = False,
    ):
        self.label = label
        self.throttle = throttle
        self.markdown = markdown
        self.allow_images = allow_images
        self.state = "idle"
        self.timing = StreamTiming(label=label)
        self.error: BaseException | None = None
        self.redraws = 0
        self._last_redraw = float("-inf")
        self._pending: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[StreamTiming] | None = None
        self._stop_requested = False

        self.heading = widgets.HTML(f"<b>{html.escape(label)}</b>")
        self.text: widgets.HTML | widgets.VBox
        if markdown:
            self._renderer = IncrementalMarkdown(allow_images=allow_images)
            self._fed = 0  # how much of timing.text the renderer has seen
            self._fence_pieces: list[widgets.HTML] = []  # an open fence's frozen pieces
            self._fence_frozen = 0  # characters of its (escaped) code in those pieces
            self._block_layout = widgets.Layout(width="100%", margin="0")
            self._block_style = HTMLStyle()
            self._page_layout = widgets.Layout(width="100%")
            self._pages: list[widgets.VBox] = []  # full pages of finished blocks
            self._loose: list[widgets.HTML] = []  # finished blocks (or pieces) not in a page yet
            self._open_block = self._block_widget("", is_open=True)
            self.text = widgets.VBox([self._open_block], layout=widgets.Layout(width="100%"))
            self.text.add_class("kit-markdown")
        else:
            self.text = widgets.HTML(text_html(""), layout=widgets.Layout(width="100%"))
        self.text.add_class("kit-live-text")
        self.metrics = widgets.HTML("idle")
        self.metrics.add_class("kit-metrics")
        self.stop_button = widgets.Button(description="Stop", icon="stop", disabled=True)
        self.stop_button.add_class("kit-stop")
        self.stop_button.on_click(lambda _button: self.stop())
        self.widget = widgets.VBox(
            [self.heading, self.text, self.metrics, self.stop_button],
            layout=widgets.Layout(flex="1 1 0", border="1px solid #ccc", padding="6px"),
        )
        self.widget.add_class("kit-live-view")

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """Display the view like a widget: ``view`` as the last line of a cell shows it."""
        return _with_plain_text(self.widget, f"LiveTokenView({self.label!r})", **kwargs)

    # --- the state machine --------------------------------------------------------------------

    def _enter(self, state: str) -> None:
        if state not in ALLOWED[self.state]:
            raise RuntimeError(f"LiveTokenView cannot go from {self.state!r} to {state!r}")
        self.state = state
        self.stop_button.disabled = state not in ("waiting", "streaming")

    def redraw(self) -> None:
        """Copy the buffer to the widgets now (one message each, only if something changed)."""
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        self._last_redraw = time.monotonic()
        self.redraws += 1
        if self.markdown:
            self._redraw_markdown()
        else:
            self.text.value = text_html(self.timing.text)
        line = metrics_text(self.timing, self.state)
        if self.error is not None:  # say why it failed; the text that arrived stays visible
            line += f" · {type(self.error).__name__}: {self.error}"
        self.metrics.value = html.escape(line)

    def _block_widget(self, value: str, is_open: bool = False) -> widgets.HTML:
        classes = ("kit-md-block", "kit-md-open") if is_open else ("kit-md-block",)
        # the classes go in the widget's first message: it is shown complete, never restyled;
        # one Layout and one style for all blocks: none is sent (or left open) per block
        return widgets.HTML(
            value, layout=self._block_layout, style=self._block_style, _dom_classes=classes
        )

    def _redraw_markdown(self) -> None:
        """Feed what arrived since the last redraw; send new blocks once, then the open block.

        A finished block gets its own widget (one comm_open carrying its HTML, never updated).
        When blocks finish, the move from the open widget to their own is one message: the new
        block widgets and a new open widget are sent first (not shown yet), then one update of
        the box's children puts them where the old open widget was, which then closes. So no
        moment shows a finished block twice (in its widget and still in the open one) or not at
        all (in neither); two updates, of the box and of the open widget, would each show one of
        those between them. Otherwise the open widget gets its new HTML only when it changed.

        The box holds pages of BLOCKS_PER_PAGE finished blocks, then the blocks not yet in a
        page, then the open widget; its children list (model ids, ~50 bytes each) is sent again
        at each move, so every BLOCKS_PER_PAGE blocks the loose ones go into a new page, in the
        same update. An open code fence grows in pieces: every FENCE_PIECE characters of code
        become a widget of their own (a <pre> without the margin between pieces), so a redraw
        sends only the last piece; once the fence closes, its pieces give way to the block, in
        the same one update. The final redraw ends the renderer: the open widget shows the text
        as it really is, and stays.
        """
        text = self.timing.text
        update = self._renderer.feed(text[self._fed :])
        self._fed = len(text)
        added, open_html, fence = update.added, update.open_html, update.open_fence
        final = self.state in FINAL_STATES and not self._renderer.ended
        if final:
            ending = self._renderer.end().added or [""]  # what was open, exactly as sent
            added, open_html, fence = [*added, *ending[:-1]], ending[-1], None
        dropped: list[widgets.HTML] = []
        if fence is None and self._fence_pieces:  # the fence closed: its pieces give way
            dropped, self._fence_pieces, self._fence_frozen = self._fence_pieces, [], 0
        new = [self._block_widget(block) for block in added]
        if fence is not None:
            pieces, open_html = self._grow_fence(*fence)
            new += pieces
        if not new and not dropped:
            with self._open_block.hold_sync():  # one message, whatever changed
                if final:
                    self._open_block.remove_class("kit-md-open")
                if open_html != self._open_block.value:
                    self._open_block.value = open_html
            return
        old_open = self._open_block
        self._open_block = self._block_widget(open_html, is_open=not final)
        gone = {id(block) for block in dropped}
        self._loose = [block for block in self._loose if id(block) not in gone] + new
        if not self._fence_pieces and len(self._loose) > BLOCKS_PER_PAGE:  # pieces stay loose
            page = widgets.VBox(self._loose[:BLOCKS_PER_PAGE], layout=self._page_layout)
            page.add_class("kit-md-page")
            self._pages.append(page)
            self._loose = self._loose[BLOCKS_PER_PAGE:]
        self.text.children = (*self._pages, *self._loose, self._open_block)  # the one update
        for block in (old_open, *dropped):
            block.close()

    def _grow_fence(self, start: str, code: str, end: str) -> tuple[list[widgets.HTML], str]:
        """Freeze whole lines of an open fence into new piece widgets (returned, not shown yet);
        also return the HTML of the last, open piece."""
        pieces = []
        while len(code) - self._fence_frozen > FENCE_PIECE:
            cut = code.rfind("\n", self._fence_frozen, self._fence_frozen + FENCE_PIECE) + 1
            if cut <= self._fence_frozen:
                break  # one very long line: it stays in the open piece
            margin = "margin-bottom: 0" if not self._fence_pieces else "margin: 0"
            piece = _restyle_pre(start, margin) + code[self._fence_frozen : cut] + end
            self._fence_pieces.append(self._block_widget(piece))
            pieces.append(self._fence_pieces[-1])
            self._fence_frozen = cut
        if not self._fence_pieces:
            return pieces, start + code + end
        return pieces, _restyle_pre(start, "margin-top: 0") + code[self._fence_frozen :] + end

    def markdown_blocks(self) -> list[widgets.HTML]:
        """The block widgets in order, the open (or last) one included ([] without markdown)."""
        if not self.markdown:
            return []
        paged = [block for page in self._pages for block in page.children]
        return [*paged, *self._loose, self._open_block]

    def _reset_markdown(self) -> None:
        if not self.markdown:
            return
        self._renderer = IncrementalMarkdown(allow_images=self.allow_images)
        self._fed = 0
        old = [*self._pages, *self.markdown_blocks()[:-1]]
        self._fence_pieces, self._fence_frozen = [], 0
        self._pages, self._loose = [], []
        if "kit-md-open" not in self._open_block._dom_classes:  # the last run's last block
            old.append(self._open_block)
            self._open_block = self._block_widget("", is_open=True)
        else:
            self._open_block.value = ""
        self.text.children = (self._open_block,)
        for widget in old:
            widget.close()

    def request_redraw(self) -> None:
        """Redraw now if the last redraw is ``throttle`` old, else once it is (one pending max)."""
        if self._pending is not None:
            return  # the scheduled redraw will show this token too
        wait = self._last_redraw + self.throttle - time.monotonic()
        if wait <= 0:
            self.redraw()
        else:
            self._pending = asyncio.get_running_loop().call_later(wait, self.redraw)

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(METRICS_EVERY)
            self.request_redraw()

    # --- running ------------------------------------------------------------------------------

    async def run(self, source: Any) -> StreamTiming:
        """Stream ``source`` into the view and return its timing (also when Stop was pressed).

        ``source`` is anything ``helpers.timing.atimed_stream`` accepts; best a function that
        opens the stream, e.g. ``lambda: client.responses.create(..., stream=True)``, so the
        clock includes the wait for the response headers.
        """
        if self.state in ("waiting", "streaming"):
            raise RuntimeError("this view is already running a stream; make a new view")
        self._stop_requested = False
        self.error = None
        self._reset_markdown()
        timed = atimed_stream(source, label=self.label)
        self.timing = timed.timing
        self._enter("waiting")
        self.redraw()
        ticker = asyncio.create_task(self._ticker())
        try:
            async for _item in timed:
                if self.state == "waiting" and self.timing.pieces:
                    self._enter("streaming")
                self.request_redraw()
            self._enter("complete")
        except asyncio.CancelledError:
            if not self._stop_requested:
                self._enter("failed")
                raise
            _swallow_our_own_cancel()
            self._enter("stopped")
        except Exception as exc:
            self.error = exc
            self._enter("failed")
            raise
        finally:
            ticker.cancel()
            await timed.aclose()  # closes the SDK stream, so the HTTP connection ends too
            self.redraw()  # the final flush: the last tokens are never left in the buffer
        return self.timing

    async def run_blocking(self, call: Callable[[], Awaitable[Any]]) -> StreamTiming:
        """Show a blocking call the same way: metrics tick, then the whole answer appears."""
        return await self.run(lambda: one_answer(call))

    def start(self, source: Any, blocking: bool = False) -> asyncio.Task[StreamTiming]:
        """Run in the background on the kernel's loop; returns the task to ``await`` later."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError(
                "start() needs a running event loop, as in a notebook cell; in a script use "
                "asyncio.run(view.run(...))"
            ) from None
        coroutine = self.run_blocking(source) if blocking else self.run(source)
        self._task = loop.create_task(coroutine)
        return self._task

    def stop(self) -> None:
        """What the Stop button does: cancel the running task (a no-op when nothing runs)."""
        if self._task is not None and not self._task.done():
            self._stop_requested = True
            self._task.cancel()

    async def wait(self) -> StreamTiming:
        """Wait for a ``start()``-ed run to finish."""
        if self._task is None:
            raise RuntimeError("nothing to wait for: call start() first")
        return await self._task

    def report(self) -> str:
        """Plain text for a headless run: the answer, then the numbers (sanitizable shapes)."""
        return f"{self.timing.text}\n---\n{self.timing.summary()}"


def _with_plain_text(widget: widgets.Widget, plain: str, **kwargs: Any) -> Any:
    """The widget's display bundle with a short text/plain (shown where widgets cannot render).

    The default text/plain is the widget's full repr, every child's value included; a short
    stable name reads better in a terminal and keeps saved notebook outputs deterministic.
    """
    bundle = widget._repr_mimebundle_(**kwargs)
    if isinstance(bundle, dict):
        bundle = {**bundle, "text/plain": plain}
    return bundle


def _swallow_our_own_cancel() -> None:
    """We asked for this cancel (Stop): mark it handled, so asyncio.timeout() etc. stay correct."""
    task = asyncio.current_task()
    if task is not None:
        task.uncancel()


class RaceView:
    """The same prompt, blocking vs streamed, started together and shown side by side."""

    def __init__(self, throttle: float = DEFAULT_THROTTLE):
        self.blocking = LiveTokenView("blocking", throttle)
        self.streamed = LiveTokenView("streamed", throttle)
        self.widget = widgets.HBox([self.blocking.widget, self.streamed.widget])
        self.widget.add_class("kit-race")

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return _with_plain_text(self.widget, "RaceView('blocking' vs 'streamed')", **kwargs)

    async def run(
        self, blocking_call: Callable[[], Awaitable[Any]], stream_source: Any
    ) -> tuple[StreamTiming, StreamTiming]:
        """Start both at the same moment on one event loop; return (blocking, streamed).

        Both sides run as tasks (``start``), so each Stop button works when the race itself
        runs in the background, e.g. ``task = asyncio.ensure_future(race.run(...))``.
        """
        blocking, streamed = await asyncio.gather(
            self.blocking.start(blocking_call, blocking=True), self.streamed.start(stream_source)
        )
        return blocking, streamed

    def report(self) -> str:
        """Who showed text first, who finished first: the deterministic shape of the race."""
        b, s = self.blocking.timing, self.streamed.timing
        same = "the same" if b.text == s.text else "DIFFERENT"
        return "\n".join(
            [
                b.summary(),
                s.summary(),
                f"both answers are {same} text ({len(s.text)} chars)",
            ]
        )

"""Markdown as it grows: whole-text rendering on every redraw vs rendering only the open block.

Side by side, one run, one long Markdown answer (about 10,000 tokens by default: headings,
paragraphs with emphasis, code spans and links, lists, a long code block, a table), cut into
tokens by the local server's tokenizer:

1. **CPU per redraw** (``time.process_time``), a redraw every ``--per-redraw`` tokens (5: a 50 ms
   throttle at 100 tokens/s): ``render_markdown(whole text so far)`` (naive) vs
   ``IncrementalMarkdown.feed(new text)`` (incremental), mean over the first and the last 10% of
   the redraws, their ratio, and the slowest redraw. Goal: incremental flat, last/first <= 2.
2. **Widget bytes per token**, the real comm messages (every ``comm_open`` and ``comm_msg``
   payload, JSON-encoded as the kernel sends it; a kernel adds a ~0.5 kB header to each) of
   three views fed the same pieces: today's plain-text LiveTokenView (whole text each redraw),
   a naive Markdown view (one HTML widget, whole rendered answer each redraw) and
   ``LiveTokenView(markdown=True)``.
3. **Token -> visible in the page's DOM**, headless Chromium (``--browser``, on by default):
   tokens handed to the page on a timer (``--rate`` tokens/s), each either appended as text
   (``element.append(token)``, Chrome's advice for plain streamed text) or to
   ``StreamingMarkdown`` (notebooks/app/markdown_stream.js); delay = the first animation frame
   after the token's append, minus when it arrived. Goal: p50 <= one frame (16.7 ms) more than
   plain text.

    .venv/bin/python benchmarks/bench_markdown.py [--tokens 10000] [--per-redraw 5]
        [--rate 250] [--no-browser]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import comm  # noqa: E402

from helpers.markdown_stream import IncrementalMarkdown, render_markdown  # noqa: E402
from helpers.server.model.simulated import tokenize  # noqa: E402
from helpers.widgets import LiveTokenView  # noqa: E402

FRAME_MS = 1000 / 60
APP = REPO / "notebooks" / "app"
SCRIPTS = [
    APP / "vendor" / "marked" / "marked.umd.js",
    APP / "vendor" / "dompurify" / "purify.min.js",
    APP / "markdown_stream.js",
]


# --- the answer -------------------------------------------------------------------------------


def section(n: int) -> str:
    return f"""## {n}. Part {n} of the answer

Streaming sends **each token** as soon as the model makes it, so the reader sees the *first
words* after the time to first token rather than after the whole answer. In part {n} we look at
`stream=True`, at [the SSE format](https://html.spec.whatwg.org/multipage/server-sent-events.html)
and at what a proxy in the middle can do to it.

- The client opens one HTTP request and reads the body as it arrives.
- Each event is a `data:` line; a blank line ends it.
- A **Stop** button closes the connection, and the server stops generating.

1. Measure the time to first token.
2. Measure the tokens per second after it.
3. Compare both with the blocking call.

"""


def code_block(lines: int) -> str:
    body = "\n".join(
        f"    delta_{i} = await stream.read()  # token {i}: render only what changed"
        if i % 7
        else ""
        for i in range(lines)
    )
    return f"```python\nasync def relay(stream):\n{body}\n    return done\n```\n\n"


def table(rows: int) -> str:
    head = "| request | first token | tokens/s | total |\n|:--|--:|--:|--:|\n"
    return head + "".join(f"| run {i} | {100 + i} ms | {40 + i % 9} | {2 + i / 10:.1f} s |\n"
                          for i in range(rows)) + "\n"  # fmt: skip


def answer(tokens: int) -> str:
    """A chat-like Markdown answer of about ``tokens`` tokens, with its long parts in the middle."""
    per_section = len(tokenize(section(1)))
    sections = max(2, round(tokens * 0.6 / per_section))
    per_line = (len(tokenize(code_block(14))) - len(tokenize(code_block(7)))) / 7
    per_row = len(tokenize(table(2))) - len(tokenize(table(1)))
    code = max(4, round(tokens * 0.2 / per_line))
    rows = max(2, round(tokens * 0.2 / per_row))
    first, last = sections // 2, sections - sections // 2
    text = "# Streaming, from the model to the page\n\n"
    text += "".join(section(n) for n in range(1, first + 1))
    text += code_block(code) + table(rows)
    text += "".join(section(n) for n in range(first + 1, first + last + 1))
    return text


def redraw_pieces(tokens: list[str], per_redraw: int) -> list[str]:
    return ["".join(tokens[i : i + per_redraw]) for i in range(0, len(tokens), per_redraw)]


# --- 1. CPU per redraw ----------------------------------------------------------------------------


def cpu_per_redraw(pieces: list[str]) -> dict[str, list[float]]:
    naive: list[float] = []
    incremental: list[float] = []
    text = ""
    renderer = IncrementalMarkdown()
    for piece in pieces:
        text += piece
        started = time.process_time()
        render_markdown(text)
        naive.append(time.process_time() - started)
        started = time.process_time()
        renderer.feed(piece)
        incremental.append(time.process_time() - started)
    started = time.process_time()
    renderer.end()
    incremental[-1] += time.process_time() - started
    assert renderer.html == render_markdown(text), "incremental != whole: a bug, not a timing"
    return {"naive": naive, "incremental": incremental}


def start_end(values: list[float]) -> tuple[float, float]:
    tenth = max(1, len(values) // 10)
    return statistics.mean(values[:tenth]), statistics.mean(values[-tenth:])


# --- 2. widget bytes ------------------------------------------------------------------------------


class CommMeter:
    """Every comm message widgets publish, by the view's redraw count at the time (DummyComm
    stands in for the kernel's comm outside a kernel: the payloads are the same)."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, int]] = []  # (redraw number, bytes)
        self.view: LiveTokenView | None = None

    def publish_msg(self, data: Any) -> None:
        redraw = self.view.redraws if self.view is not None else 0
        self.sent.append((redraw, len(json.dumps(data, separators=(",", ":")))))

    def __enter__(self) -> CommMeter:
        self._saved = comm.DummyComm.publish_msg
        comm.DummyComm.publish_msg = lambda _c, _type, data=None, *a, **k: self.publish_msg(data)
        return self

    def __exit__(self, *exc: object) -> None:
        comm.DummyComm.publish_msg = self._saved

    def per_redraw(self, redraws: range) -> float:
        return sum(size for number, size in self.sent if number in redraws) / len(redraws)


async def _source(pieces: list[str]):
    for piece in pieces:
        yield piece


def _measure(pieces: list[str], markdown: bool) -> tuple[CommMeter, float, LiveTokenView]:
    with CommMeter() as meter:
        view = meter.view = LiveTokenView(throttle=0.0, markdown=markdown)
        started = time.process_time()
        asyncio.run(view.run(lambda: _source(pieces)))
        return meter, time.process_time() - started, view


def widget_bytes(pieces: list[str]) -> dict[str, dict[str, float]]:
    """Per view: messages, bytes, bytes per redraw at the start and the end, CPU seconds.

    The same pieces, one redraw per piece. The naive Markdown view is the same LiveTokenView
    with its one HTML widget set to the whole rendered answer on every redraw.
    """
    import helpers.widgets as kit_widgets

    results = {}
    tenth = max(1, len(pieces) // 10)
    for label, markdown in (
        ("plain text (today)", False),
        ("Markdown, whole text each redraw", False),
        ("Markdown, incremental", True),
    ):
        saved = kit_widgets.text_html
        if label.startswith("Markdown, whole"):
            kit_widgets.text_html = render_markdown
        try:
            meter, cpu, view = _measure(pieces, markdown)
        finally:
            kit_widgets.text_html = saved
        if markdown:
            shown = "".join(block.value for block in view.markdown_blocks())
            assert shown == render_markdown("".join(pieces)), "the widget shows something else"
        redraws = view.redraws
        results[label] = {
            "messages": len(meter.sent),
            "bytes": sum(size for _, size in meter.sent),
            "start": meter.per_redraw(range(2, 2 + tenth)),
            "end": meter.per_redraw(range(redraws - tenth, redraws)),  # before the final flush
            "cpu": cpu,
        }
    return results


# --- 3. token -> visible in Chromium --------------------------------------------------------------

PAGE_RUN = """
async ({tokens, interval, perTick, mode}) => {
  const box = document.createElement('div');
  document.body.replaceChildren(box);
  const view = mode === 'markdown' ? new StreamingMarkdown(box) : null;
  const delays = [], work = [];
  let waiting = [], asked = false;
  const frame = () => {
    const now = performance.now();
    for (const t of waiting) delays.push(now - t);
    waiting = [];
    asked = false;
  };
  await new Promise((resolve) => {
    let i = 0;
    const tick = () => {
      for (let k = 0; k < perTick && i < tokens.length; k++, i++) {
        const arrived = performance.now();
        if (view) view.append(tokens[i]); else box.append(tokens[i]);
        work.push(performance.now() - arrived);
        waiting.push(arrived);
        if (!asked) { asked = true; requestAnimationFrame(frame); }
      }
      if (i < tokens.length) setTimeout(tick, interval);
      else { if (view) view.end(); requestAnimationFrame(() => { frame(); resolve(); }); }
    };
    tick();
  });
  return {delays, work, chars: box.textContent.length, blocks: view ? view.blocks : 0};
}
"""


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def token_to_dom(tokens: list[str], rate: float) -> dict[str, dict[str, Any]] | str:
    from helpers.browser import browser_missing, chromium_page

    missing = browser_missing()
    if missing:
        return missing
    interval = 10  # ms between timer ticks; several tokens per tick above 100 tokens/s
    per_tick = max(1, round(rate * interval / 1000))
    results = {}
    with chromium_page("about:blank") as page:
        for script in SCRIPTS:
            page.add_script_tag(path=str(script))
        for mode in ("plain", "markdown", "plain", "markdown"):  # twice, interleaved
            out = page.evaluate(
                PAGE_RUN,
                {"tokens": tokens, "interval": interval, "perTick": per_tick, "mode": mode},
            )
            seen = results.setdefault(mode, {"delays": [], "work": [], "blocks": out["blocks"]})
            seen["delays"] += out["delays"]
            seen["work"] += out["work"]
    return results


# --- the report -----------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tokens", type=int, default=10_000, help="tokens in the answer (about)")
    parser.add_argument("--per-redraw", type=int, default=5, help="tokens between redraws")
    parser.add_argument("--rate", type=float, default=250.0, help="tokens/s into the page")
    parser.add_argument("--no-browser", action="store_true", help="skip the Chromium part")
    args = parser.parse_args()

    text = answer(args.tokens)
    tokens = tokenize(text)
    pieces = redraw_pieces(tokens, args.per_redraw)
    print(f"answer: {len(tokens)} tokens, {len(text)} characters; a redraw every "
          f"{args.per_redraw} tokens = {len(pieces)} redraws")  # fmt: skip

    print("\n1. CPU per redraw (time.process_time), mean of the first and last 10% of redraws")
    cpu = cpu_per_redraw(pieces)
    print(f"{'renderer':<34} {'start':>9} {'end':>9} {'end/start':>9} {'slowest':>9} {'total':>8}")
    for label, key in (("naive: render_markdown(whole)", "naive"),
                       ("incremental: feed(new text)", "incremental")):  # fmt: skip
        first, last = start_end(cpu[key])
        print(f"{label:<34} {first * 1e3:>6.3f} ms {last * 1e3:>6.3f} ms {last / first:>8.1f}x "
              f"{max(cpu[key]) * 1e3:>6.2f} ms {sum(cpu[key]):>6.2f} s")  # fmt: skip
    first, last = start_end(cpu["incremental"])
    ratio = last / first
    verdict = "met" if ratio <= 2 else f"NOT met (by {ratio / 2:.1f}x)"
    print(f"goal: incremental end/start <= 2x: {verdict}")

    print("\n2. Widget messages for the whole answer (comm payloads as JSON; bytes per redraw in "
          "the first and last 10% of redraws)")  # fmt: skip
    print(f"{'view':<34} {'messages':>8} {'bytes':>12} {'bytes/token':>11} {'start':>8} "
          f"{'end':>8} {'CPU':>8}")  # fmt: skip
    for label, row in widget_bytes(pieces).items():
        print(f"{label:<34} {row['messages']:>8} {row['bytes']:>12,} "
              f"{row['bytes'] / len(tokens):>11.0f} {row['start']:>8.0f} {row['end']:>8.0f} "
              f"{row['cpu']:>6.2f} s")  # fmt: skip

    if args.no_browser:
        print("\n3. token -> visible in the DOM: skipped (--no-browser)")
        return 0
    print(f"\n3. token -> visible in the page's DOM, headless Chromium, {args.rate:.0f} tokens/s, "
          "two runs each (delay = next animation frame after the append - arrival)")  # fmt: skip
    dom = token_to_dom(tokens, args.rate)
    if isinstance(dom, str):
        print(f"skipped: {dom}")
        return 0
    print(f"{'page':<34} {'p50':>8} {'p90':>8} {'p99':>8} {'append start':>12} {'append end':>10}")
    for mode, label in (("plain", "plain text: element.append"),
                        ("markdown", "StreamingMarkdown.append")):  # fmt: skip
        delays, work = dom[mode]["delays"], dom[mode]["work"]
        first, last = start_end(work)
        cells = " ".join(f"{percentile(delays, q):>5.1f} ms" for q in (0.5, 0.9, 0.99))
        print(f"{label:<34} {cells} {first:>9.3f} ms {last:>7.3f} ms")
    extra = percentile(dom["markdown"]["delays"], 0.5) - percentile(dom["plain"]["delays"], 0.5)
    verdict = "met" if extra <= FRAME_MS else f"NOT met (by {extra - FRAME_MS:.1f} ms)"
    print(f"goal: Markdown p50 <= plain p50 + one frame ({FRAME_MS:.1f} ms): {extra:+.1f} ms, "
          f"{verdict}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

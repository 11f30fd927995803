"""How long from a token leaving the server to it being visible in the browser's DOM?

Target for the kit's live view (LiveTokenView, 50 ms throttle): p50 <= 50 ms.

How it is measured, end to end in real software on this machine:

* JupyterLab + Debian's headless Chromium (the harness of tests/browser/), a fresh notebook with
  the kit's local server started *inside the kernel*, its ASGI app wrapped by ``SendTimes``: after
  each SSE frame is handed to the socket, it records ``time.time()`` and the answer length so far.
* In the page, a MutationObserver records ``performance.timeOrigin + performance.now()`` (wall
  clock, ms) and the visible text length after every DOM change of the view being measured.
* Each token is matched to the first DOM record whose text length reaches the length the server
  had sent by then. Delay = DOM time - send time.

Side by side, three ways to show the same stream (same server, same answer, same rate):
the kit's LiveTokenView with its default 50 ms throttle, the same view throttled at 10 ms, and the
named peer from lesson 4: ``print(delta, end="", flush=True)`` into the cell's output area.

    .venv/bin/python benchmarks/bench_token_to_dom.py [--tokens 80] [--rate 20] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "browser"))

from lab_harness import (  # noqa: E402  (the shared JupyterLab + Chromium harness)
    CHROMIUM,
    chromium_page,
    code_cell,
    jupyter_lab,
    open_notebook,
    run_cell,
)

PROMPT = "Why does streaming feel faster?"

SETUP = '''
import json
import time
from pathlib import Path

from openai import AsyncOpenAI

from helpers.server import LocalServer
from helpers.widgets import LiveTokenView


def deltas_in(body: bytes) -> list[str]:
    """The output_text deltas in a chunk of SSE bytes (one frame per send in our server)."""
    found = []
    for line in body.split(b"\\n"):
        if line.startswith(b"data: ") and b"output_text.delta" in line:
            event = json.loads(line[6:])
            if event.get("type") == "response.output_text.delta":
                found.append(event["delta"])
    return found


class SendTimes:
    """ASGI middleware: wall-clock time at which each token was handed to the socket."""

    def __init__(self, app):
        self.app, self.records = app, []

    async def __call__(self, scope, receive, send):
        sent = 0

        async def timed_send(message):
            nonlocal sent
            await send(message)
            if message["type"] == "http.response.body":
                for delta in deltas_in(message.get("body", b"")):
                    sent += len(delta)
                    self.records.append((sent, time.time()))

        await self.app(scope, receive, timed_send)


server = LocalServer(ttft=1.0, tokens_per_second=RATE, jitter=0.25, seed=0)
recorder = server.app = SendTimes(server.app)  # wrapped before start(): start() serves .app
server.start()
client = AsyncOpenAI(base_url=server.base_url, api_key="unused")


def open_stream():
    return client.responses.create(
        model="kit-sim-1", input=PROMPT, stream=True, max_output_tokens=TOKENS
    )


def save(name):
    Path(OUT, name + ".json").write_text(json.dumps(recorder.records))
    recorder.records = []


async def warm_up():
    async for _ in await open_stream():
        pass
    recorder.records = []

await warm_up()
print("ready")
'''

WIDGET_RUN = '''
# BENCH {name}
view = LiveTokenView("{name}", throttle={throttle})
view.text.add_class("bench-{name}")
display(view)
await view.run(open_stream)
save("{name}")
'''

PRINT_RUN = '''
# BENCH {name}
async for event in await open_stream():
    if event.type == "response.output_text.delta":
        print(event.delta, end="", flush=True)
save("{name}")
'''

# Installed in the page before a run: records (visible length, wall-clock ms) on every change.
OBSERVER = """
([kind, marker]) => {
  window.benchRecords = [];
  const cellOf = () => [...document.querySelectorAll('.jp-CodeCell')].find(
      c => c.querySelector('.jp-InputArea-editor')?.textContent.includes('# BENCH ' + marker));
  const visible = () => {
    if (kind === 'widget') {
      const e = document.querySelector('.bench-' + marker);
      return e ? e.textContent.length : 0;
    }
    const cell = cellOf();
    if (!cell) return 0;
    return [...cell.querySelectorAll('.jp-OutputArea-output')]
        .map(o => o.textContent).join('').length;
  };
  let last = -1;
  const note = () => {
    const length = visible();
    if (length !== last) {
      last = length;
      window.benchRecords.push([length, performance.timeOrigin + performance.now()]);
    }
  };
  window.benchObserver?.disconnect();
  window.benchObserver = new MutationObserver(note);
  window.benchObserver.observe(document.body,
      {subtree: true, childList: true, characterData: true});
}
"""


def build_notebook(path: Path, out: Path, tokens: int, rate: float, runs: list[tuple]) -> None:
    setup = f"OUT = {str(out)!r}\nPROMPT = {PROMPT!r}\nTOKENS = {tokens}\nRATE = {rate}\n" + SETUP
    cells = [nbformat.v4.new_code_cell(setup.strip())]
    for name, kind, throttle in runs:
        template = WIDGET_RUN if kind == "widget" else PRINT_RUN
        cells.append(nbformat.v4.new_code_cell(template.format(name=name, throttle=throttle)))
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {
        "name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"
    }
    nbformat.write(notebook, path)


def delays_ms(sent: list[list[float]], seen: list[list[float]]) -> list[float]:
    """For each token: the first DOM moment its text was visible, minus when it was sent."""
    delays = []
    for length, sent_at in sent:
        shown = next((t for visible, t in seen if visible >= length), None)
        if shown is not None:
            delays.append(shown - sent_at * 1000)
    return delays


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tokens", type=int, default=80, help="tokens per answer")
    parser.add_argument("--rate", type=float, default=20.0, help="server tokens per second")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each variant")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        print(f"{CHROMIUM} not found: install Debian's chromium to run this benchmark")
        return 2

    variants = [
        ("LiveTokenView, 50 ms throttle (kit default)", "widget", 0.05),
        ("LiveTokenView, 10 ms throttle", "widget", 0.01),
        ("peer: print(delta, end='', flush=True)", "print", None),
    ]
    runs = [
        (f"v{index}r{repeat}", kind, throttle)
        for repeat in range(args.repeats)
        for index, (_, kind, throttle) in enumerate(variants)
    ]
    results: dict[int, list[float]] = {index: [] for index in range(len(variants))}
    missed: dict[int, int] = dict.fromkeys(results, 0)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-dom-") as temp:
        root, out = Path(temp) / "root", Path(temp) / "out"
        root.mkdir()
        out.mkdir()
        notebook = Path(temp) / "bench_token_to_dom.ipynb"
        build_notebook(notebook, out, args.tokens, args.rate, runs)
        with jupyter_lab(root, [notebook]) as lab, chromium_page(Path(temp) / "profile") as page:
            open_notebook(page, lab, notebook.name)
            setup = code_cell(page, "warm_up()")
            run_cell(page, setup)
            try:
                setup.locator(".jp-OutputArea-output", has_text="ready").wait_for(timeout=90_000)
            except Exception:
                shot = REPO / "test-artifacts" / "bench-token-to-dom-setup-failed.png"
                shot.parent.mkdir(exist_ok=True)
                page.screenshot(path=shot)
                print(f"the setup cell did not finish; screenshot: {shot}")
                raise
            for name, kind, _ in runs:
                page.evaluate(OBSERVER, [kind, name])
                run_cell(page, code_cell(page, f"# BENCH {name}"))
                result_file = out / f"{name}.json"
                deadline = time.monotonic() + 60 + args.tokens / args.rate
                while not result_file.exists() and time.monotonic() < deadline:
                    page.wait_for_timeout(200)
                page.wait_for_timeout(300)  # let the final redraw land
                sent = json.loads(result_file.read_text())
                seen = page.evaluate("window.benchRecords")
                index = int(name[1 : name.index("r")])
                delays = delays_ms(sent, seen)
                results[index].extend(delays)
                missed[index] += len(sent) - len(delays)

    print(f"token leaves the server -> visible in the DOM; {args.tokens} tokens at "
          f"{args.rate:.0f} tokens/s, {args.repeats} run(s) each, JupyterLab + headless Chromium")
    print(f"{'variant':<46} {'tokens':>6} {'p50':>8} {'p90':>8} {'max':>8} {'min':>8}")
    for index, (label, _, _) in enumerate(variants):
        values = results[index]
        if not values:
            print(f"{label:<46} no tokens matched")
            continue
        row = [percentile(values, 0.5), percentile(values, 0.9), max(values), min(values)]
        cells = " ".join(f"{v:>5.1f} ms" for v in row)
        note = f"  ({missed[index]} never seen)" if missed[index] else ""
        print(f"{label:<46} {len(values):>6} {cells}{note}")
    default = results[0]
    if default:
        verdict = "met" if statistics.median(default) <= 50 else "NOT met"
        print(f"target p50 <= 50 ms for the kit default: {verdict}")
    print(f"wall time {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

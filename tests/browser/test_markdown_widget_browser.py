"""``LiveTokenView(markdown=True)`` in a real JupyterLab in a real (headless) Chromium.

A cell streams a Markdown answer into the view from a deterministic fake stream (an async
generator: the view takes any async iterable), and the test reads what a learner would see:

- **Every painted frame is a state of the answer.** The page samples the view's DOM in every
  animation frame (requestAnimationFrame) and after every kernel message has been handled (a
  listener on the kernel's WebSocket that runs after JupyterLab's own): the states a frame *can*
  show, whether or not a frame happened to fall there. Each sample's text must be the text of the
  answer rendered up to some prefix of the stream, the prefixes never going back. A finished block
  that moves from the open widget to its own widget must never show twice, nor be missing, in any
  of them.
- **While streaming, no raw syntax.** No sample's innerText holds ``**``, a backtick or ``~~``;
  the stream pauses (until the test lets it go on, once a frame has shown that state) inside an
  open ``**``, an open code span, a table, an open code fence (shown as ``<pre><code>``), a long
  fence sent in pieces, and an open link.
- **Rendered as elements:** headings, lists, a table, code, a quote, emphasis.
- **An XSS payload is inert:** ``<img src=x onerror=...>``, ``<script>``, ``javascript:`` links
  show as text; no element runs or links anywhere but https.
- **At the end the DOM equals the whole answer rendered once** (``render_markdown``), block by
  block.

What it found: a block's move took two kernel messages (its new widget joined the box, then
the open widget was updated), and in the state between them the block showed twice, for about
half of the moves of this answer (no painted frame caught one in our runs: the messages arrive
together). LiveTokenView now makes the move one update of the box (helpers/widgets.py).

No wall-clock thresholds: pauses are hand-shakes (the kernel waits for a file the test creates),
and the checks compare orders and contents. Skips without Chromium, except in CI (CI set).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from ci import skip_or_fail
from lab_harness import CHROMIUM, chromium_page, code_cell, jupyter_lab, open_notebook, run_cell

from helpers.markdown_stream import IncrementalMarkdown, render_markdown
from helpers.server.model.simulated import tokenize
from helpers.widgets import FENCE_PIECE

pytestmark = pytest.mark.browser

NOTEBOOK = "markdown_widget.ipynb"
LONG_CODE = "".join(
    f"line {i:02d}: the open fence keeps growing {'=' * (i % 7)}\n" for i in range(60)
)
assert len(LONG_CODE) > FENCE_PIECE  # so the long fence is sent in pieces while it is open

# The answer, with "\x00" where the stream pauses until the test has seen that state painted.
SCRIPT = (
    "# Streaming in a notebook\n\n"
    "A streamed answer shows **each token\x00 as it arrives**, so the reader starts early.\n\n"
    "## What arrives\n\n"
    "- text in *small pieces*, with `inline\x00 code`\n"
    "- a ~~blocking~~ streamed reply\n"
    "- numbers: 1, 2, 3\n\n"
    "1. open the stream\n2. read the events\n\n"
    "| step | what the reader sees |\n|:-----|---------------------:|\n"
    "| first token | the first words |\n| later tokens\x00 | the text growing |\n"
    "| the end | the whole answer |\n\n"
    "```python\ndef stream(tokens):\n    for token in tokens:\n\x00        yield token\n```\n\n"
    "> A quote: stop when the answer is *good enough*.\n\n"
    "```text\n" + LONG_CODE[:-200] + "\x00" + LONG_CODE[-200:] + "```\n\n"
    "Links: [the docs](https://example.com/docs), [click me](javascript:window\x00.kitXss=2) "
    "and <javascript:window.kitXss=3>. Raw HTML stays text: "
    '<img src=x onerror="window.kitXss=1"> and <script>window.kitXss=4</script>.\n\n'
    + "".join(f"Note {n}: one more short paragraph.\n\n" for n in range(1, 9))
    + "The end."
)  # 19 blocks: the first 16 go into a page (one update, as every move) while it streams
ANSWER = SCRIPT.replace("\x00", "")


def chunks_and_pauses() -> tuple[list[str], list[int]]:
    """The stream's pieces (the kit's tokenizer; the long fence's lines whole) and the indices of
    the pieces the stream waits before."""
    chunks: list[str] = []
    pauses: list[int] = []
    for number, segment in enumerate(SCRIPT.split("\x00")):
        if number:
            pauses.append(len(chunks))
        for part in re.split(r"(line \d\d:[^\n]*\n?)", segment):
            chunks += [part] if part.startswith("line ") else tokenize(part)
    assert "".join(chunks) == ANSWER and "" not in chunks
    return chunks, pauses


# --- what the DOM may legitimately show -----------------------------------------------------------


VOID = {"br", "hr", "img", "input", "wbr", "col", "area", "base", "embed", "source", "track"}


class _Text(HTMLParser):
    """The text nodes, less the whitespace between top-level blocks (the "\n" after a </p>)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.depth = 0

    def handle_starttag(self, tag: str, attrs: object) -> None:
        self.depth += tag not in VOID

    def handle_endtag(self, tag: str) -> None:
        self.depth -= tag not in VOID

    def handle_data(self, data: str) -> None:
        if self.depth or data.strip():
            self.parts.append(data)


def text_content(html: str) -> str:
    """The DOM's text for this HTML as the page's recorder reads it (``blockText``): every text
    node but the whitespace between top-level blocks, which the browser does not show (our HTML:
    sanitized, no raw-text elements)."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts)


def legit_states(chunks: list[str]) -> list[str]:
    """The text the view shows after each prefix of the stream: state[i] after i pieces, and
    last the ended render. The renderer's state does not depend on how the text was split
    (tests/test_markdown_stream.py), so this holds for whatever pieces the throttle merged."""
    renderer = IncrementalMarkdown()
    states = [""]
    for chunk in chunks:
        renderer.feed(chunk)
        states.append(text_content("".join(renderer.blocks) + renderer.open_html))
    renderer.end()
    states.append(text_content("".join(renderer.blocks)))
    return states


def explain(sample: str, states: list[str], after: int) -> str:
    """Why a sample is no state: the nearest state in length, and where they first differ."""
    nearest = min(states[after:], key=lambda state: abs(len(state) - len(sample)))
    cut = next(
        (i for i, (a, b) in enumerate(zip(sample, nearest, strict=False)) if a != b),
        min(len(sample), len(nearest)),
    )
    return (
        f"the view showed a text that is no state of the answer (after state {after}):\n"
        f"  shown   ...{sample[max(0, cut - 80) : cut + 120]!r}\n"
        f"  nearest ...{nearest[max(0, cut - 80) : cut + 120]!r}\n"
        f"(shown {len(sample)} characters, nearest state {len(nearest)}; a longer text that "
        "repeats what comes before the difference is a block shown twice, a shorter one a block "
        "missing)"
    )


# --- the page's recorder --------------------------------------------------------------------------

# Runs in the page before JupyterLab's own scripts. sample() reads the view's blocks (the content
# of each .kit-md-block HTML widget, in DOM order) and its innerText; it runs in every animation
# frame, and after each message on a WebSocket (JupyterLab sets ws.onmessage; the setter below adds
# that handler, then a listener of ours: the browser runs the second after the first and after the
# microtasks it queued, i.e. once JupyterLab has handled the message).
RECORDER = r"""
(() => {
  const rec = { samples: [], seenInFrames: new Set(), frames: 0, messages: 0, last: {} };
  window.__kitMd = rec;
  // A block's text: its text nodes, less the whitespace between its top-level elements (an
  // open fence sent in pieces has one such "\n" per piece, which shows as nothing).
  const blockText = (content) => Array.from(content.childNodes)
    .filter((node) => node.nodeType !== Node.TEXT_NODE || node.data.trim())
    .map((node) => node.textContent).join('');
  function sample(kind) {
    const view = document.querySelector('.kit-markdown');
    if (!view) return;
    const contents = view.querySelectorAll('.kit-md-block .widget-html-content');
    const text = Array.from(contents, blockText).join('');
    if (kind === 'frame') { rec.frames += 1; rec.seenInFrames.add(text); } else rec.messages += 1;
    if (rec.last[kind] === text) return;
    rec.last[kind] = text;
    rec.samples.push({ kind, text, inner: view.innerText, blocks: contents.length });
  }
  const tick = () => { sample('frame'); requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
  const Native = window.WebSocket;
  class Sampled extends Native {
    set onmessage(handler) {
      if (this.kitHandler) this.removeEventListener('message', this.kitHandler);
      if (this.kitAfter) this.removeEventListener('message', this.kitAfter);
      this.kitHandler = typeof handler === 'function' ? handler : null;
      if (this.kitHandler) {
        this.kitAfter = () => sample('message');
        this.addEventListener('message', this.kitHandler);
        this.addEventListener('message', this.kitAfter);
      }
    }
    get onmessage() { return this.kitHandler || null; }
  }
  window.WebSocket = Sampled;
})();
"""

# What the view's DOM holds now: elements by kind, the open block, every link and attribute.
DOM_NOW = r"""() => {
  const view = document.querySelector('.kit-markdown');
  const all = (sel) => Array.from(view.querySelectorAll(sel));
  const open = view.querySelector('.kit-md-open .widget-html-content');
  return {
    inner: view.innerText,
    contents: all('.kit-md-block .widget-html-content').map((e) => e.innerHTML),
    open: open ? open.innerHTML : null,
    openStrong: open ? Array.from(open.querySelectorAll('strong'), (e) => e.textContent) : [],
    openCode: open ? Array.from(open.querySelectorAll('code'), (e) => e.textContent) : [],
    openPreCode: open ? Array.from(open.querySelectorAll('pre > code'), (e) => e.textContent) : [],
    openRows: open ? Array.from(open.querySelectorAll('tr'), (e) => e.innerText) : [],
    openLinks: open ? open.querySelectorAll('a').length : 0,
    pages: all('.kit-md-page').length,
    pres: all('pre > code').map((e) => e.textContent),
    tags: all('*').map((e) => e.tagName.toLowerCase()),
    hrefs: all('a').map((a) => a.getAttribute('href')),
    onAttributes: all('*').flatMap((e) => e.getAttributeNames().filter((n) => n.startsWith('on'))),
    xss: window.kitXss === undefined ? null : String(window.kitXss),
  };
}"""


def notebook_with_the_stream(path: Path, chunks: list[str], pauses: list[int]) -> Path:
    source = f"""import asyncio
from pathlib import Path

from helpers.widgets import LiveTokenView

CHUNKS = {chunks!r}
PAUSES = {set(pauses)!r}


async def answer():
    \"\"\"The answer a piece at a time; before a pause, wait until the test creates go-N.\"\"\"
    for index, chunk in enumerate(CHUNKS):
        while index in PAUSES and not Path(f"go-{{index}}").exists():
            await asyncio.sleep(0.02)
        yield chunk
        await asyncio.sleep(0.02)


view = LiveTokenView("answer", markdown=True)
task = view.start(answer)
view"""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source)]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    path.mkdir(parents=True)
    nbformat.write(notebook, path / NOTEBOOK)
    return path / NOTEBOOK


def require_chromium() -> None:
    if not CHROMIUM.exists():
        skip_or_fail(f"{CHROMIUM} not found: install Debian's chromium", "the browser test")


def test_chunks_make_the_answer_and_pause_where_meant():
    chunks, pauses = chunks_and_pauses()
    ends = ["**each token", "`inline", "later tokens", "in tokens:\n", LONG_CODE[-212:-200]]
    ends.append("(javascript:window")
    segments = SCRIPT.split("\x00")
    assert len(segments) == len(pauses) + 1 == len(ends) + 1
    assert all(segment.endswith(end) for segment, end in zip(segments, ends, strict=False))
    assert ["".join(chunks[:pause]) for pause in pauses] == [
        "".join(SCRIPT.split("\x00")[: n + 1]) for n in range(len(pauses))
    ]


def check_pause(number: int, dom: dict) -> None:
    """What the open block shows at each pause: rendered, never the raw syntax."""
    if number == 0:  # inside **each token: bold already, no asterisks
        assert dom["openStrong"] == ["each token"], dom["open"]
    elif number == 1:  # inside `inline: a code span already, no backtick
        assert "inline" in dom["openCode"], dom["open"]
    elif number == 2:  # mid-table: the header and the rows so far are table rows
        assert dom["openRows"][0].split("\t") == ["step", "what the reader sees"], dom["openRows"]
        assert dom["openRows"][1].split("\t") == ["first token", "the first words"]
        assert dom["openRows"][2].startswith("later tokens"), dom["openRows"]
    elif number == 3:  # inside the open fence: a <pre><code> with the lines so far
        assert dom["openPreCode"] == ["def stream(tokens):\n    for token in tokens:\n"], dom
    elif number == 4:  # the long fence: frozen pieces and an open piece, together the code so far
        pieces = [code for code in dom["pres"] if code.startswith("line ") or "\nline " in code]
        assert len(pieces) >= 2 and dom["openPreCode"], dom["pres"]
        assert "".join(pieces) == LONG_CODE[:-200]
    elif number == 5:  # [click me](javascript:window: the text, not the bracket, no link
        assert "click me" in dom["inner"] and "[click me" not in dom["inner"], dom["inner"]
        assert dom["openLinks"] == 1, dom["open"]  # only the docs link is a link


def wrong_samples(samples: list[dict], states: list[str]) -> dict[str, list[str]]:
    """The samples (by kind) that are no state of the stream, or one from before the state an
    earlier sample reached; each explained. Raw syntax in any sample fails at once."""
    index_of: dict[str, list[int]] = {}
    for index, state in enumerate(states):
        index_of.setdefault(state, []).append(index)
    reached, wrong = 0, {"frame": [], "message": []}
    for sample in samples:
        for syntax in ("**", "`", "~~"):
            assert syntax not in sample["inner"], (sample["kind"], syntax, sample["inner"][-300:])
        later = [index for index in index_of.get(sample["text"], []) if index >= reached]
        if not later:
            wrong[sample["kind"]].append(explain(sample["text"], states, reached))
            continue
        reached = later[0]
    return wrong


def wait_until_painted(page, states: list[str], index: int) -> None:
    """Until a frame has shown states[index]; if none does, say what the last frame showed."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(
            "(text) => window.__kitMd.seenInFrames.has(text)", arg=states[index], timeout=120_000
        )
    except PlaywrightTimeout:
        shown = page.evaluate("() => window.__kitMd.last.frame")
        raise AssertionError(
            f"no frame showed state {index}; the last frame: "
            + (explain(shown, states, 0) if shown is not None else "none (no view on the page)")
        ) from None


def test_markdown_view_in_jupyterlab_shows_each_state_once_and_safely(tmp_path: Path):
    require_chromium()
    chunks, pauses = chunks_and_pauses()
    states = legit_states(chunks)
    final_html = render_markdown(ANSWER)
    copy = notebook_with_the_stream(tmp_path / "copy", chunks, pauses)
    with (
        jupyter_lab(tmp_path / "root", [copy]) as lab,
        chromium_page(tmp_path / "profile") as page,
    ):
        page.add_init_script(script=RECORDER)
        open_notebook(page, lab, NOTEBOOK)
        run_cell(page, code_cell(page, "view = LiveTokenView"))
        for number, pause in enumerate(pauses):
            # the state just before the pause, painted in a frame; then look, then let it go on
            wait_until_painted(page, states, pause)
            dom = page.evaluate(DOM_NOW)
            for syntax in ("**", "`", "~~"):
                assert syntax not in dom["inner"], (number, dom["inner"][-300:])
            check_pause(number, dom)
            (lab.root / f"go-{pause}").touch()
        page.wait_for_function(
            "() => document.querySelector('.kit-metrics').textContent.startsWith('complete')",
            timeout=120_000,
        )
        wait_until_painted(page, states, len(states) - 1)
        dom = page.evaluate(DOM_NOW)
        record = page.evaluate(
            "() => ({samples: window.__kitMd.samples, frames: window.__kitMd.frames,"
            " messages: window.__kitMd.messages})"
        )

    # 1. Every sample, frame or message, is a state of the stream, in the stream's order.
    samples = record["samples"]
    assert record["messages"] > len(pauses) and record["frames"] > len(pauses), record
    wrong = wrong_samples(samples, states)
    assert not wrong["frame"] and not wrong["message"], (
        f"{len(wrong['frame'])} painted frames and {len(wrong['message'])} states after a kernel "
        "message were no state of the answer; the first:\n"
        + "\n".join(f"{kind}: {found[0]}" for kind, found in wrong.items() if found)
    )
    kinds = {sample["kind"] for sample in samples}
    assert kinds == {"frame", "message"}, kinds

    # 2. At the end: the whole answer rendered once, block by block, and as elements.
    final = IncrementalMarkdown()
    final.feed(ANSWER)
    final.end()
    assert "".join(final.blocks) == final_html
    assert dom["contents"] == final.blocks and len(final.blocks) == 19
    assert dom["pages"] == 1  # the first 16 blocks went into a page (in the same one update)
    assert samples[-1]["text"] == text_content(final_html) == states[-1]
    for tag in ("h1", "h2", "ul", "ol", "li", "table", "th", "td", "pre", "blockquote", "em"):
        assert tag in dom["tags"], tag
    assert dom["tags"].count("pre") == 2 and dom["tags"].count("table") == 1
    assert {"strong", "s", "code"} <= set(dom["tags"])  # ~~x~~ is <s>

    # 3. The XSS payloads are text: nothing ran, nothing links anywhere but https.
    assert dom["xss"] is None
    assert not {"img", "script", "iframe"} & set(dom["tags"])
    assert dom["onAttributes"] == []
    assert dom["hrefs"] == ["https://example.com/docs"]
    for shown in ('<img src=x onerror="window.kitXss=1">', "<script>window.kitXss=4</script>"):
        assert shown in dom["inner"]
    assert "[click me](javascript:window.kitXss=2)" in dom["inner"]
    assert "<javascript:window.kitXss=3>" in dom["inner"]


def test_the_check_finds_a_block_shown_twice_missing_or_gone_back():
    """What the browser test would report: made-up samples, right and wrong."""
    chunks, _ = chunks_and_pauses()
    states = legit_states(chunks)
    heading, paragraph = states[8], states[30]  # the first block finished; the second growing
    assert paragraph.startswith(heading) and len(heading) > 10

    def check(*texts: str) -> dict[str, list[str]]:
        return wrong_samples([{"kind": "frame", "text": t, "inner": t} for t in texts], states)

    assert check(*states[::7], states[-1]) == {"frame": [], "message": []}
    (twice,) = check(states[0], paragraph + heading)["frame"]  # the heading twice
    assert "shown twice" in twice and "missing" in twice
    assert len(check(paragraph[len(heading) :])["frame"]) == 1  # the heading missing
    assert len(check(paragraph, heading)["frame"]) == 1  # back to an earlier state
    with pytest.raises(AssertionError):
        check("raw **bold**")

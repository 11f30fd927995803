"""notebooks/app/markdown_stream.js in a real (headless) Chromium: StreamingMarkdown fed in pieces.

- XSS payloads streamed a piece at a time (an ``<img onerror>``, a ``javascript:`` link, a raw
  ``<script>``) never run: they show as text, the link is inert, no element they name is created.
- An open code fence renders as code while it is open.
- The final DOM equals the whole text rendered at once, for a chat-like answer in several splits
  and for random texts (a fuzz loop inside the page).
- Finished blocks are appended once: their nodes survive every later redraw.
- The provisional closing of unterminated Markdown agrees with the Python renderer's.

The page is about:blank with the vendored libraries and the script injected, as a page loads them
with <script src>. Skips without Chromium, except in CI (CI set), where that is a failure.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from ci import skip_or_fail

from helpers.browser import browser_missing, chromium_page
from helpers.markdown_stream import provisional

pytestmark = pytest.mark.browser

APP = Path(__file__).resolve().parents[2] / "notebooks" / "app"
SCRIPTS = [
    APP / "vendor" / "marked" / "marked.umd.js",
    APP / "vendor" / "dompurify" / "purify.min.js",
    APP / "markdown_stream.js",
]

ANSWER = """# Streaming, explained

Streaming shows **each token** as it arrives, so the *first words* come at once.

- time to first token
- tokens per second

  (both matter)

1. open the stream
2. read it

```python
async for event in stream:

    print(event.delta, end="")
```

| metric | goal |
|:-------|-----:|
| TTFT   | 1 s  |
| rate   | 20/s |

> Quoted advice
that continues lazily.

See [the docs](https://example.org/docs) and `code`.
"""

PAYLOADS = [
    '<img src=x onerror="window.pwned = (window.pwned || []).concat(1)">',
    "[click me](javascript:window.pwned=(window.pwned||[]).concat(2))",
    "<script>window.pwned = (window.pwned || []).concat(3)</script>",
    '<a href="javascript:window.pwned=4">raw link</a>',
    "![img](javascript:window.pwned=5)",
]

STREAM = """
async ({text, sizes, allowImages}) => {
  const box = document.createElement('div');
  document.body.append(box);
  const view = new StreamingMarkdown(box, {allowImages});
  let at = 0, turn = 0;
  while (at < text.length) {
    const size = sizes[turn++ % sizes.length];
    view.append(text.slice(at, at + size));
    at += size;
  }
  view.end();
  const ref = document.createElement('div');
  ref.innerHTML = StreamingMarkdown.render(text, {allowImages});
  const out = {html: box.innerHTML, whole: ref.innerHTML, text: box.textContent,
               aria: box.getAttribute('aria-live'), blocks: view.blocks, typed: view.text};
  box.remove();
  return out;
}
"""


@pytest.fixture(scope="module")
def page() -> Iterator[object]:
    missing = browser_missing()
    if missing:
        skip_or_fail(missing, "the browser tests")
    with chromium_page("about:blank") as page:
        for script in SCRIPTS:
            page.add_script_tag(path=str(script))
        assert page.evaluate("typeof StreamingMarkdown") == "function"
        yield page


def stream(page, text: str, sizes: list[int], allow_images: bool = False) -> dict:
    return page.evaluate(STREAM, {"text": text, "sizes": sizes, "allowImages": allow_images})


@pytest.mark.parametrize("sizes", [[1], [3, 1, 7], [40], [10_000]])
def test_the_final_dom_equals_the_whole_text_rendered_at_once(page, sizes: list[int]):
    out = stream(page, ANSWER, sizes)
    assert out["html"] == out["whole"]
    assert out["typed"] == ANSWER and out["aria"] == "polite"
    needles = ["<h1>", "<strong>each token</strong>", "<table>", "<blockquote>",
               '<code class="language-python">', 'href="https://example.org/docs"']  # fmt: skip
    for needle in needles:
        assert needle in out["html"], needle
    assert out["blocks"] >= 8 or sizes == [10_000]


def test_random_texts_in_random_pieces_end_as_the_whole(page):
    mismatches = page.evaluate(
        """() => {
      const P = ['# H\\n', 'T\\n', '===\\n', '---\\n', '\\n', '\\n\\n', '- ', '* ', '1. ', '2) ',
                 '> ', '  ', '    ', '```', '```py\\n', '~~~\\n', '| a | b |\\n', '|---|:-:|\\n',
                 '| 1 | 2 |\\n', '**', '*', '_', '~~', '`', '[', ']', '(', ')', 'https://x.org',
                 '<img src=x onerror=y>', 'word', ' ', 'text ', '\\\\', '!', '\\t', '\\r\\n',
                 '[x]: /u\\n', '&amp;', '<', '>'];
      let seed = 7;
      const rnd = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
      const bad = [];
      for (let round = 0; round < 300; round++) {
        let text = '';
        for (let k = rnd(40); k > 0; k--) text += P[rnd(P.length)];
        const box = document.createElement('div');
        const view = new StreamingMarkdown(box);
        for (let at = 0; at < text.length;) {
          const size = 1 + rnd(round % 2 ? 2 : 9);
          view.append(text.slice(at, at + size));
          at += size;
        }
        view.end();
        const ref = document.createElement('div');
        ref.innerHTML = StreamingMarkdown.render(text);
        if (box.innerHTML !== ref.innerHTML) bad.push([text, box.innerHTML, ref.innerHTML]);
      }
      return bad.slice(0, 3);
    }"""
    )
    assert mismatches == []


@pytest.mark.parametrize("sizes", [[1], [2, 5], [1000]])
def test_xss_payloads_streamed_in_pieces_do_not_run_and_show_as_text(page, sizes: list[int]):
    text = "Here you go:\n\n" + "\n\n".join(f"Try {p} now" for p in PAYLOADS) + "\n"
    page.evaluate("() => { delete window.pwned; }")
    out = page.evaluate(
        STREAM.replace(
            "box.remove();",
            """const links = [...box.querySelectorAll('a')];
  out.hrefs = links.map(a => a.getAttribute('href'));
  out.elements = [...box.querySelectorAll('img, script, iframe, svg')].map(e => e.tagName);
  out.handlers = [...box.querySelectorAll('*')].flatMap(
      e => [...e.attributes].map(a => a.name).filter(n => n.startsWith('on')));
  links.forEach(a => a.click());
  await new Promise(r => setTimeout(r, 200));
  out.pwned = window.pwned || null;
  box.remove();""",
        ),
        {"text": text, "sizes": sizes, "allowImages": False},
    )
    assert out["pwned"] is None
    assert out["elements"] == [] and out["handlers"] == []
    assert all(href is None or href.startswith(("http", "#", "/")) for href in out["hrefs"])
    assert "<img src=x onerror=" in out["text"]  # the raw HTML is shown as text
    assert "<script>window.pwned" in out["text"]
    assert out["html"] == out["whole"]


def test_images_only_when_allowed(page):
    text = "A cat: ![a cat](https://example.org/cat.png)\n"
    off = stream(page, text, [2])
    assert "<img" not in off["html"] and 'href="https://example.org/cat.png"' in off["html"]
    on = stream(page, text, [2], allow_images=True)
    assert '<img src="https://example.org/cat.png" alt="a cat">' in on["html"]


def test_an_open_code_fence_renders_as_code_while_open(page):
    seen = page.evaluate(
        """() => {
      const box = document.createElement('div');
      const view = new StreamingMarkdown(box);
      view.append('Intro\\n\\n```python\\nx = 1\\n\\n');
      const first = box.querySelector('pre > code')?.textContent ?? null;
      view.append('y = "<b>"');
      const second = box.querySelector('pre > code')?.textContent ?? null;
      return {first, second, bold: box.querySelectorAll('b').length,
              intro: box.querySelector('p')?.textContent};
    }"""
    )
    assert seen["first"].startswith("x = 1\n") and seen["second"].startswith('x = 1\n\ny = "<b>"')
    assert seen["bold"] == 0 and seen["intro"] == "Intro"


def test_an_open_fence_grows_by_appended_text_without_parsing(page):
    seen = page.evaluate(
        """() => {
      const box = document.createElement('div');
      const view = new StreamingMarkdown(box);
      view.append('Intro\\n\\n```js\\n');
      const pre = box.querySelector('pre');
      const renders = view.renders;
      let sameNode = true, grew = true, last = 0, holdsBack = true;
      for (let i = 0; i < 100; i++) {
        view.append(`let x${i} = "<b>${i}</b>";`);
        view.append(i % 2 ? '\\n' : '\\n`');  // a lone backtick could be a closing fence
        sameNode = sameNode && box.querySelector('pre') === pre;
        const length = pre.textContent.length;
        grew = grew && length > last;
        holdsBack = holdsBack && !pre.textContent.endsWith('`');
        last = length;
      }
      const parsed = view.renders - renders;
      view.append('``\\nAfter\\n');
      view.end();
      const ref = document.createElement('div');
      ref.innerHTML = StreamingMarkdown.render(view.text);
      return {sameNode, grew, parsed, holdsBack, bold: box.querySelectorAll('b').length,
              equal: box.innerHTML === ref.innerHTML, code: box.querySelector('code').className};
    }"""
    )
    assert seen == {"sameNode": True, "grew": True, "parsed": 0, "holdsBack": True, "bold": 0,
                    "equal": True, "code": "language-js"}  # fmt: skip


def test_finished_blocks_are_appended_once_and_kept(page):
    kept = page.evaluate(
        """() => {
      const box = document.createElement('div');
      const view = new StreamingMarkdown(box);
      view.append('# Title\\n\\nFirst paragraph.\\n\\nSecond\\n');  // "Second" proves them
      const heading = box.querySelector('h1');
      const para = box.querySelector('p');
      let same = true;
      for (const piece of ['more', ' and', ' more', '.\\n\\nThird\\n']) {
        view.append(piece);
        same = same && box.querySelector('h1') === heading && box.querySelector('p') === para;
      }
      view.end();
      return {same, blocks: view.blocks, paragraphs: box.querySelectorAll('p').length};
    }"""
    )
    assert kept == {"same": True, "blocks": 4, "paragraphs": 3}


def test_unterminated_markdown_is_shown_without_raw_markers_as_in_python(page):
    cases = [
        "Some **bol", "Some *it", "**b *i", "~~gone", "run `pip ins", "run `", "Some **",
        "Some **bold *", "see [the do", "see [the docs](https://exa", "see [the docs]",
        "snake_case and 2 * 3", "- item **b", "```sh\necho **x", "`a **b` c **d",
    ]  # fmt: skip
    shown = page.evaluate("(cases) => cases.map(StreamingMarkdown.provisional)", cases)
    assert shown == [provisional(case) for case in cases]
    texts = page.evaluate(
        """(cases) => cases.map(c => {
          const box = document.createElement('div');
          new StreamingMarkdown(box).append(c);
          return box.textContent; })""",
        cases[:11],
    )
    for case, text in zip(cases[:11], texts, strict=True):
        assert not any(marker in text for marker in ("**", "`", "[", "](", "~~")), (case, text)

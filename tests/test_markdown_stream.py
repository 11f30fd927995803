"""helpers.markdown_stream: safe HTML, blocks finished once, open Markdown shown sensibly, and
rendering in any split equal to rendering whole once ended (hypothesis)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from helpers.markdown_stream import (
    IncrementalMarkdown,
    _OpenTable,
    provisional,
    render_markdown,
)

DOC = """# A heading

Some *text*, `code` and a [link](https://example.org).

- one
- two

  still two

1. first
2. second

```python
def f():

    return 1
```

| a | b |
|:--|--:|
| 1 | 2 |

> a quote
lazily continued

    indented code

    still code
Last **bold** line
"""

XSS = [
    "<img src=x onerror=alert(1)>",
    "<script>alert(1)</script>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](  javascript:alert(1))",
    "[click](vbscript:msgbox(1))",
    "[click](data:text/html,<script>alert(1)</script>)",
    "<a href='javascript:alert(1)'>x</a>",
    "![x](javascript:alert(1))",
    '<svg onload="alert(1)">',
    "<iframe src=https://evil.example></iframe>",
    '[x](https://a.example "t" onmouseover=alert(1))',
]


def pieces(text: str, cuts: list[int]) -> Iterator[str]:
    """`text` cut at each of `cuts` that falls within it, in order; the last piece runs to the
    end (it may be empty)."""
    last = 0
    for cut in [*sorted(c for c in set(cuts) if c <= len(text)), len(text)]:
        yield text[last:cut]
        last = cut


def fed(text: str, cuts: list[int], **options) -> IncrementalMarkdown:
    renderer = IncrementalMarkdown(**options)
    for piece in pieces(text, cuts):
        renderer.feed(piece)
    renderer.end()
    return renderer


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "iframe", "svg", "img", "object", "embed", "style"):
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on") or name not in (
                "href",
                "src",
                "alt",
                "title",
                "class",
                "style",
                "rel",
                "start",
            ):
                self.found.append(f"{tag} {name}=")
            elif name in ("href", "src") and re.match(
                r"\s*(javascript|vbscript|data|file):", value or "", re.I
            ):
                self.found.append(f"{tag} {name}={value}")


def unsafe(html: str, images: bool = False) -> list[str]:
    """What could run or load: script-like tags, on* attributes, javascript:/data: URLs, images."""
    parser = _Tags()
    parser.feed(html)
    parser.close()
    return [f for f in parser.found if not (images and f == "<img>")]


# --- whole texts -------------------------------------------------------------------------------


def test_the_parts_a_chat_answer_uses_render():
    html = render_markdown(DOC)
    for needle in [
        "<h1>A heading</h1>",
        "<em>text</em>",
        "<code>code</code>",
        '<a href="https://example.org" rel="noopener noreferrer nofollow">link</a>',
        "<li>\n<p>one</p>\n</li>",  # loose: a blank line inside the list
        '<pre><code class="language-python">def f():\n\n    return 1\n</code></pre>',
        '<th style="text-align:left">a</th>',
        '<td style="text-align:right">2</td>',
        "<blockquote>",
        "<pre><code>indented code\n\nstill code\n</code></pre>",
        "<strong>bold</strong>",
    ]:
        assert needle in html, needle


@pytest.mark.parametrize("payload", XSS)
def test_model_output_cannot_inject_html_or_script(payload: str):
    for options in ({}, {"allow_images": True}):
        html = render_markdown(f"Answer: {payload} done", **options)
        assert unsafe(html, images=bool(options)) == [], html


def test_raw_html_shows_as_text():
    assert render_markdown("<b>hi</b> <script>x</script>") == (
        "<p>&lt;b&gt;hi&lt;/b&gt; &lt;script&gt;x&lt;/script&gt;</p>\n"
    )


def test_images_only_when_allowed():
    off = render_markdown("![a cat](https://example.org/cat.png)")
    assert "<img" not in off and 'href="https://example.org/cat.png"' in off and "a cat" in off
    on = render_markdown("![a cat](https://example.org/cat.png)", allow_images=True)
    assert '<img src="https://example.org/cat.png" alt="a cat">' in on


def test_a_reference_definition_is_text_so_a_late_one_changes_nothing():
    assert render_markdown("[x]\n\n[x]: https://example.org") == (
        "<p>[x]</p>\n<p>[x]: https://example.org</p>\n"
    )


# --- streaming -----------------------------------------------------------------------------------


def test_finished_blocks_are_sent_once_and_only_the_open_block_is_rerendered():
    renderer = IncrementalMarkdown()
    first = renderer.feed("# Title")  # a heading is finished once its line is
    assert first.added == [] and first.open_html == "<h1>Title</h1>\n"
    second = renderer.feed("\n\nSome te")  # "Some te" is not a whole line yet
    assert second.added == ["<h1>Title</h1>\n"] and second.open_html == "<p>Some te</p>\n"
    assert renderer.feed("xt\n").added == []  # the next line may continue the paragraph
    third = renderer.feed("\n")  # a blank line ends it
    assert third.added == ["<p>Some text</p>\n"] and third.open_html == ""
    assert renderer.feed("- a\n").open_html == "<ul>\n<li>a</li>\n</ul>\n"
    last = renderer.end()
    assert last.added == ["<ul>\n<li>a</li>\n</ul>\n"] and last.done and renderer.open_html == ""
    assert renderer.blocks == [
        "<h1>Title</h1>\n",
        "<p>Some text</p>\n",
        "<ul>\n<li>a</li>\n</ul>\n",
    ]


def test_a_fence_stays_open_across_blank_lines_and_renders_as_code_while_open():
    renderer = IncrementalMarkdown()
    update = renderer.feed("Intro\n\n```python\nx = 1\n\n\ny = <b>")
    assert update.added == ["<p>Intro</p>\n"]
    assert update.open_html == (
        '<pre><code class="language-python">x = 1\n\n\ny = &lt;b&gt;</code></pre>\n'
    )
    closed = renderer.feed("\n```\n").added  # nothing can extend a closed fence: finished
    assert closed == [
        '<pre><code class="language-python">x = 1\n\n\ny = &lt;b&gt;\n</code></pre>\n'
    ]
    assert renderer.open_html == "" and renderer.feed("after\n").added == []


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["```", "````", "~~~", "```python", "``` a<b &c", "~~~ x`y"]),
    st.text(alphabet=st.sampled_from(list("ab <>&\"'\u00a0\t\n`~ ")), max_size=60),
    st.lists(st.integers(min_value=0, max_value=60), max_size=8),
)
def test_an_open_fence_is_drawn_without_the_parser_exactly_as_the_parser_would(
    opener: str, code: str, cuts: list[int]
):
    """While a fence is open its code only grows: the HTML is the opener's around escaped text."""
    text = opener + "\n" + code
    renderer = IncrementalMarkdown()
    for piece in pieces(text, cuts):
        update = renderer.feed(piece)
        if update.open_fence is None:
            continue
        assert "".join(update.open_fence) == update.open_html
        shown = renderer._pending
        tail = shown[shown.rfind("\n") + 1 :]
        if re.fullmatch(rf" {{0,3}}{re.escape(opener[0])}*[ \t]*", tail):
            shown = shown[: len(shown) - len(tail)]  # a possible closing fence waits
        assert update.open_html == render_markdown(shown)
    renderer.end()
    assert renderer.html == render_markdown(text)


def test_a_long_open_fence_costs_one_parse_not_one_per_redraw():
    renderer = IncrementalMarkdown()
    renderer.feed("Intro\n\n```python\n")
    renders = renderer.renders
    for index in range(200):
        update = renderer.feed(f"line_{index} = {index}\n")
        assert update.open_fence is not None
    assert renderer.renders == renders  # no markdown-it while the fence stays open
    closed = renderer.feed("```\n").added  # closed: finished, its HTML kept, not re-rendered
    assert renderer.renders == renders and closed[-1].endswith("line_199 = 199\n</code></pre>\n")
    assert renderer.html == render_markdown(renderer.text)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["| a | b |\n|---|:-:|\n", "a | b\n-|-\n", "| x |\n|--:|\n"]),
    st.lists(
        st.sampled_from(["| 1 | 2 |", "3 | 4", "| <b> & |", "|", "x", "| 5 | 6 | 7 |", "",
                         "> q", "- l", "# h", "    c", "```", "| a \\| b |"]),
        max_size=8,
    ).map("\n".join),
    st.lists(st.integers(min_value=0, max_value=80), max_size=8),
)  # fmt: skip
def test_an_open_table_is_drawn_row_by_row_exactly_as_the_parser_would(
    head: str, body: str, cuts: list[int]
):
    text = head + body
    renderer = IncrementalMarkdown()
    for piece in pieces(text, cuts):
        update = renderer.feed(piece)
        if isinstance(renderer._fast, _OpenTable):
            assert update.open_html == render_markdown(renderer._pending)
    renderer.end()
    assert renderer.html == render_markdown(text)


def test_a_long_open_table_renders_each_row_once():
    renderer = IncrementalMarkdown()
    renderer.feed("| n | square |\n|--:|--:|\n")
    renders = renderer.renders
    for n in range(100):
        renderer.feed(f"| {n} | {n * n} |\n")
    assert isinstance(renderer._fast, _OpenTable)
    assert renderer.renders - renders == 100  # one small render per row, none of the table
    assert renderer.open_html == render_markdown(renderer._pending)
    finished = renderer.feed("\n").added  # a blank line ends the table
    assert finished == [render_markdown(renderer.text)] and finished[0].count("<tr>") == 101
    assert renderer.renders - renders == 100  # its HTML so far was kept, not rendered again


def test_a_list_is_open_until_something_else_begins():
    renderer = IncrementalMarkdown()
    assert renderer.feed("- a\n- b\n\n").added == []
    assert renderer.feed("- c\n\n").added == []  # the same list, now loose
    update = renderer.feed("After\n")
    assert update.added == [
        "<ul>\n<li>\n<p>a</p>\n</li>\n<li>\n<p>b</p>\n</li>\n<li>\n<p>c</p>\n</li>\n</ul>\n"
    ]


def test_a_partial_line_never_finishes_a_block():
    """'2' could still become '2. ', the next item of the list above it."""
    renderer = IncrementalMarkdown()
    assert renderer.feed("1. a\n\n2").added == []
    assert renderer.feed(". b\n").added == []
    assert renderer.end().added == ["<ol>\n<li>\n<p>a</p>\n</li>\n<li>\n<p>b</p>\n</li>\n</ol>\n"]


def test_a_table_grows_row_by_row_in_the_open_block():
    renderer = IncrementalMarkdown()
    renderer.feed("| a | b |\n|---|---|\n| 1 | 2 |\n| 3")
    assert renderer.open_html.count("<tr>") == 3
    assert renderer.feed(" | 4 |\n\nNext\n").added[0].count("<tr>") == 3


def test_crlf_split_between_deltas_is_one_newline():
    assert fed("a\r\n\r\nb\r\n", [1, 2, 3, 4]).html == render_markdown("a\n\nb\n")


@pytest.mark.parametrize(
    ("open_text", "shown"),
    [
        ("Some **bol", "<p>Some <strong>bol</strong></p>"),
        ("Some *it", "<p>Some <em>it</em></p>"),
        ("Some __bol", "<p>Some <strong>bol</strong></p>"),
        ("**b *i", "<p><strong>b <em>i</em></strong></p>"),
        ("~~gone", "<p><s>gone</s></p>"),
        ("run `pip ins", "<p>run <code>pip ins</code></p>"),
        ("run `", "<p>run</p>"),  # a marker with nothing after it waits
        ("Some **", "<p>Some</p>"),
        ("Some **bold *", "<p>Some <strong>bold</strong></p>"),
        ("see [the do", "<p>see the do</p>"),
        ("see [the docs](https://exa", "<p>see the docs</p>"),
        ("see [the docs]", "<p>see the docs</p>"),
        ("snake_case and 2 * 3", "<p>snake_case and 2 * 3</p>"),
        ("- item **b", "<ul>\n<li>item <strong>b</strong></li>\n</ul>"),
        ("```sh\necho **x", '<pre><code class="language-sh">echo **x</code></pre>'),
        ("`a **b` c **d", "<p><code>a **b</code> c <strong>d</strong></p>"),
    ],
)
def test_unterminated_markdown_while_open_shows_no_raw_markers(open_text: str, shown: str):
    renderer = IncrementalMarkdown()
    assert renderer.feed(open_text).open_html.strip() == shown


def test_provisional_is_only_for_display_the_end_renders_the_real_text():
    renderer = IncrementalMarkdown()
    renderer.feed("not **closed")
    assert renderer.end().added == ["<p>not **closed</p>\n"]
    assert provisional("closed **b**") == "closed **b**"


@pytest.mark.parametrize("payload", XSS)
def test_xss_streamed_a_character_at_a_time_never_renders_unsafe(payload: str):
    renderer = IncrementalMarkdown()
    for char in f"Hi {payload} bye\n\n{payload}":
        update = renderer.feed(char)
        assert unsafe(update.open_html) == [], update.open_html
        for block in update.added:
            assert unsafe(block) == [], block
    assert unsafe(renderer.end().added[0]) == []


def test_feed_after_end_is_refused():
    renderer = IncrementalMarkdown()
    renderer.end()
    with pytest.raises(RuntimeError, match="ended"):
        renderer.feed("x")
    assert renderer.end().added == []


# --- any split equals the whole ------------------------------------------------------------------

# fmt: off
PIECES = [
    "# H\n", "Title\n", "===\n", "---\n", "\n", "\n\n", "- ", "* ", "1. ", "2) ", "> ", "  ",
    "    ", "```", "```py\n", "~~~\n", "| a | b |\n", "|---|:-:|\n", "| 1 | 2 |\n", "**", "*",
    "_", "__", "~~", "`", "[", "]", "(", ")", "https://x.org", "javascript:alert(1)", "<script>",
    "<img src=x onerror=y>", "word", " ", "text ", "\\", "!", "\t", "\r\n", "[x]: /u\n", "&amp;",
    "<", ">",
]
# fmt: on


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.sampled_from(PIECES), max_size=40).map("".join),
    st.lists(st.integers(min_value=0, max_value=400), max_size=12),
    st.booleans(),
)
@example(DOC, [3, 17, 50, 51, 52, 120, 200, 300], False)
@example("1. a\n\n2. b\n", [6], False)
@example("````\ncode\n```\nmore\n````\nx", [12, 16], False)
@example("| a |\n|---|\n| 1 |\nx\n\ny", [14, 16], False)
def test_any_split_equals_the_whole(text: str, cuts: list[int], allow_images: bool):
    cuts = [cut for cut in cuts if cut <= len(text)]
    assert fed(text, cuts, allow_images=allow_images).html == render_markdown(
        text, allow_images=allow_images
    )


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab *_`[]()#>-|:1.\n \t!~")), max_size=80))
def test_any_split_equals_the_whole_one_character_at_a_time(text: str):
    assert fed(text, list(range(len(text)))).html == render_markdown(text)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=30).map("".join))
def test_the_open_block_is_always_sanitized(text: str):
    renderer = IncrementalMarkdown()
    for index in range(0, len(text), 3):
        update = renderer.feed(text[index : index + 3])
        assert unsafe(update.open_html + "".join(update.added)) == []


# --- the page's vendored libraries ---------------------------------------------------------------

VENDOR = Path(__file__).resolve().parents[1] / "notebooks" / "app" / "vendor"


@pytest.mark.parametrize(
    ("package", "copied", "banner"),
    [
        ("marked", "marked/marked.umd.js", r"marked v(\S+) - a markdown parser"),
        ("dompurify", "dompurify/purify.min.js", r"@license DOMPurify (\S+) "),
    ],
)
def test_the_vendored_files_are_the_locked_versions_with_their_licenses(
    package: str, copied: str, banner: str
):
    lock = json.loads((VENDOR / "package-lock.json").read_text())
    locked = lock["packages"][f"node_modules/{package}"]["version"]
    assert json.loads((VENDOR / "package.json").read_text())["dependencies"][package] == locked
    head = (VENDOR / copied).read_text()[:600]
    match = re.search(banner, head)
    assert match is not None and match.group(1) == locked, head[:200]
    assert (VENDOR / package / "LICENSE").stat().st_size > 500

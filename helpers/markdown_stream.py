"""Markdown as it grows: safe HTML for a model's answer, re-rendering only the block still open.

A model's answer is untrusted text, and it arrives a few characters at a time. Two ideas:

* **Parse with a CommonMark parser, then sanitize.** ``markdown-it-py`` (CommonMark, plus GFM
  tables and ``~~strikethrough~~``) with raw HTML *off*, so ``<script>`` or
  ``<img src=x onerror=...>`` in the answer is shown as text; its own link check refuses
  ``javascript:``, ``vbscript:``, ``file:`` and ``data:`` URLs. Then ``nh3`` (Ammonia, in Rust)
  cleans the HTML again with an allow-list: tags, attributes, URL schemes (http, https, mailto,
  relative). Two independent layers, both maintained and fuzzed; neither is a home-made regex.
  Images are off unless asked for (``allow_images=True``): an image loads by itself, and its URL
  can carry data out of the page, so by default ``![alt](url)`` becomes a link a person can click.
  Link reference definitions (``[x]: /url`` on a line of its own) are turned off: a definition
  arriving late would change a block already shown, so it renders as the text it is.

* **Incremental: a block is rendered once it is finished, and never again.** A block is finished
  when the text after it proves it: the parser (run on the complete lines of what is still open)
  sees another top-level block start after it, or the block is one nothing can extend (a
  heading, a closed code fence, a paragraph or table followed by a blank line). So a list is open
  until something that is not the list begins, a fenced code block until its closing fence
  (blank lines inside do not end it). Each redraw re-renders only the last, open block: the cost
  of a redraw follows the size of that block, not of the whole answer. The two blocks that grow
  long in chat answers cost only their new part: an open code fence is the opener's HTML around
  escaped code (no parse), an open table renders each new row once, by itself.

While a block is open its Markdown may be unterminated. An open code fence already renders as
code; for an unclosed ``**``, ``*``, ``_``, ``~~`` or backtick the open block is rendered with the
closer added provisionally, an unmatched ``[`` or a link whose ``(url`` is still arriving shows
its text without the syntax, and a marker with nothing after it yet is held back. So the page
never shows ``**`` and then jumps to bold. ``end()`` renders the text as it really is.

Rendering a text in any split and ending equals rendering it whole: ``IncrementalMarkdown``
fed piece by piece and ended gives ``render_markdown(text)`` (tests/test_markdown_stream.py
checks it with hypothesis).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

__all__ = ["IncrementalMarkdown", "RenderUpdate", "provisional", "render_markdown"]

URL_SCHEMES = {"http", "https", "mailto"}


@lru_cache(maxsize=2)
def _parser(allow_images: bool) -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False})
    md.enable(["table", "strikethrough"])
    md.disable("reference")  # a late definition would change a finished block
    if not allow_images:
        md.disable("image")  # ![alt](url) renders as "!" and a link to url
    return md


@lru_cache(maxsize=2)
def _cleaner(allow_images: bool) -> nh3.Cleaner:
    tags = set(nh3.ALLOWED_TAGS)
    if not allow_images:
        tags.discard("img")
    attributes = {name: set(values) for name, values in nh3.ALLOWED_ATTRIBUTES.items()}
    attributes["code"] = {"class"}  # language-python from a fence's info string
    attributes["th"] = attributes.get("th", set()) | {"style"}
    attributes["td"] = attributes.get("td", set()) | {"style"}
    attributes["img"] = {"src", "alt", "title"}
    attributes["a"] = {"href", "title"}
    return nh3.Cleaner(
        tags=tags,
        attributes=attributes,
        url_schemes=URL_SCHEMES,
        filter_style_properties={"text-align"},  # a table column's alignment, nothing else
        link_rel="noopener noreferrer nofollow",
    )


def _normalize(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\0", "\ufffd")


def _render(source: str, allow_images: bool) -> str:
    return _cleaner(allow_images).clean(_parser(allow_images).render(source))


def render_markdown(text: str, *, allow_images: bool = False) -> str:
    """Safe HTML for a whole text: CommonMark + tables, no raw HTML, sanitized by nh3."""
    return _render(_normalize(text), allow_images)


@dataclass
class RenderUpdate:
    """What one ``feed``/``end`` changed.

    ``added``: the HTML of each block that became finished (show it once; it never changes).
    ``open_html``: the new HTML of the still-open last block ("" when none is open).
    ``open_changed``: whether ``open_html`` differs from the previous update's.
    ``open_fence``: when the open block is a fenced code block still open, its HTML in three
    parts, ``(start, code, end)`` with ``open_html == start + code + end``; the code only ever
    grows, so a view can append what is new instead of replacing the block.
    """

    added: list[str] = field(default_factory=list)
    open_html: str = ""
    open_changed: bool = False
    done: bool = False
    open_fence: tuple[str, str, str] | None = None


class IncrementalMarkdown:
    """Feed the deltas; each update holds only what changed. ``.html`` is the whole current HTML."""

    def __init__(self, *, allow_images: bool = False) -> None:
        self.allow_images = allow_images
        self._md = _parser(allow_images)
        self.blocks: list[str] = []  # finished blocks' HTML, in order
        self.open_html = ""
        self._pending = ""  # the source of the open block (and anything after it)
        self._carry = ""  # a trailing "\r" waits: the next delta may start with "\n"
        self._parts: list[str] = []  # everything received, normalized
        self.ended = False
        self.renders = 0  # how many times markdown-it rendered something (for the benchmark)
        # The open block when it is an open code fence or table: drawn from its new part only.
        self._fast: _OpenFence | _OpenTable | None = None
        self._reuse: tuple[str, str] | None = None  # (text, HTML) of a fast block that ended

    @property
    def text(self) -> str:
        return "".join(self._parts) + self._carry

    @property
    def html(self) -> str:
        return "".join(self.blocks) + self.open_html

    def feed(self, delta: str) -> RenderUpdate:
        if self.ended:
            raise RuntimeError("this IncrementalMarkdown has ended; make a new one")
        raw = self._carry + delta
        self._carry = ""
        if raw.endswith("\r"):
            raw, self._carry = raw[:-1], "\r"
        text = _normalize(raw)
        self._parts.append(text)
        self._pending += text
        if self._fast is not None:
            if self._fast.extend(text):
                return self._update([], self._fast.html, self._fast.parts)  # only the new part
            self._reuse = self._fast.done  # the block's HTML, if it is finished as it stands
        self._fast = None
        added = self._finish_blocks() if "\n" in text else []
        self._fast = _OpenFence.starting(self._pending, self._render) or _OpenTable.starting(
            self._pending, self._md, self._render
        )
        if self._fast is not None:
            return self._update(added, self._fast.html, self._fast.parts)
        return self._update(added, self._render_open())

    def end(self) -> RenderUpdate:
        """The stream is over: the open block is rendered as it really is, and finished."""
        if self.ended:
            return RenderUpdate(done=True)
        text = _normalize(self._carry)
        self._carry = ""
        self._parts.append(text)
        self._pending += text
        self._fast = None
        added = self._finish_blocks(final=True)
        if self._pending.strip():
            added.append(self._render(self._pending))
            self.blocks.append(added[-1])
        self._pending = ""
        self.ended = True
        update = self._update(added, "")
        update.done = True
        return update

    # --- inside ---------------------------------------------------------------------------------

    def _render(self, source: str) -> str:
        self.renders += 1
        return _cleaner(self.allow_images).clean(self._md.render(source))

    def _update(
        self, added: list[str], open_html: str, fence: tuple[str, str, str] | None = None
    ) -> RenderUpdate:
        changed = open_html != self.open_html
        self.open_html = open_html
        return RenderUpdate(
            added=added, open_html=open_html, open_changed=changed, open_fence=fence
        )

    def _finish_blocks(self, final: bool = False) -> list[str]:
        """Render and drop every block of the pending text that a later block proves finished.

        Only complete lines count ("2" could still become "2. ", the next item of a list above
        it), except at the end, when the last line is as complete as it will ever be.
        """
        complete_end = len(self._pending) if final else self._pending.rfind("\n") + 1
        if complete_end == 0:
            return []
        source = self._pending[:complete_end]
        if not source.endswith("\n"):
            source += "\n"
        lines = source.split("\n")[:-1]
        tops = [
            token
            for token in self._md.parse(source)
            if token.level == 0 and token.nesting >= 0 and token.map is not None
        ]
        starts = [token.map for token in tops]
        if tops and _cannot_grow(tops[-1], lines):
            starts.append([len(lines), len(lines)])  # finished: nothing after it can extend it
        if len(starts) < 2:
            return []
        added = []
        for begin, end in starts[:-1]:
            block = "".join(line + "\n" for line in lines[begin:end])
            reuse = self._reuse
            added.append(reuse[1] if reuse and reuse[0] == block else self._render(block))
        self.blocks.extend(added)
        last_begin = starts[-1][0]
        offset = sum(len(line) + 1 for line in lines[:last_begin])
        self._pending = self._pending[offset:]
        return added

    def _render_open(self) -> str:
        if not self._pending.strip():
            return ""
        return self._render(provisional(self._pending))


# --- an open code fence: its code only grows ----------------------------------------------------

_OPENER = re.compile(r"(`{3,})([^`\n]*)\n|(~{3,})([^\n]*)\n")
_CLOSER = re.compile(r" {0,3}(`{3,}|~{3,})[ \t]*")


def _cannot_grow(token: Token, lines: list[str]) -> bool:
    """Whether the last block is finished although no other block follows it yet.

    A closed code fence, a heading or a thematic break once its line is complete, a paragraph or
    a table once a blank line follows it (a list, a quote or indented code may go on after one).
    """
    assert token.map is not None
    if token.type in ("heading_open", "hr"):
        return True
    if token.type in ("paragraph_open", "table_open"):
        return token.map[1] < len(lines) and not lines[token.map[1]].strip()
    return _closed_fence(token, lines)


def _closed_fence(token: Token, lines: list[str]) -> bool:
    """Whether a top-level fence token ends with its closing fence line (so it is finished)."""
    if token.type != "fence" or token.map is None:
        return False
    begin, end = token.map
    closer = _CLOSER.fullmatch(lines[end - 1]) if end - 1 > begin else None
    run = closer.group(1) if closer else ""
    return run[:1] == token.markup[:1] and len(run) >= len(token.markup) > 0


def _escape_text(text: str) -> str:
    """Text as nh3 (html5ever) serializes it inside an element."""
    return (
        text.replace("&", "&amp;")
        .replace("\u00a0", "&nbsp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
    )


class _OpenFence:
    """An open fenced code block at the start of the open text, rendered without the parser.

    Its HTML is the opener's HTML (rendered once, by the real parser and sanitizer) around the
    escaped code, so a redraw costs the new characters, not the whole block. A last line that
    could still become the closing fence is held back. ``extend`` says False once the fence
    closes (or anything unexpected happens): then the parser takes over again.
    """

    def __init__(self, run: str, start: str, end: str, opener: str) -> None:
        self.run = run
        self.start, self.end = start, end
        self.code: list[str] = []  # escaped complete lines
        self.source = [opener]  # the block's text so far, line by line
        self.tail = ""  # the incomplete last line, raw
        self.done: tuple[str, str] | None = None  # once closed: (its text, its HTML)

    @classmethod
    def starting(cls, pending: str, render: Callable[[str], str]) -> _OpenFence | None:
        match = _OPENER.match(pending)
        if match is None:
            return None
        run = match.group(1) or match.group(3)
        opener_html = render(pending[: match.end()])
        start, found, end = opener_html.partition("</code></pre>")
        if not found or not start.startswith("<pre><code"):
            return None
        fence = cls(run, start, found + end, pending[: match.end()])
        return fence if fence.extend(pending[match.end() :]) else None

    def extend(self, text: str) -> bool:
        """Take new text; False when it closes the fence (the caller renders normally again)."""
        lines = (self.tail + text).split("\n")
        self.tail = lines.pop()
        for line in lines:
            closer = _CLOSER.fullmatch(line)
            if (
                closer
                and closer.group(1)[0] == self.run[0]
                and len(closer.group(1)) >= len(self.run)
            ):
                block = "".join(self.source) + line + "\n"
                self.done = (block, self.start + "".join(self.code) + self.end)
                return False
            self.code.append(_escape_text(line) + "\n")
            self.source.append(line + "\n")
        return True

    @property
    def parts(self) -> tuple[str, str, str]:
        tail = self.tail
        if re.fullmatch(rf" {{0,3}}{re.escape(self.run[0])}*[ \t]*", tail):
            tail = ""  # it may still become the closing fence: hold it back
        return self.start, "".join(self.code) + _escape_text(tail), self.end

    @property
    def html(self) -> str:
        return "".join(self.parts)


class _OpenTable:
    """A table at the start of the open text: each body row rendered once, by itself.

    A row's HTML depends only on its line and the header (column count, alignments), so each
    new line is rendered as a one-row table with the same header and parsed by the same parser,
    which also says whether the line is a row at all. A line that is not (a blank line,
    another block beginning) hands the table back to the parser. ``parts`` is None: a table is
    not split.
    """

    parts = None
    MAX_CELLS = 0x10000  # markdown-it's limit on cells it fills in; stay well inside it

    def __init__(self, md: MarkdownIt, render: Callable[[str], str], head: str, html: str):
        self.md, self.render, self.head = md, render, head
        self.empty = html  # the table with no body rows
        self.columns = html.count("<th")
        self.rows: list[str] = []
        self.source = [head]  # the block's text so far
        self.done: tuple[str, str] | None = None  # once a line ends it: (its text, its HTML)
        self.wrap: tuple[str, str] = ("", "")  # the table's HTML around its rows
        self.tail = ""
        self.tail_html = ""

    @classmethod
    def starting(
        cls, pending: str, md: MarkdownIt, render: Callable[[str], str]
    ) -> _OpenTable | None:
        lines = pending.split("\n", 2)
        if len(lines) < 3 or "|" not in lines[0]:
            return None
        head = lines[0] + "\n" + lines[1] + "\n"
        tokens = [t for t in md.parse(head) if t.level == 0 and t.nesting >= 0]
        if len(tokens) != 1 or tokens[0].type != "table_open" or tokens[0].map != [0, 2]:
            return None
        table = cls(md, render, head, render(head))
        return table if table.extend(lines[2]) else None

    def _row(self, line: str) -> str | None:
        """The row's <tr> HTML, or None when the line would not be a row of this table."""
        source = self.head + line + "\n"
        tokens = [t for t in self.md.parse(source) if t.level == 0 and t.nesting >= 0]
        if len(tokens) != 1 or tokens[0].map != [0, 3]:
            return None
        html = self.render(source)
        start, stop = html.find("<tbody>\n") + len("<tbody>\n"), html.rfind("</tbody>")
        if start < len("<tbody>\n") or stop < start:
            return None
        self.wrap = (html[:start], html[stop:])
        return html[start:stop]

    def extend(self, text: str) -> bool:
        lines = (self.tail + text).split("\n")
        tail = lines.pop()
        for line in lines:
            row = self._row(line)
            if row is None or (len(self.rows) + 2) * self.columns > self.MAX_CELLS:
                self.done = ("".join(self.source), self._html(""))
                return False
            self.rows.append(row)
            self.source.append(line + "\n")
        if tail != self.tail or lines:
            self.tail = tail
            self.tail_html = ""
            if tail.strip():
                row = self._row(provisional(tail))
                if row is None:
                    self.done = ("".join(self.source), self._html(""))
                    return False
                self.tail_html = row
        return True

    def _html(self, tail_html: str) -> str:
        if not self.rows and not tail_html:
            return self.empty
        return self.wrap[0] + "".join(self.rows) + tail_html + self.wrap[1]

    @property
    def html(self) -> str:
        return self._html(self.tail_html)


# --- unterminated Markdown while a block is open ------------------------------------------------

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_LIST_OR_QUOTE = re.compile(r"^[ \t]*(?:>[ \t]?|[*+-][ \t]+|\d{1,9}[.)][ \t]+)*")


def _in_open_fence(text: str) -> bool:
    """Whether the text ends inside a fenced code block (its body is code: nothing to close)."""
    opener: str | None = None
    for line in text.split("\n"):
        body = line[_LIST_OR_QUOTE.match(line).end() :] if opener is None else line.lstrip(" >")
        match = _FENCE.match(body)
        if match is None:
            continue
        run, rest = match.group(1), match.group(2)
        if opener is None:
            if not (run[0] == "`" and "`" in rest):
                opener = run
        elif run[0] == opener[0] and len(run) >= len(opener) and not rest.strip():
            opener = None
    return opener is not None


def provisional(text: str) -> str:
    """The open block's text with its unterminated inline Markdown closed or held back.

    Only the last paragraph (after the last blank line) is touched; an open fence is left alone.
    Used for display while the block is open, never for the final render.
    """
    if _in_open_fence(text):
        return text
    cut = text.rfind("\n\n") + 2 if "\n\n" in text else 0
    return text[:cut] + _close_inline(text[cut:])


def _close_inline(para: str) -> str:
    body = para.rstrip()
    trailing = para[len(body) :]
    masked, body = _close_code_spans(body)
    masked, body = _hide_open_links(masked, body)
    body = _close_emphasis(masked, body)
    return body + trailing


def _close_code_spans(body: str) -> tuple[str, str]:
    """Close an open code span (or hold back a trailing opener); mask spans for later steps."""
    masked = list(body)
    opened: tuple[int, int] | None = None  # (start, run length)
    i = 0
    while i < len(body):
        if body[i] == "\\" and opened is None:
            i += 2
            continue
        if body[i] != "`":
            i += 1
            continue
        j = i
        while j < len(body) and body[j] == "`":
            j += 1
        if opened is None:
            opened = (i, j - i)
        elif j - i == opened[1]:
            masked[opened[0] : j] = " " * (j - opened[0])
            opened = None
        i = j
    if opened is None:
        return "".join(masked), body
    start, run = opened
    if not body[start + run :].strip():  # nothing inside yet: hold the backticks back
        return "".join(masked[:start]), body[:start]
    masked[start:] = " " * (len(body) - start)
    closer = "`" * run
    if body.endswith("`"):
        closer = " " + closer
    return "".join(masked) + " " * len(closer), body + closer


_OPEN_LINK = re.compile(r"!?\[([^\[\]\n]*)\](?:\([^)\n]*)?$")


def _hide_open_links(masked: str, body: str) -> tuple[str, str]:
    """``[text`` shows as ``text``; ``[text](partial-url`` and ``[text]`` at the end as ``text``."""
    match = _OPEN_LINK.search(masked)
    if match is not None and "]" in masked[match.start() :]:
        inner = slice(match.start(1), match.end(1))
        return masked[: match.start()] + masked[inner], body[: match.start()] + body[inner]
    depth: list[int] = []
    i = 0
    while i < len(masked):
        char = masked[i]
        if char == "\\":
            i += 2
            continue
        if char == "[":
            depth.append(i)
        elif char == "]" and depth:
            depth.pop()
        i += 1
    for position in reversed(depth):  # unmatched "[": drop the marker (and an image's "!")
        start = position - 1 if position > 0 and masked[position - 1] == "!" else position
        masked = masked[:start] + masked[position + 1 :]
        body = body[:start] + body[position + 1 :]
    return masked, body


def _close_emphasis(masked: str, body: str) -> str:
    """Close open ``*``, ``_``, ``**``, ``__``, ``~~`` runs; a run with nothing after it waits."""
    runs: list[tuple[int, str]] = []  # open runs: (position, marker)
    i = 0
    line_start = True
    while i < len(masked):
        char = masked[i]
        if char == "\n":
            line_start = True
            i += 1
            continue
        if char == "\\":
            i += 2
            line_start = False
            continue
        if char not in "*_~":
            if not char.isspace():
                line_start = False
            i += 1
            continue
        j = i
        while j < len(masked) and masked[j] == char:
            j += 1
        run = masked[i:j]
        before = masked[i - 1] if i > 0 else " "
        after = masked[j] if j < len(masked) else ""
        i, was_line_start, line_start = j, line_start, False
        if char == "~" and len(run) != 2:
            continue
        if was_line_start and char in "*-+" and after in (" ", "\t"):
            continue  # a list bullet, not emphasis
        can_close = not before.isspace()
        can_open = not after.isspace()  # "" (end of text) counts: it may still get content
        if char == "_":
            can_open = can_open and not before.isalnum()
            can_close = can_close and not after.isalnum()
        if len(run) > 3:
            continue
        matched = next((k for k in range(len(runs) - 1, -1, -1) if runs[k][1] == run), None)
        if can_close and matched is not None:
            del runs[matched:]
        elif can_open:
            runs.append((i - len(run), run))
    for position, run in reversed(runs):
        if not masked[position + len(run) :].strip():
            body = body[:position]  # nothing after the marker yet: hold it back
            masked = masked[:position]
        else:
            body = body.rstrip() + run
    return body

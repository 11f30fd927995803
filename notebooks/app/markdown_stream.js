/*
 * StreamingMarkdown: a model's answer rendered as Markdown while it arrives, safely, and in time
 * that follows what arrived rather than the whole answer so far.
 *
 * Load after the vendored libraries, with no build step:
 *   <script src="vendor/marked/marked.umd.js"></script>
 *   <script src="vendor/dompurify/purify.min.js"></script>
 *   <script src="markdown_stream.js"></script>
 *
 *   const view = new StreamingMarkdown(document.querySelector("#answer"));
 *   view.append(delta);   // as each piece arrives
 *   view.end();           // when the stream is over (the text is then rendered exactly as sent)
 *
 * The same rules as the notebook's helpers/markdown_stream.py:
 * - A block is finished when the text after it proves it: `marked`'s lexer, run on the complete
 *   lines still open, sees another block begin after it. A finished block is rendered once and its
 *   nodes are appended; only the last, open block is re-rendered (its old nodes replaced), and
 *   only when its HTML changed. Nothing already shown is assigned again (Chrome's advice for
 *   streamed output: append, do not reassign innerHTML).
 * - Model output is untrusted. Raw HTML in the answer is shown as text (marked's html renderer is
 *   replaced), link reference definitions are off (a late one would change a finished block),
 *   images are links unless allowImages, and the whole HTML of each block (never a piece of it:
 *   pieces can combine into a tag) goes through DOMPurify with an allow-list before it touches the
 *   page; DOMPurify also drops javascript: and other unsafe URLs.
 * - While a block is open, an unclosed **, *, _, ~~ or backtick is closed provisionally, an
 *   unmatched [ or a link whose (url is still arriving shows its text, a marker with nothing after
 *   it waits; an open code fence already renders as code. end() renders the real text.
 */
(function (global) {
  "use strict";

  const ALLOWED_TAGS = [
    "a", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
    "li", "ol", "p", "pre", "s", "strong", "table", "tbody", "td", "th", "thead", "tr", "ul",
  ];
  const ALLOWED_ATTR = ["href", "title", "class", "align", "start", "src", "alt"];
  const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
  const escapeHtml = (text) => String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]);

  function makeMarked(allowImages) {
    const md = new global.marked.Marked({ gfm: true, breaks: false });
    const renderer = {
      // Raw HTML from the model is text, never markup.
      html({ text, block }) {
        return block ? `<p>${escapeHtml(text.trim())}</p>\n` : escapeHtml(text);
      },
    };
    if (!allowImages) {
      // An image loads by itself and its URL can carry data away: a link a person can click.
      renderer.image = ({ href, title, text }) =>
        `!<a href="${escapeHtml(href)}"${title ? ` title="${escapeHtml(title)}"` : ""}>` +
        `${escapeHtml(text)}</a>`;
    }
    // undefined (not false) means "no definition here": marked does not fall back to its own.
    md.use({ tokenizer: { def() { return undefined; } }, renderer });
    return md;
  }

  function makePurifier(allowImages) {
    const purify = global.DOMPurify(global); // an instance of our own: our hook stays ours
    purify.addHook("afterSanitizeAttributes", (node) => {
      if (node.tagName === "A") node.setAttribute("rel", "noopener noreferrer nofollow");
    });
    const config = {
      ALLOWED_TAGS: allowImages ? [...ALLOWED_TAGS, "img"] : ALLOWED_TAGS,
      ALLOWED_ATTR,
      ALLOW_DATA_ATTR: false,
    };
    return {
      html: (dirty) => purify.sanitize(dirty, config),
      fragment: (dirty) => purify.sanitize(dirty, { ...config, RETURN_DOM_FRAGMENT: true }),
    };
  }

  /** Whether marked's token is a fenced code block that ends with its closing fence line. */
  function closedFence(token) {
    if (token.type !== "code") return false;
    const lines = token.raw.replace(/\n+$/, "").split("\n");
    const opener = /^ {0,3}(`{3,}|~{3,})/.exec(lines[0]);
    const closer = lines.length > 1 && /^ {0,3}(`{3,}|~{3,})[ \t]*$/.exec(lines[lines.length - 1]);
    return Boolean(opener && closer && closer[1][0] === opener[1][0] &&
                   closer[1].length >= opener[1].length);
  }

  const normalize = (text) => text.replace(/\r\n?/g, "\n").replace(/\0/g, "\ufffd");

  // --- unterminated Markdown while a block is open (a port of helpers/markdown_stream.py) ------

  const FENCE = /^ {0,3}(`{3,}|~{3,})(.*)$/;
  const LIST_OR_QUOTE = /^[ \t]*(?:>[ \t]?|[*+-][ \t]+|\d{1,9}[.)][ \t]+)*/;
  const isSpace = (c) => c === "" || /\s/.test(c);
  const isSpaceStrict = (c) => c !== "" && /\s/.test(c);
  const isAlnum = (c) => c !== "" && /[\p{L}\p{N}]/u.test(c);

  function inOpenFence(text) {
    let opener = null;
    for (const line of text.split("\n")) {
      const body = opener === null
        ? line.slice(LIST_OR_QUOTE.exec(line)[0].length)
        : line.replace(/^[ >]*/, "");
      const match = FENCE.exec(body);
      if (!match) continue;
      const [, run, rest] = match;
      if (opener === null) {
        if (!(run[0] === "`" && rest.includes("`"))) opener = run;
      } else if (run[0] === opener[0] && run.length >= opener.length && !rest.trim()) {
        opener = null;
      }
    }
    return opener !== null;
  }

  function closeCodeSpans(body) {
    const masked = body.split("");
    let opened = null; // [start, run length]
    let i = 0;
    while (i < body.length) {
      if (body[i] === "\\" && opened === null) { i += 2; continue; }
      if (body[i] !== "`") { i += 1; continue; }
      let j = i;
      while (j < body.length && body[j] === "`") j += 1;
      if (opened === null) {
        opened = [i, j - i];
      } else if (j - i === opened[1]) {
        for (let k = opened[0]; k < j; k += 1) masked[k] = " ";
        opened = null;
      }
      i = j;
    }
    if (opened === null) return [masked.join(""), body];
    const [start, run] = opened;
    if (!body.slice(start + run).trim()) {
      return [masked.slice(0, start).join(""), body.slice(0, start)];
    }
    for (let k = start; k < body.length; k += 1) masked[k] = " ";
    let closer = "`".repeat(run);
    if (body.endsWith("`")) closer = " " + closer;
    return [masked.join("") + " ".repeat(closer.length), body + closer];
  }

  const OPEN_LINK = /!?\[([^\[\]\n]*)\](?:\([^)\n]*)?$/;

  function hideOpenLinks(masked, body) {
    const match = OPEN_LINK.exec(masked);
    if (match) {
      const start = match.index + match[0].indexOf("[") + 1;
      const end = start + match[1].length;
      return [
        masked.slice(0, match.index) + masked.slice(start, end),
        body.slice(0, match.index) + body.slice(start, end),
      ];
    }
    const depth = [];
    for (let i = 0; i < masked.length; i += 1) {
      const c = masked[i];
      if (c === "\\") { i += 1; continue; }
      if (c === "[") depth.push(i);
      else if (c === "]" && depth.length) depth.pop();
    }
    for (const position of depth.reverse()) {
      const start = position > 0 && masked[position - 1] === "!" ? position - 1 : position;
      masked = masked.slice(0, start) + masked.slice(position + 1);
      body = body.slice(0, start) + body.slice(position + 1);
    }
    return [masked, body];
  }

  function closeEmphasis(masked, body) {
    const runs = []; // open runs: [position, marker]
    let i = 0;
    let lineStart = true;
    while (i < masked.length) {
      const c = masked[i];
      if (c === "\n") { lineStart = true; i += 1; continue; }
      if (c === "\\") { i += 2; lineStart = false; continue; }
      if (!"*_~".includes(c)) {
        if (!isSpaceStrict(c)) lineStart = false;
        i += 1;
        continue;
      }
      let j = i;
      while (j < masked.length && masked[j] === c) j += 1;
      const run = masked.slice(i, j);
      const before = i > 0 ? masked[i - 1] : " ";
      const after = j < masked.length ? masked[j] : "";
      const wasLineStart = lineStart;
      i = j;
      lineStart = false;
      if (c === "~" && run.length !== 2) continue;
      if (wasLineStart && "*-+".includes(c) && (after === " " || after === "\t")) continue;
      let canClose = !isSpaceStrict(before);
      let canOpen = !isSpaceStrict(after);
      if (c === "_") {
        canOpen = canOpen && !isAlnum(before);
        canClose = canClose && !isAlnum(after);
      }
      if (run.length > 3) continue;
      let matched = -1;
      for (let k = runs.length - 1; k >= 0; k -= 1) {
        if (runs[k][1] === run) { matched = k; break; }
      }
      if (canClose && matched >= 0) runs.splice(matched);
      else if (canOpen) runs.push([i - run.length, run]);
    }
    for (const [position, run] of runs.reverse()) {
      if (!masked.slice(position + run.length).trim()) {
        body = body.slice(0, position);
        masked = masked.slice(0, position);
      } else {
        body = body.trimEnd() + run;
      }
    }
    return body;
  }

  function closeInline(para) {
    const body = para.trimEnd();
    const trailing = para.slice(body.length);
    let [masked, text] = closeCodeSpans(body);
    [masked, text] = hideOpenLinks(masked, text);
    return closeEmphasis(masked, text) + trailing;
  }

  /** The open block's text with unterminated inline Markdown closed or held back (display only). */
  function provisional(text) {
    if (inOpenFence(text)) return text;
    const cut = text.includes("\n\n") ? text.lastIndexOf("\n\n") + 2 : 0;
    return text.slice(0, cut) + closeInline(text.slice(cut));
  }

  // --- the renderer ---------------------------------------------------------------------------

  class StreamingMarkdown {
    constructor(container, { allowImages = false } = {}) {
      this.container = container;
      this.allowImages = allowImages;
      this._marked = makeMarked(allowImages);
      this._purify = makePurifier(allowImages);
      this._parts = [];
      this._pending = ""; // the source of the open block (and anything after it)
      this._carry = ""; // a trailing "\r" waits: the next piece may start with "\n"
      this._openHtml = "";
      this._openNodes = [];
      this._fence = null; // the open block, when it is an open code fence
      this.ended = false;
      this.blocks = 0; // finished blocks appended
      this.renders = 0; // marked renders done (a measure of the work)
      container.setAttribute("aria-live", "polite");
      container.classList.add("kit-markdown");
    }

    get text() {
      return this._parts.join("") + this._carry;
    }

    /** Add a piece of the answer: finished blocks are appended, the open block redrawn. */
    append(piece) {
      if (this.ended) throw new Error("this StreamingMarkdown has ended; make a new one");
      let raw = this._carry + piece;
      this._carry = "";
      if (raw.endsWith("\r")) { raw = raw.slice(0, -1); this._carry = "\r"; }
      const text = normalize(raw);
      this._parts.push(text);
      this._pending += text;
      if (this._fence && this._fence.extend(text)) return; // code appended as text, no parse
      this._fence = null;
      const finished = text.includes("\n") ? this._finishBlocks() : [];
      const fence = OpenFence.starting(this._pending, this);
      if (fence) {
        this._show(finished, fence.openerHtml, fence);
        this._fence = fence;
        fence.extend(this._pending.slice(fence.openerLength));
        return;
      }
      this._show(finished, this._pending.trim() ? this._render(provisional(this._pending)) : "");
    }

    /** The stream is over: render the open block as it really is, and finish it. */
    end() {
      if (this.ended) return;
      const text = normalize(this._carry);
      this._carry = "";
      this._parts.push(text);
      this._pending += text;
      this._fence = null;
      const finished = this._finishBlocks(true);
      if (this._pending.trim()) finished.push(this._render(this._pending));
      this._pending = "";
      this._show(finished, "");
      this.ended = true;
    }

    /** The whole text rendered at once, with the same parser and sanitizer (for comparisons). */
    static render(text, { allowImages = false } = {}) {
      return makePurifier(allowImages).html(makeMarked(allowImages).parse(normalize(text)));
    }

    _render(source) {
      this.renders += 1;
      return this._marked.parse(source);
    }

    _finishBlocks(final = false) {
      // Only complete lines count ("2" could still become "2. ", the next item of a list),
      // except at the end, when the last line is as complete as it will ever be.
      const completeEnd = final ? this._pending.length : this._pending.lastIndexOf("\n") + 1;
      if (completeEnd === 0) return [];
      const complete = this._pending.slice(0, completeEnd);
      const tokens = this._marked.lexer(complete);
      if (tokens.map((t) => t.raw).join("") !== complete) return []; // cannot cut safely
      const blocks = [];
      let offset = 0;
      for (const token of tokens) {
        if (token.type !== "space") blocks.push([offset, token]);
        offset += token.raw.length;
      }
      const last = blocks.length ? blocks[blocks.length - 1][1] : null;
      if (last && closedFence(last)) blocks.push([offset, null]); // nothing can extend it
      if (blocks.length < 2) return [];
      const lastStart = blocks[blocks.length - 1][0];
      const html = blocks.slice(0, -1).map(([start, token]) =>
        this._render(complete.slice(start, start + token.raw.length)));
      this._pending = this._pending.slice(lastStart);
      return html;
    }

    _show(finishedHtml, openHtml, fence = null) {
      const openChanged = openHtml !== this._openHtml || fence !== null;
      if (!finishedHtml.length && !openChanged) return;
      for (const node of this._openNodes) node.remove();
      this._openNodes = [];
      for (const html of finishedHtml) {
        this.container.append(this._purify.fragment(html)); // sanitized whole, appended once
        this.blocks += 1;
      }
      this._openHtml = fence ? "" : openHtml;
      if (openHtml) {
        const fragment = this._purify.fragment(openHtml);
        this._openNodes = [...fragment.childNodes];
        if (fence) fence.attach(fragment.querySelector("pre > code"));
        this.container.append(fragment);
      }
    }
  }

  /*
   * An open fenced code block at the start of the open text: its code only grows, so it is
   * appended to the <code> element as text nodes (no parser, no sanitizer needed: text is never
   * markup). A last line that could still become the closing fence is held back. When the fence
   * closes, the parser takes over again and renders the block for good.
   */
  const OPENER = /^(?:(`{3,})[^`\n]*|(~{3,})[^\n]*)\n/;
  const CLOSER = /^ {0,3}(`{3,}|~{3,})[ \t]*$/;

  class OpenFence {
    static starting(pending, view) {
      const match = OPENER.exec(pending);
      if (!match) return null;
      const html = view._render(pending.slice(0, match[0].length));
      if (!/^<pre><code[^>]*>\n?<\/code><\/pre>\s*$/.test(html)) return null;
      return new OpenFence(match[1] || match[2], html, match[0].length);
    }

    constructor(run, openerHtml, openerLength) {
      this.run = run;
      this.openerHtml = openerHtml;
      this.openerLength = openerLength;
      this.tail = "";
      this.code = null;
      this.tailNode = null;
    }

    attach(code) {
      this.code = code;
      this.tailNode = document.createTextNode("");
      code.replaceChildren(this.tailNode); // marked wrote a "\n" into the empty block
    }

    /** Take new text; false when it closes the fence (then the caller renders normally). */
    extend(text) {
      if (!this.code) return false;
      const lines = (this.tail + text).split("\n");
      this.tail = lines.pop();
      let complete = "";
      for (const line of lines) {
        const closer = CLOSER.exec(line);
        if (closer && closer[1][0] === this.run[0] && closer[1].length >= this.run.length) {
          return false;
        }
        complete += line + "\n";
      }
      if (complete) this.tailNode.before(complete);
      const mayClose = new RegExp(`^ {0,3}\\${this.run[0]}*[ \\t]*$`).test(this.tail);
      const shown = mayClose ? "" : this.tail;
      if (this.tailNode.data !== shown) this.tailNode.data = shown;
      return true;
    }
  }

  StreamingMarkdown.provisional = provisional;
  global.StreamingMarkdown = StreamingMarkdown;
})(typeof window !== "undefined" ? window : globalThis);

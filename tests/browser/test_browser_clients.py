"""The demo page's experiments in a real Chromium: the buttons lesson 11 asks learners to click.

- "Open 7 streams": over HTTP/1.1 Chromium opens at most 6 connections per origin, so of 7
  EventSources started together 6 get their first token before any stream ends and the 7th only
  after one ended; the page's table and summary say so. Through nginx over HTTP/2 (TLS, ALPN)
  the same button shows all 7 starting before any ends.
- "Show it with innerHTML" runs the model's markup (the `onerror` handler marks the page red);
  "Show it as text" appends each piece as a text node: the same characters, no element. The
  payload fetches nothing.
- Every element the page streams text into is an aria-live="polite" region, and the page appends
  to it (new text nodes), so a screen reader announces only the new text; the innerHTML box,
  rewritten whole at every piece, is not a live region; every button has a name.
- The JavaScript the lesson shows for the DevTools console works when pasted on the page, and
  logs what the lesson says it logs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from ci import skip_or_fail

from helpers.browser import browser_missing, chromium_page
from helpers.proxy import NginxProxy
from helpers.server import LocalServer
from helpers.server.model.simulated import answer_prompt

pytestmark = pytest.mark.browser

LESSON = Path(__file__).resolve().parents[2] / "notebooks" / "11_through_the_real_web.ipynb"
UNTRUSTED = (
    """Sure! <img src="data:," onerror="document.body.classList.add('hijacked')"> Anything else?"""
)


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    missing = browser_missing()
    if missing:
        skip_or_fail(missing, "the browser tests")
    with LocalServer() as srv:
        yield srv


@pytest.fixture(scope="module")
def demo_url(server: LocalServer) -> str:
    return server.base_url.removesuffix("/v1") + "/demo"


def click_seven(page) -> dict:
    page.click("#seven-run")
    return page.evaluate("window.demo.lastSeven")


def test_the_seventh_stream_waits_for_a_free_connection(demo_url: str) -> None:
    with chromium_page(demo_url) as page:
        seen = click_seven(page)
        summary = page.inner_text("#seven-summary")
        rows = page.locator("#seven-table tbody tr")
        waited_column = [rows.nth(i).locator("td").nth(3).inner_text() for i in range(7)]
    assert seen["protocol"] == "http/1.1"
    assert all(s["text"] == answer_prompt("haiku", seed=0).text for s in seen["streams"])
    assert [s["n"] for s in seen["streams"] if s["waited"]] == [7]  # queued in request order
    assert waited_column == ["no"] * 6 + ["yes"]
    assert summary.startswith("Stream 7 got its first token only after another stream ended")


def test_over_http2_no_stream_waits(server: LocalServer) -> None:
    with NginxProxy(server.base_url, http2=True, tls=True) as proxy:
        url = proxy.base_url.removesuffix("/v1") + "/demo"
        with chromium_page(url, ignore_https_errors=True) as page:
            seen = click_seven(page)
            summary = page.inner_text("#seven-summary")
    assert seen["protocol"] == "h2"
    assert all(s["text"] == answer_prompt("haiku", seed=0).text for s in seen["streams"])
    assert not any(s["waited"] for s in seen["streams"])
    assert summary == "All 7 streams started before any ended: none waited (h2)."
    assert proxy.access_log.count("GET /demo/stream?") == 7
    assert "HTTP/2.0 200" in proxy.access_log


def test_innerhtml_runs_the_models_markup(demo_url: str) -> None:
    with chromium_page(demo_url) as page:
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        assert page.input_value("#untrusted") == UNTRUSTED
        assert not page.is_visible(".hijack-banner")
        page.click("#render-html")
        shown = page.evaluate("window.demo.lastRender")
        banner = page.is_visible(".hijack-banner")
        count = page.inner_text("#html-count")
        page.click("#render-reset")
        reset = page.is_visible(".hijack-banner")
    assert shown["images"] == 1 and shown["hijacked"] and banner and count == "1"
    assert "<img" not in shown["shown"]  # the markup vanished into the page
    assert not reset
    assert [url for url in requests if not url.startswith("data:")] == []  # nothing fetched


def test_text_shows_the_markup_as_text(demo_url: str) -> None:
    with chromium_page(demo_url) as page:
        page.click("#render-text")
        shown = page.evaluate("window.demo.lastRender")
        banner = page.is_visible(".hijack-banner")
        on_page = page.inner_text("#as-text")
        pieces = page.evaluate("document.getElementById('as-text').childNodes.length")
        status = page.inner_text("#render-status")
    assert shown == {"how": "text", "images": 0, "shown": UNTRUSTED, "hijacked": False}
    assert not banner and on_page == UNTRUSTED
    assert pieces == -(-len(UNTRUSTED) // 4)  # one text node per 4-character piece, appended
    assert status == "As text: 0 img elements; nothing ran."


def test_streamed_text_is_announced_politely(demo_url: str) -> None:
    live = "#blocking .text, #stream .text, #fetch .text, #as-text, #seven-summary, #render-status"
    with chromium_page(demo_url + "?auto=1&ttft=0&tps=100&prompt=haiku") as page:
        values = page.eval_on_selector_all(live, "els => els.map(e => e.getAttribute('aria-live'))")
        every_live = page.eval_on_selector_all(
            "[aria-live]", "els => els.map(e => e.id || e.parentElement.id)"
        )
        page.evaluate("window.demo.last")
        # Appended, not replaced: one text node per piece in the streamed panels.
        nodes = page.evaluate(
            "['stream', 'fetch'].map(id => document.querySelector('#' + id + ' .text')"
            ".childNodes.length)"
        )
        names = page.eval_on_selector_all("button", "els => els.map(e => e.innerText.trim())")
    assert values == ["polite"] * 6
    assert "as-html" not in every_live  # rewritten whole at every piece: it would repeat itself
    tokens = len(answer_prompt("haiku", seed=0).tokens)
    assert nodes[0] == tokens and nodes[1] > 1
    assert all(names) and len(names) == 6


def lesson_snippets() -> dict[str, str]:
    """The ```js blocks of lesson 11's markdown cells, by the comment on their first line."""
    cells = json.loads(LESSON.read_text(encoding="utf-8"))["cells"]
    blocks = [
        block
        for cell in cells
        if cell["cell_type"] == "markdown"
        for block in re.findall(r"```js\n(.*?)```", "".join(cell["source"]), re.S)
    ]
    return {block.splitlines()[0]: block for block in blocks}


def snippet(fragment: str) -> str:
    found = [code for first, code in lesson_snippets().items() if fragment in first]
    assert len(found) == 1, f"lesson 11 should show one ```js block starting with {fragment!r}"
    return found[0]


def paste(page, code: str) -> list[str]:
    """`code` run as an expression (as the console does), its promise awaited; what it logged."""
    logged: list[str] = []
    page.on("console", lambda message: logged.append(message.text))
    page.evaluate(code)
    return logged


def test_the_lessons_console_snippets_work_on_the_page(demo_url: str) -> None:
    with chromium_page(demo_url) as page:
        rows = page.evaluate(snippet("seven streams"))
    with chromium_page(demo_url) as page:
        dropped = paste(page, snippet("hangs up"))
    with chromium_page(demo_url) as page:
        page.evaluate(snippet("innerHTML runs"))
        page.wait_for_function("document.body.classList.contains('hijacked')")
        banner = page.is_visible(".hijack-banner")
    first_end = min(row["endMs"] for row in rows)
    assert [row["stream"] for row in rows if row["firstMs"] > first_end] == [7]
    # Directly, the cut reaches the browser as a cut: "rejected: TypeError: network error".
    assert [line for line in dropped if line.startswith("rejected: ")] == [
        "rejected: TypeError: network error"
    ]
    assert banner

"""helpers.browser in a real Chromium: the experiments lesson 11 shows, asserted on order.

- Over HTTP/1.1 Chromium opens at most 6 connections per host: of 7 EventSources started
  together, 6 get their first token before any stream ends, the 7th only after one ended.
  Through nginx over HTTP/2 (TLS, ALPN) the same 7 all start before any ends.
- Growing model output rendered with innerHTML runs an `onerror` handler it carries; with
  textContent it is shown as text and no element is created.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from ci import skip_or_fail

from helpers.browser import SEVEN_STREAMS, UNSAFE_RENDER, browser_missing, in_chromium
from helpers.proxy import NginxProxy
from helpers.server import LocalServer
from helpers.server.model.simulated import answer_prompt

pytestmark = pytest.mark.browser

ATTACK = 'Sure! <img src=x onerror="window.ran += 1"> Anything else?'


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


# 19 tokens at 10/s: about 2 s each, so the streams overlap however slowly they start.
SLOW_HAIKU = {"prompt": "haiku", "mode": "stream", "ttftMs": 0, "tokensPerSecond": 10, "seed": 0}


def split_by_first_end(streams: list[dict]) -> tuple[list[int], list[int]]:
    """Stream numbers with a first token before any stream ended, and the others."""
    first_end = min(s["endAt"] for s in streams)
    early = [s["n"] for s in streams if s["firstAt"] < first_end]
    return early, [s["n"] for s in streams if s["n"] not in early]


def test_the_seventh_stream_waits_for_a_free_connection(demo_url: str) -> None:
    seen = in_chromium(demo_url, SEVEN_STREAMS, SLOW_HAIKU)
    assert seen["protocol"] == "http/1.1"
    assert all(s["text"] == answer_prompt("haiku", seed=0).text for s in seen["streams"])
    early, waited = split_by_first_end(seen["streams"])
    assert early == [1, 2, 3, 4, 5, 6]
    assert waited == [7]  # queued in request order


def test_over_http2_no_stream_waits(server: LocalServer) -> None:
    with NginxProxy(server.base_url, http2=True, tls=True) as proxy:
        url = proxy.base_url.removesuffix("/v1") + "/demo"
        seen = in_chromium(url, SEVEN_STREAMS, SLOW_HAIKU, ignore_https_errors=True)
    assert seen["protocol"] == "h2"
    assert all(s["text"] == answer_prompt("haiku", seed=0).text for s in seen["streams"])
    early, waited = split_by_first_end(seen["streams"])
    assert early == [1, 2, 3, 4, 5, 6, 7] and waited == []
    assert proxy.access_log.count("GET /demo/stream?") == 7
    assert "HTTP/2.0 200" in proxy.access_log


def test_innerhtml_runs_the_models_markup_textcontent_shows_it(demo_url: str) -> None:
    pieces = [ATTACK[i : i + 4] for i in range(0, len(ATTACK), 4)]  # as it would stream in
    result = in_chromium(demo_url, UNSAFE_RENDER, pieces)
    assert result["innerHTML"]["images"] == 1 and result["innerHTML"]["handlerRan"] >= 1
    assert "<img" not in result["innerHTML"]["shown"]  # the markup vanished into the page
    assert result["textContent"] == {"images": 0, "shown": ATTACK}

"""helpers.browser in a real Chromium: the experiments lesson 11 shows, asserted on order.

- Over HTTP/1.1 Chromium opens at most 6 connections per host: of 7 EventSources started
  together, 6 get their first token before any stream ends, the 7th only after one ended.
- Growing model output rendered with innerHTML runs an `onerror` handler it carries; with
  textContent it is shown as text and no element is created.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from helpers.browser import SEVEN_STREAMS, UNSAFE_RENDER, browser_missing, in_chromium
from helpers.server import LocalServer
from helpers.server.model.simulated import answer_prompt

pytestmark = pytest.mark.browser

ATTACK = 'Sure! <img src=x onerror="window.ran += 1"> Anything else?'


@pytest.fixture(scope="module")
def demo_url() -> Iterator[str]:
    missing = browser_missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"{missing}; browser tests must run in CI")
        pytest.skip(missing)
    with LocalServer() as server:
        yield server.base_url.removesuffix("/v1") + "/demo"


def test_the_seventh_stream_waits_for_a_free_connection(demo_url: str) -> None:
    # 19 tokens at 10/s: about 2 s each, so six streams overlap however slowly they start.
    opts = {"prompt": "haiku", "mode": "stream", "ttftMs": 0, "tokensPerSecond": 10, "seed": 0}
    streams = in_chromium(demo_url, SEVEN_STREAMS, opts)
    assert all(s["text"] == answer_prompt("haiku", seed=0).text for s in streams)
    first_end = min(s["endAt"] for s in streams)
    started_before_any_end = [s["n"] for s in streams if s["firstAt"] < first_end]
    waited = [s["n"] for s in streams if s["firstAt"] >= first_end]
    assert len(started_before_any_end) == 6
    assert waited == [7]  # queued in request order


def test_innerhtml_runs_the_models_markup_textcontent_shows_it(demo_url: str) -> None:
    pieces = [ATTACK[i : i + 4] for i in range(0, len(ATTACK), 4)]  # as it would stream in
    result = in_chromium(demo_url, UNSAFE_RENDER, pieces)
    assert result["innerHTML"]["images"] == 1 and result["innerHTML"]["handlerRan"] >= 1
    assert "<img" not in result["innerHTML"]["shown"]  # the markup vanished into the page
    assert result["textContent"] == {"images": 0, "shown": ATTACK}

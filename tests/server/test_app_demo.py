"""The demo's endpoints without a browser: query checks, resume by Last-Event-ID, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from helpers.resume import ReadyState, Request, ResumeError, ResumingEventStream
from helpers.server import LocalServer
from helpers.server.app.cli import share_urls
from helpers.server.app.demo import DemoQuery, parse_demo_query
from helpers.server.model.simulated import answer_prompt
from helpers.server.model.source import RequestError


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with LocalServer(ttft=0.01, tokens_per_second=300) as srv:
        yield srv


def stream_url(server: LocalServer, query: str) -> str:
    return f"{server.base_url.removesuffix('/v1')}/demo/stream?{query}"


def test_parse_demo_query_defaults_and_values() -> None:
    assert parse_demo_query({"prompt": " hi "}) == DemoQuery("hi", "stream", 300, 20, 0, 0)
    query = parse_demo_query(
        {"prompt": "p", "mode": "blocking", "ttft_ms": "0", "tokens_per_second": "7.5",
         "seed": "3", "drop_every": "4"}
    )
    assert query == DemoQuery("p", "blocking", 0, 7.5, 3, 4)


@pytest.mark.parametrize(
    ("params", "param", "fragment"),
    [
        ({}, "prompt", "Missing required parameter: 'prompt'"),
        ({"prompt": "x" * 2001}, "prompt", "2001 characters"),
        ({"prompt": "p", "mode": "fast"}, "mode", "got 'fast'"),
        ({"prompt": "p", "ttft_ms": "soon"}, "ttft_ms", "got 'soon'"),
        ({"prompt": "p", "tokens_per_second": "0"}, "tokens_per_second", "outside 1..1000"),
        ({"prompt": "p", "seed": "1.5"}, "seed", "whole number"),
        ({"prompt": "p", "drop_every": "-1"}, "drop_every", "outside"),
    ],
)
def test_bad_queries_name_the_parameter(params: dict, param: str, fragment: str) -> None:
    with pytest.raises(RequestError, match=fragment.replace(".", r"\.")) as info:
        parse_demo_query(params)
    assert info.value.param == param


def test_blocking_sends_one_event_streaming_one_per_token(server: LocalServer) -> None:
    answer = answer_prompt("haiku", seed=0)
    blocking_url = stream_url(server, "prompt=haiku&mode=blocking")
    blocking = list(ResumingEventStream(Request("GET", blocking_url)))
    streamed = list(ResumingEventStream(Request("GET", stream_url(server, "prompt=haiku"))))
    assert [e.event for e in blocking] == ["done"]
    assert [e.event for e in streamed] == ["delta"] * len(answer.tokens) + ["done"]
    assert [json.loads(e.data)["text"] for e in streamed[:-1]] == list(answer.tokens)
    assert json.loads(blocking[0].data) == json.loads(streamed[-1].data) == {
        "text": answer.text, "tokens": len(answer.tokens)
    }


def test_drop_every_is_survived_with_last_event_id_alone(server: LocalServer) -> None:
    stream = ResumingEventStream(Request("GET", stream_url(server, "prompt=haiku&drop_every=5")))
    events = list(stream)
    tokens = len(answer_prompt("haiku", seed=0).tokens)
    total = tokens + 1  # one delta per token, then "done"
    assert [a.events for a in stream.attempts] == [min(5, total - i) for i in range(0, total, 5)]
    assert [json.loads(e.data)["n"] for e in events[:-1]] == list(range(tokens))
    # Every reconnect sent the same URL and only the header changed, as EventSource does.
    assert {a.request.url for a in stream.attempts} == {stream.first.url}
    sent = [a.request.headers.get("Last-Event-ID", "") for a in stream.attempts]
    assert [s.rpartition(".")[2] for s in sent] == ["", *(str(i - 1) for i in range(5, total, 5))]
    assert stream.retry_ms == 300 and stream.state is ReadyState.CLOSED


def test_unknown_last_event_id_is_refused_naming_it(server: LocalServer) -> None:
    url = stream_url(server, "prompt=haiku")
    reply = httpx.get(url, headers={"Last-Event-ID": "resp_gone.3"})
    assert reply.status_code == 404
    assert "'resp_gone'" in reply.json()["error"]["message"]
    with pytest.raises(ResumeError, match="404"):
        list(ResumingEventStream(Request("GET", url, {"Last-Event-ID": "resp_gone.3"})))


def test_a_viewer_who_leaves_stops_a_plain_stream(server: LocalServer) -> None:
    slow = stream_url(server, "prompt=haiku&tokens_per_second=2")
    kept = len(server.app.state.replay)
    stream = ResumingEventStream(Request("GET", slow), hang_up_after=[1], max_attempts=1)
    with pytest.raises(ResumeError):
        list(stream)  # it hangs up after 1 event and may not reconnect
    deadline = time.monotonic() + 5
    while server.live_streams and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.live_streams == 0
    assert len(server.app.state.replay) == kept  # nothing was buffered for a plain stream


def test_share_urls_put_the_key_only_in_the_lan_line() -> None:
    assert share_urls("127.0.0.1", 8765, None) == ["On this machine:  http://127.0.0.1:8765/demo"]
    lan = share_urls("0.0.0.0", 8765, "class-key")
    assert lan[0] == "On this machine:  http://127.0.0.1:8765/demo"
    assert lan[1].startswith("Students open:    http://") and lan[1].endswith(
        ":8765/demo?api_key=class-key"
    )


def test_cli_refuses_lan_without_a_key() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "helpers.server.demo", "--lan"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "--lan needs --api-key" in done.stderr


def test_cli_serves_the_page_on_the_printed_url() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "helpers.server.demo", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().startswith("Classroom demo ready.")
        url = process.stdout.readline().split()[-1]
        page = httpx.get(url, timeout=10)
        assert page.status_code == 200 and "EventSource" in page.text
    finally:
        process.terminate()
        process.wait(timeout=10)

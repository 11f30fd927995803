"""Tokens generated after the client left (lesson 13), on the local server only.

`GET /kit/tokens/{id}` (and `LocalServer.tokens(id)`) tells how many tokens a streamed answer
generated and how many of them came after its client hung up. With `hangup_grace` the answer
keeps generating that long after the hang-up, as a real server bills until it notices; without
it (the default) the server stops at once and the count after the hang-up is exactly 0.
Compared as counts and orders, not wall-clock thresholds.
"""

from __future__ import annotations

import time

import httpx2
import pytest
from openai import OpenAI

from helpers.server import LocalServer

PROMPT = "Compare websockets vs SSE"  # a long answer: ~100 tokens


def wait_until_idle(server: LocalServer) -> None:
    for _ in range(1000):
        if server.live_streams == 0:
            return
        time.sleep(0.01)
    raise AssertionError("the server still generates")


def hang_up_after(server: LocalServer, deltas: int, api: str = "responses") -> str:
    """Read `deltas` text deltas, then close the stream; the answer's id."""
    client = OpenAI(base_url=server.base_url, api_key="unused", max_retries=0)
    seen, answer_id = 0, ""
    if api == "responses":
        stream = client.responses.create(model="m", input=PROMPT, stream=True)
        for event in stream:
            if event.type == "response.created":
                answer_id = event.response.id
            if event.type == "response.output_text.delta":
                seen += 1
                if seen == deltas:
                    break
    else:
        messages = [{"role": "user", "content": PROMPT}]
        stream = client.chat.completions.create(model="m", messages=messages, stream=True)
        for chunk in stream:
            answer_id = chunk.id
            if chunk.choices and chunk.choices[0].delta.content:
                seen += 1
                if seen == deltas:
                    break
    stream.close()
    wait_until_idle(server)
    return answer_id


@pytest.fixture(scope="module")
def prompt_server() -> LocalServer:
    with LocalServer(ttft=0, tokens_per_second=40, jitter=0) as running:
        yield running


@pytest.fixture(scope="module")
def grace_server() -> LocalServer:
    with LocalServer(ttft=0, tokens_per_second=40, jitter=0, hangup_grace=0.5) as running:
        yield running


@pytest.mark.parametrize("api", ["responses", "chat"])
def test_without_grace_nothing_is_generated_after_the_hang_up(
    prompt_server: LocalServer, api: str
) -> None:
    tally = prompt_server.tokens(hang_up_after(prompt_server, 3, api))
    assert tally["client_left"] is True
    assert tally["generated_after_client_left"] == 0
    assert 3 <= tally["generated"] == tally["generated_before_client_left"]


@pytest.mark.parametrize("api", ["responses", "chat"])
def test_with_grace_the_answer_goes_on_for_nobody(grace_server: LocalServer, api: str) -> None:
    tally = grace_server.tokens(hang_up_after(grace_server, 3, api))
    assert tally["client_left"] is True
    assert tally["generated_before_client_left"] >= 3
    # 0.5 s at 40 tokens/s: about 20 more tokens, none of them read by anyone.
    assert tally["generated_after_client_left"] > 0
    assert tally["generated"] == (
        tally["generated_before_client_left"] + tally["generated_after_client_left"]
    )
    assert grace_server.live_streams == 0  # and then it did stop


def test_an_answer_read_to_the_end_counts_every_token(prompt_server: LocalServer) -> None:
    client = OpenAI(base_url=prompt_server.base_url, api_key="unused", max_retries=0)
    events = list(client.responses.create(model="m", input="haiku", stream=True))
    deltas = [e for e in events if e.type == "response.output_text.delta"]
    answer_id = events[0].response.id
    url = prompt_server.base_url.removesuffix("/v1") + f"/kit/tokens/{answer_id}"
    tally = httpx2.get(url).json()
    assert tally == {
        "id": answer_id,
        "generated": len(deltas),
        "client_left": False,
        "generated_before_client_left": None,
        "generated_after_client_left": 0,
    }


def test_an_unknown_id_is_a_404_in_openai_shape(prompt_server: LocalServer) -> None:
    url = prompt_server.base_url.removesuffix("/v1") + "/kit/tokens/resp_nope"
    response = httpx2.get(url)
    assert response.status_code == 404
    assert "resp_nope" in response.json()["error"]["message"]


def test_the_command_line_takes_the_grace_too() -> None:
    import subprocess
    import sys

    command = [
        sys.executable, "-m", "helpers.server", "--port", "0", "--ttft-ms", "0",
        "--tokens-per-second", "40", "--jitter", "0", "--hangup-grace-seconds", "0.3",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        client = OpenAI(base_url=base_url, api_key="unused", max_retries=0)
        stream = client.responses.create(model="m", input=PROMPT, stream=True)
        answer_id = next(iter(stream)).response.id
        stream.close()
        time.sleep(0.6)  # the grace is over
        tally = httpx2.get(base_url.removesuffix("/v1") + f"/kit/tokens/{answer_id}").json()
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert tally["client_left"] is True
    assert tally["generated_after_client_left"] > 0

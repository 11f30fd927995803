"""Every injected fault, and the exact exception the openai SDK raises for it."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
from openai import AsyncOpenAI, OpenAI

from helpers.server import LocalServer
from helpers.server.model.simulated import answer_prompt
from helpers.server.model.tokens import INJECTED_ERROR_MESSAGE
from helpers.sse import SSEDecoder

REAL_STREAMS = Path(__file__).resolve().parents[2] / "data" / "real_streams"

PROMPT = "What is SSE?"
MESSAGES = [{"role": "user", "content": PROMPT}]


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with LocalServer(ttft=0.005, tokens_per_second=1000, jitter=0) as running:
        yield running


@pytest.fixture(scope="module")
def client(server: LocalServer) -> OpenAI:
    return OpenAI(base_url=server.base_url, api_key="unused", max_retries=0, timeout=5)


def fault(kind: str, **more: object) -> dict:
    return {"simulation": {"fault": kind, "fault_after": 3, **more}}


def raw_events(server: LocalServer, body: dict) -> tuple[int, list[tuple[str, dict]]]:
    """The HTTP status and every (event, data) of a streamed /v1/responses, read off the wire."""
    with httpx.stream("POST", f"{server.base_url}/responses", json=body, timeout=10) as reply:
        decoder = SSEDecoder()
        frames = decoder.feed(reply.read()) + decoder.close()
    return reply.status_code, [(f.event, json.loads(f.data)) for f in frames]


def recorded_error_events() -> dict[str, dict]:
    """The `error` and `response.failed` events of the real recorded error stream."""
    frames = SSEDecoder().feed((REAL_STREAMS / "openai-responses-error-1.sse").read_bytes())
    return {f.event: json.loads(f.data) for f in frames if f.event != "message"}


def test_error_fault_on_the_wire_has_the_real_apis_shape(server: LocalServer) -> None:
    body = {"model": "m", "input": PROMPT, "stream": True, **fault("error")}
    status, events = raw_events(server, body)
    assert status == 200  # the status went out before the first token
    assert [name for name, _ in events][-2:] == ["error", "response.failed"]
    error, failed = events[-2][1], events[-1][1]
    real = recorded_error_events()
    # the payload is nested under "error", as the API sends it, not at the top level
    assert set(error) == set(real["error"]) == {"type", "sequence_number", "error"}
    nested = {"type", "code", "message", "param"}
    assert set(error["error"]) == set(real["error"]["error"]) == nested
    assert error["error"] == {
        "type": "server_error", "code": "server_error", "message": INJECTED_ERROR_MESSAGE,
        "param": None,
    }
    assert failed["sequence_number"] == error["sequence_number"] + 1
    assert failed["response"]["status"] == real["response.failed"]["response"]["status"] == "failed"
    assert set(failed["response"]["error"]) == set(real["response.failed"]["response"]["error"])
    why = {"code": "server_error", "message": INJECTED_ERROR_MESSAGE}
    assert failed["response"]["error"] == why
    assert failed["response"]["output"][0]["content"][0]["text"] == "".join(
        answer_prompt(PROMPT).tokens[:3]
    )


def test_error_event_makes_the_sdk_raise_api_error_mid_stream(client: OpenAI) -> None:
    """openai 3.63 raises APIError on an event whose data has an `error` object (_streaming.py):
    the deltas before it arrive, the `error` and `response.failed` events never do."""
    stream = client.responses.create(
        model="m", input=PROMPT, stream=True, extra_body=fault("error")
    )
    seen = []
    with pytest.raises(openai.APIError, match="injected fault 'error'") as caught:
        seen.extend(event.type for event in stream)
    assert type(caught.value) is openai.APIError  # not an APIStatusError: no status to retry on
    assert caught.value.code == "server_error" and caught.value.type == "server_error"
    assert caught.value.body == {
        "type": "server_error", "code": "server_error", "message": INJECTED_ERROR_MESSAGE,
        "param": None,
    }
    assert seen.count("response.output_text.delta") == 3
    assert "error" not in seen and "response.failed" not in seen


def test_error_event_makes_the_stream_helper_raise_api_error(client: OpenAI) -> None:
    helper = client.responses.stream(model="m", input=PROMPT, extra_body=fault("error"))
    with helper as stream, pytest.raises(openai.APIError, match="injected fault 'error'"):
        stream.get_final_response()


def test_error_event_makes_the_async_client_raise_api_error(server: LocalServer) -> None:
    async def run() -> None:
        client = AsyncOpenAI(base_url=server.base_url, api_key="unused", max_retries=0, timeout=5)
        stream = await client.responses.create(
            model="m", input=PROMPT, stream=True, extra_body=fault("error")
        )
        with pytest.raises(openai.APIError, match="injected fault 'error'"):
            async for _event in stream:
                pass
        await client.close()

    asyncio.run(run())


def test_error_event_is_not_retried(server: LocalServer) -> None:
    attempts = []
    client = OpenAI(
        base_url=server.base_url, api_key="unused", max_retries=2,
        http_client=openai.DefaultHttpxClient(event_hooks={"request": [attempts.append]}),
    )
    for api in ("responses", "chat"):
        with pytest.raises(openai.APIError, match="injected fault 'error'"):
            if api == "responses":
                list(client.responses.create(model="m", input=PROMPT, stream=True,
                                             extra_body=fault("error")))
            else:
                list(client.chat.completions.create(model="m", messages=MESSAGES, stream=True,
                                                    extra_body=fault("error")))
    assert len(attempts) == 2  # one request each: HTTP 200 had already arrived


def test_error_mid_stream_chat_raises_api_error(client: OpenAI) -> None:
    stream = client.chat.completions.create(
        model="m", messages=MESSAGES, stream=True, extra_body=fault("error")
    )
    seen = []
    with pytest.raises(openai.APIError, match="injected fault 'error'") as caught:
        seen.extend(c.choices[0].delta.content for c in stream)
    assert type(caught.value) is openai.APIError
    assert len(seen) == 4  # the role chunk and three tokens arrived before the error


def test_error_fault_not_streamed_is_a_500(client: OpenAI) -> None:
    with pytest.raises(openai.InternalServerError, match="injected fault 'error'"):
        client.responses.create(model="m", input=PROMPT, extra_body=fault("error"))


@pytest.mark.parametrize("api", ["responses", "chat"])
def test_drop_raises_api_connection_error(client: OpenAI, api: str) -> None:
    if api == "responses":
        stream = client.responses.create(
            model="m", input=PROMPT, stream=True, extra_body=fault("drop")
        )
    else:
        stream = client.chat.completions.create(
            model="m", messages=MESSAGES, stream=True, extra_body=fault("drop")
        )
    received = []
    with pytest.raises(openai.APIConnectionError) as caught:
        received.extend(stream)
    assert type(caught.value) is openai.APIConnectionError
    assert "incomplete chunked read" in str(caught.value.__cause__)
    assert len(received) >= 3


def test_drop_not_streamed_raises_api_connection_error(client: OpenAI) -> None:
    with pytest.raises(openai.APIConnectionError):
        client.responses.create(model="m", input=PROMPT, extra_body=fault("drop"))


def test_stall_raises_timeout_with_a_short_client_timeout(client: OpenAI) -> None:
    impatient = client.with_options(timeout=0.3)
    stream = impatient.responses.create(
        model="m", input=PROMPT, stream=True, extra_body=fault("stall", stall_seconds=30)
    )
    with pytest.raises(openai.APITimeoutError):
        list(stream)


def test_stall_then_the_answer_completes(client: OpenAI) -> None:
    started = time.perf_counter()
    text = client.responses.create(
        model="m", input=PROMPT, extra_body=fault("stall", stall_seconds=0.3)
    ).output_text
    assert text == answer_prompt(PROMPT).text
    assert time.perf_counter() - started >= 0.3


def test_fault_after_beyond_the_answer_still_fires(server: LocalServer) -> None:
    body = {"model": "m", "input": "Say hello", "stream": True,
            "simulation": {"fault": "error", "fault_after": 99}}
    types = [name for name, _ in raw_events(server, body)[1]]
    assert types.count("response.output_text.delta") == 2
    assert types[-2:] == ["error", "response.failed"]


@pytest.mark.parametrize(
    ("kind", "exception", "status"),
    [("429", openai.RateLimitError, 429), ("500", openai.InternalServerError, 500)],
)
def test_status_faults_before_the_stream(
    client: OpenAI, kind: str, exception: type, status: int
) -> None:
    with pytest.raises(exception) as caught:
        client.responses.create(model="m", input=PROMPT, stream=True, extra_body=fault(kind))
    assert caught.value.status_code == status
    assert f"simulated fault '{kind}'" in caught.value.message
    with pytest.raises(exception):
        client.chat.completions.create(model="m", messages=MESSAGES, extra_body=fault(kind))


def test_429_carries_retry_after_ms(client: OpenAI) -> None:
    with pytest.raises(openai.RateLimitError) as caught:
        client.responses.create(model="m", input=PROMPT, extra_body=fault("429", retry_after_ms=50))
    assert caught.value.response.headers["retry-after-ms"] == "50"
    assert caught.value.code == "rate_limit_exceeded"


def test_sdk_retries_a_429_the_configured_number_of_times(server: LocalServer) -> None:
    attempts = []
    client = OpenAI(base_url=server.base_url, api_key="unused", max_retries=2)
    client = client.with_options(
        http_client=openai.DefaultHttpxClient(event_hooks={"request": [attempts.append]})
    )
    with pytest.raises(openai.RateLimitError):
        client.responses.create(model="m", input=PROMPT, extra_body=fault("429", retry_after_ms=10))
    assert len(attempts) == 3


def test_server_wide_fault_limited_to_first_requests_lets_retries_succeed() -> None:
    with LocalServer(ttft=0, tokens_per_second=0, fault="429", fault_count=2) as flaky:
        strict = OpenAI(base_url=flaky.base_url, api_key="unused", max_retries=0)
        with pytest.raises(openai.RateLimitError):
            strict.responses.create(model="m", input="Say hello")
        patient = OpenAI(base_url=flaky.base_url, api_key="unused", max_retries=2)
        assert patient.responses.create(model="m", input="Say hello").output_text == "Hello!"


def test_server_wide_stream_fault_applies_to_every_request() -> None:
    with LocalServer(ttft=0, tokens_per_second=0, fault="error", fault_after=1) as broken:
        client = OpenAI(base_url=broken.base_url, api_key="unused", max_retries=0)
        for _ in range(2):
            with pytest.raises(openai.APIError, match="injected fault 'error'"):
                list(client.responses.create(model="m", input=PROMPT, stream=True))
        healthy = client.responses.create(
            model="m", input=PROMPT, extra_body={"simulation": {"fault": None}}
        )
        assert healthy.status == "completed"


def test_faults_leave_no_live_streams(server: LocalServer, client: OpenAI) -> None:
    for kind in ["error", "drop", "stall", "429", "500"]:
        stream_options = fault(kind, stall_seconds=30)
        with pytest.raises(openai.APIError):  # the base class of every exception above
            impatient = client.with_options(timeout=0.3)
            list(
                impatient.chat.completions.create(
                    model="m", messages=MESSAGES, stream=True, extra_body=stream_options
                )
            )
    deadline = time.monotonic() + 10  # a bound on a poll, generous for a busy shared machine
    while server.live_streams and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.live_streams == 0

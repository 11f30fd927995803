"""Every injected fault, and the exact exception the openai SDK raises for it."""

from __future__ import annotations

import time
from collections.abc import Iterator

import openai
import pytest
from openai import OpenAI

from helpers.server import LocalServer
from helpers.server.model.simulated import answer_prompt
from helpers.server.model.tokens import INJECTED_ERROR_MESSAGE

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


def test_error_event_mid_stream_responses(client: OpenAI) -> None:
    events = list(
        client.responses.create(model="m", input=PROMPT, stream=True, extra_body=fault("error"))
    )
    types = [e.type for e in events]
    assert types[-2:] == ["error", "response.failed"]
    assert types.count("response.output_text.delta") == 3
    assert events[-2].message == INJECTED_ERROR_MESSAGE and events[-2].code == "server_error"
    failed = events[-1].response
    assert failed.status == "failed" and failed.error.code == "server_error"
    assert failed.output[0].content[0].text == "".join(answer_prompt(PROMPT).tokens[:3])


def test_error_event_makes_the_stream_helper_raise(client: OpenAI) -> None:
    helper = client.responses.stream(model="m", input=PROMPT, extra_body=fault("error"))
    with helper as stream, pytest.raises(RuntimeError, match=r"response\.completed"):
        stream.get_final_response()


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


def test_fault_after_beyond_the_answer_still_fires(client: OpenAI) -> None:
    events = list(
        client.responses.create(
            model="m",
            input="Say hello",
            stream=True,
            extra_body={"simulation": {"fault": "error", "fault_after": 99}},
        )
    )
    assert [e.type for e in events].count("response.output_text.delta") == 2
    assert events[-1].type == "response.failed"


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
            types = [e.type for e in client.responses.create(model="m", input=PROMPT, stream=True)]
            assert types[-1] == "response.failed"
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

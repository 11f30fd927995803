"""Anthropic's Messages API on the local server, driven by the official anthropic SDK."""

from __future__ import annotations

import time
from collections.abc import Iterator

import anthropic
import httpx
import httpx2
import pytest
from anthropic import Anthropic
from openai import OpenAI

from helpers.server import LocalServer
from helpers.server.model.simulated import answer_prompt, count_tokens, tokenize
from helpers.server.model.tokens import INJECTED_ERROR_MESSAGE
from helpers.sse import SSEDecoder

PROMPT = "What is SSE?"
MESSAGES = [{"role": "user", "content": PROMPT}]
ANSWER = answer_prompt(PROMPT).text
GOOD = {"model": "m", "max_tokens": 1024, "messages": MESSAGES}


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with LocalServer(ttft=0.005, tokens_per_second=2000, jitter=0.2) as running:
        yield running


@pytest.fixture(scope="module")
def root(server: LocalServer) -> str:
    return server.base_url.removesuffix("/v1")  # the anthropic SDK adds /v1 itself


@pytest.fixture(scope="module")
def client(root: str) -> Anthropic:
    return Anthropic(base_url=root, api_key="unused", max_retries=0, timeout=10)


def raw_events(root: str, body: dict) -> tuple[int, list]:
    """The frames exactly as sent, decoded by the kit's own SSE decoder."""
    decoder, events = SSEDecoder(), []
    with httpx.stream("POST", f"{root}/v1/messages", json=body, timeout=10) as reply:
        for chunk in reply.iter_raw():
            events.extend(decoder.feed(chunk))
        events.extend(decoder.close())
        return reply.status_code, events


def fault(kind: str, **more: object) -> dict:
    return {"simulation": {"fault": kind, "fault_after": 3, **more}}


# --------------------------------------------------------------------------- the SDK, happy path


def test_text_stream_and_final_message(client: Anthropic) -> None:
    with client.messages.stream(model="claude-x", max_tokens=1024, messages=MESSAGES) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert pieces == list(tokenize(ANSWER))  # one text_delta per token, same boundaries
    assert final.content[0].text == ANSWER and final.model == "claude-x"
    assert final.stop_reason == "end_turn" and final.stop_sequence is None
    assert final.id.startswith("msg_") and final.role == "assistant"
    assert final.usage.input_tokens == count_tokens(PROMPT)
    assert final.usage.output_tokens == len(tokenize(ANSWER))


def test_not_streamed_gives_the_same_message(client: Anthropic) -> None:
    message = client.messages.create(model="m", max_tokens=1024, messages=MESSAGES)
    assert message.content[0].text == ANSWER and message.stop_reason == "end_turn"
    assert message.usage.output_tokens == len(tokenize(ANSWER))


def test_same_text_as_both_openai_routes(server: LocalServer, client: Anthropic) -> None:
    openai_client = OpenAI(base_url=server.base_url, api_key="unused", max_retries=0)
    responses = openai_client.responses.create(model="m", input=PROMPT).output_text
    chat = openai_client.chat.completions.create(model="m", messages=MESSAGES)
    message = client.messages.create(model="m", max_tokens=1024, messages=MESSAGES)
    assert message.content[0].text == responses == chat.choices[0].message.content


def test_system_and_text_blocks_are_accepted(client: Anthropic) -> None:
    blocks = [{"type": "text", "text": PROMPT}]
    message = client.messages.create(
        model="m",
        max_tokens=1024,
        system=[{"type": "text", "text": "Be brief."}],
        messages=[{"role": "user", "content": blocks}],
        metadata={"user_id": "learner-1"},
        extra_body={"temperature": 0.5},
    )
    assert message.content[0].text == ANSWER
    assert message.usage.input_tokens == count_tokens(f"Be brief.\n{PROMPT}")


def test_max_tokens_stops_the_answer(client: Anthropic) -> None:
    with client.messages.stream(model="m", max_tokens=5, messages=MESSAGES) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "".join(tokenize(ANSWER)[:5])
    assert final.stop_reason == "max_tokens" and final.usage.output_tokens == 5


@pytest.mark.parametrize("stop", [" text", "Sent Ev"])  # inside one token; across two
def test_stop_sequences_end_the_answer_before_the_sequence(client: Anthropic, stop: str) -> None:
    with client.messages.stream(
        model="m", max_tokens=1024, messages=MESSAGES, stop_sequences=["zzz", stop]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert stop in ANSWER
    assert text == ANSWER[: ANSWER.index(stop)]
    assert final.stop_reason == "stop_sequence" and final.stop_sequence == stop


# --------------------------------------------------------------------------- the wire


def test_raw_event_order_and_event_lines(root: str) -> None:
    status, events = raw_events(root, {**GOOD, "stream": True})
    assert status == 200
    names = [event.event for event in events]
    n = len(tokenize(ANSWER))
    assert names == [
        "message_start",
        "content_block_start",
        "ping",
        *["content_block_delta"] * n,
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    payloads = [event.json() for event in events]
    assert [p["type"] for p in payloads] == names  # every `event:` line equals its JSON type
    assert all(event.id == "" for event in events)  # Anthropic sends no id: lines
    start = payloads[0]["message"]
    assert start["content"] == [] and start["usage"]["input_tokens"] == count_tokens(PROMPT)
    # cumulative: the final count; since 2025-11 the input and cache counts come again
    assert payloads[-2]["usage"] == {
        "input_tokens": count_tokens(PROMPT),
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": n,
    }
    assert payloads[-2]["delta"] == {
        "stop_reason": "end_turn", "stop_sequence": None, "stop_details": None
    }
    assert "".join(p["delta"]["text"] for p in payloads[3:-3]) == ANSWER


def test_error_mid_stream_is_an_error_event_after_http_200(root: str) -> None:
    status, events = raw_events(root, {**GOOD, "stream": True, **fault("error")})
    assert status == 200
    names = [event.event for event in events]
    assert names == [
        "message_start",
        "content_block_start",
        "ping",
        *["content_block_delta"] * 3,
        "error",
    ]
    assert events[-1].json() == {  # as the real overload body has it, `details: null` first
        "type": "error",
        "error": {"details": None, "type": "overloaded_error", "message": INJECTED_ERROR_MESSAGE},
    }


# --------------------------------------------------------------------------- bad requests


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"max_tokens": None}, "max_tokens: Field required"),
        ({"max_tokens": 0}, "max_tokens: Input should be greater than or equal to 1"),
        ({"max_tokens": "9"}, "max_tokens: Input should be a valid integer"),
        ({"model": None}, "model: Field required"),
        ({"messages": None}, "messages: Field required"),
        ({"messages": []}, "at least one message"),
        ({"messages": [{"role": "system", "content": "x"}]}, "messages.0.role: Input should be"),
        ({"messages": [{"role": "user"}]}, "messages.0.content: Field required"),
        ({"messages": [{"role": "user", "content": ""}]}, "non-empty"),
        ({"messages": [{"role": "user", "content": [{"type": "image"}]}]}, "not simulated"),
        ({"temperature": 1.5}, "temperature: Input should be between 0 and 1"),
        ({"temperature": "hot"}, "temperature: Input should be a valid number"),
        ({"stop_sequences": "END"}, "stop_sequences"),
        ({"stream": "yes"}, "stream: Input should be a valid boolean"),
        ({"metadata": {"name": "x"}}, "metadata.name: Extra inputs are not permitted"),
        ({"frobnicate": True}, "frobnicate: Extra inputs are not permitted"),
        ({"thinking": {"type": "enabled", "budget_tokens": 1023}},
         "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"),
        ({"thinking": {"type": "enabled", "budget_tokens": 1024}},
         "`max_tokens` must be greater than `thinking.budget_tokens`"),
        ({"container": "c"}, "code execution containers is part of the real Messages API"),
        ({"simulation": {"fault": "boom"}}, "simulation.fault"),
    ],
)
def test_bad_requests_get_anthropic_shaped_400s(root: str, change: dict, fragment: str) -> None:
    body = {key: value for key, value in {**GOOD, **change}.items() if value is not None}
    reply = httpx.post(f"{root}/v1/messages", json=body, timeout=10)
    assert reply.status_code == 400, reply.text
    payload = reply.json()
    assert set(payload) == {"type", "error"} and payload["type"] == "error"
    assert payload["error"]["type"] == "invalid_request_error"
    assert fragment in payload["error"]["message"]


def test_the_sdk_raises_bad_request_with_the_message(client: Anthropic) -> None:
    bad = [{"role": "robot", "content": "hi"}]
    with pytest.raises(anthropic.BadRequestError, match=r"messages\.0\.role") as caught:
        client.messages.create(model="m", max_tokens=10, messages=bad)  # type: ignore[arg-type]
    assert caught.value.body["error"]["type"] == "invalid_request_error"


def test_unreadable_json_is_refused_in_anthropic_shape(root: str) -> None:
    reply = httpx.post(f"{root}/v1/messages", content=b"{nope", timeout=10)
    assert reply.status_code == 400 and reply.json()["type"] == "error"


def test_unknown_paths_and_methods_answer_in_anthropic_shape(root: str) -> None:
    missing = httpx.post(f"{root}/v1/messages/nothing", json={}, timeout=10)
    assert missing.status_code == 404
    assert missing.json()["error"]["type"] == "not_found_error"
    wrong_method = httpx.get(f"{root}/v1/messages", timeout=10)
    assert wrong_method.status_code == 405 and wrong_method.json()["type"] == "error"


def test_api_key_in_x_api_key_or_bearer() -> None:
    with LocalServer(ttft=0, tokens_per_second=0, api_key="sekret") as locked:
        root = locked.base_url.removesuffix("/v1")
        url = f"{root}/v1/messages"
        wrong = Anthropic(base_url=root, api_key="wrong", max_retries=0)
        with pytest.raises(anthropic.AuthenticationError) as caught:
            wrong.messages.create(model="m", max_tokens=10, messages=MESSAGES)
        assert caught.value.body["error"] == {
            "type": "authentication_error",
            "message": "invalid x-api-key",
        }
        missing = httpx.post(url, json=GOOD, timeout=10)
        assert missing.status_code == 401
        assert missing.json()["error"]["message"] == "x-api-key header is required"
        for header in ({"x-api-key": "sekret"}, {"authorization": "Bearer sekret"}):
            assert httpx.post(url, json=GOOD, headers=header, timeout=10).status_code == 200
        good = Anthropic(base_url=root, api_key="sekret", max_retries=0)  # sends the Bearer
        message = good.messages.create(model="m", max_tokens=1024, messages=MESSAGES)
        assert message.content[0].text == ANSWER
        # The OpenAI routes keep their own header.
        models = httpx.get(f"{locked.base_url}/models", headers={"x-api-key": "sekret"})
        assert models.status_code == 401 and "error" in models.json()


# --------------------------------------------------------------------------- faults


def test_error_fault_raises_api_status_error_with_status_200(client: Anthropic) -> None:
    seen = []
    with pytest.raises(anthropic.APIStatusError) as caught:  # noqa: SIM117
        with client.messages.stream(
            model="m", max_tokens=1024, messages=MESSAGES, extra_body=fault("error")
        ) as stream:
            seen.extend(stream.text_stream)
    assert type(caught.value) is anthropic.APIStatusError  # no subclass: the status was 200
    assert caught.value.status_code == 200
    assert caught.value.body["error"]["type"] == "overloaded_error"
    assert seen == list(tokenize(ANSWER)[:3])


def test_error_fault_not_streamed_is_a_529(client: Anthropic) -> None:
    with pytest.raises(anthropic.OverloadedError, match="injected fault 'error'"):
        client.messages.create(
            model="m", max_tokens=1024, messages=MESSAGES, extra_body=fault("error")
        )


@pytest.mark.parametrize(
    ("kind", "exception", "status", "error_type"),
    [
        ("429", anthropic.RateLimitError, 429, "rate_limit_error"),
        ("500", anthropic.InternalServerError, 500, "api_error"),
        ("529", anthropic.OverloadedError, 529, "overloaded_error"),
    ],
)
def test_status_faults_before_the_stream(
    client: Anthropic, kind: str, exception: type, status: int, error_type: str
) -> None:
    with pytest.raises(exception) as caught:  # noqa: SIM117
        with client.messages.stream(
            model="m", max_tokens=1024, messages=MESSAGES, extra_body=fault(kind)
        ) as stream:
            list(stream.text_stream)
    assert caught.value.status_code == status
    assert caught.value.body["error"]["type"] == error_type
    assert f"simulated fault '{kind}'" in caught.value.body["error"]["message"]


def test_429_carries_retry_after_and_the_sdk_retries(server: LocalServer, root: str) -> None:
    attempts: list = []
    http_client = anthropic.DefaultHttpxClient(event_hooks={"request": [attempts.append]})
    patient = Anthropic(base_url=root, api_key="unused", max_retries=2, http_client=http_client)
    with pytest.raises(anthropic.RateLimitError) as caught:
        patient.messages.create(
            model="m", max_tokens=10, messages=MESSAGES, extra_body=fault("429", retry_after_ms=10)
        )
    assert caught.value.response.headers["retry-after"] == "1"
    assert caught.value.response.headers["retry-after-ms"] == "10"
    assert len(attempts) == 3


def test_sdk_retries_cannot_help_an_error_after_http_200(root: str) -> None:
    attempts: list = []
    http_client = anthropic.DefaultHttpxClient(event_hooks={"request": [attempts.append]})
    patient = Anthropic(base_url=root, api_key="unused", max_retries=2, http_client=http_client)
    with pytest.raises(anthropic.APIStatusError):  # noqa: SIM117
        with patient.messages.stream(
            model="m", max_tokens=1024, messages=MESSAGES, extra_body=fault("error")
        ) as stream:
            list(stream.text_stream)
    assert len(attempts) == 1  # the status was 200: nothing for the retry loop to see


def test_drop_mid_stream_raises_apiconnectionerror_caused_by_the_transport_error(root: str) -> None:
    # anthropic 2.17 wraps a dropped connection in its own APIConnectionError, as the openai
    # SDK does; httpx2's error is the __cause__ (2.15 let httpx2.RemoteProtocolError out
    # unwrapped). A drop after HTTP 200 is not retried: one request, with retries on.
    attempts: list = []
    http_client = anthropic.DefaultHttpxClient(event_hooks={"request": [attempts.append]})
    patient = Anthropic(base_url=root, api_key="unused", max_retries=2, http_client=http_client)
    seen = []
    with pytest.raises(anthropic.APIConnectionError, match="incomplete chunked read") as caught:  # noqa: SIM117
        with patient.messages.stream(
            model="m", max_tokens=1024, messages=MESSAGES, extra_body=fault("drop")
        ) as stream:
            seen.extend(stream.text_stream)
    assert not isinstance(caught.value, anthropic.APITimeoutError)
    assert isinstance(caught.value.__cause__, httpx2.RemoteProtocolError)
    assert seen == list(tokenize(ANSWER)[:3])
    assert len(attempts) == 1


def test_stall_raises_apitimeouterror_caused_by_a_read_timeout(client: Anthropic) -> None:
    # anthropic 2.17: APITimeoutError (a subclass of APIConnectionError) from httpx2.ReadTimeout;
    # 2.15 let httpx2.ReadTimeout out unwrapped, as for a drop.
    impatient = client.with_options(timeout=0.3)
    with pytest.raises(anthropic.APITimeoutError, match=r"timed out after 0\.3s") as caught:  # noqa: SIM117
        with impatient.messages.stream(
            model="m",
            max_tokens=1024,
            messages=MESSAGES,
            extra_body=fault("stall", stall_seconds=30),
        ) as stream:
            list(stream.text_stream)
    assert isinstance(caught.value.__cause__, httpx2.ReadTimeout)


def test_stall_then_the_answer_completes(client: Anthropic) -> None:
    started = time.perf_counter()
    message = client.messages.create(
        model="m", max_tokens=1024, messages=MESSAGES, extra_body=fault("stall", stall_seconds=0.3)
    )
    assert message.content[0].text == ANSWER
    assert time.perf_counter() - started >= 0.3


def test_faults_leave_no_live_streams(server: LocalServer, client: Anthropic) -> None:
    impatient = client.with_options(timeout=0.3)
    for kind in ["error", "drop", "stall", "429", "500", "529"]:
        with pytest.raises(anthropic.APIError):  # noqa: SIM117
            with impatient.messages.stream(
                model="m",
                max_tokens=1024,
                messages=MESSAGES,
                extra_body=fault(kind, stall_seconds=30),
            ) as stream:
                list(stream.text_stream)
    deadline = time.monotonic() + 10  # a bound on a poll, generous for a busy shared machine
    while server.live_streams and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.live_streams == 0


def test_heartbeats_are_ping_events_the_sdk_skips(root: str, client: Anthropic) -> None:
    """Anthropic keeps a quiet stream alive with `ping` events, not SSE comments."""
    quiet = {"simulation": {"ttft": 0.6, "heartbeat": 0.1}}
    body = {"model": "m", "max_tokens": 1024, "messages": MESSAGES, "stream": True, **quiet}
    status, events = raw_events(root, body)
    types = [event.event for event in events]
    first_text = types.index("content_block_delta")
    assert status == 200 and types.count("ping") >= 3
    assert "ping" not in types[first_text:]  # the model was quiet only before its first token
    assert {event.data for event in events if event.event == "ping"} == {'{"type": "ping"}'}
    with client.messages.stream(
        model="m", max_tokens=1024, messages=MESSAGES, extra_body=quiet
    ) as stream:
        assert "".join(stream.text_stream) == ANSWER

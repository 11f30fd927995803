"""Bad requests get OpenAI-shaped errors naming the problem, and never break the server."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import openai
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openai import OpenAI

from helpers.server import LocalServer

GOOD_RESPONSES = {"model": "m", "input": "Say hello"}
GOOD_CHAT = {"model": "m", "messages": [{"role": "user", "content": "Say hello"}]}


@pytest.fixture(scope="module")
def http(server: LocalServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        yield client


@pytest.fixture(scope="module")
def client(server: LocalServer) -> OpenAI:
    return OpenAI(base_url=server.base_url, api_key="unused", max_retries=0)


def error_of(reply: httpx.Response, status: int) -> dict:
    assert reply.status_code == status, reply.text
    error = reply.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    return error


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"", "empty"),
        (b"{not json", "line 1 column 2"),
        (b'{"model": "m", "input": "caf\xe9"}', r"b'\xe9' at offset 28"),
        (b"[1, 2]", "not a JSON list"),
        (b"[" * 100_000, "nested too deeply"),
    ],
)
@pytest.mark.parametrize("path", ["/responses", "/chat/completions"])
def test_unreadable_bodies(http: httpx.Client, path: str, body: bytes, fragment: str) -> None:
    error = error_of(http.post(path, content=body), 400)
    assert fragment in error["message"] and error["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"input": "hi"}, "model"),
        ({"model": "", "input": "hi"}, "model"),
        ({"model": 7, "input": "hi"}, "model"),
        ({"model": "m"}, "input"),
        ({"model": "m", "input": ""}, "input"),
        ({"model": "m", "input": []}, "input"),
        ({"model": "m", "input": 42}, "input"),
        ({"model": "m", "input": ["hi"]}, "input[0]"),
        ({"model": "m", "input": [{"role": "wizard", "content": "hi"}]}, "input[0].role"),
        ({"model": "m", "input": [{"role": "user", "content": 5}]}, "input[0].content"),
        ({"model": "m", "input": [{"role": "user", "content": [7]}]}, "input[0].content[0]"),
        ({"model": "m", "input": "hi", "stream": "yes"}, "stream"),
        ({"model": "m", "input": "hi", "stream": 1}, "stream"),
        ({"model": "m", "input": "hi", "max_output_tokens": 0}, "max_output_tokens"),
        ({"model": "m", "input": "hi", "max_output_tokens": "10"}, "max_output_tokens"),
        ({"model": "m", "input": "hi", "instructions": ["x"]}, "instructions"),
        ({"model": "m", "input": "hi", "simulation": "fast"}, "simulation"),
        ({"model": "m", "input": "hi", "simulation": {"speed": 1}}, "simulation.speed"),
        ({"model": "m", "input": "hi", "simulation": {"ttft": -1}}, "simulation.ttft"),
        ({"model": "m", "input": "hi", "simulation": {"ttft": "1"}}, "simulation.ttft"),
        ({"model": "m", "input": "hi", "simulation": {"seed": 1.5}}, "simulation.seed"),
        ({"model": "m", "input": "hi", "simulation": {"fault": "boom"}}, "simulation.fault"),
    ],
)
def test_bad_responses_fields_name_the_param(http: httpx.Client, body: dict, param: str) -> None:
    error = error_of(http.post("/responses", json=body), 400)
    assert error["param"] == param
    assert param.split(".")[-1].split("[")[0] in error["message"]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "m"}, "messages"),
        ({"model": "m", "messages": []}, "messages"),
        ({"model": "m", "messages": "hi"}, "messages"),
        ({"model": "m", "messages": [None]}, "messages[0]"),
        ({"model": "m", "messages": [{"content": "hi"}]}, "messages[0].role"),
        ({"model": "m", "messages": [{"role": "user"}]}, "messages[0].content"),
        (
            {"model": "m", "messages": [{"role": "user", "content": {"a": 1}}]},
            "messages[0].content",
        ),
        ({**GOOD_CHAT, "stream": "true"}, "stream"),
        ({**GOOD_CHAT, "stream_options": {"include_usage": True}}, "stream_options"),
        ({**GOOD_CHAT, "stream": True, "stream_options": 3}, "stream_options"),
        (
            {**GOOD_CHAT, "stream": True, "stream_options": {"include_usage": "y"}},
            "stream_options.include_usage",
        ),
        ({**GOOD_CHAT, "max_tokens": -5}, "max_tokens"),
        ({**GOOD_CHAT, "max_completion_tokens": True}, "max_completion_tokens"),
        ({**GOOD_CHAT, "seed": "x"}, "seed"),
    ],
)
def test_bad_chat_fields_name_the_param(http: httpx.Client, body: dict, param: str) -> None:
    assert error_of(http.post("/chat/completions", json=body), 400)["param"] == param


def test_sdk_raises_bad_request_error(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="'messages': empty array") as caught:
        client.chat.completions.create(model="m", messages=[])
    assert caught.value.param == "messages"
    with pytest.raises(openai.BadRequestError, match="'input'"):
        client.responses.create(model="m", input="", stream=True)


def test_unknown_route_and_wrong_method(http: httpx.Client) -> None:
    assert "GET /v1/nothing" in error_of(http.get("/nothing"), 404)["message"]
    error_of(http.post("/models"), 405)
    error_of(http.get("/responses"), 405)


def test_oversized_body_is_refused(http: httpx.Client) -> None:
    error = error_of(http.post("/responses", content=b" " * (5 * 1024 * 1024)), 413)
    assert "larger than" in error["message"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
fields = st.sampled_from(
    [
        "model",
        "input",
        "messages",
        "stream",
        "max_output_tokens",
        "max_tokens",
        "stream_options",
        "simulation",
        "seed",
    ]
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=st.sampled_from(["/responses", "/chat/completions"]),
    body=st.dictionaries(fields, json_values),
)
def test_random_bodies_never_cause_a_server_error(
    http: httpx.Client, path: str, body: dict
) -> None:
    body = (
        {**body, "simulation": {"ttft": 0, "tokens_per_second": 0}}
        if "simulation" not in body
        else body
    )
    reply = http.post(path, content=json.dumps(body).encode())
    assert reply.status_code in (200, 400), reply.text
    if reply.status_code == 400:
        error_of(reply, 400)


def test_server_still_answers_after_all_that(client: OpenAI) -> None:
    assert client.responses.create(model="m", input="Say hello").output_text == "Hello!"


def test_api_key_is_enforced() -> None:
    with LocalServer(ttft=0, tokens_per_second=0, api_key="sekret") as locked:
        with pytest.raises(openai.AuthenticationError, match="Incorrect API key") as caught:
            OpenAI(base_url=locked.base_url, api_key="wrong", max_retries=0).models.list()
        assert caught.value.code == "invalid_api_key"
        assert "sekret" not in caught.value.message
        missing = httpx.post(f"{locked.base_url}/responses", json=GOOD_RESPONSES)
        assert "didn't provide an API key" in error_of(missing, 401)["message"]
        assert error_of(httpx.get(f"{locked.base_url}/nothing"), 401)  # before routing
        good = OpenAI(base_url=locked.base_url, api_key="sekret", max_retries=0)
        assert good.responses.create(model="m", input="Say hello").output_text == "Hello!"

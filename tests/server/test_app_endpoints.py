"""The local server, driven by the real openai SDK over loopback sockets."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import openai
import pytest
from openai import AsyncOpenAI, NotFoundError, OpenAI

from helpers.server import LocalServer
from helpers.server.model.simulated import answer_prompt, count_tokens, tokenize
from helpers.sse import SSEDecoder

RESPONSES_SEQUENCE_HEAD = [
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.content_part.added",
]
RESPONSES_SEQUENCE_TAIL = [
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.completed",
]


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with LocalServer(ttft=0.005, tokens_per_second=2000, jitter=0.2) as running:
        yield running


@pytest.fixture(scope="module")
def client(server: LocalServer) -> OpenAI:
    return OpenAI(base_url=server.base_url, api_key="unused", max_retries=0)


def test_start_and_stop_free_the_thread() -> None:
    local = LocalServer().start()
    assert local.running and local.base_url.startswith("http://127.0.0.1:")
    assert local.start() is local  # starting twice is harmless
    local.stop()
    assert not local.running


def test_responses_not_streamed(client: OpenAI) -> None:
    response = client.responses.create(model="kit-sim-1", input="What is SSE?")
    expected = answer_prompt("What is SSE?").text
    assert response.status == "completed" and response.output_text == expected
    assert response.id.startswith("resp_") and response.output[0].id.startswith("msg_")
    assert response.usage.input_tokens == count_tokens("What is SSE?")
    assert response.usage.output_tokens == len(tokenize(expected))
    assert response.created_at > time.time() - 60


def test_responses_stream_has_the_real_event_sequence(client: OpenAI) -> None:
    events = list(client.responses.create(model="kit-sim-1", input="What is SSE?", stream=True))
    types = [e.type for e in events]
    n_deltas = len(tokenize(answer_prompt("What is SSE?").text))
    assert types == [
        *RESPONSES_SEQUENCE_HEAD,
        *["response.output_text.delta"] * n_deltas,
        *RESPONSES_SEQUENCE_TAIL,
    ]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert deltas == tokenize(answer_prompt("What is SSE?").text)
    completed = events[-1].response
    assert completed.output_text == "".join(deltas)
    assert completed.usage.output_tokens == n_deltas
    assert len({e.response.id for e in events if hasattr(e, "response")}) == 1


def test_streamed_and_not_streamed_answers_are_equal(client: OpenAI) -> None:
    for prompt in ["Why does streaming feel faster?", "Describe a sailing boat"]:
        whole = client.responses.create(model="m", input=prompt).output_text
        streamed = "".join(
            e.delta
            for e in client.responses.create(model="m", input=prompt, stream=True)
            if e.type == "response.output_text.delta"
        )
        assert whole == streamed


def test_stream_helper_final_response(client: OpenAI) -> None:
    with client.responses.stream(
        model="kit-sim-1", input="Write a haiku about streaming"
    ) as stream:
        text = "".join(e.delta for e in stream if e.type == "response.output_text.delta")
        final = stream.get_final_response()
    assert final.output_text == text == answer_prompt("haiku").text


def test_any_model_name_is_echoed(client: OpenAI) -> None:
    assert client.responses.create(model="my-model", input="hi").model == "my-model"
    chat = client.chat.completions.create(
        model="llama3", messages=[{"role": "user", "content": "hi"}]
    )
    assert chat.model == "llama3"


def test_input_as_message_list_answers_the_last_user_message(client: OpenAI) -> None:
    response = client.responses.create(
        model="m",
        instructions="Be brief.",
        input=[
            {"role": "user", "content": "What is SSE?"},
            {"role": "assistant", "content": "An event format."},
            {"role": "user", "content": [{"type": "input_text", "text": "Say hello"}]},
        ],
    )
    assert response.output_text == "Hello!"
    assert response.instructions == "Be brief."


def test_max_output_tokens_below_the_real_apis_minimum_is_refused(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match=r"max_output_tokens.*>= 16") as refused:
        client.responses.create(model="m", input="What is SSE?", stream=True, max_output_tokens=15)
    assert refused.value.body["param"] == "max_output_tokens"


def test_max_output_tokens_gives_an_incomplete_response(client: OpenAI) -> None:
    events = list(
        client.responses.create(model="m", input="What is SSE?", stream=True, max_output_tokens=16)
    )
    assert events[-1].type == "response.incomplete"
    assert events[-1].response.incomplete_details.reason == "max_output_tokens"
    assert events[-1].response.usage.output_tokens == 16
    whole = client.responses.create(model="m", input="What is SSE?", max_output_tokens=16)
    assert whole.status == "incomplete" and whole.output_text == "".join(
        tokenize(whole.output_text)
    )


def test_chat_not_streamed(client: OpenAI) -> None:
    chat = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "Say hello"}]
    )
    assert chat.choices[0].message.content == "Hello!"
    assert chat.choices[0].finish_reason == "stop"
    assert chat.usage.completion_tokens == 2 and chat.id.startswith("chatcmpl-")


def test_chat_stream_with_usage(client: OpenAI) -> None:
    messages = [{"role": "user", "content": "Explain chunked transfer encoding"}]
    chunks = list(
        client.chat.completions.create(
            model="m", messages=messages, stream=True, stream_options={"include_usage": True}
        )
    )
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert (
        text
        == client.chat.completions.create(model="m", messages=messages).choices[0].message.content
    )
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == len(tokenize(text))
    assert len({c.id for c in chunks}) == 1


def test_chat_max_tokens_finish_reason_length(client: OpenAI) -> None:
    messages = [{"role": "user", "content": "What is SSE?"}]
    chat = client.chat.completions.create(model="m", messages=messages, max_tokens=4)
    assert chat.choices[0].finish_reason == "length" and chat.usage.completion_tokens == 4
    chunks = list(
        client.chat.completions.create(
            model="m", messages=messages, max_completion_tokens=4, stream=True
        )
    )
    assert chunks[-1].choices[0].finish_reason == "length"


def test_raw_sse_frames_have_no_ids_and_chat_ends_with_done(server: LocalServer) -> None:
    """No `id:` lines on either OpenAI route, as on the real API (data/real_streams/): a
    Responses event's place is the sequence_number in its JSON."""
    body = {"model": "m", "messages": [{"role": "user", "content": "Say hello"}], "stream": True}
    with httpx.stream("POST", f"{server.base_url}/chat/completions", json=body) as reply:
        assert reply.headers["content-type"].startswith("text/event-stream")
        raw = reply.read()
    events = SSEDecoder().feed(raw)
    assert events[-1].data == "[DONE]"
    assert b"\nid:" not in raw and not raw.startswith(b"id:") and all(e.id == "" for e in events)
    body = {"model": "m", "input": "Say hello", "stream": True}
    with httpx.stream("POST", f"{server.base_url}/responses", json=body) as reply:
        raw = reply.read()
    events = SSEDecoder().feed(raw)
    assert [e.event for e in events][:2] == ["response.created", "response.in_progress"]
    assert b"\nid:" not in raw and not raw.startswith(b"id:") and all(e.id == "" for e in events)
    assert [e.json()["sequence_number"] for e in events] == list(range(len(events)))


def test_models_list(client: OpenAI) -> None:
    assert [m.id for m in client.models.list()] == ["kit-sim-1"]


def test_unknown_route_is_an_openai_404(client: OpenAI) -> None:
    with pytest.raises(NotFoundError, match="Unknown request URL"):
        client.get("/no/such/route", cast_to=object)


def test_same_seed_same_tokens_through_the_api(client: OpenAI) -> None:
    def deltas(seed: int) -> list[str]:
        stream = client.responses.create(
            model="m",
            input="Describe a sailing boat",
            stream=True,
            extra_body={"simulation": {"seed": seed}},
        )
        return [e.delta for e in stream if e.type == "response.output_text.delta"]

    assert deltas(4) == deltas(4) == list(answer_prompt("Describe a sailing boat", seed=4).tokens)
    assert deltas(4) != deltas(5)
    chat = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "Describe a sailing boat"}], seed=4
    )
    assert chat.choices[0].message.content == answer_prompt("Describe a sailing boat", seed=4).text


def test_async_client_streams(server: LocalServer) -> None:
    async def run() -> tuple[str, str]:
        async with AsyncOpenAI(base_url=server.base_url, api_key="unused", max_retries=0) as client:
            stream = await client.responses.create(model="m", input="What is SSE?", stream=True)
            text = "".join(
                [e.delta async for e in stream if e.type == "response.output_text.delta"]
            )
            chat = await client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": "What is SSE?"}], stream=True
            )
            chat_text = "".join([c.choices[0].delta.content or "" async for c in chat if c.choices])
            return text, chat_text

    text, chat_text = asyncio.run(run())
    assert text == chat_text == answer_prompt("What is SSE?").text


def test_fifty_concurrent_async_streams(server: LocalServer) -> None:
    prompts = ["Say hello", "Write a haiku", "List three planets as JSON", "Hi", "A haiku, please"]

    async def one(client: AsyncOpenAI, prompt: str) -> str:
        async with client.responses.stream(model="m", input=prompt) as stream:
            return (await stream.get_final_response()).output_text

    async def run() -> list[str]:
        async with AsyncOpenAI(base_url=server.base_url, api_key="unused", max_retries=0) as client:
            return await asyncio.gather(*(one(client, prompts[i % 5]) for i in range(50)))

    answers = asyncio.run(run())
    assert answers == [answer_prompt(prompts[i % 5]).text for i in range(50)]
    deadline = time.monotonic() + 10  # the server closes each stream just after its last event
    while server.live_streams and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.live_streams == 0


def _first_token_delays(base_url: str, simulation: dict, tries: int = 3) -> list[float]:
    """Seconds from sending the request to the first text delta, measured with the SDK."""
    client = OpenAI(base_url=base_url, api_key="unused", max_retries=0)
    client.models.list()  # open the connection first, so we time the server, not the handshake
    delays = []
    for _ in range(tries):
        started = time.perf_counter()
        with client.responses.create(
            model="m", input="What is SSE?", stream=True, extra_body={"simulation": simulation}
        ) as stream:
            for event in stream:
                if event.type == "response.output_text.delta":
                    delays.append(time.perf_counter() - started)
                    break
    client.close()
    return delays


@pytest.mark.parametrize(
    ("simulation", "expected"),
    [
        ({"ttft": 0.2}, 0.2),
        ({"ttft": 0.05, "think_time": 0.15}, 0.2),
        ({"ttft": 0.1, "prefill_tokens_per_second": 40}, 0.1 + count_tokens("What is SSE?") / 40),
    ],
)
def test_ttft_matches_configuration(server: LocalServer, simulation: dict, expected: float) -> None:
    """A correctness check, not a speed goal: no token comes early, and the server adds no delay
    of its own beyond what the same round trip costs with no configured delay at all.

    The round trip with `ttft: 0` is measured in the same conditions, interleaved, so a busy
    shared machine slows both alike; the best of five of each is compared, with 50 ms to spare
    (a server that slept, say, one extra token interval or its TTFT twice would still fail).
    """
    delays, baseline = [], []
    for _ in range(5):
        delays += _first_token_delays(server.base_url, simulation, tries=1)
        baseline += _first_token_delays(server.base_url, {"ttft": 0.0}, tries=1)
    assert min(delays) >= expected - 0.001
    assert min(delays) - min(baseline) <= expected + 0.050

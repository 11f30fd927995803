"""helpers.event_map: frame names, the event map and the plain table, on real recordings and on
the local server's three dialects; post_sse keeps the bytes, the frames and one arrival each."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from helpers.event_map import (
    ARGUMENT_PIECE,
    DIALECTS,
    TEXT_PIECE,
    event_map,
    holds,
    inner,
    label,
    masked,
    payload,
    post_sse,
    shorten,
    table,
)
from helpers.recordings import load_recording
from helpers.server import LocalServer
from helpers.sse import ServerSentEvent

REAL_TEXT = {"responses": "openai-responses-text-1", "chat": "openai-chat-text-2",
             "messages": "anthropic-messages-text-1"}
REAL_TOOLS = {"responses": "openai-responses-function_call-1", "chat": "openai-chat-tool_calls-1",
              "messages": "anthropic-messages-tool_use-1"}


def chunk(delta: dict, finish: str | None = None) -> ServerSentEvent:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return ServerSentEvent(data=json.dumps({"choices": [choice]}))


def test_chat_frames_are_named_by_what_they_carry() -> None:
    assert label("chat", chunk({"role": "assistant", "content": ""})) == "chunk+role"
    assert label("chat", chunk({"content": "Hi"})) == "chunk+content"
    assert label("chat", chunk({"content": ""})) == "chunk"
    assert label("chat", chunk({}, "stop")) == "chunk+finish_reason"
    opener = {"role": "assistant", "tool_calls": [{"index": 0, "id": "call_1"}]}
    assert label("chat", chunk(opener)) == "chunk+tool_calls"  # role and call in one chunk
    assert label("chat", ServerSentEvent(data='{"choices":[],"usage":{"prompt_tokens":1}}')) \
        == "chunk+usage"
    assert label("chat", ServerSentEvent(data='{"error":{"message":"x"}}')) == "{error}"
    assert label("chat", ServerSentEvent(data="[DONE]")) == "[DONE]"
    assert payload(ServerSentEvent(data="[DONE]")) is None


def test_named_frames_carry_their_kind() -> None:
    delta = ServerSentEvent(event="content_block_delta", data='{"type":"content_block_delta",'
                            '"index":0,"delta":{"type":"thinking_delta","thinking":"Hm"}   }')
    assert label("messages", delta) == "content_block_delta[thinking_delta]"
    assert label("responses", ServerSentEvent(event="response.created", data="{}")) \
        == "response.created"


def test_holds_finds_a_key_at_any_depth_but_not_a_null() -> None:
    assert holds({"response": {"usage": {"input_tokens": 1}}}, "usage")
    assert holds([{"a": [{"usage": 0}]}], "usage")
    assert not holds({"response": {"usage": None}}, "usage")


def test_masked_hides_ids_and_times() -> None:
    text = '{"id":"chatcmpl-5c540daf1fa6562661a5fa4d","created":1796439796,"x":"call_abcdefgh1"}'
    assert masked(text) == '{"id":"chatcmpl_<ID>","created":<TIME>,"x":"call_<ID>"}'


def test_the_map_of_the_real_recordings() -> None:
    maps = {d: event_map(d, load_recording(REAL_TEXT[d]), tool_frames=load_recording(REAL_TOOLS[d]))
            for d in DIALECTS}
    assert [m["start"] for m in maps.values()] == ["response.created", "chunk+role",
                                                   "message_start"]
    assert [m["end"] for m in maps.values()] == ["response.completed", "[DONE]", "message_stop"]
    assert maps["messages"]["usage"] == "message_start + message_delta"
    assert maps["chat"]["usage"] == "chunk+usage"
    assert [m["stop reason"] for m in maps.values()] == [
        "response.completed (completed)", "chunk+finish_reason (stop)", "message_delta (end_turn)"]
    assert [m["keep-alive"] for m in maps.values()] == [
        "none (SSE comments allowed)", "none (SSE comments allowed)", "ping"]
    for dialect, row in maps.items():
        assert row["text piece"].startswith(TEXT_PIECE[dialect])
        assert row["tool-call arguments"].startswith(f"{ARGUMENT_PIECE[dialect]} x")
        assert row["error (local fault injection)"] == "(not run)"
    failed = event_map("responses", load_recording(REAL_TEXT["responses"]),
                       faulted=load_recording("openai-responses-error-1"))
    assert failed["error (local fault injection)"] == "error then response.failed"


def test_table_lines_up_the_columns() -> None:
    maps = {"a": {"start": "x", "end": "a long value"}, "bb": {"start": "yy", "end": "z"}}
    assert table(maps) == [
        "       a             bb",
        "start  x             yy",
        "end    a long value  z",
    ]


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with LocalServer(ttft=0, tokens_per_second=0) as running:
        yield running


def test_post_sse_and_the_map_of_the_local_server(server: LocalServer) -> None:
    root = server.base_url.removesuffix("/v1")
    user = [{"role": "user", "content": "What is SSE?"}]
    requests = {
        "responses": (f"{server.base_url}/responses", {"input": "What is SSE?"}),
        "chat": (f"{server.base_url}/chat/completions",
                 {"messages": user, "stream_options": {"include_usage": True}}),
        "messages": (f"{root}/v1/messages", {"messages": user, "max_tokens": 1024}),
    }
    for dialect, (url, body) in requests.items():
        stream = post_sse(url, {}, {"model": "kit-sim-1", "stream": True, **body})
        assert stream.status == 200 and len(stream.arrivals) == len(stream.frames) > 10
        assert stream.arrivals == sorted(stream.arrivals)
        assert stream.raw.count(b"\n\n") == len(stream.frames)
        faulted = post_sse(url, {}, {"model": "kit-sim-1", "stream": True, **body,
                                     "simulation": {"fault": "error", "fault_after": 3}})
        row = event_map(dialect, stream.frames, faulted=faulted.frames)
        assert row["error (local fault injection)"] == {
            "responses": "error then response.failed", "chat": "{error}", "messages": "error"
        }[dialect]
        assert row["text piece"].startswith(TEXT_PIECE[dialect] + " x")


def test_shorten_keeps_both_ends_of_a_long_line() -> None:
    assert shorten("short") == "short"
    line = "data: " + "x" * 200 + '"end"}'
    cut = shorten(line)
    assert len(cut) <= 100 and cut.startswith("data: xxx") and cut.endswith('"end"}')
    assert " ... " in cut


def test_inner_leaves_the_envelope_out() -> None:
    assert inner("chat", chunk({"content": "Hi"})) == {"content": "Hi"}
    start = ServerSentEvent(event="content_block_start", data='{"type":"content_block_start",'
                            '"index":1,"content_block":{"type":"tool_use","name":"f"}}')
    assert inner("messages", start) == {"type": "tool_use", "name": "f"}
    delta = ServerSentEvent(event="response.function_call_arguments.delta",
                            data='{"type":"response.function_call_arguments.delta","delta":"{"}')
    assert inner("responses", delta) == "{"

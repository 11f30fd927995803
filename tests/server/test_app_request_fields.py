"""Every request field of both APIs is checked before the stream starts (dialects.params).

Driven by the official openai SDK over loopback: a request the server accepts must end its
stream with a terminal event; anything else is a 4xx in OpenAI's shape naming the field.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import openai
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openai import OpenAI

from helpers.server.dialects.params import CHAT_FIELDS, RESPONSES_FIELDS

MODEL = "kit-sim-1"
FAST = {"simulation": {"ttft": 0, "tokens_per_second": 0}}
MESSAGES = [{"role": "user", "content": "Say hello"}]
TERMINAL = ("response.completed", "response.incomplete", "response.failed")
SET_BY_THE_TEST = ("model", "input", "messages", "stream", "simulation")


def responses_stream(client: OpenAI, fields: dict[str, Any]) -> list[Any]:
    extra = {**FAST, **fields}
    return list(client.responses.create(model=MODEL, input="Say hello", stream=True,
                                        extra_body=extra))


def chat_stream(client: OpenAI, fields: dict[str, Any]) -> list[Any]:
    extra = {**FAST, **fields}
    return list(client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True,  # type: ignore[arg-type]
                                               extra_body=extra))


def refusal(call: Any) -> openai.APIStatusError:
    with pytest.raises(openai.APIStatusError) as caught:
        call()
    error = caught.value
    assert 400 <= error.status_code < 500
    assert set(error.body) == {"message", "type", "param", "code"}  # type: ignore[arg-type]
    return error


# --------------------------------------------------------------------------- one field at a time


def test_a_huge_max_output_tokens_is_a_400_before_the_stream(client: OpenAI) -> None:
    error = refusal(lambda: responses_stream(client, {"max_output_tokens": 10**30}))
    assert (error.status_code, error.param, error.code) == (
        400, "max_output_tokens", "integer_above_max_value"
    )


@pytest.mark.parametrize(
    ("api", "fields", "param", "code"),
    [
        ("responses", {"temperature": 2.5}, "temperature", "decimal_above_max_value"),
        ("responses", {"temperature": "hot"}, "temperature", "invalid_type"),
        ("responses", {"top_p": -0.1}, "top_p", "decimal_below_min_value"),
        ("responses", {"top_logprobs": 21}, "top_logprobs", "integer_above_max_value"),
        ("responses", {"metadata": {"k": 1}}, "metadata.k", "invalid_type"),
        ("responses", {"service_tier": "gold"}, "service_tier", "invalid_value"),
        ("responses", {"store": "yes"}, "store", "invalid_type"),
        ("responses", {"include": ["message.output_text.logprobs"]}, "include[0]", "invalid_value"),
        ("responses", {"tools": [{"type": "web_search"}]}, "tools[0].type",
         "unsupported_parameter"),
        ("responses", {"tool_choice": "required"}, "tool_choice", "invalid_value"),
        ("responses", {"text": {"format": {"type": "json_object"}}}, "text.format",
         "invalid_value"),
        ("responses", {"reasoning": {"effort": "maximal"}}, "reasoning.effort", "invalid_value"),
        ("responses", {"conversation": "conv_1"}, "conversation", "unsupported_parameter"),
        ("responses", {"stream_options": {"include_usage": True}}, "stream_options.include_usage",
         "unknown_parameter"),
        ("responses", {"temprature": 1}, "temprature", "unknown_parameter"),
        ("chat", {"max_tokens": 10**30}, "max_tokens", "integer_above_max_value"),
        ("chat", {"temperature": -1}, "temperature", "decimal_below_min_value"),
        ("chat", {"presence_penalty": 2.01}, "presence_penalty", "decimal_above_max_value"),
        ("chat", {"frequency_penalty": "x"}, "frequency_penalty", "invalid_type"),
        ("chat", {"n": 0}, "n", "integer_below_min_value"),
        ("chat", {"n": 2}, "n", "unsupported_parameter"),
        ("chat", {"logit_bias": {"50256": -101}}, "logit_bias.50256", "decimal_below_min_value"),
        ("chat", {"logprobs": True}, "logprobs", "unsupported_parameter"),
        ("chat", {"top_logprobs": 3}, "top_logprobs", "invalid_value"),
        ("chat", {"stop": ["\n"]}, "stop", "unsupported_parameter"),
        ("chat", {"response_format": {"type": "json_object"}}, "response_format",
         "invalid_value"),
        ("chat", {"tools": [{"type": "custom", "custom": {"name": "f"}}]}, "tools[0].type",
         "unsupported_parameter"),
        ("chat", {"reasoning_effort": "max"}, "reasoning_effort", "invalid_value"),
        ("chat", {"modalities": ["text", "audio"]}, "modalities", "unsupported_parameter"),
        ("chat", {"stream_options": {"include_usage": 1}}, "stream_options.include_usage",
         "invalid_type"),
        ("chat", {"seed": 2**64}, "seed", "integer_above_max_value"),
        ("chat", {"temprature": 1}, "temprature", "unknown_parameter"),
    ],
)
def test_bad_fields_are_refused_naming_the_param(
    client: OpenAI, api: str, fields: dict[str, Any], param: str, code: str
) -> None:
    stream = responses_stream if api == "responses" else chat_stream
    error = refusal(lambda: stream(client, fields))
    assert (error.status_code, error.param, error.code) == (400, param, code)
    if code == "unsupported_parameter":
        assert "local simulated model does not support" in error.message


def test_values_that_ask_for_nothing_new_are_accepted(client: OpenAI) -> None:
    events = responses_stream(client, {
        "temperature": 2, "top_p": 0, "tools": [], "tool_choice": "auto", "store": False,
        "text": {"format": {"type": "text"}, "verbosity": "low"}, "reasoning": None,
        "metadata": {"lesson": "9"}, "service_tier": "auto", "max_output_tokens": 128_000,
    })
    assert events[-1].type == "response.completed"
    chunks = chat_stream(client, {
        "n": 1, "temperature": 0, "response_format": {"type": "text"}, "modalities": ["text"],
        "seed": -(2**63), "logprobs": False, "stream_options": {"include_usage": True},
    })
    assert chunks[-1].usage is not None


def test_the_websocket_mode_takes_generate_true_and_refuses_what_it_cannot_do(
    client: OpenAI,
) -> None:
    with client.responses.connect() as conn:
        conn.response.create(model=MODEL, input="Say hello", generate=True, stream=True)
        events = [next(iter(conn)) for _ in range(10)]
        conn.response.create(model=MODEL, input="Say hello", stream_id="lane-2")
        refused = next(iter(conn))
    assert (events[-1].type, events[-1].response.output_text) == ("response.completed", "Hello!")
    assert (refused.type, refused.error.param) == ("error", "stream_id")


def test_the_websocket_mode_checks_the_same_fields(client: OpenAI) -> None:
    with client.responses.connect() as conn:
        conn.send({"type": "response.create", "model": MODEL, "input": "hi",  # type: ignore[typeddict-unknown-key]
                   "temperature": 5})
        error = next(iter(conn))
    assert error.type == "error"
    assert (error.error.param, error.error.code) == ("temperature", "decimal_above_max_value")


# --------------------------------------------------------------------------- every field, fuzzed

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=8,
)
EDGE_VALUES = [
    0, 1, 2, 16, 20, 21, 128, 129, -1, -2.5, 0.5, 1.5, 2.5, 100, 10**30, -(2**63), 2**63,
    True, False, "", "auto", "text", "low", "in_memory", "none", [], ["text"], {},
    {"type": "text"}, {"include_usage": True}, {"include_obfuscation": False}, {"format": {}},
]
edge_values = st.sampled_from(EDGE_VALUES)


def bodies(fields: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    names = sorted(set(fields) - set(SET_BY_THE_TEST))
    return st.dictionaries(st.sampled_from(names), edge_values | json_values, max_size=4)


def named_field(param: str | None, drawn: dict[str, Any]) -> bool:
    return param is not None and param.split(".")[0].split("[")[0] in drawn


def ends_well(api: str, client: OpenAI, fields: dict[str, Any]) -> str | None:
    """None if the request ends with a terminal event or a 4xx naming a field; else what broke."""
    try:
        if api == "responses":
            last = responses_stream(client, fields)[-1].type
            return None if last in TERMINAL else f"last event {last}"
        reasons = [c.choices[0].finish_reason for c in chat_stream(client, fields) if c.choices]
        ending = ("stop", "length", "tool_calls")
        return None if reasons[-1] in ending else f"finish reasons {reasons}"
    except openai.APIStatusError as error:
        if 400 <= error.status_code < 500 and named_field(error.param, fields):
            return None
        return f"{error.status_code} param={error.param}: {error.message}"
    except openai.APIError as error:  # a cut stream, an error chunk
        return f"{type(error).__name__}: {error}"


@pytest.mark.parametrize(
    ("api", "fields"), [("responses", RESPONSES_FIELDS), ("chat", CHAT_FIELDS)]
)
def test_every_field_with_every_edge_value(client: OpenAI, api: str, fields: dict) -> None:
    broken = {
        (name, repr(value)): why
        for name in sorted(set(fields) - set(SET_BY_THE_TEST))
        for value in EDGE_VALUES
        if (why := ends_well(api, client, {name: value})) is not None
    }
    assert broken == {}


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(api=st.sampled_from(["responses", "chat"]), data=st.data())
def test_fuzzed_requests_end_with_a_terminal_event_or_a_4xx_naming_a_field(
    client: OpenAI, api: str, data: st.DataObject
) -> None:
    fields = data.draw(bodies(RESPONSES_FIELDS if api == "responses" else CHAT_FIELDS))
    assert ends_well(api, client, fields) is None


# --------------------------------------------------------------------------- previous_response_id


def test_previous_response_id_must_name_a_response_this_server_issued(client: OpenAI) -> None:
    first = client.responses.create(model=MODEL, input="Say hello")
    background = list(client.responses.create(model=MODEL, input="Say hello", stream=True,
                                              background=True))[-1].response
    for previous in (first.id, background.id):
        follow_up = client.responses.create(model=MODEL, input="Say hello",
                                            previous_response_id=previous)
        assert follow_up.status == "completed"
    unstored = client.responses.create(model=MODEL, input="Say hello", store=False)
    error = refusal(partial(client.responses.create, model=MODEL, input="hi",
                            previous_response_id=unstored.id))
    assert error.code == "previous_response_not_found"  # store: false, nothing to continue
    for extra in ({"stream": False}, {"stream": True}, {"stream": True, "background": True}):
        error = refusal(partial(client.responses.create, model=MODEL, input="hi",
                                previous_response_id="resp_nope", **extra))
        assert (error.status_code, error.param, error.code) == (
            400, "previous_response_id", "previous_response_not_found"
        )
        assert "'resp_nope' not found" in error.message


def test_previous_response_id_over_the_websocket(client: OpenAI) -> None:
    first = client.responses.create(model=MODEL, input="Say hello")
    with client.responses.connect() as conn:
        conn.response.create(model=MODEL, input="hi", previous_response_id="resp_nope")
        error = next(iter(conn))
        conn.response.create(model=MODEL, input="Say hello", previous_response_id=first.id)
        created = next(iter(conn))
    assert (error.type, error.error.code) == ("error", "previous_response_not_found")
    assert created.response.previous_response_id == first.id

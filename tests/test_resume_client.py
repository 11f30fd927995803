"""Resuming a background response over real sockets: the openai SDK and helpers.resume.

The local server runs on 127.0.0.1:0; drops are real socket closes (by the client, or by the
server's injected fault "drop"). Each test compares the resumed text with an uninterrupted
answer to the same prompt and seed, and counts lost and duplicated events.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openai import BadRequestError, NotFoundError, OpenAI, RateLimitError

from helpers.resume import (
    ReadyState,
    Request,
    ResumeError,
    ResumingEventStream,
    gaps_and_repeats,
    responses_resume_request,
    same_request_with_last_event_id,
    sequence_number_of,
    sse_id,
)
from helpers.server import LocalServer
from helpers.server.app.background import install_resumable_responses, resume_response
from helpers.sse import ServerSentEvent

PROMPT = "Compare websockets vs SSE"


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with LocalServer(ttft=0.01, tokens_per_second=400, jitter=0) as srv:
        yield srv


@pytest.fixture(scope="module")
def client(server: LocalServer) -> Iterator[OpenAI]:
    with OpenAI(base_url=server.base_url, api_key="unused", max_retries=0) as c:
        yield c


@pytest.fixture(scope="module")
def reference_text(client: OpenAI) -> str:
    """The same prompt answered without background and without any drop."""
    return client.responses.create(model="m", input=PROMPT).output_text


def body(**extra: object) -> dict[str, object]:
    return {"model": "m", "input": PROMPT, "stream": True, "background": True, **extra}


def text_of(payloads: list[dict]) -> str:
    return "".join(p["delta"] for p in payloads if p["type"] == "response.output_text.delta")


def test_gaps_and_repeats_counts_both() -> None:
    assert gaps_and_repeats([0, 1, 2, 3]) == (0, 0)
    assert gaps_and_repeats([0, 1, 3, 4]) == (1, 0)
    assert gaps_and_repeats([0, 1, 1, 2, 2]) == (0, 2)
    assert gaps_and_repeats([0, 2, 2, 5]) == (3, 1)
    assert gaps_and_repeats([]) == (0, 0)


def test_sdk_hangs_up_then_resumes_with_starting_after(
    client: OpenAI, reference_text: str
) -> None:
    first = client.responses.create(model="m", input=PROMPT, stream=True, background=True)
    seen = []
    for event in first:
        seen.append(event)
        if event.type == "response.output_text.delta" and len(seen) >= 12:
            break
    first.close()  # the client hangs up mid-answer
    response_id, last = seen[0].response.id, seen[-1].sequence_number
    rest = list(client.responses.retrieve(response_id, stream=True, starting_after=last))
    numbers = [e.sequence_number for e in seen + rest]
    assert gaps_and_repeats(numbers) == (0, 0)
    assert numbers[0] == 0 and rest[-1].type == "response.completed"
    text = "".join(e.delta for e in seen + rest if e.type == "response.output_text.delta")
    assert text == reference_text


def test_our_client_survives_client_and_server_drops(server: LocalServer, reference_text: str):
    stream = ResumingEventStream(
        Request("POST", f"{server.base_url}/responses", json=body(
            simulation={"fault": "drop", "fault_after": 15}
        )),
        resume=responses_resume_request,
        hang_up_after=[1000, 20, 7],  # connection 1 is cut by the server after 15 tokens
    )
    events = list(stream)
    endings = [a.ended_by for a in stream.attempts]
    assert "RemoteProtocolError" in endings[0]  # the server closed mid-body
    assert endings[1:3] == [
        "client hung up after 20 events (injected)",
        "client hung up after 7 events (injected)",
    ]
    assert endings[3] == "final event 'response.completed'"
    assert stream.state is ReadyState.CLOSED and stream.retry_ms == 250
    assert gaps_and_repeats(p["sequence_number"] for p in stream.payloads) == (0, 0)
    assert len(events) == len(stream.payloads) == stream.payloads[-1]["sequence_number"] + 1
    assert text_of(stream.payloads) == reference_text
    assert [a.request.method for a in stream.attempts] == ["POST", "GET", "GET", "GET"]
    # each reconnect names the last sequence_number read from the JSON: no id: lines, no header
    assert stream.position is sequence_number_of
    for before, after in zip(stream.attempts, stream.attempts[1:], strict=False):
        assert after.request.url.endswith(f"&starting_after={before.last_position}")
        assert "Last-Event-ID" not in after.request.headers
        assert int(after.first_position) == int(before.last_position) + 1
    assert all(e.id == "" for e in events)


def test_starting_after_resumes_and_a_last_event_id_header_is_ignored(
    server: LocalServer, client: OpenAI
) -> None:
    """As on the real API: the stream has no id: lines, `starting_after` is the only cursor."""
    done = list(client.responses.create(model="m", input=PROMPT, stream=True, background=True))
    url = f"{server.base_url}/responses/{done[0].response.id}?stream=true"
    by_query = httpx.get(url + "&starting_after=9").text
    with_header = httpx.get(url + "&starting_after=9", headers={"Last-Event-ID": "2"}).text
    header_alone = httpx.get(url, headers={"Last-Event-ID": "9"}).text
    assert with_header == by_query
    assert header_alone == httpx.get(url).text  # from the start, as if no header were sent
    assert header_alone.startswith("retry: 250\nevent: response.created\ndata: ")
    assert by_query.startswith("retry: 250\nevent: response.output_text.delta\ndata: ")
    assert '"sequence_number":10' in by_query.split("\n\n")[0]
    assert "\nid:" not in by_query + header_alone


def test_a_fully_delivered_response_answers_204_and_our_client_stops(
    server: LocalServer, client: OpenAI
) -> None:
    done = list(client.responses.create(model="m", input=PROMPT, stream=True, background=True))
    url = f"{server.base_url}/responses/{done[0].response.id}?stream=true"
    stream = ResumingEventStream(
        Request("GET", f"{url}&starting_after={done[-1].sequence_number}"),
        resume=same_request_with_last_event_id,
    )
    assert list(stream) == []
    assert stream.state is ReadyState.CLOSED
    assert stream.attempts[0].ended_by == "204 No Content: nothing more to send"


def test_a_normal_response_is_not_resumable(client: OpenAI, server: LocalServer) -> None:
    events = list(client.responses.create(model="m", input=PROMPT, stream=True))
    with pytest.raises(NotFoundError, match=events[0].response.id):
        client.responses.retrieve(events[0].response.id, stream=True)


@pytest.mark.parametrize(
    ("path", "headers", "message"),
    [
        ("/responses/resp_nope?stream=true", {}, "no resumable response 'resp_nope'"),
        ("/responses/{id}?stream=true&starting_after=x1", {}, "'x1'"),
        ("/responses/{id}?stream=true&starting_after=99999", {}, "no event with id '99999'"),
        ("/responses/{id}?stream=maybe", {}, "'maybe'"),  # without stream: the Response
    ],
)
def test_bad_resume_requests_name_the_offending_value(
    server: LocalServer, client: OpenAI, path: str, headers: dict[str, str], message: str
) -> None:
    done = list(client.responses.create(model="m", input=PROMPT, stream=True, background=True))
    url = server.base_url + path.format(id=done[0].response.id)
    response = httpx.get(url, headers=headers)
    assert response.status_code in (400, 404)
    assert message in response.json()["error"]["message"]
    # and our client turns it into an error that says the same, instead of retrying forever
    with pytest.raises(ResumeError, match=str(response.status_code)):
        list(ResumingEventStream(Request("GET", url, headers)))


def test_bad_background_requests_are_refused(client: OpenAI) -> None:
    with pytest.raises(BadRequestError, match="'background'"):
        client.responses.create(model="m", input=PROMPT, stream=True, extra_body={
            "background": "yes"
        })
    with pytest.raises(BadRequestError, match="'stream': true"):
        client.responses.create(model="m", input=PROMPT, background=True)


def test_our_client_gives_up_after_max_attempts(server: LocalServer) -> None:
    stream = ResumingEventStream(
        Request("POST", f"{server.base_url}/responses", json=body()),
        resume=responses_resume_request,
        hang_up_after=[3, 3, 3],
        max_attempts=3,
        sleep=lambda _: None,
    )
    with pytest.raises(ResumeError, match="gave up after 3 connections") as info:
        list(stream)
    assert "#3 GET 200 events=3" in str(info.value)


def test_installing_twice_adds_the_routes_once(server: LocalServer) -> None:
    before = len(server.app.router.routes)
    install_resumable_responses(server.app)
    assert len(server.app.router.routes) == before
    assert sum(getattr(r, "endpoint", None) is resume_response for r in server.app.routes) == 1


def test_responses_resume_request_needs_the_response_id() -> None:
    first = Request("POST", "http://127.0.0.1:9/v1/responses", {"Content-Type": "x"}, {"a": 1})
    with pytest.raises(ResumeError, match="no event carried the response id"):
        responses_resume_request(first, "3", [{"sequence_number": 3}])
    payloads = [{"response": {"id": "resp_1"}, "sequence_number": 0}, {"sequence_number": 1}]
    resumed = responses_resume_request(first, "1", payloads)
    assert resumed.method == "GET" and resumed.json is None
    assert resumed.url == "http://127.0.0.1:9/v1/responses/resp_1?stream=true&starting_after=1"
    assert resumed.headers == {}  # no Content-Type (no body), no Last-Event-ID
    from_start = responses_resume_request(first, "", payloads[:1])
    assert from_start.url == "http://127.0.0.1:9/v1/responses/resp_1?stream=true"


def test_positions_come_from_the_sse_id_or_the_json() -> None:
    event = ServerSentEvent("response.output_text.delta", '{"sequence_number":7}', "")
    assert sequence_number_of(event, {"sequence_number": 7}) == "7"
    assert sequence_number_of(event, {"type": "x"}) == sequence_number_of(event, None) == ""
    assert sse_id(ServerSentEvent("delta", "{}", "resp_demo1.4"), {}) == "resp_demo1.4"
    url = "http://127.0.0.1:9/v1/responses"
    assert ResumingEventStream(Request("GET", url)).position is sse_id
    responses = ResumingEventStream(Request("POST", url), resume=responses_resume_request)
    assert responses.position is sequence_number_of
    own = ResumingEventStream(Request("GET", url), position=sequence_number_of)
    assert own.position is sequence_number_of


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(plan=st.lists(st.integers(min_value=1, max_value=60), max_size=4))
def test_any_hang_up_plan_loses_and_repeats_nothing(
    server: LocalServer, reference_text: str, plan: list[int]
) -> None:
    stream = ResumingEventStream(
        Request("POST", f"{server.base_url}/responses", json=body()),
        resume=responses_resume_request,
        hang_up_after=plan,
        sleep=lambda _: None,
    )
    list(stream)
    assert gaps_and_repeats(p["sequence_number"] for p in stream.payloads) == (0, 0)
    assert stream.payloads[0]["sequence_number"] == 0
    assert text_of(stream.payloads) == reference_text


def test_re_sending_a_post_is_refused_up_front() -> None:
    with pytest.raises(ValueError, match="would start a new answer"):
        ResumingEventStream(Request("POST", "http://127.0.0.1:9/v1/responses", json=body()))


def test_pre_stream_faults_apply_to_background_requests_too(client: OpenAI) -> None:
    with pytest.raises(RateLimitError, match="simulated fault '429'"):
        client.responses.create(
            model="m", input=PROMPT, stream=True, background=True,
            extra_body={"simulation": {"fault": "429"}},
        )


def test_a_failing_background_response_ends_with_response_failed(server: LocalServer) -> None:
    stream = ResumingEventStream(
        Request("POST", f"{server.base_url}/responses", json=body(
            simulation={"fault": "error", "fault_after": 4}
        )),
        resume=responses_resume_request,
    )
    types = [e.event for e in stream]
    assert types[-2:] == ["error", "response.failed"]
    assert len(stream.attempts) == 1 and stream.state is ReadyState.CLOSED

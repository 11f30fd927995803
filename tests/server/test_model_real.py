"""The optional real model (SmolLM2-135M-Instruct run by llama.cpp) behind the kit's own server.

The first tests need nothing installed: they check the pure parts and the messages a learner
sees when the model is missing. The rest drive `LocalServer(model="smollm2")` with the real
openai SDK over loopback. They run when `make local-model` has installed the model, and are
skipped (with the reason) otherwise; under CI=true a missing model is a failure, because CI
installs it.
"""

from __future__ import annotations

import asyncio
import os
import platform
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import openai
import pytest
from ci import skip_or_fail
from openai import AsyncOpenAI, OpenAI

from helpers.server import LocalServer
from helpers.server.dialects.requests import parse_chat_request
from helpers.server.model.real import (
    SMOLLM2,
    ModelNotAvailable,
    RealModel,
    chat_messages,
    check_fits,
    check_runtime,
    death_reason,
    find_model_file,
    local_model_available,
    model_source_named,
    output_budget,
    reusable_prefix,
)
from helpers.server.model.source import RequestError, Simulation

ROOT = Path(__file__).resolve().parents[2]
MODEL = SMOLLM2.model_id
MISSING = local_model_available()
LONG_PROMPT = "Write a very long story about a dragon."  # greedy: runs on for ~2000 tokens
DOG = "How many legs does a dog have?"  # greedy: "A dog has four legs." however it is cached

# --------------------------------------------------------------------------- no model needed


def test_missing_package_names_the_fix() -> None:
    with pytest.raises(ModelNotAvailable, match=r"not installed.*make local-model"):
        find_model_file(SMOLLM2, find_spec=lambda name: None)


def test_package_without_the_file_names_the_fix(tmp_path: Path) -> None:
    empty = SimpleNamespace(submodule_search_locations=[str(tmp_path)])
    with pytest.raises(ModelNotAvailable, match=r"has no SmolLM2.*make local-model"):
        find_model_file(SMOLLM2, find_spec=lambda name: empty)


def test_package_with_the_file_is_found(tmp_path: Path) -> None:
    (tmp_path / SMOLLM2.filename).write_bytes(b"GGUF")
    found = SimpleNamespace(submodule_search_locations=[str(tmp_path)])
    assert find_model_file(SMOLLM2, find_spec=lambda name: found) == tmp_path / SMOLLM2.filename


def test_a_file_that_is_not_gguf_names_the_fix(tmp_path: Path) -> None:
    (tmp_path / SMOLLM2.filename).write_bytes(b"<html>not a model</html>")
    found = SimpleNamespace(submodule_search_locations=[str(tmp_path)])
    with pytest.raises(ModelNotAvailable, match=r"not a GGUF model file.*b'<htm'.*reinstall"):
        find_model_file(SMOLLM2, find_spec=lambda name: found)


@pytest.mark.parametrize(
    ("returncode", "why"),
    [(-signal.SIGILL, "SIGILL"), (-signal.SIGSEGV, "SIGSEGV"), (1, "exit code 1"), (None, "it")],
)
def test_death_reason_names_the_signal(returncode: int | None, why: str) -> None:
    assert death_reason(returncode).startswith(why)


def test_missing_runtime_names_the_fix() -> None:
    with pytest.raises(ModelNotAvailable, match=r"llama-cpp-python.*make local-model"):
        check_runtime(find_spec=lambda name: None)


def test_model_names() -> None:
    assert model_source_named(None) is None and model_source_named("sim") is None
    with pytest.raises(ModelNotAvailable, match=r"Unknown model 'gpt-9'.*smollm2"):
        model_source_named("gpt-9")


def test_cli_refuses_an_unknown_model_with_a_message() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "helpers.server", "--model", "gpt-9"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert "Unknown model 'gpt-9'" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("evaluated", "prompt", "reusable"),
    [
        ([], [1, 2, 3], 0),
        ([1, 2, 9, 9], [1, 2, 3], 2),  # shared prefix only
        ([1, 2, 3, 7, 8], [1, 2, 3], 2),  # whole prompt cached: the last token is evaluated again
        ([1, 2, 3], [1, 2, 3, 4, 5], 3),  # a follow-up turn: only the new tokens are prefilled
        ([5], [1, 2], 0),
    ],
)
def test_reusable_prefix(evaluated: list[int], prompt: list[int], reusable: int) -> None:
    assert reusable_prefix(evaluated, prompt) == reusable


def test_output_budget_never_passes_the_context() -> None:
    assert output_budget(100, None, 2048) == 1948
    assert output_budget(100, 50, 2048) == 50
    assert output_budget(2000, 500, 2048) == 48


def test_a_prompt_that_cannot_fit_is_a_400_naming_the_numbers() -> None:
    check_fits(2000, 48, 2048, "input")  # fits exactly
    with pytest.raises(RequestError, match=r"context window is 2048 tokens.*2000 tokens plus") as e:
        check_fits(2000, 49, 2048, "input")
    assert e.value.status == 400 and e.value.code == "context_length_exceeded"


def test_chat_messages_map_roles_a_small_template_knows() -> None:
    body = {
        "model": "m",
        "messages": [
            {"role": "developer", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello!"},
            {"role": "user", "content": [{"type": "text", "text": "Again"}]},
        ],
    }
    request = parse_chat_request(body, Simulation())
    assert chat_messages(request) == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "Again"},
    ]


# --------------------------------------------------------------------------- with the model


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    if MISSING is not None:
        skip_or_fail(f"optional local model not installed: {MISSING}", "the local model's tests")
    with LocalServer(model="smollm2") as running:
        yield running


@pytest.fixture(scope="module")
def model(server: LocalServer) -> RealModel:
    assert isinstance(server.model_source, RealModel)
    return server.model_source


@pytest.fixture(scope="module")
def client(server: LocalServer) -> OpenAI:
    return OpenAI(base_url=server.base_url, api_key="unused", max_retries=0, timeout=120)


def test_models_lists_the_real_model_then_the_simulated_one(client: OpenAI) -> None:
    assert [m.id for m in client.models.list()] == [MODEL, "kit-sim-1"]


def test_llama_cpp_runs_in_its_own_process_only(client: OpenAI, model: RealModel) -> None:
    assert client.responses.create(model=MODEL, input="Hi", max_output_tokens=16).output_text
    assert model.pid is not None and model.pid != os.getpid()
    assert "llama_cpp" not in sys.modules  # this process (the server's) never loaded it


def test_the_model_process_waits_passively_at_its_thread_barriers(
    client: OpenAI, model: RealModel
) -> None:
    """OpenMP's spinning wait starves a shared machine (real.py says what was measured)."""
    assert client.responses.create(model=MODEL, input="Hi", max_output_tokens=16).output_text
    environ = Path(f"/proc/{model.pid}/environ")
    if not environ.exists():
        pytest.skip("no /proc here to read the model process's environment from")
    variables = environ.read_bytes().split(b"\0")
    expected = os.environ.get("OMP_WAIT_POLICY", "passive").encode()
    assert b"OMP_WAIT_POLICY=" + expected in variables


def test_the_build_uses_a_portable_instruction_set(model: RealModel) -> None:
    info = model.system_info()  # llama.cpp's own words, e.g. "CPU : SSE3 = 1 | ... AVX2 = 1 |"
    assert info.startswith("CPU :")
    if platform.machine() == "x86_64":  # the Makefile's flags: AVX2, never AVX-512 or AMX
        assert "AVX2 = 1" in info
        assert "AVX512" not in info and "AMX" not in info


def test_responses_stream_a_coherent_answer_with_real_counts(
    client: OpenAI, model: RealModel
) -> None:
    events = list(
        client.responses.create(
            model=MODEL,
            instructions="You are a helpful assistant.",
            input=DOG,
            max_output_tokens=60,
            stream=True,
        )
    )
    types = [event.type for event in events]
    deltas = [event.delta for event in events if event.type == "response.output_text.delta"]
    final = events[-1].response
    assert types[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert types[-4:-1] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
    ]
    assert types[-1] in ("response.completed", "response.incomplete")
    assert "four legs" in final.output_text and final.output_text == "".join(deltas)
    # Usage comes from the model's tokenizer: the prompt in its chat template, written by hand.
    chatml = (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        f"<|im_start|>user\n{DOG}<|im_end|>\n<|im_start|>assistant\n"
    )
    assert final.usage.input_tokens == model.count_tokens(chatml, special=True)
    assert len(deltas) <= final.usage.output_tokens <= 60
    assert model.count_tokens(final.output_text) in range(
        final.usage.output_tokens - 2, final.usage.output_tokens + 3
    )


def test_chat_stream_stops_at_max_tokens_and_counts_them(client: OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": LONG_PROMPT}],
            max_tokens=12,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    choices = [chunk.choices[0] for chunk in chunks if chunk.choices]
    text = "".join(choice.delta.content or "" for choice in choices)
    finish = [choice.finish_reason for choice in choices if choice.finish_reason]
    assert finish == ["length"]
    assert chunks[-1].usage.completion_tokens == 12 and text.strip()


def test_greedy_answers_repeat_streamed_or_not_cached_or_not(client: OpenAI) -> None:
    # "What is the capital of France?" is a near-tie for this model ("La" 24.07 vs "The" 23.93
    # when the prompt is read in one batch): the case read_all_but_last exists for.
    question = "What is the capital of France?"
    client.responses.create(model=MODEL, input="Hi", max_output_tokens=16)  # not cached: cold
    blocking = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": question}], max_tokens=40
    )
    streamed = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": question}], max_tokens=40, stream=True
    )
    text = "".join(c.choices[0].delta.content or "" for c in streamed if c.choices)
    assert text == blocking.choices[0].message.content and text.strip()
    response = client.responses.create(model=MODEL, input=question, max_output_tokens=40)
    assert response.output_text == text
    assert response.usage.output_tokens == blocking.usage.completion_tokens
    # The first answer read the question afresh, the last one found the whole prompt cached.
    cold, usage = blocking.usage.prompt_tokens_details.cached_tokens, blocking.usage
    assert cold < usage.prompt_tokens - 1
    assert response.usage.input_tokens_details.cached_tokens == response.usage.input_tokens - 1


def test_repeating_a_prompt_reuses_its_prefill(client: OpenAI) -> None:
    document = " ".join(f"Fact {n}: streaming shows text early." for n in range(40))
    first = client.responses.create(
        model=MODEL, instructions=document, input="Summarise the facts.", max_output_tokens=16
    )
    again = client.responses.create(
        model=MODEL, instructions=document, input="Which fact is first?", max_output_tokens=16
    )
    cached = again.usage.input_tokens_details.cached_tokens
    assert first.usage.input_tokens > 300
    assert cached > 300 and cached < again.usage.input_tokens  # only the question is prefilled


def test_a_prompt_too_long_is_refused_before_streaming(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="context window is 2048 tokens") as error:
        client.responses.create(model=MODEL, input="word " * 3000, stream=True)
    assert error.value.body["code"] == "context_length_exceeded"
    assert client.responses.create(model=MODEL, input="Hi", max_output_tokens=16).output_text


def test_hanging_up_stops_generation(client: OpenAI, server: LocalServer, model: RealModel) -> None:
    before = model.stats.cancelled
    stream = client.responses.create(
        model=MODEL, input=LONG_PROMPT, max_output_tokens=1500, stream=True
    )
    deltas = 0
    for event in stream:
        deltas += event.type == "response.output_text.delta"
        if deltas == 3:
            break
    stream.close()
    # The story would run to 1500 tokens (about 20 s here); the worker sees the hang-up and stops.
    answer = client.responses.create(model=MODEL, input="Hi", max_output_tokens=16)
    assert answer.status in ("completed", "incomplete")  # it queued behind the story: so it ended
    assert model.stats.cancelled == before + 1
    assert 3 <= model.stats.cancelled_after_tokens[-1] < 1000
    assert server.live_streams == 0


def test_stream_faults_apply_to_the_real_model_too(client: OpenAI, model: RealModel) -> None:
    fault = {"simulation": {"fault": "error", "fault_after": 3}}
    events = []
    # the `error` event (nested, as the API's) makes openai 3.63 raise APIError mid-stream
    with pytest.raises(openai.APIError, match="injected fault 'error'"):
        events.extend(
            client.responses.create(model=MODEL, input=DOG, stream=True, extra_body=fault)
        )
    assert [event.type for event in events].count("response.output_text.delta") == 3
    with pytest.raises(openai.APIConnectionError):
        drop = {"simulation": {"fault": "drop", "fault_after": 2}}
        for _ in client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": DOG}], stream=True, extra_body=drop
        ):
            pass
    after = client.responses.create(model=MODEL, input=DOG, max_output_tokens=20)
    assert "four legs" in after.output_text  # the model is fine after both faults


async def _two_at_once(base_url: str) -> list[str]:
    client = AsyncOpenAI(base_url=base_url, api_key="unused", max_retries=0, timeout=120)

    async def ask(question: str) -> str:
        stream = await client.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": question}],
            max_tokens=30,
            stream=True,
        )
        return "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])

    try:
        return await asyncio.gather(ask(DOG), ask("What is 2+2?"))
    finally:
        await client.close()


def test_two_concurrent_requests_both_complete_one_after_the_other(
    server: LocalServer, model: RealModel
) -> None:
    queued, completed = model.stats.queued, model.stats.completed
    dog, arithmetic = asyncio.run(_two_at_once(server.base_url))
    client = OpenAI(base_url=server.base_url, api_key="unused", max_retries=0, timeout=120)
    alone = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "What is 2+2?"}], max_tokens=30
    )
    assert "four legs" in dog and "4" in arithmetic
    assert arithmetic == alone.choices[0].message.content  # queueing did not change the answer
    assert model.stats.completed == completed + 3
    assert model.stats.queued == queued + 1  # one model, one answer at a time: the other waited


def test_cli_serves_the_real_model(server: LocalServer) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "helpers.server", "--model", "smollm2"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base_url = process.stdout.readline().strip()
        cli = OpenAI(base_url=base_url, api_key="unused", max_retries=0, timeout=120)
        answer = cli.responses.create(model=MODEL, input=DOG, max_output_tokens=20)
        assert "four legs" in answer.output_text
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
        assert "Traceback" not in process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


# ------------------------------------------------------------------ when the model process dies
# A crash in llama.cpp (SIGILL from an instruction this CPU lacks, a segfault, the OOM killer)
# kills the process it runs in. These tests kill the model's process for real, with a signal,
# and check that only the requests in flight notice, each with the signal's name.


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    for _ in range(600):  # bounded: at most a minute, however busy the machine is
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_crash_mid_stream_is_an_error_event_naming_the_signal(
    client: OpenAI, server: LocalServer, model: RealModel
) -> None:
    stream = client.responses.create(
        model=MODEL, input=LONG_PROMPT, max_output_tokens=1500, stream=True
    )
    deltas = 0
    # the `error` event makes openai 3.63 raise APIError with its message, mid-stream
    with pytest.raises(openai.APIError) as caught:
        for event in stream:
            deltas += event.type == "response.output_text.delta"
            if deltas == 3 and event.type == "response.output_text.delta":
                os.kill(model.pid, signal.SIGILL)  # what the AMX build did on its own
    assert "model process died (SIGILL)" in caught.value.message
    assert "README" in caught.value.message
    # The server's bookkeeping ends just after the client read the last event: wait for it.
    _wait_for(lambda: server.live_streams == 0, "the stream to be closed on the server")
    assert server.running
    # The simulated model still answers on the same server, and the real one comes back.
    sim = client.responses.create(model="kit-sim-1", input="Hello")
    assert sim.status == "completed" and sim.output_text
    assert "four legs" in client.responses.create(model=MODEL, input=DOG).output_text
    assert model.deaths[-1] == "SIGILL"


def test_a_crash_mid_chat_stream_raises_an_api_error_naming_the_signal(
    client: OpenAI, model: RealModel
) -> None:
    stream = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": LONG_PROMPT}], stream=True
    )
    with pytest.raises(openai.APIError, match=r"model process died \(SIGSEGV\)"):
        for n, _ in enumerate(stream):
            if n == 3:
                os.kill(model.pid, signal.SIGSEGV)
    assert "four legs" in client.responses.create(model=MODEL, input=DOG).output_text


def test_a_crash_before_the_stream_starts_is_a_503(client: OpenAI, model: RealModel) -> None:
    client.responses.create(model=MODEL, input="Hi", max_output_tokens=16)  # a process is running
    pid = model.pid
    os.kill(pid, signal.SIGSTOP)  # frozen: the next request waits for its prompt to be counted
    outcome: list[BaseException] = []

    def ask() -> None:
        try:
            client.responses.create(model=MODEL, input=DOG, stream=True)
        except BaseException as error:
            outcome.append(error)

    asker = threading.Thread(target=ask)
    asker.start()
    _wait_for(lambda: model.in_flight == 1, "the request to reach the model process")
    os.kill(pid, signal.SIGKILL)  # as the kernel's OOM killer would
    asker.join(timeout=60)
    (error,) = outcome
    assert isinstance(error, openai.InternalServerError) and error.status_code == 503
    assert "model process died (SIGKILL)" in error.message
    assert error.body["code"] == "model_process_died"
    assert "four legs" in client.responses.create(model=MODEL, input=DOG).output_text

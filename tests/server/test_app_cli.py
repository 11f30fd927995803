"""`python -m helpers.server` as a learner runs it: a subprocess, one URL line, Ctrl-C to stop."""

from __future__ import annotations

import gc
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from openai import OpenAI

from helpers.server import LocalServer

ROOT = Path(__file__).resolve().parents[2]
URL_LINE = re.compile(r"^http://127\.0\.0\.1:(\d+)/v1$")


def start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "helpers.server", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def cli_server() -> Iterator[tuple[subprocess.Popen[str], str]]:
    process = start(
        "--host", "127.0.0.1", "--port", "0", "--ttft-ms", "0", "--tokens-per-second", "0"
    )
    try:
        line = process.stdout.readline().strip()
        yield process, line
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_prints_one_url_line_and_serves(cli_server: tuple[subprocess.Popen[str], str]) -> None:
    process, line = cli_server
    assert URL_LINE.match(line), line
    client = OpenAI(base_url=line, api_key="unused", max_retries=0)
    assert client.responses.create(model="m", input="Say hello").output_text == "Hello!"
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=5) == 0
    assert process.stdout.read() == ""  # exactly one line on stdout
    assert "Traceback" not in process.stderr.read()


def test_sigint_during_a_live_stream_exits_promptly(
    cli_server: tuple[subprocess.Popen[str], str],
) -> None:
    process, line = cli_server
    client = OpenAI(base_url=line, api_key="unused", max_retries=0)
    stream = client.responses.create(
        model="m",
        input="What is SSE?",
        stream=True,
        extra_body={"simulation": {"tokens_per_second": 2}},
    )
    assert next(iter(stream)).type == "response.created"
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=5) == 0


def test_non_loopback_host_without_key_is_refused() -> None:
    process = start("--host", "0.0.0.0", "--port", "0")
    out, err = process.communicate(timeout=30)
    assert process.returncode == 2 and out == ""
    assert "Refusing to listen on '0.0.0.0' without --api-key" in err


def test_non_loopback_host_with_key_requires_it() -> None:
    process = start("--host", "0.0.0.0", "--port", "0", "--api-key", "k3y", "--ttft-ms", "0")
    try:
        port = int(process.stdout.readline().strip().rsplit(":", 1)[1].split("/")[0])
        base_url = f"http://127.0.0.1:{port}/v1"
        with pytest.raises(openai.AuthenticationError):
            OpenAI(base_url=base_url, api_key="nope", max_retries=0).models.list()
        assert OpenAI(base_url=base_url, api_key="k3y").models.list().data[0].id == "kit-sim-1"
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=5) == 0


def test_only_the_command_line_tunes_the_garbage_collector() -> None:
    """The command line's process is the server's own; a notebook kernel running LocalServer is
    not, so LocalServer leaves that process's collector as it found it."""
    before = gc.get_threshold(), gc.get_freeze_count()
    with LocalServer(ttft=0, tokens_per_second=0) as server:
        OpenAI(base_url=server.base_url, api_key="unused").models.list()
    assert (gc.get_threshold(), gc.get_freeze_count()) == before
    tuned = subprocess.run(
        [
            sys.executable,
            "-c",
            "import gc; from helpers.server.app.server import tune_gc_for_server_process as t;"
            "t(); print(gc.get_threshold(), gc.get_freeze_count() > 0)",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert tuned == "(2000, 50, 10) True"

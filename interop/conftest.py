"""The interop suite: real client libraries against the kit's local server (`make interop`).

Why here and not in tests/: the clients live in their own venv (.venv-interop) and `make test`
runs `pytest tests` in .venv, where they are not installed. A directory outside tests/ is never
collected there (pyproject's testpaths is tests/), so nothing has to be skipped: under CI=true a
skipped suite would look like a passed one. interop/pytest.ini makes this directory its own
rootdir, so the repository's conftest.py and pyproject's pytest settings do not apply here.

The server runs from the kit's .venv (`python -m helpers.server`, a subprocess on a free port):
the clients never share a process or a venv with it, as a learner's notebook would not.

Each test is one cell of the table client x case x API; `pytest_terminal_summary` prints the
table (`--table FILE` also writes it as Markdown, for the README).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from cases import CALLS, env_for_clients, reference_text  # noqa: E402
from recorder import Recorder  # noqa: E402

os.environ.update(env_for_clients())  # before any client is imported (litellm reads it then)

KIT_PYTHON = Path(os.environ.get("KIT_PYTHON", REPO / ".venv" / "bin" / "python"))
# The checkout whose server runs (its helpers/ is imported from there): this one by default.
KIT_SERVER_DIR = Path(os.environ.get("KIT_SERVER_DIR", REPO))

CLIENTS = {
    "openai_agents": "openai-agents",
    "pydantic_ai": "pydantic-ai",
    "langchain": "langchain",
    "litellm": "litellm",
    "vercel_ai": "Vercel AI SDK",
}
CASES = {"text": "text", "tool": "tool round trip", "structured": "structured"}
APIS = {"responses": "Responses", "chat": "Chat", "messages": "Messages"}
NOT_OFFERED = {
    ("openai_agents", "messages"): "no Anthropic model class (only through LiteLLM)",
}
"""Cells a client does not offer: n/a in the table, no test."""


# --------------------------------------------------------------------------- the server


@pytest.fixture(scope="session")
def direct(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The kit's server in its own process, fast: its base URL, ending in /v1."""
    if not KIT_PYTHON.exists():
        pytest.fail(f"{KIT_PYTHON} not found: run `make venv` first (or set KIT_PYTHON)")
    log = tmp_path_factory.mktemp("server") / "server.log"
    command = [
        str(KIT_PYTHON), "-m", "helpers.server", "--host", "127.0.0.1", "--port", "0",
        "--ttft-ms", "5", "--tokens-per-second", "2000", "--jitter", "0",
    ]  # fmt: skip
    with open(log, "wb") as stderr:
        process = subprocess.Popen(
            command, cwd=KIT_SERVER_DIR, stdout=subprocess.PIPE, stderr=stderr, text=True
        )
    try:
        line = process.stdout.readline().strip()
        if not line.startswith("http"):
            process.kill()
            pytest.fail(f"the server did not start: {line!r}\n{log.read_text()[-3000:]}")
        yield line
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="session")
def recorder(direct: str) -> Iterator[Recorder]:
    host_port = direct.removeprefix("http://").removesuffix("/v1")
    host, port = host_port.rsplit(":", 1)
    recorder = Recorder(host, int(port)).start()
    yield recorder
    recorder.stop()


@pytest.fixture(scope="session")
def server(recorder: Recorder) -> str:
    """What the clients get: the server's base URL (ending in /v1) through the recorder."""
    return f"http://127.0.0.1:{recorder.port}/v1"


_REFERENCES: dict[str, str] = {}


@pytest.fixture(scope="session")
def reference(direct: str):
    """reference(prompt): the server's own answer, fetched once per prompt."""

    def get(prompt: str) -> str:
        if prompt not in _REFERENCES:
            _REFERENCES[prompt] = reference_text(direct, prompt)
        return _REFERENCES[prompt]

    return get


@pytest.fixture
def calls() -> list[str]:
    """The cities the Python tool was called with in this test."""
    CALLS.clear()
    return CALLS


# --------------------------------------------------------------------------- what was sent

ENDPOINTS = {
    "responses": "/v1/responses", "chat": "/v1/chat/completions", "messages": "/v1/messages",
}  # fmt: skip
CALL_REPORT = pytest.StashKey[pytest.TestReport]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    report = yield
    if report.when == "call":
        item.stash[CALL_REPORT] = report
    return report


def how_structured(api: str, body: dict) -> str:
    """Which request field carried the schema: the API's own output format, or a tool."""
    fields = {
        "responses": ("text.format", (body.get("text") or {}).get("format")),
        "chat": ("response_format", body.get("response_format")),
        "messages": (
            "output_config.format" if "output_config" in body else "output_format",
            (body.get("output_config") or {}).get("format") or body.get("output_format"),
        ),
    }
    name, value = fields[api]
    if isinstance(value, dict) and value.get("type"):
        return f"{name} {value['type']}"
    return "a tool" if body.get("tools") else "no schema sent"


@pytest.fixture(autouse=True)
def sent_where_it_says(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a cell passes: every request went to its API's endpoint, streamed."""
    cell = cell_of(request.node.nodeid)
    if cell is None:
        yield
        return
    recorder: Recorder = request.getfixturevalue("recorder")
    recorder.requests.clear()
    yield
    report = request.node.stash.get(CALL_REPORT, None)
    if report is None or not report.passed:
        return
    client, case, api = cell
    sent = list(recorder.requests)
    assert sent, f"{CLIENTS[client]} sent nothing through the recorder"
    wrong = [f"{r.method} {r.path}" for r in sent if (r.method, r.path) != ("POST", ENDPOINTS[api])]
    assert not wrong, f"{CLIENTS[client]} on {APIS[api]} sent {wrong}"
    not_streamed = [r.path for r in sent if not (isinstance(r.body, dict) and r.body.get("stream"))]
    assert not not_streamed, f"{CLIENTS[client]} sent requests without stream: true: {not_streamed}"
    if case == "structured":  # reaches the table through the report (also from xdist workers)
        request.node.user_properties.append(("sent_as", how_structured(api, sent[-1].body)))


# --------------------------------------------------------------------------- the table


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--table", default=None, help="also write the result table here (Markdown)")


_OUTCOMES: dict[tuple[str, str, str], str] = {}
_HOW: dict[tuple[str, str, str], str] = {}
_STARTED = time.monotonic()


def cell_of(nodeid: str) -> tuple[str, str, str] | None:
    """("langchain", "tool", "chat") from "test_langchain.py::test_tool[chat]"."""
    path, _, name = nodeid.partition("::")
    client = Path(path).stem.removeprefix("test_")
    case, _, api = name.removeprefix("test_").partition("[")
    api = api.rstrip("]")
    if client in CLIENTS and case in CASES and api in APIS:
        return client, case, api
    return None


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    cell = cell_of(report.nodeid)
    if cell is None:
        return
    for name, value in report.user_properties:
        if name == "sent_as":
            _HOW[cell] = value
    if report.when == "call" or report.outcome != "passed":
        if hasattr(report, "wasxfail"):
            outcome = f"xfail ({report.wasxfail})" if report.skipped else "XPASS"
        elif report.failed and "XPASS(strict)" in str(report.longrepr):
            outcome = "XPASS (strict): the client works now, drop its xfail"
        elif report.failed:
            outcome = "FAIL"
        elif report.skipped:
            outcome = "skipped"
        else:
            outcome = "pass"
        if _OUTCOMES.get(cell) in (None, "pass"):
            _OUTCOMES[cell] = outcome


def table() -> str:
    """Markdown: a row per client and case, a column per API."""
    lines = ["| client | case | " + " | ".join(APIS.values()) + " |", "|---|---|---|---|---|"]
    for client, label in CLIENTS.items():
        for case, case_label in CASES.items():
            row = []
            for api in APIS:
                if (client, api) in NOT_OFFERED:
                    row.append("n/a")
                    continue
                outcome = _OUTCOMES.get((client, case, api), "not run")
                how = _HOW.get((client, case, api), "")
                if outcome == "pass" and how and not how.endswith("json_schema"):
                    outcome += f" ({how})"
                row.append(outcome)
            lines.append(f"| {label} | {case_label} | " + " | ".join(row) + " |")
    notes = [f"- n/a: {CLIENTS[c]} on {APIS[a]}: {why}" for (c, a), why in NOT_OFFERED.items()]
    sent = [f"{CLIENTS[c]} on {APIS[a]}: {how}" for (c, _case, a), how in sorted(_HOW.items())]
    if sent:
        notes.append("- structured output was sent as: " + "; ".join(sent))
    return "\n".join([*lines, "", *notes])


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if not _OUTCOMES:
        return
    text = table()
    terminalreporter.section("interop: client x case x API")
    terminalreporter.write_line(text)
    terminalreporter.write_line(f"({time.monotonic() - _STARTED:.0f} s)")
    target = config.getoption("--table")
    if target:
        Path(target).write_text(text + "\n", encoding="utf-8")

"""The Vercel AI SDK (npm `ai`, `@ai-sdk/openai`, `@ai-sdk/anthropic`) on node: one script per case
in interop/node/, run once per API (`openai.responses()`, `openai.chat()`, `anthropic()`).

streamText throughout: `textStream` for text, `tools` with `execute` and `stopWhen:
isStepCount(2)` for the round trip (the SDK runs the tool and sends the result itself), and
`output: Output.object()` read through `partialOutputStream` for structured output.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from cases import TEXT_PROMPT, check_city, check_text, check_tool

NODE_DIR = Path(__file__).resolve().parent / "node"

APIS = ["responses", "chat", "messages"]


def node_too_old() -> str | None:
    """Why node cannot run the AI SDK here: missing, or older than 20 (Debian bookworm's 18)."""
    if shutil.which("node") is None:
        return "node is not installed (make test installs Debian's nodejs when it runs as root)"
    major = subprocess.run(["node", "-p", "process.versions.node"], capture_output=True, text=True)
    if int(major.stdout.split(".")[0]) < 20:
        return f"node {major.stdout.strip()} is too old for the AI SDK 7 (it runs on 20+)"
    return None


def run_node(case: str, api: str, server: str, timeout: float = 60) -> dict:
    """Run interop/node/<case>.mjs against the server; its last stdout line is a JSON result."""
    why = node_too_old()
    if why:  # the machine's node, not the server: a skip with its reason, in CI too
        pytest.skip(why)
    if not (NODE_DIR / "node_modules").exists():
        pytest.fail("interop/node/node_modules missing: run `make interop` (npm ci)")
    done = subprocess.run(
        ["node", f"{case}.mjs", api, server],
        cwd=NODE_DIR, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
    if done.returncode != 0:
        raise AssertionError(f"node {case}.mjs {api} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("api", APIS)
def test_text(api, server, reference):
    result = run_node("text", api, server)
    check_text(result["deltas"], result["text"], reference(TEXT_PROMPT))


@pytest.mark.parametrize("api", APIS)
def test_tool(api, server):
    result = run_node("tool", api, server)
    check_tool(result["calls"], result["text"])


@pytest.mark.parametrize("api", APIS)
def test_structured(api, server):
    result = run_node("structured", api, server)
    check_city(result["object"], result["partials"])

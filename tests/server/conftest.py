"""The server most tests here need: the simulated model with no delays, one per test module.

A module that needs other settings (a TTFT to measure, a fault, the real model) defines its own
`server` (and `client`) fixture, which takes precedence over these.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from openai import OpenAI

from helpers.server import LocalServer


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with LocalServer(ttft=0, tokens_per_second=0) as running:
        yield running


@pytest.fixture(scope="module")
def client(server: LocalServer) -> OpenAI:
    return OpenAI(base_url=server.base_url, api_key="unused", max_retries=0)


@pytest.fixture(scope="module")
def root(server: LocalServer) -> str:
    """The server's root, without /v1: the anthropic SDK adds /v1 itself."""
    return server.base_url.removesuffix("/v1")

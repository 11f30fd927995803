"""Backend switching: local by default, real OpenAI with a key, any compatible server by URL."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest

from helpers import backends
from helpers.backends import (
    ResponsesNotSupportedError,
    choose_backend_name,
    get_backend,
    make_backend,
)
from helpers.server import LocalServer

SECRET = "sk-test-do-not-print-0123456789"


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({}, "local"),
        ({"OPENAI_API_KEY": SECRET}, "openai"),
        ({"OPENAI_BASE_URL": "http://localhost:11434/v1"}, "compatible"),
        ({"OPENAI_BASE_URL": "http://x/v1", "OPENAI_API_KEY": SECRET}, "compatible"),
        ({"OPENAI_API_KEY": SECRET, "KIT_BACKEND": "local"}, "local"),
        ({"KIT_BACKEND": " OpenAI "}, "openai"),
    ],
)
def test_choose_backend_name(env: dict[str, str], name: str) -> None:
    assert choose_backend_name(env) == name


def test_unknown_kit_backend_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="KIT_BACKEND='ollama'"):
        choose_backend_name({"KIT_BACKEND": "ollama"})


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ["OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL", "KIT_BACKEND"]:
        monkeypatch.delenv(name, raising=False)


def test_default_is_the_local_server_started_once(clean_env: None) -> None:
    backend = get_backend()
    assert backend.name == "local" and backend.model == "kit-sim-1"
    assert backend.base_url.startswith("http://127.0.0.1:")
    assert get_backend() is backend and backends.local_server().base_url == backend.base_url
    answer = backend.client.responses.create(model=backend.model, input="Say hello")
    assert answer.output_text == "Hello!" and backend.supports_responses


def test_async_client_of_the_local_backend(clean_env: None) -> None:
    import asyncio

    backend = get_backend()

    async def ask() -> str:
        chat = await backend.async_client.chat.completions.create(
            model=backend.model, messages=[{"role": "user", "content": "Say hello"}]
        )
        return chat.choices[0].message.content

    assert asyncio.run(ask()) == "Hello!"


def test_openai_backend_never_shows_the_key() -> None:
    backend = make_backend("openai", {"OPENAI_API_KEY": SECRET, "OPENAI_MODEL": "gpt-test"})
    assert backend.name == "openai" and backend.model == "gpt-test"
    assert backend.base_url == "https://api.openai.com/v1"
    assert SECRET not in repr(backend) and SECRET not in backend.describe()
    assert SECRET not in str(backend)
    assert backend.client.api_key == SECRET  # it is used, just not shown


def test_openai_backend_without_key_is_a_clear_error() -> None:
    with pytest.raises(RuntimeError, match="needs OPENAI_API_KEY"):
        make_backend("openai", {})


@pytest.fixture(scope="module")
def other_server() -> Iterator[LocalServer]:
    with LocalServer(ttft=0, tokens_per_second=0) as running:
        yield running


def test_compatible_server_takes_the_first_listed_model(other_server: LocalServer) -> None:
    backend = make_backend("compatible", {"OPENAI_BASE_URL": other_server.base_url + "/"})
    assert backend.name == "compatible" and backend.model == "kit-sim-1"
    assert backend.base_url == other_server.base_url
    assert backend.supports_responses
    answer = backend.client.responses.create(model=backend.model, input="Say hello")
    assert answer.output_text == "Hello!"


def test_compatible_model_from_env(other_server: LocalServer) -> None:
    backend = make_backend(
        "compatible", {"OPENAI_BASE_URL": other_server.base_url, "OPENAI_MODEL": "llama3.2"}
    )
    assert backend.model == "llama3.2"


def test_unreachable_compatible_server_is_a_clear_error() -> None:
    with pytest.raises(RuntimeError, match=r"Could not list models at http://127\.0\.0\.1:9/v1"):
        make_backend("compatible", {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1"})


@pytest.fixture(scope="module")
def chat_only_server() -> Iterator[LocalServer]:
    """The kit's server with its Responses route removed: like many compatible servers."""
    server = LocalServer(ttft=0, tokens_per_second=0)
    server.app.router.routes[:] = [r for r in server.app.router.routes if r.path != "/v1/responses"]
    with server:
        yield server


def test_chat_only_server_is_handled_gracefully(chat_only_server: LocalServer) -> None:
    backend = make_backend("compatible", {"OPENAI_BASE_URL": chat_only_server.base_url})
    assert backend.supports_responses is False
    with pytest.raises(
        ResponsesNotSupportedError, match="does not offer the Responses API"
    ) as caught:
        backend.client.responses.create(model=backend.model, input="Say hello")
    assert isinstance(caught.value, openai.NotFoundError)
    assert "chat.completions.create" in str(caught.value)
    chat = backend.client.chat.completions.create(
        model=backend.model, messages=[{"role": "user", "content": "Say hello"}]
    )
    assert chat.choices[0].message.content == "Hello!"


def test_chat_only_server_async_client(chat_only_server: LocalServer) -> None:
    import asyncio

    backend = make_backend("compatible", {"OPENAI_BASE_URL": chat_only_server.base_url})

    async def ask() -> None:
        await backend.async_client.responses.create(model=backend.model, input="hi", stream=True)

    with pytest.raises(ResponsesNotSupportedError):
        asyncio.run(ask())


def test_other_404s_stay_plain_not_found(other_server: LocalServer) -> None:
    backend = make_backend("compatible", {"OPENAI_BASE_URL": other_server.base_url})
    with pytest.raises(openai.NotFoundError) as caught:
        backend.client.get("/nothing", cast_to=object)
    assert not isinstance(caught.value, ResponsesNotSupportedError)


# --------------------------------------------------------------------------- Anthropic


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({}, "local"),
        ({"ANTHROPIC_API_KEY": SECRET}, "anthropic"),
        ({"ANTHROPIC_API_KEY": SECRET, "KIT_BACKEND": "local"}, "local"),
        ({"OPENAI_API_KEY": SECRET}, "local"),  # an OpenAI key says nothing about Anthropic
    ],
)
def test_choose_anthropic_backend_name(env: dict[str, str], name: str) -> None:
    assert backends.choose_anthropic_backend_name(env) == name


def test_anthropic_backend_never_shows_the_key() -> None:
    backend = backends.make_anthropic_backend("anthropic", {"ANTHROPIC_API_KEY": SECRET})
    assert backend.name == "anthropic" and backend.model == backends.DEFAULT_ANTHROPIC_MODEL
    assert SECRET not in repr(backend) and SECRET not in backend.describe()
    assert backend.client.api_key == SECRET


def test_local_anthropic_backend_answers_like_the_openai_one(clean_env: None) -> None:
    backend = backends.make_anthropic_backend("local", {"ANTHROPIC_MODEL": "claude-local"})
    assert backend.base_url == backends.local_server().base_url.removesuffix("/v1")
    message = backend.client.messages.create(
        model=backend.model, max_tokens=100, messages=[{"role": "user", "content": "Say hello"}]
    )
    assert message.content[0].text == "Hello!" and message.model == "claude-local"

"""One call gives a lesson its OpenAI client and model name, whatever answers on the other end.

    backend = get_backend()
    print(backend.describe())          # safe to print: never shows a key
    backend.client.responses.create(model=backend.model, input="What is streaming?")

Which backend, checked in this order:
1. KIT_BACKEND=local forces the local simulated server (also: "openai", "compatible").
2. OPENAI_BASE_URL set: any OpenAI-compatible server (Ollama, vLLM, llama.cpp, LM Studio);
   model from OPENAI_MODEL, else the first id listed by its /v1/models.
3. OPENAI_API_KEY set: the real OpenAI API; model from OPENAI_MODEL, else DEFAULT_OPENAI_MODEL.
4. Otherwise the local server (helpers.server), started on first use, one per kernel process,
   stopped when the process exits. No network, no key. KIT_LOCAL_MODEL=smollm2 makes it serve
   a real model on the CPU instead of the simulated one (optional install: make local-model).

Anthropic's Messages API (lesson 10) has its own client: `get_anthropic_backend()` gives the
official `anthropic` client for the real API when ANTHROPIC_API_KEY is set (model from
ANTHROPIC_MODEL, else DEFAULT_ANTHROPIC_MODEL), else for the same local server, which also
answers POST /v1/messages. KIT_BACKEND=local forces the local server here too.

The lesson code is the same for all three. Many compatible servers speak only Chat
Completions: `backend.supports_responses` checks once (without generating anything), and a
Responses call that meets a 404 raises `ResponsesNotSupportedError`, a `NotFoundError` whose
message says what to do.
"""

from __future__ import annotations

import atexit
import os
import threading
from dataclasses import dataclass, field
from typing import Any

import httpx2
from anthropic import Anthropic
from openai import AsyncOpenAI, NotFoundError, OpenAI

from helpers.server import LocalServer
from helpers.server.model.simulated import MODEL_ID

DEFAULT_OPENAI_MODEL = "gpt-5-mini"
DEFAULT_ANTHROPIC_MODEL = "claude-haiku-4-5"  # the small, fast one: lessons watch latency
OPENAI_BASE_URL = "https://api.openai.com/v1"
LOCAL_PLACEHOLDER_KEY = "kit-local-no-key-needed"
BACKEND_NAMES = ("local", "openai", "compatible")


class ResponsesNotSupportedError(NotFoundError):
    """The server has no /v1/responses endpoint (many compatible servers are chat-only)."""


def _explain_missing_responses(error: Any, response: httpx2.Response) -> Any:
    if response.status_code == 404 and response.request.url.path.endswith("/responses"):
        message = (
            f"{response.request.url} answered 404: this server does not offer the Responses API. "
            "Use client.chat.completions.create(...) with it (check backend.supports_responses), "
            "or unset OPENAI_BASE_URL to use the kit's local server."
        )
        return ResponsesNotSupportedError(message, response=response, body=error.body)
    return error


class KitOpenAI(OpenAI):
    """The official client, with a clearer error when a server lacks /v1/responses."""

    def _make_status_error(self, err_msg: str, *, body: object, response: httpx2.Response) -> Any:
        error = super()._make_status_error(err_msg, body=body, response=response)
        return _explain_missing_responses(error, response)


class KitAsyncOpenAI(AsyncOpenAI):
    """The async twin of KitOpenAI."""

    def _make_status_error(self, err_msg: str, *, body: object, response: httpx2.Response) -> Any:
        error = super()._make_status_error(err_msg, body=body, response=response)
        return _explain_missing_responses(error, response)


@dataclass
class Backend:
    """A ready client pair and model name. Its repr and describe() never contain the API key."""

    name: str  # "local" | "openai" | "compatible"
    client: OpenAI = field(repr=False)
    async_client: AsyncOpenAI = field(repr=False)
    model: str
    base_url: str
    _supports_responses: bool | None = field(default=None, repr=False)

    def describe(self) -> str:
        """A one-line summary that is safe to print in a notebook."""
        return f"{self.name} backend: model {self.model!r} at {self.base_url}"

    @property
    def supports_responses(self) -> bool:
        """Does the server have /v1/responses? Probed once, with an empty body: nothing runs."""
        if self._supports_responses is None:
            self._supports_responses = probe_responses_endpoint(self.client)
        return self._supports_responses


def probe_responses_endpoint(client: OpenAI) -> bool:
    """POST {} to /responses: a 404 means no such endpoint; a 400/422 means it exists."""
    url = f"{str(client.base_url).rstrip('/')}/responses"
    headers = {"Authorization": f"Bearer {client.api_key}"}
    response = httpx2.post(url, json={}, headers=headers, timeout=10)
    return response.status_code != 404


# --------------------------------------------------------------------------- local server

_local_servers: dict[str | None, LocalServer] = {}
_local_lock = threading.Lock()


def local_server(model: str | None = None) -> LocalServer:
    """The kernel's background server for `model` (None: the simulated one), started on first
    use and stopped at exit."""
    with _local_lock:
        server = _local_servers.get(model)
        if server is None or not server.running:
            server = _local_servers[model] = LocalServer(model=model).start()
            atexit.register(server.stop)
        return server


# --------------------------------------------------------------------------- choosing


def choose_backend_name(env: dict[str, str]) -> str:
    """Which backend the environment asks for (pure: takes the environment as a dict)."""
    forced = env.get("KIT_BACKEND", "").strip().lower()
    if forced:
        if forced not in BACKEND_NAMES:
            raise ValueError(f"KIT_BACKEND={forced!r}: expected one of {', '.join(BACKEND_NAMES)}")
        return forced
    if env.get("OPENAI_BASE_URL"):
        return "compatible"
    if env.get("OPENAI_API_KEY"):
        return "openai"
    return "local"


def _clients(base_url: str, api_key: str) -> tuple[OpenAI, AsyncOpenAI]:
    return KitOpenAI(base_url=base_url, api_key=api_key), KitAsyncOpenAI(
        base_url=base_url, api_key=api_key
    )


def _first_model(client: OpenAI, base_url: str) -> str:
    try:
        models = [model.id for model in client.models.list()]
    except Exception as exc:
        raise RuntimeError(
            f"Could not list models at {base_url}/models ({type(exc).__name__}: {exc}). "
            "Is the server running? Or set OPENAI_MODEL."
        ) from exc
    if not models:
        raise RuntimeError(f"{base_url}/models lists no model: load one, or set OPENAI_MODEL.")
    return models[0]


def make_backend(name: str, env: dict[str, str]) -> Backend:
    """Build the named backend from the given environment."""
    if name == "local":
        server = local_server(env.get("KIT_LOCAL_MODEL") or None)
        client, async_client = _clients(server.base_url, LOCAL_PLACEHOLDER_KEY)
        real_model = getattr(server.model_source, "model_id", None)
        return Backend(
            "local",
            client,
            async_client,
            env.get("OPENAI_MODEL") or real_model or MODEL_ID,
            server.base_url,
            True,
        )
    if name == "openai":
        key = env.get("OPENAI_API_KEY")
        if not key:
            raise RuntimeError("KIT_BACKEND=openai needs OPENAI_API_KEY in the environment.")
        client, async_client = _clients(OPENAI_BASE_URL, key)
        model = env.get("OPENAI_MODEL") or DEFAULT_OPENAI_MODEL
        return Backend("openai", client, async_client, model, OPENAI_BASE_URL, True)
    base_url = (env.get("OPENAI_BASE_URL") or "").rstrip("/")
    if not base_url:
        raise RuntimeError(
            "KIT_BACKEND=compatible needs OPENAI_BASE_URL (e.g. http://localhost:11434/v1)."
        )
    client, async_client = _clients(base_url, env.get("OPENAI_API_KEY") or "unused")
    model = env.get("OPENAI_MODEL") or _first_model(client, base_url)
    return Backend("compatible", client, async_client, model, base_url)


_cached: dict[str, Backend] = {}


def get_backend(*, refresh: bool = False) -> Backend:
    """The backend the environment selects, built once per kernel (refresh=True re-reads env)."""
    env = dict(os.environ)
    name = choose_backend_name(env)
    if refresh or name not in _cached:
        _cached[name] = make_backend(name, env)
    return _cached[name]


# --------------------------------------------------------------------------- Anthropic


@dataclass
class AnthropicBackend:
    """The official anthropic client and a model name; repr and describe() never show the key."""

    name: str  # "local" | "anthropic"
    client: Anthropic = field(repr=False)
    model: str
    base_url: str

    def describe(self) -> str:
        """A one-line summary that is safe to print in a notebook."""
        return f"{self.name} backend: model {self.model!r} at {self.base_url}"


def choose_anthropic_backend_name(env: dict[str, str]) -> str:
    """The real Anthropic API when a key is set and KIT_BACKEND does not force "local" (pure)."""
    forced = env.get("KIT_BACKEND", "").strip().lower() == "local"
    return "anthropic" if env.get("ANTHROPIC_API_KEY") and not forced else "local"


def make_anthropic_backend(name: str, env: dict[str, str]) -> AnthropicBackend:
    """The real Messages API, or the local server's /v1/messages (the SDK adds the /v1)."""
    if name == "anthropic":
        client = Anthropic(api_key=env["ANTHROPIC_API_KEY"])
        model = env.get("ANTHROPIC_MODEL") or DEFAULT_ANTHROPIC_MODEL
        return AnthropicBackend("anthropic", client, model, str(client.base_url).rstrip("/"))
    server = local_server(env.get("KIT_LOCAL_MODEL") or None)
    root = server.base_url.removesuffix("/v1")
    model = getattr(server.model_source, "model_id", None) or MODEL_ID
    client = Anthropic(base_url=root, api_key=LOCAL_PLACEHOLDER_KEY)
    return AnthropicBackend("local", client, env.get("ANTHROPIC_MODEL") or model, root)


_cached_anthropic: dict[str, AnthropicBackend] = {}


def get_anthropic_backend(*, refresh: bool = False) -> AnthropicBackend:
    """The Anthropic backend the environment selects, built once per kernel."""
    env = dict(os.environ)
    name = choose_anthropic_backend_name(env)
    if refresh or name not in _cached_anthropic:
        _cached_anthropic[name] = make_anthropic_backend(name, env)
    return _cached_anthropic[name]

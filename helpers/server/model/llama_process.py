"""Layer: model (the bottom). May import: other helpers.server.model modules, nothing above.

The process that owns llama.cpp: `python -m helpers.server.model.llama_process FD`.

Why a process of its own: llama.cpp is native code. A build that uses an instruction this CPU
lacks dies with SIGILL, a bug can segfault, a big prompt can run out of memory, and any of those
kills the whole process it runs in. Here that process is this one, so the server, the notebook
kernel and the test run survive, and `RealModel` (in `real.py`) reports what happened.

It reads requests from one socket (pickled tuples, `multiprocessing.connection`) and answers on
it; nothing else talks to it. Inside: one model, loaded on first use, and one worker thread that
generates one answer at a time, first come first served (a queue is honest on 2 cores). The
reading thread answers tokenizer questions at once and marks cancelled answers, so a hang-up stops
generation after the current token.

Only this module imports `llama_cpp`, and only inside this process.

Messages in:  (rid, "prompt_tokens", messages) | (rid, "count_tokens", text)
              (rid, "generate", messages, max_tokens) | (rid, "cancel") | (rid, "stats")
              (rid, "system_info")
Messages out: (rid, "reply", value) | (rid, "error", text)
              (rid, "cached", n) | (rid, "text", (piece, count)) | (rid, "done", (count, truncated))
"""

from __future__ import annotations

import codecs
import functools
import queue
import resource
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from helpers.server.model.real import CONTEXT_TOKENS, N_THREADS, output_budget, reusable_prefix


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


class Llama:
    """llama.cpp in this process: load once, tokenize, generate greedily with a hang-up check."""

    def __init__(self, path: Path, threads: int = N_THREADS, context: int = CONTEXT_TOKENS):
        self.path, self.threads, self.context = path, threads, context
        self._llm: Any = None
        self._formatter: Any = None
        self._lock = threading.Lock()
        self.stats = ModelStats()

    def load(self) -> Any:
        """Load the model once (about 0.2 s here); later calls return it at once."""
        with self._lock:
            if self._llm is None:
                from llama_cpp import Llama as LlamaCpp
                from llama_cpp.llama_chat_format import Jinja2ChatFormatter

                llm = LlamaCpp(
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

    def count_tokens(self, text: str, special: bool = False) -> int:
        """How many tokens a text is for this model (special: read `<|im_start|>` as one)."""
        return len(self.load().tokenize(text.encode("utf-8"), add_bos=False, special=special))

    def generate(
        self,
        messages: list[dict[str, str]],
        max_tokens: int | None,
        cancelled: threading.Event,
        send: Callable[[str, Any], None],
    ) -> None:
        """Generate greedily, one token at a time, checking for a hang-up after each one."""
        llm = self.load()
        prompt = self.prompt_tokens(messages)
        budget = output_budget(len(prompt), max_tokens, self.context)
        send("cached", read_all_but_last(llm, prompt))
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        count, ended_by_model = 0, False
        for token in llm.generate(prompt, temp=0.0, repeat_penalty=1.0):
            if cancelled.is_set():
                break
            if llm.token_eos() == token or _is_end_of_generation(llm, token):
                ended_by_model = True
                break
            count += 1
            self.stats.generated_tokens += 1
            text = decoder.decode(llm.detokenize([token]))
            if text:
                send("text", (text, count))
            if count >= budget:
                break
        if cancelled.is_set():
            self.stats.cancelled += 1
            self.stats.cancelled_after_tokens.append(count)
            return
        tail = decoder.decode(b"", final=True)
        if tail:
            send("text", (tail, count))
        self.stats.completed += 1
        send("done", (count, not ended_by_model))


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


def system_info() -> str:
    """llama.cpp's own list of the instruction sets this build uses (e.g. `AVX2 = 1`)."""
    import llama_cpp

    return llama_cpp.llama_print_system_info().decode().strip()


def serve(conn: Connection, path: Path) -> None:
    """Answer requests on `conn` until the other side closes it."""
    model = Llama(path)
    send_lock = threading.Lock()
    jobs: queue.SimpleQueue[tuple[int, Any, Any, threading.Event]] = queue.SimpleQueue()
    cancelled: dict[int, threading.Event] = {}  # answers queued or running, by request id
    cancelled_lock = threading.Lock()

    def send(rid: int, kind: str, value: Any = None) -> None:
        with send_lock:
            conn.send((rid, kind, value))

    def work() -> None:
        while True:
            rid, messages, max_tokens, stop = jobs.get()
            try:
                if stop.is_set():  # the client left while waiting in the queue
                    model.stats.cancelled += 1
                    model.stats.cancelled_after_tokens.append(0)
                else:
                    model.generate(messages, max_tokens, stop, functools.partial(send, rid))
            except Exception as error:
                model.stats.failed += 1
                send(rid, "error", f"{type(error).__name__}: {error}")
            finally:
                with cancelled_lock:
                    cancelled.pop(rid, None)

    threading.Thread(target=work, name="generate", daemon=True).start()
    answers = {
        "prompt_tokens": lambda messages: len(model.prompt_tokens(messages)),
        "count_tokens": model.count_tokens,
        "stats": lambda: asdict(model.stats),
        "system_info": system_info,
    }
    while True:
        try:
            rid, kind, *args = conn.recv()
        except (EOFError, OSError):
            return  # the server went away: so do we
        if kind == "generate":
            stop = threading.Event()
            with cancelled_lock:
                model.stats.queued += bool(cancelled)  # another answer is still in the way
                cancelled[rid] = stop
            jobs.put((rid, args[0], args[1], stop))
        elif kind == "cancel":
            with cancelled_lock:
                stop = cancelled.get(rid)
            if stop is not None:
                stop.set()
        else:
            try:
                send(rid, "reply", answers[kind](*args))
            except Exception as error:
                send(rid, "error", f"{type(error).__name__}: {error}")


def main(argv: list[str]) -> None:
    """`FD PATH`: serve the model file on an inherited socket; `--system-info`: print it."""
    if argv == ["--system-info"]:
        print(system_info())
        return
    fd, path = int(argv[0]), Path(argv[1])
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the server, which stops us
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a crash leaves no core file behind
    serve(Connection(fd), path)


if __name__ == "__main__":
    main(sys.argv[1:])

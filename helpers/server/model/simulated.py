"""Layer: model (the bottom). May import: other helpers.server.model modules, nothing above.

A deterministic stand-in for a language model, so every lesson runs offline.

Three small parts, each a pure function of its inputs:

- a tokenizer that needs no download: a GPT-2-style regex pre-tokenizer, then long words are
  split into fragments, so tokens look like real BPE pieces (" stream", "ing", ".", "\\n");
- an answer picker: canned, well-written answers from data/answers.json, chosen by keywords,
  and generated placeholder prose for any other prompt;
- a latency profile: when each token is due (time to first token, optional prefill cost per
  prompt token, optional "thinking" pause, tokens per second with seeded jitter), as absolute
  offsets from the start of the stream so that delays never accumulate drift.

Same (prompt, seed) gives the same text, the same token boundaries and the same schedule.
Nothing here understands language: it is a teaching prop for watching streams, not a model.
"""

from __future__ import annotations

import json
import random
import re
import zlib
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

ANSWERS_FILE = Path(__file__).resolve().parents[3] / "data" / "answers.json"
MODEL_ID = "kit-sim-1"

# ---------------------------------------------------------------------------------------------
# Tokenizer
# ---------------------------------------------------------------------------------------------

# GPT-2's pre-tokenizer pattern, written for the standard `re` module: contractions, words with
# their leading space, numbers in groups of up to three digits, runs of punctuation, whitespace.
_PRE_TOKEN = re.compile(
    r"""'(?:s|t|re|ve|m|ll|d)| ?[^\W\d_]+| ?\d{1,3}| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+"""
)
_LONGEST_WHOLE_WORD = 8  # words up to this many letters stay one token, like common BPE words
_SUFFIXES = ("ing", "tion", "ness", "ment", "able", "ally", "ity", "ers", "ed", "ly")


def _split_long_word(piece: str) -> list[str]:
    """Cut a long word into BPE-like fragments; the cut points depend only on the word."""
    if len(piece) <= _LONGEST_WHOLE_WORD:  # the common case, decided without any slicing
        return [piece]
    space, word = (" ", piece[1:]) if piece.startswith(" ") else ("", piece)
    if len(word) <= _LONGEST_WHOLE_WORD or not word.isalpha():
        return [piece]
    suffix = next((s for s in _SUFFIXES if word.endswith(s) and len(word) - len(s) >= 4), "")
    stem = word[: len(word) - len(suffix)]
    fragments: list[str] = []
    cursor, mix = 0, zlib.crc32(word.encode())
    while cursor < len(stem):
        size = 3 + mix % 4  # 3..6 letters
        mix //= 4
        if len(stem) - (cursor + size) < 2:  # do not leave a one-letter tail
            size = len(stem) - cursor
        fragments.append(stem[cursor : cursor + size])
        cursor += size
    fragments[0] = space + fragments[0]
    return [*fragments, suffix] if suffix else fragments


def tokenize(text: str) -> list[str]:
    """Split text into tokens whose concatenation is exactly `text` (nothing lost or added)."""
    tokens: list[str] = []
    for piece in _PRE_TOKEN.findall(text):
        tokens.extend(_split_long_word(piece))
    return tokens


def count_tokens(text: str) -> int:
    """Token count as the simulated model bills it (usage.input_tokens / output_tokens)."""
    return len(tokenize(text))


# ---------------------------------------------------------------------------------------------
# Answers
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CannedAnswer:
    topic: str
    keywords: tuple[str, ...]
    answer: str


@cache
def load_answers(path: Path = ANSWERS_FILE) -> tuple[CannedAnswer, ...]:
    """Read the corpus once per process; it is small and never changes while a kernel runs."""
    entries = json.loads(path.read_text(encoding="utf-8"))["answers"]
    return tuple(
        CannedAnswer(e["topic"], tuple(k.lower() for k in e["keywords"]), e["answer"])
        for e in entries
    )


def _keyword_score(prompt: str, keywords: tuple[str, ...]) -> int:
    """How many keywords occur in the prompt as whole words (so "hi" does not match "this")."""
    return sum(1 for k in keywords if re.search(r"(?<!\w)" + re.escape(k) + r"(?!\w)", prompt))


def find_canned_answer(prompt: str) -> CannedAnswer | None:
    """Best keyword match; ties go to the entry listed first in the corpus file."""
    lowered = prompt.lower()
    best, best_score = None, 0
    for entry in load_answers():
        score = _keyword_score(lowered, entry.keywords)
        if score > best_score:
            best, best_score = entry, score
    return best


_FILLER_SENTENCES = (
    "A careful answer about {topic} starts with what the reader already knows.",
    "The short version is that {topic} depends on the details of the situation.",
    "It helps to split {topic} into smaller questions and answer them one by one.",
    "Most explanations of {topic} leave out the trade-offs, which matter in practice.",
    "An example usually makes {topic} clearer than a definition does.",
    "There is no single rule for {topic}, but a few habits work well.",
    "Measure before and after any change, and compare the numbers side by side.",
    "Write down the assumptions first; the conclusions follow from them.",
    "Keep the first version simple, then improve the part that hurts most.",
    "When in doubt, test the idea on a small case where the answer is known.",
)
_STOP_WORDS_TEXT = """a an the is are was were be to of in on for and or but with about me you i my
your what why how when who which tell explain write give please can could would should do does it
this that as at by from"""
_STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())


def _topic_of(prompt: str) -> str:
    """A few content words from the prompt, so generated prose stays vaguely on topic."""
    words = [w for w in re.findall(r"[A-Za-z][A-Za-z'-]*", prompt) if w.lower() not in _STOP_WORDS]
    return " ".join(words[:3]).lower() or "this question"


def generated_prose(prompt: str, seed: int) -> str:
    """Placeholder prose for prompts the corpus does not cover; about 110-190 tokens long."""
    rng = random.Random(f"prose:{seed}:{prompt}")  # str seeds are stable across runs
    topic = _topic_of(prompt)
    target = rng.randint(110, 190)
    text = f"(Simulated answer.) Here are some thoughts on {topic}."
    length = count_tokens(text)
    while length < target:
        sentence = " " + rng.choice(_FILLER_SENTENCES).format(topic=topic)
        text, length = text + sentence, length + count_tokens(sentence)
    return text


@dataclass(frozen=True)
class Answer:
    """What the simulated model will say: the tokens, and whether max tokens cut it short."""

    tokens: tuple[str, ...]
    truncated: bool
    topic: str

    @property
    def text(self) -> str:
        return "".join(self.tokens)


@lru_cache(maxsize=1024)
def answer_prompt(prompt: str, *, seed: int = 0, max_tokens: int | None = None) -> Answer:
    """Deterministic answer for a prompt; `max_tokens` cuts it like a real model's limit.

    Cached: answers are immutable and a classroom sends the same prompts again and again.
    """
    canned = find_canned_answer(prompt)
    text = canned.answer if canned else generated_prose(prompt, seed)
    tokens = tokenize(text)
    truncated = max_tokens is not None and len(tokens) > max_tokens
    if truncated:
        tokens = tokens[:max_tokens]
    return Answer(tuple(tokens), truncated, canned.topic if canned else "generated")


# ---------------------------------------------------------------------------------------------
# Latency
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LatencyProfile:
    """How fast the simulated model answers. Times are in seconds.

    ttft: time to first token for an empty prompt.
    tokens_per_second: mean decoding speed after the first token (0 or less = no delay).
    jitter: each gap between tokens varies by up to this fraction (0.25 = ±25 %), seeded.
    prefill_tokens_per_second: if set, each prompt token adds 1/this to the TTFT (like prefill).
    think_time: an extra pause before the first token, like a reasoning model thinking.
    """

    ttft: float = 0.3
    tokens_per_second: float = 40.0
    jitter: float = 0.25
    prefill_tokens_per_second: float | None = None
    think_time: float = 0.0

    def first_token_delay(self, input_tokens: int) -> float:
        """Think time + TTFT + prefill cost of the prompt."""
        prefill = (
            input_tokens / self.prefill_tokens_per_second if self.prefill_tokens_per_second else 0.0
        )
        return max(0.0, self.think_time) + max(0.0, self.ttft) + prefill

    def schedule(self, n_tokens: int, *, input_tokens: int = 0, seed: int = 0) -> list[float]:
        """When each token is due, as offsets from the stream's start (absolute, not gaps)."""
        return list(_schedule(self, n_tokens, input_tokens, seed))


@lru_cache(maxsize=1024)
def _schedule(
    profile: LatencyProfile, n_tokens: int, input_tokens: int, seed: int
) -> tuple[float, ...]:
    # Cached: same settings, same schedule, and a burst of requests should not each pay
    # ~50 µs for it (benchmarks/bench_server.py starts 500 streams within 50 ms).
    rng = random.Random(f"jitter:{seed}")
    mean_gap = 1.0 / profile.tokens_per_second if profile.tokens_per_second > 0 else 0.0
    due = profile.first_token_delay(input_tokens)
    offsets: list[float] = []
    for index in range(n_tokens):
        if index:
            due += mean_gap * (1.0 + profile.jitter * rng.uniform(-1.0, 1.0))
        offsets.append(due)
    return tuple(offsets)

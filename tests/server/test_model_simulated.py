"""The simulated model: tokenizer, answer choice, determinism and the latency schedule."""

from __future__ import annotations

import itertools
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers.server.model.simulated import (
    LatencyProfile,
    answer_prompt,
    count_tokens,
    find_canned_answer,
    load_answers,
    tokenize,
)


@given(st.text())
def test_tokens_concatenate_back_to_the_text(text: str) -> None:
    assert "".join(tokenize(text)) == text


@given(st.text())
def test_no_empty_tokens(text: str) -> None:
    assert all(tokenize(text))


def test_tokens_look_like_bpe_pieces() -> None:
    tokens = tokenize("Streaming feels faster, doesn't it? Responsiveness: 12345.")
    assert tokens[:4] == ["Stream", "ing", " feels", " faster"]
    assert "," in tokens and "'t" in tokens and " it" in tokens
    assert " 123" in tokens and "45" in tokens  # digits in groups of up to three
    assert any(t.startswith(" Respo") for t in tokens)  # a long word split, space kept in front


def test_long_words_split_without_one_letter_tail() -> None:
    for word in ["internationalization", "responsiveness", "tokenization", "abcdefghijk"]:
        pieces = tokenize(" " + word)
        assert len(pieces) >= 2, word
        assert pieces[0].startswith(" ") and "".join(pieces) == " " + word
        assert all(len(p.strip()) >= 2 for p in pieces), pieces


def test_short_words_stay_whole() -> None:
    assert tokenize("the model writes one token") == ["the", " model", " writes", " one", " token"]


def test_count_tokens_matches_tokenize() -> None:
    text = "Chunked transfer encoding, explained in 42 words."
    assert count_tokens(text) == len(tokenize(text))


@pytest.mark.parametrize(
    ("prompt", "topic"),
    [
        ("What is streaming?", "streaming_basics"),
        ("Why does streaming feel faster?", "why_faster"),
        ("Explain Server-Sent Events", "sse"),
        ("What is SSE?", "sse"),
        ("Explain chunked transfer encoding", "chunked"),
        ("What is time to first token?", "ttft_latency"),
        ("What is a token?", "tokens"),
        ("WebSockets vs SSE: which one?", "websockets_vs_sse"),
        ("When should you not stream? Any downsides?", "when_not_to_stream"),
        ("Write a haiku about streaming", "haiku"),
        ("List three planets as JSON", "planets_json"),
        ("Say hello", "hello"),
        ("Tell me about the French revolution", "generated"),
    ],
)
def test_lesson_prompts_get_on_topic_answers(prompt: str, topic: str) -> None:
    assert answer_prompt(prompt).topic == topic


def test_keywords_match_whole_words_only() -> None:
    assert find_canned_answer("this thing") is None  # "hi" is inside "this"
    assert find_canned_answer("Hi!") is not None


def test_every_canned_answer_is_reachable_and_non_empty() -> None:
    for entry in load_answers():
        assert entry.answer.strip() and entry.keywords
        assert find_canned_answer(" ".join(entry.keywords)) is not None


def test_planets_answer_is_valid_json() -> None:
    planets = json.loads(answer_prompt("List three planets as JSON").text)
    assert [p["name"] for p in planets] == ["Mercury", "Venus", "Earth"]


def test_same_prompt_and_seed_give_same_tokens() -> None:
    for prompt in ["What is SSE?", "Describe a sailing boat"]:
        assert answer_prompt(prompt, seed=7).tokens == answer_prompt(prompt, seed=7).tokens


def test_generated_prose_depends_on_seed_and_stays_on_topic() -> None:
    texts = {answer_prompt("Describe a sailing boat", seed=s).text for s in range(5)}
    assert len(texts) > 1
    assert all("sailing boat" in t for t in texts)


def test_generated_prose_is_long_enough_for_benchmarks() -> None:
    for seed in range(10):
        assert 110 <= len(answer_prompt("Describe a sailing boat", seed=seed).tokens) < 260


def test_max_tokens_truncates() -> None:
    full = answer_prompt("What is SSE?")
    cut = answer_prompt("What is SSE?", max_tokens=5)
    assert not full.truncated and cut.truncated
    assert cut.tokens == full.tokens[:5]
    assert not answer_prompt("Say hello", max_tokens=5).truncated


def test_schedule_starts_at_ttft_and_keeps_the_mean_rate() -> None:
    profile = LatencyProfile(ttft=0.3, tokens_per_second=20, jitter=0.25)
    due = profile.schedule(201, seed=3)
    assert due[0] == pytest.approx(0.3)
    gaps = [b - a for a, b in itertools.pairwise(due)]
    assert all(0.75 / 20 - 1e-9 <= g <= 1.25 / 20 + 1e-9 for g in gaps)
    assert sum(gaps) / len(gaps) == pytest.approx(1 / 20, rel=0.05)
    assert len(set(gaps)) > 100  # jitter really varies the gaps


def test_schedule_is_deterministic_per_seed() -> None:
    profile = LatencyProfile(jitter=0.3)
    assert profile.schedule(50, seed=1) == profile.schedule(50, seed=1)
    assert profile.schedule(50, seed=1) != profile.schedule(50, seed=2)


def test_schedule_without_jitter_is_exact() -> None:
    due = LatencyProfile(ttft=0.1, tokens_per_second=10, jitter=0).schedule(4)
    assert due == pytest.approx([0.1, 0.2, 0.3, 0.4])


def test_prefill_and_think_time_delay_the_first_token() -> None:
    profile = LatencyProfile(ttft=0.2, think_time=1.5, prefill_tokens_per_second=1000)
    assert profile.schedule(1, input_tokens=500)[0] == pytest.approx(0.2 + 1.5 + 0.5)
    assert LatencyProfile(ttft=0.2).schedule(1, input_tokens=500)[0] == pytest.approx(0.2)

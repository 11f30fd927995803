"""helpers.guardrails: the four release strategies, their safety properties and their errors."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from helpers.guardrails import (
    Block,
    GuardState,
    HoldBack,
    Release,
    Retract,
    SentenceRelease,
    ShowThenRetract,
    ValidateAfter,
    Violation,
    aguard,
    apply_actions,
    banned_phrases,
    guard,
    hold_back_window,
    last_sentence_end,
)

CHECK = banned_phrases("hunter2", "password is hunter2", "top secret")
LEAKY = "Sure. The admin password is hunter2, keep it safe. Bye now."
CLEAN = "Streaming is fast. It is also hard to review! Is it? Yes.\nThe end"

# Text made of fragments that often build (or almost build) a banned phrase.
FRAGMENTS = ["hunt", "er2", "hunter", "2", "password is ", "top ", "secret", "Top Sec", "ret",
             ". ", "! ", "\n", "a", "word ", "x."]
texts = st.lists(st.sampled_from(FRAGMENTS), max_size=25).map("".join)


def split_at(text: str, cuts: list[int]) -> list[str]:
    points = sorted({min(c, len(text)) for c in cuts} | {0, len(text)})
    return [text[a:b] for a, b in itertools.pairwise(points)]


def split_by_sizes(text: str, sizes: list[int]) -> list[str]:
    """Cut text into pieces of the given sizes, cycling: small pieces split every phrase."""
    pieces, sizes_cycle, at = [], itertools.cycle(sizes or [len(text) or 1]), 0
    while at < len(text):
        size = next(sizes_cycle)
        pieces.append(text[at : at + size])
        at += size
    return pieces


splits = st.lists(st.integers(min_value=1, max_value=6), max_size=8)


def every_guard():
    return [
        ValidateAfter(CHECK),
        ShowThenRetract(CHECK),
        HoldBack(CHECK, 0),
        HoldBack(CHECK, hold_back_window(CHECK.longest_match)),
        SentenceRelease(CHECK),
    ]


def run(guardrail, pieces):
    """Feed pieces one by one, recording the visible text after each step."""
    visible, history = "", []
    for piece in pieces:
        visible = apply_actions(visible, guardrail.feed(piece))
        history.append(visible)
    visible = apply_actions(visible, guardrail.finish())
    history.append(visible)
    return visible, history


# --------------------------------------------------------------------------- checks


def test_banned_phrases_reports_the_span_in_the_real_text():
    violation = CHECK("Our TOP SECRET plan")
    assert violation == Violation("banned phrase: 'TOP SECRET'", 4, 14)
    assert CHECK("nothing to see") is None


def test_banned_phrases_prefers_the_longer_phrase_at_the_same_start():
    assert CHECK("my password is hunter2").start == 3


def test_banned_phrases_rejects_empty_input():
    with pytest.raises(ValueError, match="at least one"):
        banned_phrases()
    with pytest.raises(ValueError, match="''"):
        banned_phrases("ok", "")


def test_hold_back_window_is_longest_match_minus_one():
    assert hold_back_window(CHECK.longest_match) == len("password is hunter2") - 1
    with pytest.raises(ValueError, match="0"):
        hold_back_window(0)


@pytest.mark.parametrize(
    ("text", "end"),
    [
        ("No end yet", 0),
        ("Pi is 3.", 0),  # might still become 3.14
        ("Pi is 3.14 and more. Next", 21),
        ('He said "stop." Then', 16),
        ("Line one\nLine two", 9),
        ("One. Two! Three? Fo", 17),
    ],
)
def test_last_sentence_end(text, end):
    assert last_sentence_end(text) == end


# --------------------------------------------------------------------------- each strategy


def test_every_guard_passes_a_clean_answer_through_unchanged():
    pieces = split_at(CLEAN, list(range(0, len(CLEAN), 3)))
    for guardrail in every_guard():
        visible, _ = run(guardrail, pieces)
        assert visible == CLEAN, type(guardrail).__name__
        assert guardrail.violation is None
        assert guardrail.state is GuardState.FINISHED


def test_validate_after_shows_everything_then_retracts_at_the_end():
    g = ValidateAfter(CHECK)
    pieces = LEAKY.split(" ")
    pieces = [p + " " for p in pieces[:-1]] + pieces[-1:]
    assert [g.feed(p) for p in pieces] == [[Release(p)] for p in pieces]
    assert g.visible == LEAKY  # the reader saw the password
    assert g.finish() == [Retract(16), Block(CHECK(LEAKY))]
    assert g.checks_run == 1


def test_show_then_retract_takes_back_at_the_sentence_end():
    g = ShowThenRetract(CHECK)
    before = g.feed("Sure. The admin password is hunter2, keep it safe")
    assert before == [Release("Sure. The admin password is hunter2, keep it safe")]
    assert g.feed(". Bye") == [Retract(16), Block(CHECK(LEAKY))]
    assert g.visible == "Sure. The admin "
    assert g.checks_run == 2  # "Sure. " then the leaky sentence


def test_hold_back_keeps_the_window_unreleased():
    g = HoldBack(banned_phrases("abc"), window=2)
    assert g.feed("xyz") == [Release("x")]
    assert g.feed("q") == [Release("y")]
    assert g.finish() == [Release("zq")]


def test_hold_back_with_too_small_a_window_has_to_retract():
    g = HoldBack(CHECK, window=hold_back_window(CHECK.longest_match) - 1)
    visible, _ = run(g, list("xpassword is hunter2"))
    assert visible == "x"
    assert g.violation.start == 1


def test_sentence_release_shows_only_whole_sentences():
    g = SentenceRelease(CHECK)
    assert g.feed("One sent") == []
    assert g.feed("ence. Two") == [Release("One sentence. ")]
    assert g.finish() == [Release("Two")]


def test_sentence_release_blocks_before_showing_the_bad_sentence():
    g = SentenceRelease(CHECK)
    actions = list(guard([LEAKY[:30], LEAKY[30:]], g))
    assert actions == [Release("Sure. "), Block(CHECK(LEAKY))]


# --------------------------------------------------------------------------- properties


@given(texts, splits)
def test_visible_text_is_always_a_prefix_and_complete_when_clean(text, cuts):
    pieces = split_by_sizes(text, cuts)
    for guardrail in every_guard():
        visible, history = run(guardrail, pieces)
        assert all(text.startswith(seen) for seen in history)
        assert guardrail.text == text  # nothing lost, even after a block
        if CHECK(text) is None:
            assert visible == text
        else:
            assert guardrail.violation is not None
            assert len(visible) <= guardrail.violation.start
            assert CHECK(visible) is None
            assert guardrail.withheld == text[len(visible) :]


@given(texts, splits)
@example("xpassword is hunter2", [1])  # the tightest case: the match's last char arrives alone
@example("top secret", [9, 1])
def test_hold_back_with_the_right_window_never_shows_any_part_of_a_match(text, cuts):
    pieces = split_by_sizes(text, cuts)
    g = HoldBack(CHECK, hold_back_window(CHECK.longest_match))
    match_starts = [
        i
        for i in range(len(text))
        for phrase in CHECK.phrases
        if text[i : i + len(phrase)].lower() == phrase.lower()
    ]
    visible = ""
    for actions in [*map(g.feed, pieces), g.finish()]:
        assert not any(isinstance(a, Retract) for a in actions)
        visible = apply_actions(visible, actions)
        # No banned phrase, even overlapping another one, may start inside what was shown.
        assert all(start >= len(visible) for start in match_starts)


@given(texts, splits)
def test_sentence_release_never_retracts_and_releases_at_sentence_ends(text, cuts):
    g = SentenceRelease(CHECK)
    released = 0
    for piece in split_by_sizes(text, cuts):
        for action in g.feed(piece):
            assert not isinstance(action, Retract)
            if isinstance(action, Release):
                released += len(action.text)
                assert last_sentence_end(text[:released]) == released


@given(texts, splits)
def test_the_async_driver_gives_the_same_actions(text, cuts):
    pieces = split_by_sizes(text, cuts)

    async def agen():
        for piece in pieces:
            yield piece

    async def collect():
        return [a async for a in aguard(agen(), ShowThenRetract(CHECK))]

    assert asyncio.run(collect()) == list(guard(pieces, ShowThenRetract(CHECK)))


# --------------------------------------------------------------------------- bad input


def test_feeding_bytes_names_them_and_loses_nothing():
    g = HoldBack(CHECK, 10)
    assert g.feed("kept") == []
    with pytest.raises(TypeError, match=r"bytes b'caf\\xc3\\xa9'"):
        g.feed("café".encode())
    assert g.text == "kept"
    assert g.finish() == [Release("kept")]


def test_feeding_after_finish_or_finishing_twice_is_an_error():
    g = ValidateAfter(CHECK)
    g.finish()
    with pytest.raises(RuntimeError, match="after finish"):
        g.feed("late")
    with pytest.raises(RuntimeError, match="twice"):
        g.finish()


def test_pieces_after_a_block_are_recorded_not_released():
    g = HoldBack(CHECK, 0)
    g.feed("top secret")
    assert g.state is GuardState.BLOCKED
    assert g.feed(" more") == []
    assert g.text == "top secret more"
    assert g.finish() == []


@pytest.mark.parametrize("window", [-1, 1.5, True, "3"])
def test_hold_back_rejects_a_bad_window(window):
    with pytest.raises(ValueError, match="window"):
        HoldBack(CHECK, window)


def test_a_check_with_an_impossible_span_is_named():
    g = HoldBack(lambda text: Violation("bad", 0, 99), 0)
    with pytest.raises(ValueError, match="span 0:99"):
        g.feed("short")


def test_a_non_callable_check_is_rejected():
    with pytest.raises(TypeError, match="callable"):
        ValidateAfter("hunter2")


def test_apply_actions_rejects_an_impossible_retract_and_unknown_actions():
    with pytest.raises(ValueError, match="keep=5"):
        apply_actions("abc", [Retract(5)])
    with pytest.raises(TypeError, match="not a guard action"):
        apply_actions("abc", ["abc"])
    assert apply_actions("ab", [Release("cd"), Retract(1), Block(Violation("r", 1, 2))]) == "a"


def test_a_strategy_hook_outside_the_text_is_named():
    class Broken(HoldBack):
        def release_upto(self, final):
            return len(self.text) + 1

    with pytest.raises(ValueError, match=r"Broken.release_upto returned 4; .* between 0 and 3"):
        Broken(CHECK, 0).feed("abc")


def test_a_new_strategy_is_two_methods():
    """Release whole words only: the base class does the checking, blocking and retracting."""

    class WordRelease(HoldBack):
        def release_upto(self, final):
            return len(self.text) if final else max(self.released, self.text.rfind(" ") + 1)

    g = WordRelease(CHECK, 0)
    assert g.feed("Hello wor") == [Release("Hello ")]
    assert g.feed("ld, top secr") == [Release("world, top ")]
    assert g.feed("et!") == [Retract(len("Hello world, ")), Block(CHECK("Hello world, top secret"))]


# --------------------------------------------------------------------------- over the wire


@pytest.fixture(scope="module")
def sdk_client():
    """The real openai SDK against the kit's server on 127.0.0.1 (no delays: not a timing test)."""
    from openai import OpenAI

    from helpers.server import LocalServer

    with (
        LocalServer(ttft=0, tokens_per_second=0) as server,
        OpenAI(base_url=server.base_url, api_key="unused") as client,
    ):
        yield client


def stream_pieces(client, prompt):
    from helpers.server.model.simulated import MODEL_ID
    from helpers.timing import text_of

    with client.responses.create(model=MODEL_ID, input=prompt, stream=True) as stream:
        for event in stream:
            if (piece := text_of(event)) is not None:
                yield piece


def test_guards_over_a_real_sdk_stream_block_the_leak_lesson_7_relies_on(sdk_client):
    """Lesson 7's leaky prompt: the simulated model repeats the codename from the prompt."""
    check = banned_phrases("Project Bluebird", "Bluebird")
    window = hold_back_window(check.longest_match)
    for make in (ValidateAfter, ShowThenRetract, lambda c: HoldBack(c, window), SentenceRelease):
        g = make(check)
        pieces = stream_pieces(sdk_client, "Tell me about Project Bluebird")
        visible = apply_actions("", guard(pieces, g))
        assert g.violation is not None, type(g).__name__
        assert check(visible) is None
        assert visible == g.visible == g.text[: len(visible)]


def test_guards_over_a_real_sdk_stream_pass_a_clean_answer(sdk_client):
    check = banned_phrases("Project Bluebird", "Bluebird")
    full = "".join(stream_pieces(sdk_client, "Why does streaming feel faster?"))
    for g in (ShowThenRetract(check), HoldBack(check, 15), SentenceRelease(check)):
        pieces = stream_pieces(sdk_client, "Why does streaming feel faster?")
        assert apply_actions("", guard(pieces, g)) == full

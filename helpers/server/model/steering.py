"""Layer: model (the bottom). May import: other helpers.server.model modules, nothing above.

How the simulated model reacts when the user steers an answer that is still being written.

The Responses API WebSocket lets a client send ``response.steer`` while a response streams. The
server ends the running response at a safe boundary (``response.incomplete``, reason
``"steered"``) and starts a *successor* response that continues with the queued input. What the
successor says is the model's business; here it is decided by a few plain rules, so a learner
can predict it and a test can check it:

- "shorter" (or "brief", "tl;dr", ...): the successor only finishes the sentence in progress;
- a prompt that picks a *different* corpus answer: the successor switches to that answer;
- "stop" (or "cancel", "enough", ...) and nothing else asked: the successor says nothing;
- anything else: the successor carries on with the rest of the original answer, unchanged.

"Stop" wins only when it is all the user asked. "Stop there and answer in one short sentence"
asks for something (a short answer), so it gets one sentence, never an empty successor: the
sentence in progress, or the next one if the steer landed between two sentences.

Everything here is a pure function of its inputs: no clock, no I/O, no randomness.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from helpers.server.model.simulated import find_canned_answer, tokenize


class SteerKind(StrEnum):
    STOP = "stop"
    SHORTER = "shorter"
    NEW_TOPIC = "new_topic"
    CONTINUE = "continue"


STOP_WORDS = ("stop", "cancel", "halt", "enough", "never mind", "nevermind")
SHORTER_WORDS = ("shorter", "short", "brief", "briefly", "tl;dr", "tldr", "summarize",
                 "summarise", "wrap up", "too long", "concise")


@dataclass(frozen=True)
class SuccessorPlan:
    """What the successor response will say after a steer, and why (for the event log)."""

    kind: SteerKind
    tokens: tuple[str, ...]
    topic: str

    @property
    def text(self) -> str:
        return "".join(self.tokens)


def steer_input_text(steer_input: Any) -> str:
    """Flatten steer input (a string, or user messages with string or input_text content).

    Raises ValueError naming the offending part, so the server can answer `invalid_input`.
    """
    if isinstance(steer_input, str):
        if not steer_input.strip():
            raise ValueError("input is an empty string")
        return steer_input
    if not isinstance(steer_input, list) or not steer_input:
        raise ValueError(f"input must be a non-empty string or list, got {steer_input!r:.80}")
    texts: list[str] = []
    for index, item in enumerate(steer_input):
        if not isinstance(item, dict) or item.get("role") != "user":
            raise ValueError(f"input[{index}] must be a message with role 'user', got {item!r:.80}")
        if item.get("type", "message") != "message":
            raise ValueError(f"input[{index}].type must be 'message', got {item.get('type')!r}")
        texts.append(_content_text(item.get("content"), index))
    return " ".join(texts)


def _content_text(content: Any, index: int) -> str:
    """The text of one message's content: a string, or a list of input_text parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part_index, part in enumerate(content):
            if not isinstance(part, dict) or part.get("type") != "input_text":
                raise ValueError(
                    f"input[{index}].content[{part_index}] must be an input_text part, "
                    f"got {part!r:.80}"
                )
            parts.append(str(part.get("text", "")))
        return " ".join(parts)
    raise ValueError(f"input[{index}].content must be a string or a list, got {content!r:.80}")


def _mentions(text: str, words: Sequence[str]) -> bool:
    """Whole-word (or whole-phrase) match, so "stopwatch" is not "stop"."""
    lowered = text.lower()
    return any(re.search(r"(?<!\w)" + re.escape(w) + r"(?!\w)", lowered) for w in words)


def classify_steer(text: str, current_topic: str) -> SteerKind:
    """Which rule applies: shorter, then a change of topic, then stop (only if nothing is asked)."""
    if _mentions(text, SHORTER_WORDS):
        return SteerKind.SHORTER
    canned = find_canned_answer(text)
    if canned is not None and canned.topic != current_topic:
        return SteerKind.NEW_TOPIC
    if _mentions(text, STOP_WORDS):
        return SteerKind.STOP
    return SteerKind.CONTINUE


def ends_sentence(token: str, next_token: str | None) -> bool:
    """A token closes a sentence if it ends in . ! ? before a space (or the end), or is a newline.

    The look-ahead keeps "HTTP/1.1" and "3.5" in one sentence.
    """
    if "\n" in token:
        return True
    if not token.rstrip(" ").endswith((".", "!", "?")):
        return False
    return next_token is None or next_token[:1].isspace()


def rest_of_sentence(emitted: Sequence[str], remaining: Sequence[str]) -> tuple[str, ...]:
    """The tokens that finish the sentence in progress; empty if `emitted` just ended one.

    Nothing emitted yet means the sentence in progress is the first one.
    """
    if emitted and ends_sentence(emitted[-1], remaining[0] if remaining else None):
        return ()
    for index, token in enumerate(remaining):
        next_token = remaining[index + 1] if index + 1 < len(remaining) else None
        if ends_sentence(token, next_token):
            return tuple(remaining[: index + 1])
    return tuple(remaining)


def plan_successor(
    text: str, *, emitted: Sequence[str], remaining: Sequence[str], current_topic: str
) -> SuccessorPlan:
    """What the successor says, given the steer text, what was shown and what was still to come."""
    kind = classify_steer(text, current_topic)
    if kind is SteerKind.STOP:
        return SuccessorPlan(kind, (), current_topic)
    if kind is SteerKind.SHORTER:
        tokens = rest_of_sentence(emitted, remaining)
        if not tokens and _mentions(text, STOP_WORDS):  # "stop there and answer briefly":
            tokens = rest_of_sentence((), remaining)  # an answer was asked for: one sentence
        return SuccessorPlan(kind, tokens, current_topic)
    if kind is SteerKind.NEW_TOPIC:
        canned = find_canned_answer(text)
        assert canned is not None  # classify_steer only says NEW_TOPIC when there is one
        return SuccessorPlan(kind, tuple(tokenize(canned.answer)), canned.topic)
    return SuccessorPlan(kind, tuple(remaining), current_topic)

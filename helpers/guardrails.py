"""Check a streamed answer before (or after) the reader sees it.

A streamed answer reaches the screen before anyone could review it as a whole. This module
holds four small, sans-IO state machines that sit between the stream and the screen. You
feed them the text pieces as they arrive; they give back *actions* for the display:

- `Release(text)`  append this text to what the reader sees;
- `Retract(keep)`  cut what the reader sees back to its first `keep` characters;
- `Block(violation)`  the answer failed the check; nothing more will be released.

The four strategies differ only in *when* they run the check and *when* they release text:

| strategy          | runs the check             | releases text                     |
|-------------------|----------------------------|-----------------------------------|
| `ValidateAfter`   | once, at the end           | at once                           |
| `ShowThenRetract` | at each sentence end       | at once (retracts on failure)     |
| `HoldBack`        | after every piece          | all but the last `window` chars   |
| `SentenceRelease` | at each sentence end       | whole sentences, once checked     |

On a violation every strategy cuts the visible text back to where the violation starts
(a `Retract`, only if that much was already shown) and then emits `Block`. Nothing is lost:
each guard keeps the whole answer in `.text`, also what arrives after the block.

A check is any function `str -> Violation | None` over the text so far; `banned_phrases`
builds one. `HoldBack` never shows any part of a violation when its window is at least
the longest *shortest* match minus one character (`hold_back_window`): the check runs after
every piece, so a match is flagged as soon as its shortest matching beginning has arrived. For
fixed phrases that is the longest phrase; "8 or more digits" needs 7, however long the run.
Only a pattern whose deciding part can come unboundedly late ("X, and later Y") has no window.
"""

from __future__ import annotations

import enum
import re
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass

__all__ = [
    "Action",
    "Block",
    "Check",
    "GuardState",
    "HoldBack",
    "PhraseCheck",
    "Release",
    "Retract",
    "SentenceRelease",
    "ShowThenRetract",
    "StreamGuard",
    "ValidateAfter",
    "Violation",
    "aguard",
    "apply_actions",
    "banned_phrases",
    "guard",
    "hold_back_window",
    "last_sentence_end",
]


# --------------------------------------------------------------------------- values


@dataclass(frozen=True, slots=True)
class Violation:
    """Why the text failed, and where: `text[start:end]` is the offending span."""

    reason: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Release:
    """Append `text` to what the reader sees."""

    text: str


@dataclass(frozen=True, slots=True)
class Retract:
    """Cut what the reader sees back to its first `keep` characters."""

    keep: int


@dataclass(frozen=True, slots=True)
class Block:
    """The answer failed its check: show a notice, release nothing more."""

    violation: Violation


Action = Release | Retract | Block
Check = Callable[[str], Violation | None]


class GuardState(enum.Enum):
    STREAMING = "streaming"  # pieces arrive; text is checked and released
    BLOCKED = "blocked"  # a check failed; pieces are still recorded, never released
    FINISHED = "finished"  # finish() was called; feeding more is a bug


# --------------------------------------------------------------------------- checks


class PhraseCheck:
    """A check that flags the first banned phrase (case-insensitive) found in the text."""

    def __init__(self, phrases: tuple[str, ...], reason: str) -> None:
        self.phrases = phrases
        self.reason = reason
        # Longest first, so that "secret key" wins over "secret" at the same position.
        ordered = sorted(phrases, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, ordered)), re.IGNORECASE)

    @property
    def longest_match(self) -> int:
        """Characters in the longest text this check can flag (what `HoldBack` must cover)."""
        return max(map(len, self.phrases))

    def __call__(self, text: str) -> Violation | None:
        found = self._pattern.search(text)
        if found is None:
            return None
        return Violation(f"{self.reason}: {found.group()!r}", found.start(), found.end())

    def __repr__(self) -> str:
        return f"banned_phrases({', '.join(map(repr, self.phrases))})"


def banned_phrases(*phrases: str, reason: str = "banned phrase") -> PhraseCheck:
    """Build a check that fails on any of `phrases`, ignoring case.

    Matching is case-insensitive but length-preserving (a regex with IGNORECASE, not
    str.lower(), which can change lengths), so the violation's span indexes the real text.
    """
    if not phrases:
        raise ValueError("banned_phrases() needs at least one phrase")
    for phrase in phrases:
        if not isinstance(phrase, str) or not phrase:
            raise ValueError(f"each banned phrase must be a non-empty str, got {phrase!r}")
    return PhraseCheck(tuple(phrases), reason)


def hold_back_window(longest_match: int) -> int:
    """The smallest `HoldBack` window that never shows any part of a match.

    `longest_match` is the length of the longest match none of whose beginnings is already a
    match: the longest phrase of a phrase list, 8 for "8 or more digits". A match the check
    cannot flag yet has at most `longest_match - 1` characters in the text so far, all at
    its end: holding back that many is enough, and one fewer lets the first character of
    some match out.
    """
    if longest_match < 1:
        raise ValueError(f"longest_match must be at least 1, got {longest_match!r}")
    return longest_match - 1


# --------------------------------------------------------------------------- sentences

# A sentence ends at ., ! or ? (plus closing quotes/brackets) followed by whitespace, or at
# a line break. The whitespace must have arrived: "3." might still become "3.14".
_SENTENCE_END = re.compile(r"[.!?][\"')\]]*\s+|\n+")


def last_sentence_end(text: str, start: int = 0) -> int:
    """Index just after the last complete sentence in `text[start:]` (or `start` if none).

    Known weakness, on purpose kept simple: abbreviations such as "e.g. " end a sentence.
    """
    end = start
    for match in _SENTENCE_END.finditer(text, start):
        end = match.end()
    return end


# --------------------------------------------------------------------------- guards


class StreamGuard:
    """Shared state machine: record text, run the check, release, block.

    A strategy is a subclass that answers two questions, `check_upto` (how far should the
    text be checked now?) and `release_upto` (how far may it be shown now?). Everything
    else (state, errors, retraction) lives here, so a new strategy is two short methods.
    """

    def __init__(self, check: Check) -> None:
        if not callable(check):
            raise TypeError(f"check must be callable (str -> Violation | None), got {check!r}")
        self.check = check
        self.text = ""  # everything received, also after a block: nothing is lost
        self.released = 0  # len of the text the reader sees now
        self.checked = 0  # text[:checked] passed the check
        self.checks_run = 0  # how many times the check was called (its cost)
        self.violation: Violation | None = None
        self.state = GuardState.STREAMING

    # -- what subclasses decide

    def check_upto(self, final: bool) -> int | None:
        """How far the check should run now, or None to skip it this time."""
        raise NotImplementedError

    def release_upto(self, final: bool) -> int:
        """How far the text may be shown now."""
        raise NotImplementedError

    # -- the public API

    def feed(self, piece: str) -> list[Action]:
        """Take the next piece of the answer; return what the display should do."""
        if not isinstance(piece, str):
            raise TypeError(
                f"feed() takes str pieces; got {type(piece).__name__} {piece!r:.80}"
                " (decode bytes first)"
            )
        if self.state is GuardState.FINISHED:
            raise RuntimeError(f"feed({piece!r:.40}) after finish(): the answer was over")
        self.text += piece
        if self.state is GuardState.BLOCKED:
            return []
        return self._advance(final=False)

    def finish(self) -> list[Action]:
        """The stream ended: check and release whatever is left."""
        if self.state is GuardState.FINISHED:
            raise RuntimeError("finish() called twice")
        actions = self._advance(final=True) if self.state is GuardState.STREAMING else []
        self.state = GuardState.FINISHED
        return actions

    @property
    def visible(self) -> str:
        """What the reader sees now."""
        return self.text[: self.released]

    @property
    def withheld(self) -> str:
        """Received but not shown (held back, or stopped by a block)."""
        return self.text[self.released :]

    # -- the machinery

    def _advance(self, final: bool) -> list[Action]:
        end = self._within_text("check_upto", self.check_upto(final))
        if end is not None and end > self.checked:
            violation = self._run_check(end)
            if violation is not None:
                return self._block(violation)
            self.checked = end
        release_end = self._within_text("release_upto", self.release_upto(final))
        if release_end is None:
            raise ValueError(f"{type(self).__name__}.release_upto returned None, not a position")
        if release_end <= self.released:
            return []
        piece, self.released = self.text[self.released : release_end], release_end
        return [Release(piece)]

    def _within_text(self, hook: str, end: int | None) -> int | None:
        """A strategy's answer must be a position in the text received so far."""
        if end is not None and (
            isinstance(end, bool) or not isinstance(end, int) or not 0 <= end <= len(self.text)
        ):
            raise ValueError(
                f"{type(self).__name__}.{hook} returned {end!r}; "
                f"expected a position between 0 and {len(self.text)} (the text received)"
            )
        return end

    def _run_check(self, end: int) -> Violation | None:
        self.checks_run += 1
        violation = self.check(self.text[:end])
        if violation is not None and not 0 <= violation.start <= violation.end <= end:
            raise ValueError(
                f"check {self.check!r} returned span {violation.start}:{violation.end}, "
                f"outside the {end} characters it was given"
            )
        return violation

    def _block(self, violation: Violation) -> list[Action]:
        self.violation = violation
        self.state = GuardState.BLOCKED
        actions: list[Action] = []
        if self.released > violation.start:
            self.released = violation.start
            actions.append(Retract(violation.start))
        actions.append(Block(violation))
        return actions


class ValidateAfter(StreamGuard):
    """Show every piece at once; check the whole answer when it ends. Fast, may show bad text."""

    def check_upto(self, final: bool) -> int | None:
        return len(self.text) if final else None

    def release_upto(self, final: bool) -> int:
        return len(self.text)


class ShowThenRetract(StreamGuard):
    """Show every piece at once; check each sentence as it completes, retract on failure."""

    def check_upto(self, final: bool) -> int | None:
        return len(self.text) if final else last_sentence_end(self.text, self.checked)

    def release_upto(self, final: bool) -> int:
        return len(self.text)


class HoldBack(StreamGuard):
    """Check after every piece; show all but the last `window` characters."""

    def __init__(self, check: Check, window: int) -> None:
        super().__init__(check)
        if isinstance(window, bool) or not isinstance(window, int) or window < 0:
            raise ValueError(f"window must be a non-negative int (characters), got {window!r}")
        self.window = window

    def check_upto(self, final: bool) -> int | None:
        return len(self.text)

    def release_upto(self, final: bool) -> int:
        return len(self.text) if final else max(self.released, len(self.text) - self.window)


class SentenceRelease(StreamGuard):
    """Check each sentence as it completes; show it only then."""

    def check_upto(self, final: bool) -> int | None:
        return len(self.text) if final else last_sentence_end(self.text, self.checked)

    def release_upto(self, final: bool) -> int:
        return self.checked


# --------------------------------------------------------------------------- drivers


def guard(pieces: Iterable[str], guardrail: StreamGuard) -> Iterator[Action]:
    """Run a guard over a (sync) stream of text pieces, yielding actions as they happen."""
    for piece in pieces:
        yield from guardrail.feed(piece)
    yield from guardrail.finish()


async def aguard(pieces: AsyncIterable[str], guardrail: StreamGuard) -> AsyncIterator[Action]:
    """`guard` for an async stream: the same state machine, no other changes."""
    async for piece in pieces:
        for action in guardrail.feed(piece):
            yield action
    for action in guardrail.finish():
        yield action


def apply_actions(visible: str, actions: Iterable[Action]) -> str:
    """What a display shows after these actions: the reference for any UI that renders them."""
    for action in actions:
        if isinstance(action, Release):
            visible += action.text
        elif isinstance(action, Retract):
            if not 0 <= action.keep <= len(visible):
                raise ValueError(f"Retract(keep={action.keep}) on {len(visible)} visible chars")
            visible = visible[: action.keep]
        elif not isinstance(action, Block):
            raise TypeError(f"not a guard action: {action!r}")
    return visible

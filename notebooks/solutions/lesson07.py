"""Reference solutions for lesson 7's exercises (validating partial output)."""

from __future__ import annotations

import re

from helpers.guardrails import StreamGuard, Violation


def smallest_safe_window(phrases: list[str]) -> int:
    """An unfinished phrase has at most len - 1 characters at the end of the text so far."""
    if not phrases:
        raise ValueError("no phrases: nothing to hold back for")
    return max(len(phrase) for phrase in phrases) - 1


_ACCOUNT_NUMBER = re.compile(r"\d{8,}")


def no_account_numbers(text: str) -> Violation | None:
    """The first run of eight or more digits, with its span in `text`."""
    found = _ACCOUNT_NUMBER.search(text)
    if found is None:
        return None
    return Violation("account number", found.start(), found.end())


_LAST_WHITESPACE = re.compile(r"\s(?=\S*\Z)")


class WordRelease(StreamGuard):
    """Check after every piece; show text up to the last whitespace, never half a word."""

    def check_upto(self, final: bool) -> int | None:
        return len(self.text)

    def release_upto(self, final: bool) -> int:
        if final:
            return len(self.text)
        last_space = _LAST_WHITESPACE.search(self.text)
        return max(self.released, last_space.end() if last_space else 0)

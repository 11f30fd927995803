"""Reference solutions for lesson 7's exercises (validating partial output)."""

from __future__ import annotations

import re

from helpers.guardrails import StreamGuard, Violation

# Eight digits; a single space or dash may stand between two of them. Starting and ending on a
# digit keeps a trailing separator out of the span; "[ -]?" allows one separator, never two.
_ACCOUNT_NUMBER = re.compile(r"\d(?:[ -]?\d){7,}")


def no_account_numbers(text: str) -> Violation | None:
    """The first account number, with its span in `text` (first digit to last)."""
    found = _ACCOUNT_NUMBER.search(text)
    if found is None:
        return None
    return Violation("account number", found.start(), found.end())


def account_window(min_digits: int) -> int:
    """Hold back one character less than the longest *shortest* match.

    HoldBack checks after every piece, so a run is flagged the moment its first `min_digits`
    digits are complete: a longer run needs no longer window. The shortest match is longest
    when a separator stands between every two digits: `min_digits` digits and
    `min_digits - 1` separators. One character fewer than that is still unflagged.
    """
    if min_digits < 1:
        raise ValueError(f"an account number needs at least one digit, got {min_digits}")
    return (2 * min_digits - 1) - 1


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

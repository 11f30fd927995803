"""Exercise checks, one module per lesson.

Each check returns a verdict the notebook prints and never raises. Why a message instead of an
exception: the committed notebooks keep the exercise stubs unsolved (they raise
NotImplementedError), and their check cells must still run cleanly under nbval, whose saved output
is the "not solved yet" line. A learner's crash becomes such a line too, so a check cell never ends
in a traceback.

This module holds the plumbing every lesson shares: the two verdicts, and `call`, which runs the
learner's code and turns an exception into a failure message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

MAX_WHY = 240  # characters of the reason; long reprs are cut so a check cell stays readable

ShowCall = Callable[[str, tuple[Any, ...], dict[str, Any]], str]
"""Writes a call that raised, from (label, args, kwargs), for the failure message."""


def passed(number: int) -> str:
    return f"✅ Exercise {number} passed"


def failed(number: int, why: str) -> str:
    if len(why) > MAX_WHY:
        why = why[: MAX_WHY - 3] + "..."
    return f"❌ Exercise {number} not solved yet: {why}"


def failed_with(number: int, error: Exception, label: str, shown: str | None = None) -> str:
    """The failure for an exception out of the learner's code: a stub, or a crash.

    ``label`` names their code ("still raises NotImplementedError"); ``shown`` is how a crash
    writes the call (default: the label alone).
    """
    if isinstance(error, NotImplementedError):
        return failed(number, f"{label} still raises NotImplementedError")
    return failed(number, f"{shown or label} raised {type(error).__name__}: {error}")


def call(
    number: int,
    fn: Callable[..., Any],
    /,
    *args: Any,
    label: str | None = None,
    show_call: ShowCall | None = None,
    **kwargs: Any,
) -> tuple[Any, str | None]:
    """Run ``fn(*args, **kwargs)``: ``(result, None)``, or ``(None, failure message)``.

    ``label`` is what the message calls the learner's code (default: ``fn.__name__``);
    ``show_call`` writes the call in a crash's message (default: the label alone), e.g.
    `with_args` to show the arguments. Other keyword arguments go to ``fn``.
    """
    label = label or fn.__name__
    try:
        return fn(*args, **kwargs), None
    except Exception as error:
        shown = show_call(label, args, kwargs) if show_call else None
        return None, failed_with(number, error, label, shown)


def with_args(
    label: str, args: tuple[Any, ...], kwargs: dict[str, Any], cut: int | None = None
) -> str:
    """``label(a, b, key=value)``: the call as written; ``cut`` shortens each positional repr."""
    shown = [repr(arg)[:cut] for arg in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    return f"{label}({', '.join(shown)})"


def with_args_tuple(label: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """``label(a,)``: the label followed by the positional arguments' tuple."""
    return f"{label}{args!r}"

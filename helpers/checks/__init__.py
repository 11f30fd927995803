"""Exercise checks, one module per lesson.

Each check returns a verdict the notebook prints and never raises. Why a message instead of an
exception: the committed notebooks keep the exercise stubs unsolved (they raise
NotImplementedError), and their check cells must still run cleanly under nbval, whose saved output
is the "not solved yet" line. A learner's crash becomes such a line too, so a check cell never ends
in a traceback.

This module holds the plumbing every lesson shares: the two verdicts; `call`, which runs the
learner's code and turns an exception into a failure message (`outcome` hands the exception back,
for a check that wants one); `names_used`, which finds a helper that already does the exercise;
`Counted`, `drain` and `drain_counted`, which record how much input the learner's generator had
read when each item came out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
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


def names_used(fn: Callable[..., object], names: set[str]) -> str | None:
    """The first of ``names`` the learner's function (or a function inside it) uses: the
    helpers that already do what the exercise asks the learner to write."""
    pending = [getattr(fn, "__code__", None)]
    while pending:
        code = pending.pop()
        if code is None:
            continue
        if used := names & {*code.co_names, *code.co_freevars}:
            return sorted(used)[0]
        pending += [const for const in code.co_consts if hasattr(const, "co_names")]
    return None


def outcome(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> tuple[Any, Exception | None]:
    """``fn(*args, **kwargs)`` as ``(result, None)`` or ``(None, the exception)``: for a check
    whose right answer is an exception."""
    try:
        return fn(*args, **kwargs), None
    except Exception as error:
        return None, error


class Counted:
    """Items handed over one at a time, as reads from a socket would be; ``taken`` counts how
    many the learner's code has taken so far."""

    def __init__(self, items: Iterable[Any]) -> None:
        self.items = items
        self.taken = 0

    def __iter__(self) -> Iterator[Any]:
        for item in self.items:
            self.taken += 1
            yield item


def drain(
    number: int, result: Iterable[Any], label: str, taken: Callable[[], int]
) -> tuple[list[tuple[Any, int]], Exception | None, str | None]:
    """Iterate the learner's ``result`` to the end: each item with ``taken()`` when it came out
    (how much input its code had read by then), the exception that ended it (if any), or the
    failure message for a stub."""
    got: list[tuple[Any, int]] = []
    try:
        for item in result:
            got.append((item, taken()))
    except NotImplementedError:
        return got, None, failed(number, f"{label} still raises NotImplementedError")
    except Exception as raised:
        return got, raised, None
    return got, None, None


def drain_counted(
    number: int, fn: Callable[[Counted], Iterable[Any]], items: Iterable[Any],
    show_call: ShowCall | None = None,
) -> tuple[list[tuple[Any, int]], Exception | None, str | None]:
    """`drain` over ``fn(Counted(items))``: each item the learner's generator yields with how
    many of ``items`` it had taken by then, the exception that ended it, or a failure message."""
    source = Counted(items)
    result, error = call(number, fn, source, show_call=show_call)
    if error:
        return [], None, error
    return drain(number, result, fn.__name__, lambda: source.taken)

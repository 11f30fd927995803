"""Checks for lesson 6's exercises (when not to stream; partial JSON).

Each check returns the line the notebook prints (helpers.checks says why it never raises).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from helpers.checks import call, failed, failed_with, passed, with_args

_call = partial(call, show_call=with_args)  # a crash's message shows the arguments


# --------------------------------------------------------------------------- exercise 1

# (pieces, arrivals, {row: the moment its closing "}" arrived, or None}). Section 4's rule
# (final once the next row begins) is later; braces inside strings, escaped quotes and nested
# objects are not the end of a row.
ROW_CASES: list[tuple[list[str], list[float], dict[int, float | None]]] = [
    (['[{"moons": 1', "2}, ", '{"moons"', ": 3}", "]"], [1.0, 2.0, 3.0, 4.0, 5.0],
     {1: 2.0, 2: 4.0, 3: None}),
    (['[{"name": "Earth", "moons": [{"name": "Moon"}', "]}", ", {", '"name": "Mars", "moons": []',
      "}", "]"], [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], {1: 0.2, 2: 0.5, 3: None}),
    (['[{"name": "a}b', '"}', "]"], [0.1, 0.2, 0.3], {1: 0.2}),
    (['[{"say": "x\\"}', ' y"', "}]"], [0.1, 0.2, 0.3], {1: 0.3}),
    (['[{"a": 1}, {"a": 2}]'], [0.5], {1: 0.5, 2: 0.5, 3: None}),
    (["  ", '[{"a"', ': "x"}', "]"], [0.1, 0.2, 0.3, 0.4], {1: 0.3}),
    (['[{"a": 1}, {"a"', ": 2"], [0.1, 0.2], {1: 0.1, 2: None}),  # cut short
]


def check_exercise_1(row_final_at: Callable[[list[str], list[float], int], float | None]) -> str:
    """Exercise 1: the moment a streamed JSON array's row was finished: its "}" arrived."""
    for pieces, arrivals, expected in ROW_CASES:
        for row, moment in expected.items():
            result, error = _call(1, row_final_at, list(pieces), list(arrivals), row)
            if error:
                return error
            if result == moment:
                continue
            where = f" (pieces {_shown_pieces(pieces)} at {arrivals})"
            if moment is None:
                return failed(1, f"row {row} is never finished (expected None), got {result!r}"
                                 + where)
            hint = ""
            if isinstance(result, int | float) and result > moment:
                hint = ": its closing } had arrived, nothing after it can change the row"
            elif isinstance(result, int | float):
                hint = (": its closing } had not arrived yet (a } inside a string, after an "
                        "escaped quote, or closing a nested object does not end the row)")
            return failed(1, f"row {row} is finished at {moment}, got {result!r}{hint}" + where)
    return passed(1)


# --------------------------------------------------------------------------- exercise 2

# The rows of the array under "planets", yielded as they become final, then a strict check.
# Each case: (pieces, [(row, earliest, latest)], must_raise). `earliest` is how many pieces had
# been read when the row's "}" arrived (yielding before is too early: the row could change);
# `latest` is when section 4's rule calls it final (the next row began, or the whole text parsed
# strictly); None: the text ends cut or broken, so the row may be yielded (from its "}" on) or
# left out, as long as the ValueError comes.
KEY = "planets"
StreamCase = tuple[list[str], list[tuple[dict, int, int | None]], bool]
STREAM_CASES: list[StreamCase] = [
    (['{"planets": [', '{"name": "Mercury", "moons": 0', "}", ', {"name"',
      ': "Venus", "moons": 0}', "]}"],
     [({"name": "Mercury", "moons": 0}, 3, 4), ({"name": "Venus", "moons": 0}, 5, 6)], False),
    (['{"note": "two planets", ', '"planets": [{"name": "Earth", "moons": 1',
      '}, {"name": "Mars", ', '"moons": 2}]', ', "count": 2', "}"],
     [({"name": "Earth", "moons": 1}, 3, 3), ({"name": "Mars", "moons": 2}, 4, 6)], False),
    (['{"planets": [{"name": "Jupiter", "moons": 9', '5}, {"name": "Saturn", "moons": 2',
      "74}]}"],
     [({"name": "Jupiter", "moons": 95}, 2, 2), ({"name": "Saturn", "moons": 274}, 3, 3)], False),
    (['{"planets": [{"name": "Ring}', 'world", "moons": 1', "}, ", '{"name": "Mars", "moons": 2}',
      "]}"],  # a } inside a string does not end a row (exercise 1)
     [({"name": "Ring}world", "moons": 1}, 3, 4), ({"name": "Mars", "moons": 2}, 4, 5)], False),
    (['{"planets": [{"name": "Mercury"}, ', '{"name": "Venus"', '}, {"name": "Ea'],
     [({"name": "Mercury"}, 1, 2), ({"name": "Venus"}, 3, 3)], True),  # cut short
    (['{"planets": [{"name": "Mercury"}]}', " Hope this helps!"],
     [({"name": "Mercury"}, 1, None)], True),  # valid at first, then trailing garbage
    (['{"planets": [{"name": "Mercury"}', "]"], [({"name": "Mercury"}, 1, None)], True),
    (["", "  "], [], True),  # no JSON at all
]


def _run_stream(
    rows_as_final: Callable[..., Any], pieces: list[str], got: list[tuple[Any, int]]
) -> None:
    """Feed the pieces one at a time; note each row yielded and how many pieces had been read."""
    read = [0]

    def stream() -> Any:
        for piece in pieces:
            read[0] += 1
            yield piece

    for row in rows_as_final(stream(), KEY):
        got.append((row, read[0]))


def _shown_pieces(pieces: list[str]) -> str:
    return repr(pieces) if len(repr(pieces)) < 90 else repr(pieces)[:87] + "...]"


def _stream_failure(rows_as_final: Callable[..., Any], case: StreamCase) -> str | None:
    pieces, rows, must_raise = case
    where = f" (pieces {_shown_pieces(pieces)})"
    got: list[tuple[Any, int]] = []
    raised: Exception | None = None
    try:
        _run_stream(rows_as_final, pieces, got)
    except ValueError as error:
        raised = error
    except Exception as error:
        return failed_with(2, error, "rows_as_final", f"rows_as_final(pieces, {KEY!r})")
    if raised is not None and not must_raise:
        return failed(2, f"raised ValueError ({raised}), but the text is valid JSON" + where)
    if raised is None and must_raise:
        return failed(2, "no ValueError at the end, but the whole text is not valid JSON "
                         "(cut short, broken or empty): partial mode forgives that, a strict parse "
                         "does not" + where)
    for index, (row, read) in enumerate(got):
        if index >= len(rows):
            return failed(2, f"yielded {len(got)} rows, the answer has {len(rows)}: each row "
                             "once" + where)
        _, earliest, latest = rows[index]
        if read < earliest:
            return failed(2, f"yielded {row} after {read} pieces, before its }} arrived: it "
                             "could still change (a } inside a string does not end a row)" + where)
        if row != rows[index][0]:
            return failed(2, f"row {index + 1} yielded was {row}, expected {rows[index][0]}: "
                             "each row once, whole" + where)
        if latest is not None and read > latest:
            return failed(2, f"yielded {row} after {read} pieces; it was final after {latest}: "
                             "yield each row as soon as it is final" + where)
    required = [row for row, _, latest in rows if latest is not None]
    if len(got) < len(required):
        yielded = [row for row, _ in got]
        return failed(2, f"yielded {yielded}, expected at least {required}" + where)
    return None


def check_exercise_2(rows_as_final: Callable[..., Any]) -> str:
    """Exercise 2: rows of a wrapped array yielded as they become final; ValueError at a bad end."""
    for case in STREAM_CASES:
        failure = _stream_failure(rows_as_final, case)
        if failure:
            return failure
    return passed(2)


# --------------------------------------------------------------------------- exercise 3

INNER = '[{"name": "Mercury", "moons": 0}, {"name": "Earth", "moons": 1}]'
TICKED = '["a`b", "c``"]'  # backticks inside JSON strings are data, not a fence
# A fence inside a JSON string (a model asked for code): the closing fence starts a line, and a
# JSON string holds no raw newline ("\n" in it is a backslash and an n), so this one is data.
SNIPPET = '[{"code": "```py\\nx = 1\\n```", "lines": 1}]'
FENCED = [
    ("```json\n" + INNER + "\n```", INNER),
    ("```\n" + INNER + "\n```", INNER),
    ("```JSON\n" + INNER + "\n```\n", INNER),
    ("```json\n" + TICKED + "\n```", TICKED),
    ("```json\n" + SNIPPET + "\n```", SNIPPET),
]


def _fenced_failure(strip_code_fence: Callable[[str], str], doc: str, inner: str) -> str | None:
    start = doc.index(inner)
    for cut in range(len(doc) + 1):
        prefix = doc[:cut]
        result, error = _call(3, strip_code_fence, prefix)
        if error:
            return error
        if not isinstance(result, str):
            return failed(3, f"strip_code_fence({prefix!r}) returned {result!r}, not a str")
        if not inner.startswith(result.strip()):
            return failed(
                3, f"strip_code_fence({prefix!r}) returned {result!r}: not the start of {inner!r}"
            )
        arrived = prefix[start:cut] if cut > start else ""
        complete_part = arrived.rstrip("`").strip()
        if start < cut <= start + len(inner) and len(result.strip()) < len(complete_part):
            why = f"strip_code_fence({prefix!r}) returned {result!r}; {complete_part!r} arrived"
            if "`" in complete_part[len(result.strip()):]:
                why += " (backticks inside a JSON string are data: the closing fence starts a line)"
            return failed(3, why)
    whole = strip_code_fence(doc).strip()
    if whole != inner:
        return failed(3, f"strip_code_fence({doc!r}) returned {whole!r}, expected {inner!r}")
    return None


def check_exercise_3(strip_code_fence: Callable[[str], str]) -> str:
    """Exercise 3: strip a Markdown fence from every prefix of an answer, keep plain JSON as is."""
    for doc, inner in FENCED:
        failure = _fenced_failure(strip_code_fence, doc, inner)
        if failure:
            return failure
    for cut in range(len(INNER) + 1):
        result, error = _call(3, strip_code_fence, INNER[:cut])
        if error:
            return error
        if result != INNER[:cut]:
            why = f"unfenced text must come back unchanged: {INNER[:cut]!r} -> {result!r}"
            return failed(3, why)
    return passed(3)

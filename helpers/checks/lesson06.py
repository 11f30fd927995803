"""Checks for lesson 6's exercises (when not to stream; partial JSON).

Each check returns the line the notebook prints (helpers.checks says why it never raises).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from html.parser import HTMLParser

from helpers.checks import call, failed, passed, with_args

_call = partial(call, show_call=with_args)  # a crash's message shows the arguments


# --------------------------------------------------------------------------- exercise 1

# (pieces, arrivals, {row: expected moment}); a row is final once the next one has begun
# or the whole text parses strictly.
ROW_CASES: list[tuple[list[str], list[float], dict[int, float | None]]] = [
    (
        ["[", '{"a": 1', "}", ", {", '"a": 12}', "]"],
        [0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
        {1: 0.4, 2: 0.6, 3: None},
    ),
    (['[{"a": 1}, {"a": 2}]'], [0.5], {1: 0.5, 2: 0.5, 3: None}),
    (["  ", '[{"a"', ': "x"}', "]"], [0.1, 0.2, 0.3, 0.4], {1: 0.4}),
    (['[{"moons": 1', "2}, ", '{"moons"', ": 3}"], [1.0, 2.0, 3.0, 4.0], {1: 3.0, 2: None}),
]


def check_exercise_1(row_final_at: Callable[[list[str], list[float], int], float | None]) -> str:
    """Exercise 1: the moment a streamed JSON array's row became final."""
    for pieces, arrivals, expected in ROW_CASES:
        for row, moment in expected.items():
            result, error = _call(1, row_final_at, pieces, arrivals, row)
            if error:
                return error
            if result != moment:
                why = f"for pieces {pieces} arriving at {arrivals}, row {row} "
                if moment is None:
                    return failed(1, why + f"is never final (expected None), got {result!r}")
                return failed(1, why + f"is final at {moment}, got {result!r}")
    return passed(1)


# --------------------------------------------------------------------------- exercise 2

# (tokens, tokens_per_second, threshold or None for the default, expected)
# Hostile and awkward values a model can put in a row: each must show as text, never as markup.
HOSTILE_ROW = {
    "name": '<img src=x onerror="alert(1)">',
    "order_from_sun": 3,
    "moons": "Tom & Jerry's \"moons\" < 2",
}
ROW_COLUMNS = ["name", "order_from_sun", "moons", "rings"]  # "rings" is missing from the row


class _Cells(HTMLParser):
    """The tags and each <td>'s text, as a browser would read the HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.cells: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "td":
            self.cells.append("")

    def handle_data(self, data: str) -> None:
        if self.cells:
            self.cells[-1] += data


def _shown(value: object) -> str:
    return "" if value is None else str(value)


def check_exercise_2(row_html: Callable[[dict, list[str]], str]) -> str:
    """Exercise 2: one table row whose cells show model output as text, never as markup."""
    for row in ({"name": "Earth", "order_from_sun": 3, "moons": 1}, HOSTILE_ROW):
        result, error = _call(2, row_html, row, ROW_COLUMNS)
        if error:
            return error
        if not isinstance(result, str):
            return failed(2, f"row_html returned {result!r}, not a str of HTML")
        parsed = _Cells()
        parsed.feed(result)
        expected = [_shown(row.get(column)) for column in ROW_COLUMNS]
        extra = [tag for tag in parsed.tags if tag not in ("tr", "td")]
        if extra:
            return failed(2, f"the browser sees a <{extra[0]}> tag in {result!r}: model output "
                             "became markup (escape every value)")
        if parsed.cells != expected:
            hint = ""
            if any("&amp;" in cell or "&lt;" in cell for cell in parsed.cells):
                hint = "escaped twice, so the reader sees &amp; or &lt;: "
            elif len(parsed.cells) != len(expected):
                hint = f"{len(parsed.cells)} cells for {len(expected)} columns: "
            return failed(2, f"{hint}the cells read {parsed.cells!r}, expected {expected!r}")
    return passed(2)


# --------------------------------------------------------------------------- exercise 3

INNER = '[{"name": "Mercury", "moons": 0}, {"name": "Earth", "moons": 1}]'
TICKED = '["a`b", "c``"]'  # backticks inside JSON strings are data, not a fence
FENCED = [
    ("```json\n" + INNER + "\n```", INNER),
    ("```\n" + INNER + "\n```", INNER),
    ("```JSON\n" + INNER + "\n```\n", INNER),
    ("```json\n" + TICKED + "\n```", TICKED),
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

"""Lesson 6's checks pass the reference solutions and fail the stubs and plausible mistakes."""

from __future__ import annotations

import jiter
import pytest
from check_helpers import assert_fails, assert_passes, assert_stub_fails, solution_fixture

from helpers.checks import lesson06

solution = solution_fixture("lesson06")


@pytest.mark.parametrize("number", [1, 2, 3])
def test_stubs_fail(number: int) -> None:
    assert_stub_fails(lesson06, number)


# --------------------------------------------------------------------------- exercise 1


def test_exercise_1_passes_reference(solution):
    assert_passes(lesson06.check_exercise_1(solution.row_final_at), 1)


def when_counted(rows_closed):
    """An exercise 1 answer built on a count of the rows a prefix has closed: the arrival of
    the first piece after which the count reaches `row`. The tests vary only the count."""

    def row_final_at(pieces, arrivals, row):
        text = ""
        for piece, moment in zip(pieces, arrivals, strict=True):
            text += piece
            if rows_closed(text) >= row:
                return moment
        return None

    return row_final_at


def test_exercise_1_passes_closing_the_array_by_hand():
    """Another right answer: end the prefix with "]" and parse it strictly."""

    def closed_rows(text):
        body = text.rstrip()
        body = body[:-1] if body.endswith(",") else body
        for candidate in (body + "]", body):
            try:
                return len(jiter.from_json(candidate.encode()))
            except ValueError:
                pass
        return 0 if not text.strip() else max(0, len(rows_partial(text)) - 1)

    assert_passes(lesson06.check_exercise_1(when_counted(closed_rows)), 1)


def rows_partial(text):
    return jiter.from_json(text.encode(), partial_mode="trailing-strings")


def test_exercise_1_fails_section_4s_rule_as_too_late(solution):
    """The old check wanted this (3.0 for the row whose "}" came at 2.0): now it is late."""

    def next_row_begun(text):
        final, _ = solution.rows_so_far(text)
        return len(final)

    assert_fails(lesson06.check_exercise_1(when_counted(next_row_begun)), 1,
                 "row 1 is finished at 2.0", "got 3.0", "closing }")


def test_exercise_1_fails_counting_braces_blindly():
    def count_braces(text):
        return text.count("}")

    assert_fails(lesson06.check_exercise_1(when_counted(count_braces)), 1,
                 "row 1 is finished at 0.2", "got 0.1", "nested")


def test_exercise_1_fails_a_scanner_that_ignores_escapes():
    def no_escapes(text):
        depth, closed, in_string = 0, 0, False
        for char in text:
            if char == '"':
                in_string = not in_string
            elif not in_string and char in "[{":
                depth += 1
            elif not in_string and char in "]}":
                depth -= 1
                closed += char == "}" and depth == 1
        return closed

    assert_fails(lesson06.check_exercise_1(when_counted(no_escapes)), 1, "'[{\"say\": ",
                 "escaped quote")


def test_exercise_1_fails_trusting_the_partial_parse():
    """The classic mistake: trusting the partial parse's last row."""

    def as_soon_as_seen(text):
        return len(jiter.from_json(text.encode(), partial_mode=True)) if text.strip() else 0

    assert_fails(lesson06.check_exercise_1(when_counted(as_soon_as_seen)), 1,
                 "row 1 is finished at 2.0", "got 1.0")


# --------------------------------------------------------------------------- exercise 2


def stream_rows(pieces, key, *, final_at_end=True, strict=True, last_early=False):
    """The shapes of answer the tests below vary: rows[:-1] while arriving, the rest at the end."""
    text, sent = "", 0
    for piece in pieces:
        text += piece
        if not text.strip():
            continue
        value = jiter.from_json(text.encode(), partial_mode="trailing-strings")
        rows = value.get(key, []) if isinstance(value, dict) else []
        upto = len(rows) if last_early else len(rows) - 1
        for row in rows[sent:upto]:
            yield row
            sent += 1
    if not final_at_end:
        return
    if strict:
        rows = jiter.from_json(text.encode())[key]
    else:
        rows = jiter.from_json(text.encode(), partial_mode="trailing-strings").get(key, [])
    yield from rows[sent:]


def test_exercise_2_passes_reference(solution):
    assert_passes(lesson06.check_exercise_2(solution.rows_as_final), 2)


def test_exercise_2_passes_a_closing_brace_answer_that_checks_strictly_each_time(solution):
    """Another right answer: rows yielded at their "}" (exercise 1's scanner), and a strict
    parse tried after every piece, so garbage after a valid document fails at once."""

    def rows_as_final(pieces, key):
        text, sent, valid_once = "", 0, False
        for piece in pieces:
            text += piece
            try:
                jiter.from_json(text.encode())
                valid_once = True
            except ValueError:
                if valid_once:
                    raise
            start = text.find("[", text.find(f'"{key}"'))
            if text.find(f'"{key}"') < 0 or start < 0:
                continue
            closed = solution.rows_closed(text[start:])
            if closed > sent:
                rows = jiter.from_json(text[start:].encode(), partial_mode="trailing-strings")
                yield from rows[sent:closed]
                sent = closed
        jiter.from_json(text.encode())

    assert_passes(lesson06.check_exercise_2(rows_as_final), 2)


def test_exercise_2_fails_reusing_rows_so_far_on_an_object(solution):
    def reuse(pieces, key):  # section 4's function expects an array at the root
        text, sent = "", 0
        for piece in pieces:
            text += piece
            final, _ = solution.rows_so_far(text)
            yield from final[sent:]
            sent = len(final)

    assert_fails(lesson06.check_exercise_2(reuse), 2, "raised TypeError", "expected a JSON array")


def test_exercise_2_fails_counting_braces_inside_strings():
    """Exercise 1's idea without its care: every } one level inside the array ends a row."""

    def naive_braces(pieces, key):
        text, sent = "", 0
        for piece in pieces:
            text += piece
            start = text.find("[")
            if start < 0:
                continue
            depth = closed = 0
            for char in text[start:]:
                if char in "[{":
                    depth += 1
                elif char in "]}":
                    depth -= 1
                    closed += char == "}" and depth == 1
            if closed > sent:
                rows = jiter.from_json(text[start:].encode(), partial_mode="trailing-strings")
                yield from rows[sent:closed]
                sent = closed
        yield from jiter.from_json(text.encode())[key][sent:]

    assert_fails(lesson06.check_exercise_2(naive_braces), 2, "Ring}", "before its } arrived")


def test_exercise_2_fails_without_the_strict_check():
    def forgiving(pieces, key):
        return stream_rows(pieces, key, strict=False)

    assert_fails(lesson06.check_exercise_2(forgiving), 2, "no ValueError at the end", "cut short")


def test_exercise_2_fails_collecting_everything_first():
    def at_the_end(pieces, key):
        text = "".join(pieces)
        return iter(jiter.from_json(text.encode())[key])

    assert_fails(lesson06.check_exercise_2(at_the_end), 2, "it was final after 4",
                 "as soon as it is final")


def test_exercise_2_fails_yielding_the_row_still_being_written():
    def too_early(pieces, key):
        return stream_rows(pieces, key, last_early=True)

    assert_fails(lesson06.check_exercise_2(too_early), 2, "after 2 pieces, before its } arrived")


def test_exercise_2_fails_a_row_yielded_twice():
    def twice(pieces, key):  # yields every final row again at each piece, as a redraw would
        text = ""
        for piece in pieces:
            text += piece
            if text.strip():
                value = jiter.from_json(text.encode(), partial_mode="trailing-strings")
                yield from value.get(key, [])[:-1]
        yield from jiter.from_json(text.encode())[key]

    assert_fails(lesson06.check_exercise_2(twice), 2, "row 2 yielded was {'name': 'Mercury'",
                 "each row once")


def test_exercise_2_fails_forgetting_the_last_row():
    def no_last_row(pieces, key):
        return stream_rows(pieces, key, final_at_end=False)

    assert_fails(lesson06.check_exercise_2(no_last_row), 2, "Venus")


# --------------------------------------------------------------------------- exercise 3


def test_exercise_3_passes_reference(solution):
    assert_passes(lesson06.check_exercise_3(solution.strip_code_fence), 3)


def test_exercise_3_reference_output_parses_on_every_prefix(solution):
    """What the check demands is what makes jiter usable: every stripped prefix parses."""
    doc, inner = lesson06.FENCED[0]
    for cut in range(len(doc) + 1):
        stripped = solution.strip_code_fence(doc[:cut])
        if stripped.strip():
            jiter.from_json(stripped.encode(), partial_mode=True)
    assert jiter.from_json(solution.strip_code_fence(doc).encode()) == jiter.from_json(
        inner.encode()
    )


def test_exercise_3_accepts_a_line_based_answer():
    """Another right answer: split off the first line, hold back what may be the closing fence."""

    def by_lines(text):
        body = text.lstrip()
        if not body.startswith("`"):
            return text
        if not body.startswith("```") or "\n" not in body:
            return ""  # "`", "``" or the opening line still arriving: nothing to show yet
        inside = body.split("\n", 1)[1]
        closing = inside.rfind("\n`")
        if closing >= 0:
            inside = inside[:closing]
        return inside.rstrip("`")

    assert_passes(lesson06.check_exercise_3(by_lines), 3)


def test_exercise_3_fails_the_naive_prefix_and_suffix_removal():
    def naive(text):
        return text.removeprefix("```json\n").removesuffix("```")

    message = lesson06.check_exercise_3(naive)
    assert_fails(message, 3)
    assert "'`'" in message  # the very first prefix that still looks like a fence


def test_exercise_3_fails_cutting_at_any_three_backticks():
    """A fence inside a JSON string is data: only a line that starts with ``` closes the fence."""

    def split_at_ticks(text):
        body = text.lstrip()
        if not body.startswith("`"):
            return text
        if not body.startswith("```") or "\n" not in body:
            return ""
        return body.split("\n", 1)[1].split("```")[0].rstrip("`")

    assert_fails(lesson06.check_exercise_3(split_at_ticks), 3, '"```p', "starts a line")


def test_exercise_3_fails_identity():
    assert_fails(lesson06.check_exercise_3(lambda text: text), 3)


def test_exercise_3_fails_a_solution_that_waits_for_the_end(solution):
    """Returning nothing until the answer is complete is not streaming."""

    def waits(text):
        return solution.strip_code_fence(text) if text.rstrip().endswith("```") else ""

    message = lesson06.check_exercise_3(waits)
    assert_fails(message, 3)
    assert "arrived" in message

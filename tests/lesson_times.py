"""How long each lesson takes, estimated from what is in it, not guessed.

The rule (README, "How long each lesson takes"):

- reading and running = prose words / 140 per minute (careful reading of technical text)
  + non-blank code lines / 10 per minute (reading a line, running the cell, looking at its output)
  + the seconds the cells took in the committed run (nbclient records them in each cell's metadata);
- exercises = 10 minutes per exercise (reading the task, writing a few lines, running the check);
- each part rounded to the nearest 5 minutes (at least 5).

`python tests/lesson_times.py` prints the table; `--write` puts the figures into each lesson's
first cell ("*About T minutes: R to read and run, E for the exercises.") and the README's table;
tests/test_lesson_times.py fails when a header drifts from the rule by more than its tolerance.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
WORDS_PER_MINUTE = 140
CODE_LINES_PER_MINUTE = 10
MINUTES_PER_EXERCISE = 10

# The order a learner takes the lessons in (README, "Lessons"; lesson 00's map). File numbers
# stay as they were so links, checks and solutions keep their names; 10 needs only 02-03, 12
# builds on 06 and 10, 11 on 01, 02 and 08, and 13 on all of them.
COURSE_PATH = ["00", "01", "02", "03", "10", "04", "05", "06", "12", "07", "08", "09", "11", "13"]

HEADER = re.compile(
    r"\*About (?P<total>\d+) minutes: (?P<read>\d+) to read and run, "
    r"(?P<exercises>\d+) for the exercises\."
)
EXERCISE = re.compile(r"Exercise\s+(\d+)")
WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Estimate:
    lesson: str
    words: int
    code_lines: int
    run_seconds: float
    exercises: int

    @property
    def read_minutes(self) -> int:
        minutes = (
            self.words / WORDS_PER_MINUTE
            + self.code_lines / CODE_LINES_PER_MINUTE
            + self.run_seconds / 60
        )
        return round_to_five(minutes)

    @property
    def exercise_minutes(self) -> int:
        return round_to_five(self.exercises * MINUTES_PER_EXERCISE)

    @property
    def total_minutes(self) -> int:
        return self.read_minutes + self.exercise_minutes


def round_to_five(minutes: float) -> int:
    return max(5, 5 * round(minutes / 5))


def _cell_seconds(cell: dict) -> float:
    timing = cell.get("metadata", {}).get("execution", {})
    start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not (start and end):
        return 0.0
    parse = lambda stamp: datetime.fromisoformat(stamp.replace("Z", "+00:00"))  # noqa: E731
    return max(0.0, (parse(end) - parse(start)).total_seconds())


def estimate(path: Path) -> Estimate:
    """Count what a learner reads, runs and solves in one lesson."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    prose = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    code_cells = [c for c in cells if c["cell_type"] == "code"]
    return Estimate(
        lesson=path.name[:2],
        words=len(WORD.findall(prose)),
        code_lines=sum(
            1 for c in code_cells for line in "".join(c["source"]).splitlines() if line.strip()
        ),
        run_seconds=sum(_cell_seconds(c) for c in code_cells),
        exercises=len(set(EXERCISE.findall(prose))),
    )


def stated(path: Path) -> tuple[int, int, int] | None:
    """(total, read, exercises) as the lesson's first cell states them, or None."""
    first = "".join(json.loads(path.read_text(encoding="utf-8"))["cells"][0]["source"])
    match = HEADER.search(first)
    if match is None:
        return None
    return int(match["total"]), int(match["read"]), int(match["exercises"])


def write_header(path: Path, est: Estimate) -> bool:
    """Put the estimate into the lesson's first cell; True when it changed."""
    import nbformat  # written back the way Jupyter writes it, so the diff is the header only

    nb = nbformat.read(path, as_version=4)
    source = nb.cells[0].source
    new = HEADER.sub(
        f"*About {est.total_minutes} minutes: {est.read_minutes} to read and run, "
        f"{est.exercise_minutes} for the exercises.",
        source,
        count=1,
    )
    if new == source:
        return False
    nb.cells[0].source = new
    nbformat.write(nb, path)
    return True


def write_tables(totals: dict[str, int]) -> None:
    """Lesson 0's map and the README's time table: the stated totals, in path order."""
    import nbformat

    zero = NOTEBOOKS[0]
    nb = nbformat.read(zero, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = re.sub(
                r"^(\| (\d\d) \| \[[^\]]+\]\([^)]+\) \| )\d+( min \|)",
                lambda m: f"{m[1]}{totals.get(m[2], 0)}{m[3]}",
                cell.source,
                flags=re.M,
            )
    nbformat.write(nb, zero)
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    table = (
        "| Lesson | " + " | ".join(COURSE_PATH) + " |\n"
        "|--------|" + "|".join("----" for _ in COURSE_PATH) + "|\n"
        "| Minutes | " + " | ".join(str(totals.get(n, 0)) for n in COURSE_PATH) + " |"
    )
    text = re.sub(r"\| Lesson \|[^\n]*\n\|[-| ]+\n\| Minutes \|[^\n]*", table, text, count=1)
    readme.write_text(text, encoding="utf-8")


def main(argv: list[str]) -> int:
    estimates = [estimate(p) for p in NOTEBOOKS]
    print("lesson  words  code  run s  ex  read  ex min  total  stated")
    for path, est in zip(NOTEBOOKS, estimates, strict=True):
        print(
            f"{est.lesson:6} {est.words:6} {est.code_lines:5} {est.run_seconds:6.0f} "
            f"{est.exercises:3} "
            f"{est.read_minutes:5} {est.exercise_minutes:6} {est.total_minutes:6}  {stated(path)}"
        )
    total = sum(e.total_minutes for e in estimates)
    print(f"all lessons: {total} minutes (about {total / 60:.1f} hours)")
    if "--write" in argv:
        for path, est in zip(NOTEBOOKS, estimates, strict=True):
            if write_header(path, est):
                print(f"updated {path.name}")
        write_tables({p.name[:2]: (stated(p) or (0,))[0] for p in NOTEBOOKS})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

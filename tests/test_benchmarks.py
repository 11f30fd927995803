"""The benchmarks stay runnable, and the pure parts that word their verdicts are right.

Benchmarks print figures and are never timed here (speed goals live in them, not in tests); what
is tested is that each script still starts, that the smallest SSE-decoder run still finds all
decoders agreeing, and that a verdict says "met" only when every round met the goal.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

from bench_server import percentiles, verdict  # noqa: E402


def run(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args],
        capture_output=True, text=True, timeout=120, cwd=BENCHMARKS.parent,
    )  # fmt: skip


@pytest.mark.parametrize("script", sorted(p.name for p in BENCHMARKS.glob("bench_*.py")))
def test_every_benchmark_starts_and_explains_itself(script: str) -> None:
    done = run(script, "--help")
    assert done.returncode == 0, done.stderr[-2000:]
    first_line = (BENCHMARKS / script).read_text().split('"""')[1].splitlines()[0]
    assert first_line.split("?")[0][:40] in " ".join(done.stdout.split()), done.stdout


def test_the_smallest_decoder_run_still_compares_like_with_like() -> None:
    done = run("bench_sse.py", "--events", "500", "--runs", "1")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "decoders gave the same 500 events" in done.stdout, done.stdout


@pytest.mark.parametrize(
    ("rounds", "said"),
    [
        ([1.0, 2.0, -3.0], "met in every round (+1.0, +2.0, -3.0 ms)"),
        ([2.1, 5.0, 30.0], "NOT met in any round (+2.1, +5.0, +30.0 ms)"),
        ([1.0, 2.5, 0.5], "not established: the rounds disagree (+1.0, +2.5, +0.5 ms)"),
    ],
)
def test_a_goal_is_met_only_when_every_round_meets_it(rounds: list[float], said: str) -> None:
    assert verdict(rounds, 2.0) == said


def test_percentiles_are_in_ms_and_the_p99_is_a_measured_value() -> None:
    seconds = [i / 1000 for i in range(1, 201)]  # 1..200 ms
    p50, p99, top = percentiles(seconds)
    assert (p50, top) == (pytest.approx(100.5), pytest.approx(200.0))
    assert p99 == pytest.approx(199.0)  # the 199th of 200, not an interpolation


def test_the_markdown_benchmark_runs_small_and_prints_its_three_tables() -> None:
    """Naive vs incremental CPU, widget bytes, and (when Chromium is here) token -> DOM."""
    from helpers.browser import browser_missing

    browser = [] if browser_missing() is None else ["--no-browser"]
    done = run("bench_markdown.py", "--tokens", "300", "--rate", "500", *browser)
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    for line in ["naive: render_markdown(whole)", "incremental: feed(new text)",
                 "plain text (today)", "Markdown, incremental", "Markdown, whole text each redraw",
                 "goal: incremental end/start <= 2x: "]:  # fmt: skip
        assert line in out, out
    if not browser:
        assert "StreamingMarkdown.append" in out and "goal: Markdown p50 <= plain p50" in out, out


def test_the_markdown_answer_has_about_the_tokens_asked_for_and_every_part() -> None:
    from bench_markdown import answer, tokenize

    text = answer(10_000)
    assert 9_000 <= len(tokenize(text)) <= 11_000
    assert text.startswith("# ")
    assert all(part in text for part in ["\n## ", "\n- ", "\n1. ", "```python", "|--:|"])

"""helpers.charts: assert on the figures' artists, labels and data (Agg backend, no pixels)."""

import matplotlib

matplotlib.use("Agg")

import io

import numpy as np
import pytest
from matplotlib.figure import Figure

from helpers.charts import (
    MEDIAN_WIDTH,
    arrival_timeline,
    colour_for,
    gap_profile,
    latency_by_length,
    latency_distribution,
    perceived_vs_actual,
)
from helpers.timing import StreamTiming


def streamed(ttft: float, gap: float, pieces: list[str], label: str = "streamed") -> StreamTiming:
    timing = StreamTiming(label=label, started=0.0)
    for i, piece in enumerate(pieces):
        timing.record(piece, now=ttft + i * gap)
    timing.finish(completed=True, now=ttft + (len(pieces) - 1) * gap + 0.01)
    return timing


def blocking(total: float, text: str) -> StreamTiming:
    timing = StreamTiming(label="blocking", started=0.0)
    timing.record(text, now=total)
    timing.finish(completed=True, now=total)
    return timing


def renders(fig: Figure) -> bool:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue().startswith(b"\x89PNG")


def test_perceived_vs_actual_bar_lengths_are_ttft_and_total():
    fast = streamed(0.2, 0.05, ["a", "b", "c"])
    slow = blocking(0.35, "abc")
    fig = perceived_vs_actual([slow, fast])
    (ax,) = fig.axes
    widths = sorted(round(patch.get_width(), 3) for patch in ax.patches)
    assert widths == sorted([0.35, 0.35, 0.2, 0.31])
    assert [tick.get_text() for tick in ax.get_yticklabels()] == ["streamed", "blocking"]
    assert ax.get_title() == "Perceived vs actual latency"
    assert "seconds" in ax.get_xlabel()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "first text visible",
        "answer complete",
    ]
    assert {text.get_text() for text in ax.texts} >= {" 0.20 s", " 0.35 s", " 0.31 s"}
    assert renders(fig)


def test_same_label_same_colour_across_charts():
    fig = perceived_vs_actual([blocking(0.3, "x")])
    first_bar = fig.axes[0].patches[0]
    assert matplotlib.colors.to_hex(first_bar.get_facecolor()) == colour_for("blocking")
    assert colour_for("blocking") != colour_for("streamed")
    assert colour_for("reasoning model, streamed") == colour_for("streamed")


def test_arrival_timeline_is_cumulative_characters():
    fast = streamed(0.1, 0.1, ["He", "llo"])
    slow = blocking(0.4, "Hello")
    fig = arrival_timeline([slow, fast])
    ax = fig.axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"blocking", "streamed"}
    xs, ys = lines["streamed"].get_data()
    assert list(np.round(xs, 3)) == [0.0, 0.1, 0.2, 0.21]
    assert list(ys) == [0, 2, 5, 5]
    xs, ys = lines["blocking"].get_data()
    assert list(ys) == [0, 5, 5]  # a cliff at the end: nothing, then everything
    assert ax.get_ylabel() == "characters visible"
    assert renders(fig)


def test_latency_distribution_boxes_hold_each_metric():
    runs = {
        "blocking": [blocking(0.3 + i / 100, "abc") for i in range(5)],
        "streamed": [streamed(0.1 + i / 100, 0.1, ["a", "b", "c"]) for i in range(5)],
    }
    fig = latency_distribution(runs)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "blocking\nfirst text",
        "blocking\ncomplete",
        "streamed\nfirst text",
        "streamed\ncomplete",
    ]
    medians = [line.get_xdata()[0] for line in ax.lines if line.get_linewidth() == MEDIAN_WIDTH]
    assert medians == pytest.approx([0.32, 0.32, 0.12, 0.33])
    assert ax.get_title() == "Latency over 5 runs"
    assert renders(fig)


def test_latency_by_length_plots_medians_and_skips_duplicate_blocking_line():
    runs_by_length = {
        n: {
            "blocking": [blocking(0.1 + n * 0.01, "x" * n)],
            "streamed": [streamed(0.1, 0.01, ["x"] * n)],
        }
        for n in (10, 40)
    }
    fig = latency_by_length(runs_by_length)
    ax = fig.axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {
        "blocking: first text = complete",
        "streamed: complete",
        "streamed: first text",
    }
    assert list(lines["streamed: first text"].get_ydata()) == pytest.approx([0.1, 0.1])
    assert list(lines["blocking: first text = complete"].get_ydata()) == pytest.approx([0.2, 0.5])
    assert list(lines["blocking: first text = complete"].get_xdata()) == [10, 40]
    assert ax.get_xlabel() == "answer length (tokens)"
    assert renders(fig)


def test_draws_into_a_given_axes():
    fig = Figure()
    left, right = fig.subplots(1, 2)
    returned = arrival_timeline([blocking(0.2, "ab")], ax=right)
    assert returned is fig
    assert not left.get_lines() and right.get_lines()


def test_unfinished_timing_gives_a_clear_error():
    running = StreamTiming(label="still running", started=0.0)
    running.record("a", now=0.1)
    with pytest.raises(ValueError, match="'still running' has no end time"):
        perceived_vs_actual([running])
    with pytest.raises(ValueError, match="has no text"):
        arrival_timeline([StreamTiming(label="empty")])


def test_gap_profile_plots_each_gap_at_the_later_arrival_in_ms():
    steady = streamed(0.2, 0.01, list("abcd"))
    stalled = StreamTiming(label="streamed, one stall", started=0.0)
    for piece, moment in zip("abcd", [0.2, 0.21, 0.71, 0.72], strict=True):
        stalled.record(piece, now=moment)
    stalled.finish(completed=True, now=0.72)
    fig = gap_profile([steady, stalled])
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    first, second = ax.lines
    np.testing.assert_allclose(first.get_xdata(), [0.21, 0.22, 0.23])
    np.testing.assert_allclose(first.get_ydata(), [10, 10, 10])
    np.testing.assert_allclose(second.get_ydata(), [10, 500, 10])
    assert first.get_color() == colour_for("streamed")
    assert renders(fig)


def test_gap_profile_needs_two_pieces():
    with pytest.raises(ValueError, match="fewer than two pieces"):
        gap_profile([blocking(1.0, "all at once")])

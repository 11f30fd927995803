"""Charts that show what streaming changes (the wait you feel) and what it does not (the total).

Every function takes ``StreamTiming`` objects from ``helpers.timing`` and returns a matplotlib
``Figure``. Why ``Figure`` and not ``pyplot``: a Figure built directly is not kept in pyplot's
global list, so a notebook shows it exactly once (when the cell returns it), tests can inspect it
without a display, and nothing leaks between cells. Pass ``ax=`` to draw into your own layout.

Defaults are for a projector: big fonts, units on every axis, the same colour for the same
label in every chart (blocking = orange, streamed = blue).
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from helpers.timing import StreamTiming

FONT_SIZE = 13
FIGURE_SIZE = (8.0, 4.5)
MEDIAN_WIDTH = 3.0
COLOURS = {"blocking": "#d95f02", "streamed": "#1f78b4"}
OTHER_COLOURS = ["#1b9e77", "#7570b3", "#e7298a", "#66a61e", "#e6ab02"]


def colour_for(label: str, index: int = 0) -> str:
    """A stable colour per label, so 'blocking' looks the same in every chart of a lesson."""
    for known, colour in COLOURS.items():
        if known in label.lower():
            return colour
    return OTHER_COLOURS[index % len(OTHER_COLOURS)]


def _axes(ax: Axes | None) -> Axes:
    """Use the caller's axes, or make a fresh projector-sized figure with one axes."""
    if ax is not None:
        return ax
    return Figure(figsize=FIGURE_SIZE, layout="constrained").add_subplot()


def _style(ax: Axes, title: str, xlabel: str, ylabel: str) -> None:
    ax.set_title(title, fontsize=FONT_SIZE + 2)
    ax.set_xlabel(xlabel, fontsize=FONT_SIZE)
    ax.set_ylabel(ylabel, fontsize=FONT_SIZE)
    ax.tick_params(labelsize=FONT_SIZE - 1)
    ax.grid(alpha=0.3)


def _require_text(timing: StreamTiming) -> tuple[float, float]:
    """(ttft, total) of a finished timing, or a clear error naming which one is unusable."""
    if timing.ttft is None or timing.total is None:
        raise ValueError(
            f"timing {timing.label!r} has no {'text' if timing.ttft is None else 'end time'} "
            "yet: run the stream to the end before charting it"
        )
    return timing.ttft, timing.total


# --- 1. perceived vs actual -------------------------------------------------------------------


def perceived_vs_actual(timings: Sequence[StreamTiming], ax: Axes | None = None) -> Figure:
    """Two bars per answer: when the first text became visible, and when the answer was complete.

    For a blocking call both bars are equally long (nothing, then everything); for a stream the
    first bar is short. That gap between the bars is the whole point of streaming.
    """
    ax = _axes(ax)
    rows = list(reversed(timings))  # first timing on top
    for row, timing in enumerate(rows):
        ttft, total = _require_text(timing)
        colour = colour_for(timing.label, row)
        ax.barh(row + 0.2, ttft, height=0.38, color=colour, label="first text visible")
        ax.barh(row - 0.2, total, height=0.38, color=colour, alpha=0.45, label="answer complete")
        ax.text(ttft, row + 0.2, f" {ttft:.2f} s", va="center", fontsize=FONT_SIZE - 2)
        ax.text(total, row - 0.2, f" {total:.2f} s", va="center", fontsize=FONT_SIZE - 2)
    ax.set_yticks(range(len(rows)), [t.label for t in rows])
    ax.set_xlim(0, max(_require_text(t)[1] for t in timings) * 1.2)
    _style(ax, "Perceived vs actual latency", "seconds after the request", "")
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles[:2], labels[:2], fontsize=FONT_SIZE - 2, ncols=2, frameon=False,
              loc="upper center", bbox_to_anchor=(0.5, -0.15))  # below: never hides a bar
    return ax.figure


# --- 2. what the user sees over time ----------------------------------------------------------


def arrival_timeline(timings: Sequence[StreamTiming], ax: Axes | None = None) -> Figure:
    """Characters visible to the user over time, one step line per answer.

    A blocking answer is a single cliff at the end; a stream is a staircase that starts early.
    Both reach the same height: streaming changes *when* text appears, not how much there is.
    """
    ax = _axes(ax)
    for index, timing in enumerate(timings):
        _, total = _require_text(timing)
        times, visible = [0.0], [0]
        for piece, moment in zip(timing.pieces, timing.arrivals, strict=True):
            times.append(moment)
            visible.append(visible[-1] + len(piece))
        times.append(total)
        visible.append(visible[-1])
        ax.step(times, visible, where="post", linewidth=2.5, label=timing.label,
                color=colour_for(timing.label, index))
    _style(ax, "What the user sees over time", "seconds after the request", "characters visible")
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=FONT_SIZE - 2, loc="upper left")
    return ax.figure


def gap_profile(timings: Sequence[StreamTiming], ax: Axes | None = None) -> Figure:
    """Each gap between two text pieces, at the moment the later piece arrived (log scale).

    The typing rhythm as the reader lives it: a steady stream is a flat band of short gaps; a
    stall is one point far above the band, and the text stood still for that long.
    """
    ax = _axes(ax)
    for index, timing in enumerate(timings):
        _require_text(timing)
        if len(timing.arrivals) < 2:
            raise ValueError(f"timing {timing.label!r} has fewer than two pieces: no gaps to draw")
        gaps_ms = [gap * 1000 for gap in timing.gaps]
        ax.plot(timing.arrivals[1:], gaps_ms, "o", markersize=5, alpha=0.8, label=timing.label,
                color=colour_for(timing.label, index))
    ax.set_yscale("log")
    _style(ax, "Gaps between text pieces", "seconds after the request",
           "gap before this piece (ms, log scale)")
    ax.set_xlim(left=0)
    ax.legend(fontsize=FONT_SIZE - 2, loc="upper left")
    return ax.figure


# --- 3. many runs -----------------------------------------------------------------------------


def latency_distribution(
    runs: Mapping[str, Sequence[StreamTiming]], ax: Axes | None = None
) -> Figure:
    """Box plots of time-to-first-text and total time over many runs, for each label.

    One run can be lucky; a distribution shows whether the difference holds every time.
    """
    ax = _axes(ax)
    positions, data, names, colours = [], [], [], []
    for index, (label, timings) in enumerate(runs.items()):
        pairs = [_require_text(t) for t in timings]
        for offset, (metric, values) in enumerate(
            [("first text", [p[0] for p in pairs]), ("complete", [p[1] for p in pairs])]
        ):
            positions.append(index * 3 + offset)
            data.append(values)
            names.append(f"{label}\n{metric}")
            colours.append(colour_for(label, index))
    boxes = ax.boxplot(data, positions=positions, orientation="horizontal", widths=0.7,
                       patch_artist=True, medianprops={"color": "black", "linewidth": MEDIAN_WIDTH})
    for box, colour in zip(boxes["boxes"], colours, strict=True):
        box.set_facecolor(colour)
        box.set_alpha(0.6)
    ax.set_yticks(positions, names)
    ax.invert_yaxis()
    ax.set_xlim(left=0)
    count = max((len(t) for t in runs.values()), default=0)
    _style(ax, f"Latency over {count} runs", "seconds after the request", "")
    return ax.figure


def latency_by_length(
    runs_by_length: Mapping[int, Mapping[str, Sequence[StreamTiming]]], ax: Axes | None = None
) -> Figure:
    """Median time-to-first-text and total time against answer length (in tokens).

    The total grows with the answer for both; a stream's first text does not. That is why
    streaming matters more the longer the answer.
    """
    ax = _axes(ax)
    lengths = sorted(runs_by_length)
    labels = list(dict.fromkeys(label for runs in runs_by_length.values() for label in runs))
    for index, label in enumerate(labels):
        colour = colour_for(label, index)
        ttfts = [_median(runs_by_length[n][label], first=True) for n in lengths]
        totals = [_median(runs_by_length[n][label], first=False) for n in lengths]
        if ttfts == totals:  # a blocking call's first text *is* its end: one line says it all
            ax.plot(lengths, totals, "-o", color=colour, linewidth=2.5,
                    label=f"{label}: first text = complete")
            continue
        ax.plot(lengths, totals, "-o", color=colour, linewidth=2.5, label=f"{label}: complete")
        ax.plot(lengths, ttfts, "--s", color=colour, linewidth=2, label=f"{label}: first text")
    _style(ax, "Latency vs answer length (medians)", "answer length (tokens)", "seconds")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=FONT_SIZE - 2, loc="upper left")
    return ax.figure


def _median(timings: Sequence[StreamTiming], first: bool) -> float:
    return statistics.median(_require_text(t)[0 if first else 1] for t in timings)

"""Bar charts drawn on the server as SVG: the page works without a chart library or a build step, a test can
read every bar's height, and a screen reader gets a <title> on each bar.

`bar_chart` is a pure function from buckets to markup; the caller picks the buckets (hours of today, days of
a week) and the labels in the configured timezone, so the chart itself knows nothing about time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH = 720
HEIGHT = 240
PLOT_TOP = 14
PLOT_BOTTOM = 206  # x labels go below this
PLOT_LEFT = 48  # y labels go left of this
PLOT_RIGHT = WIDTH - 8
PLOT_HEIGHT = PLOT_BOTTOM - PLOT_TOP
MAX_X_LABELS = 12  # more would overlap on a phone


@dataclass(frozen=True)
class ChartBucket:
    label: str  # under the axis, e.g. "13" or "21/11"
    title: str  # the bucket in words, for the bars' <title>, e.g. "13:00–14:00"
    entered: int
    exited: int


@dataclass(frozen=True)
class ChartText:
    """The words around the numbers, already translated."""

    title: str
    entered: str = "in"
    exited: str = "out"
    empty: str = "No counts in this period"


def nice_ceiling(value: float) -> int:
    """The top of the y axis: the smallest 1, 2 or 5 times a power of ten at or above `value` (at least 1),
    so the gridlines fall on round numbers."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return int(step * power)
    return int(10 * power)  # pragma: no cover - the loop always returns


def bar_height(value: int, top: int) -> float:
    return round(max(value, 0) / top * PLOT_HEIGHT, 2) if top > 0 else 0.0


def _fmt(number: float) -> str:
    return f"{number:.2f}".rstrip("0").rstrip(".")


def bar_chart(buckets: Sequence[ChartBucket], text: ChartText) -> str:
    """One pair of bars (in, out) per bucket, a y axis with three gridlines, and at most MAX_X_LABELS
    labels under the x axis. Zero data still draws every bucket (as zero-height bars) and says so."""
    top = nice_ceiling(max([0, *(b.entered for b in buckets), *(b.exited for b in buckets)]))
    count = max(len(buckets), 1)
    slot = (PLOT_RIGHT - PLOT_LEFT) / count
    bar = max(slot * 0.38, 1.0)
    every = max(1, math.ceil(len(buckets) / MAX_X_LABELS))
    total_in = sum(b.entered for b in buckets)
    total_out = sum(b.exited for b in buckets)
    summary = f"{text.title}: {text.entered} {total_in}, {text.exited} {total_out}"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(summary)}" data-max="{top}" data-buckets="{len(buckets)}">',
        f"<title>{escape(summary)}</title>",
    ]
    for fraction in (0.0, 0.5, 1.0):
        y = _fmt(PLOT_BOTTOM - fraction * PLOT_HEIGHT)
        value = top * fraction
        label = _fmt(value) if value != int(value) else str(int(value))
        parts.append(
            f'<line class="grid" x1="{PLOT_LEFT}" x2="{PLOT_RIGHT}" y1="{y}" y2="{y}" '
            'stroke="#dfe3ea" stroke-width="1"/>'
            f'<text class="y-label" x="{PLOT_LEFT - 4}" y="{y}" text-anchor="end" '
            f'dominant-baseline="middle">{label}</text>'
        )
    for index, bucket in enumerate(buckets):
        x = PLOT_LEFT + index * slot + (slot - 2 * bar) / 2
        parts.append(f'<g class="bucket" data-label="{escape(bucket.label)}">')
        for kind, value, offset, word in (
            ("in", bucket.entered, 0.0, text.entered),
            ("out", bucket.exited, bar, text.exited),
        ):
            height = bar_height(value, top)
            parts.append(
                f'<rect class="{kind}" x="{_fmt(x + offset)}" y="{_fmt(PLOT_BOTTOM - height)}" '
                f'width="{_fmt(bar)}" height="{_fmt(height)}" data-value="{value}">'
                f"<title>{escape(bucket.title)} · {escape(word)}: {value}</title></rect>"
            )
        if index % every == 0:
            parts.append(
                f'<text class="x-label" x="{_fmt(PLOT_LEFT + (index + 0.5) * slot)}" y="{PLOT_BOTTOM + 20}" '
                f'text-anchor="middle">{escape(bucket.label)}</text>'
            )
        parts.append("</g>")
    parts.append(
        f'<line class="axis" x1="{PLOT_LEFT}" x2="{PLOT_RIGHT}" y1="{PLOT_BOTTOM}" y2="{PLOT_BOTTOM}" '
        'stroke="#667085" stroke-width="1"/>'
    )
    if total_in == 0 and total_out == 0:
        parts.append(
            f'<text class="empty" x="{(PLOT_LEFT + PLOT_RIGHT) / 2:g}" y="{PLOT_TOP + PLOT_HEIGHT / 2:g}" '
            f'text-anchor="middle">{escape(text.empty)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)

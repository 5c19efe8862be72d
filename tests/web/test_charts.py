"""The server-drawn bar chart: scaling to a round axis top, zero data, labels and accessible titles."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from vtrack.web.charts import PLOT_BOTTOM, PLOT_HEIGHT, ChartBucket, ChartText, bar_chart, nice_ceiling

SVG = "{http://www.w3.org/2000/svg}"
TEXT = ChartText(title="People per hour", entered="in", exited="out", empty="Nothing counted")


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314  (our own output, parsed to check it is well-formed)


def bars(root: ET.Element, kind: str) -> list[ET.Element]:
    return [rect for rect in root.iter(f"{SVG}rect") if rect.get("class") == kind]


@pytest.mark.parametrize(
    ("value", "top"), [(0, 1), (1, 1), (2, 2), (3, 5), (7, 10), (10, 10), (11, 20), (250, 500), (999, 1000)]
)
def test_the_axis_top_is_a_round_number_at_or_above_the_largest_bar(value: int, top: int) -> None:
    assert nice_ceiling(value) == top


def test_one_bar_per_bucket_and_kind_scaled_to_the_axis_top() -> None:
    buckets = [ChartBucket("08", "08:00–09:00", 5, 0), ChartBucket("09", "09:00–10:00", 10, 2)]
    buckets.append(ChartBucket("10", "10:00–11:00", 0, 0))
    root = parse(bar_chart(buckets, TEXT))
    assert root.get("data-max") == "10" and root.get("data-buckets") == "3"
    entered, exited = bars(root, "in"), bars(root, "out")
    assert [b.get("data-value") for b in entered] == ["5", "10", "0"]
    assert [b.get("data-value") for b in exited] == ["0", "2", "0"]
    heights = [float(b.get("height") or "nan") for b in entered]
    assert heights == [PLOT_HEIGHT / 2, PLOT_HEIGHT, 0.0]
    assert float(exited[1].get("height") or "nan") == pytest.approx(PLOT_HEIGHT * 0.2)
    for rect in entered + exited:  # bars stand on the x axis
        assert float(rect.get("y") or "nan") + float(rect.get("height") or "nan") == pytest.approx(
            PLOT_BOTTOM
        )
    # in and out of one bucket sit side by side, buckets left to right
    xs = [float(b.get("x") or "nan") for b in entered]
    assert xs == sorted(xs) and float(exited[0].get("x") or "nan") > xs[0]
    titles = [rect.findtext(f"{SVG}title") for rect in entered + exited]
    assert titles[1] == "09:00–10:00 · in: 10" and titles[4] == "09:00–10:00 · out: 2"
    assert root.findtext(f"{SVG}title") == "People per hour: in 15, out 2"
    assert root.get("role") == "img" and "in 15" in (root.get("aria-label") or "")
    assert not [t for t in root.iter(f"{SVG}text") if t.get("class") == "empty"]


def test_zero_data_draws_flat_bars_and_says_so() -> None:
    buckets = [ChartBucket(f"{h:02d}", f"{h:02d}:00", 0, 0) for h in range(24)]
    root = parse(bar_chart(buckets, TEXT))
    assert root.get("data-max") == "1"
    assert len(bars(root, "in")) == 24 == len(bars(root, "out"))
    assert all(float(b.get("height") or "nan") == 0 for b in bars(root, "in") + bars(root, "out"))
    empty = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "empty"]
    assert empty == ["Nothing counted"]
    assert parse(bar_chart([], TEXT)).get("data-buckets") == "0"


def test_labels_are_thinned_to_fit_and_escaped() -> None:
    buckets = [ChartBucket(f"{h:02d}", f"{h:02d}:00", h, 0) for h in range(24)]
    root = parse(bar_chart(buckets, TEXT))
    labels = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "x-label"]
    assert labels == [f"{h:02d}" for h in range(0, 24, 2)]
    y_labels = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "y-label"]
    assert y_labels == ["0", "25", "50"]  # top 23 -> 50
    week = [ChartBucket(f"{d:02d}/11", f"2026-11-{d:02d}", 1, 1) for d in range(15, 22)]
    assert (
        len([t for t in parse(bar_chart(week, TEXT)).iter(f"{SVG}text") if t.get("class") == "x-label"]) == 7
    )
    hostile = bar_chart([ChartBucket("<b>", "a & <c>", 1, 0)], ChartText(title="<script>"))
    assert "<script>" not in hostile and "<b>" not in hostile
    assert parse(hostile).findtext(f"{SVG}title") == "<script>: in 1, out 0"

"""Draw what the analysis sees onto a frame: boxes with track ids, lines with their counts, zones.

Used by the MJPEG preview and the run snapshot; a person checking a line's placement would rather look
than read coordinates. Drawing happens on a downscaled copy (at most `max_width` wide): cheaper, and a
preview in a browser tile needs no more.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import cv2
import numpy as np

from vtrack.analytics.counting.specs import LineSpec, ZoneSpec
from vtrack.analytics.types import Image, Track

_CONFIRMED = (80, 220, 80)
_TENTATIVE = (160, 160, 160)
_LINE = (0, 200, 255)
_ZONE = (255, 160, 0)
_TEXT = (255, 255, 255)


def annotate(
    image: Image,
    tracks: Sequence[Track],
    lines: Sequence[LineSpec],
    zones: Sequence[ZoneSpec],
    totals: dict[str, Any] | None = None,
    *,
    max_width: int = 960,
) -> Image:
    """A copy of `image`, at most `max_width` wide, with tracks, lines and zones (in pixels) drawn."""
    height, width = image.shape[:2]
    scale = min(1.0, max_width / width)
    canvas: Image = (
        cast(
            Image,
            cv2.resize(image, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA),
        )
        if scale < 1.0
        else image.copy()
    )
    totals = totals or {}
    thickness = max(1, round(2 * scale))
    for zone in zones:
        points = np.array([[x * scale, y * scale] for x, y in zone.polygon], np.int32)
        cv2.polylines(canvas, [points], True, _ZONE, thickness)
        inside = totals.get("zones", {}).get(zone.name, {}).get("inside", 0)
        _label(canvas, f"{zone.name}: {inside} inside", (int(points[0][0]), int(points[0][1])), _ZONE)
    for line in lines:
        p1 = (round(line.p1[0] * scale), round(line.p1[1] * scale))
        p2 = (round(line.p2[0] * scale), round(line.p2[1] * scale))
        cv2.arrowedLine(canvas, p1, p2, _LINE, thickness, tipLength=0.03)
        counts = totals.get("lines", {}).get(line.name, {})
        _label(canvas, f"{line.name}: in {counts.get('in', 0)} out {counts.get('out', 0)}", p1, _LINE)
    for track in tracks:
        x1, y1, x2, y2 = (round(v * scale) for v in track.xyxy)
        colour = _CONFIRMED if track.confirmed else _TENTATIVE
        cv2.rectangle(canvas, (x1, y1), (x2, y2), colour, thickness)
        if track.confirmed:
            _label(canvas, f"#{track.track_id}", (x1, max(12, y1 - 4)), colour)
            ax, ay = track.anchor
            cv2.circle(canvas, (round(ax * scale), round(ay * scale)), thickness + 1, colour, -1)
    return canvas


def _label(canvas: Image, text: str, origin: tuple[int, int], colour: tuple[int, int, int]) -> None:
    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.5, 1)
    x, y = origin
    y = max(h + 2, y)
    cv2.rectangle(canvas, (x, y - h - 3), (x + w + 4, y + base - 1), colour, -1)
    cv2.putText(canvas, text, (x + 2, y - 1), cv2.FONT_HERSHEY_SIMPLEX, 0.5, _TEXT, 1, cv2.LINE_AA)


def to_jpeg(image: Image, quality: int = 75) -> bytes:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return bytes(data)

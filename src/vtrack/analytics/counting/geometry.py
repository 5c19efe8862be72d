"""Plane geometry on image coordinates (x right, y down), kept free of numpy for a handful of points.

Counting tests one anchor against a few lines and zones per track and frame; plain float arithmetic is
faster there than building arrays, and it keeps the sign conventions readable in one place.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from vtrack.analytics.types import Point

# A polygon whose area is below this fraction of its bounding square is a line or a point in disguise.
_DEGENERATE_AREA = 1e-6


def cross(p1: Point, p2: Point, point: Point) -> float:
    """Positive when `point` is on the right-hand side of p1->p2 as seen on screen (y grows downwards).

    For a segment drawn left to right, "right-hand" is below it, so walking down the picture across it
    goes from negative to positive: the convention lines use for "in".
    """
    return (p2[0] - p1[0]) * (point[1] - p1[1]) - (p2[1] - p1[1]) * (point[0] - p1[0])


def length(p1: Point, p2: Point) -> float:
    return math.hypot(p2[0] - p1[0], p2[1] - p1[1])


def signed_distance(p1: Point, p2: Point, point: Point) -> float:
    """Distance from the infinite line through p1, p2, signed as `cross`; the segment must not be a point."""
    return cross(p1, p2, point) / length(p1, p2)


def projection(p1: Point, p2: Point, point: Point) -> float:
    """Where `point` projects onto p1->p2: 0 at p1, 1 at p2, outside [0, 1] beyond the ends."""
    dx, dy = p2[0] - p1[0], p2[1] - p1[1]
    return ((point[0] - p1[0]) * dx + (point[1] - p1[1]) * dy) / (dx * dx + dy * dy)


def crossing_point(a: Point, b: Point, da: float, db: float) -> Point:
    """Where the path a->b meets a line, given the signed distances of a and b (of opposite signs)."""
    f = da / (da - db)
    return (a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f)


def polygon_area(polygon: Sequence[Point]) -> float:
    """Shoelace area, signed by orientation; its absolute value is the area of a simple polygon."""
    total = 0.0
    for i, (x1, y1) in enumerate(polygon):
        x2, y2 = polygon[(i + 1) % len(polygon)]
        total += x1 * y2 - x2 * y1
    return total / 2.0


def point_in_polygon(point: Point, polygon: Sequence[Point]) -> bool:
    """Even-odd ray casting; a point exactly on an edge may fall either way, which a moving anchor never
    notices."""
    x, y = point
    inside = False
    j = len(polygon) - 1
    for i in range(len(polygon)):
        xi, yi = polygon[i]
        xj, yj = polygon[j]
        if (yi > y) != (yj > y) and x < xi + (y - yi) * (xj - xi) / (yj - yi):
            inside = not inside
        j = i
    return inside


def _segments_cross(a: Point, b: Point, c: Point, d: Point) -> bool:
    """Proper intersection only: segments that merely touch at an end do not count."""
    d1, d2 = cross(c, d, a), cross(c, d, b)
    d3, d4 = cross(a, b, c), cross(a, b, d)
    return d1 * d2 < 0 and d3 * d4 < 0


def polygon_problem(polygon: Sequence[Point]) -> str | None:
    """Why `polygon` cannot be a zone, or None when it can.

    A self-crossing outline ("bow tie") is refused because even-odd testing would count its overlap as
    outside, which is never what the person who drew it meant.
    """
    n = len(polygon)
    if n < 3:
        return f"a zone needs at least 3 points, got {n}"
    xs = [p[0] for p in polygon]
    ys = [p[1] for p in polygon]
    extent = max(max(xs) - min(xs), max(ys) - min(ys))
    if extent <= 0 or abs(polygon_area(polygon)) <= _DEGENERATE_AREA * extent * extent:
        return "the points enclose no area (all on one line?)"
    for i in range(n):
        a, b = polygon[i], polygon[(i + 1) % n]
        for j in range(i + 2, n):
            if i == 0 and j == n - 1:
                continue  # the first and last edges share a corner
            if _segments_cross(a, b, polygon[j], polygon[(j + 1) % n]):
                return f"the outline crosses itself (edges {i + 1} and {j + 1})"
    return None

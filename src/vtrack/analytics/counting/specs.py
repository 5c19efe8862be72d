"""Counting lines and zones as the user gives them: CLI strings, API/JSON dicts, pixels or fractions.

Fractions of the frame let one definition survive a camera switching between main and sub stream; pixels
are what people read off a screenshot. A spec whose numbers all lie in [0, 1] is taken as fractions, anything
else as pixels; `resolve` turns either into pixels once the frame size is known. Every spec validates itself
on construction, so a bad one fails where the user typed it, not frames later inside a counter.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from vtrack.analytics.counting.geometry import length, polygon_problem
from vtrack.analytics.errors import AnalyticsConfigError
from vtrack.analytics.types import Point

# Names become keys of totals and columns of reports: keep them printable and short, and free of ":" and
# "," which the CLI syntax uses.
_NAME = re.compile(r"\w[\w .\-]{0,63}")


@dataclass(frozen=True)
class LineSpec:
    """A directed counting line p1 -> p2; "in" is a crossing onto its right-hand side (y down).

    `hysteresis` is the half-width of the band around the line an anchor must leave before a crossing
    counts: a fraction of the frame diagonal when below 1, pixels otherwise. `resolved` marks the pixel
    version `resolve` returns, so a resolved spec is never scaled twice.
    """

    name: str
    p1: Point
    p2: Point
    hysteresis: float = 0.02
    resolved: bool = field(default=False, kw_only=True)

    def __post_init__(self) -> None:
        _check_name("line", self.name)
        p1, p2 = _points("line", self.name, (self.p1, self.p2))
        object.__setattr__(self, "p1", p1)
        object.__setattr__(self, "p2", p2)
        if length(p1, p2) == 0:
            raise AnalyticsConfigError("line", f"{self.name}: both ends are the same point")
        hysteresis = _number("line", self.name, "hysteresis", self.hysteresis)
        if hysteresis < 0:
            raise AnalyticsConfigError("line", f"{self.name}: hysteresis must not be negative")
        object.__setattr__(self, "hysteresis", hysteresis)

    @property
    def normalized(self) -> bool:
        return not self.resolved and _all_fractions((self.p1, self.p2))

    def resolve(self, width: int, height: int) -> LineSpec:
        if self.resolved:
            return self
        p1, p2 = _resolve_points("line", self.name, (self.p1, self.p2), width, height)
        band = self.hysteresis * math.hypot(width, height) if self.hysteresis < 1 else self.hysteresis
        return LineSpec(self.name, p1, p2, band, resolved=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], index: int = 0) -> LineSpec:
        """{"name": ..., "points": [[x1, y1], [x2, y2]], "hysteresis": ...}; name and hysteresis optional."""
        label = _dict_label("line", data, index)
        _check_keys("line", label, data, {"name", "points", "hysteresis"})
        points = _dict_points("line", label, data)
        if len(points) != 2:
            raise AnalyticsConfigError("line", f"{label}: points must be two [x, y] pairs, got {len(points)}")
        hysteresis = data.get("hysteresis", 0.02)
        return cls(label, points[0], points[1], _number("line", label, "hysteresis", hysteresis))

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "points": [list(self.p1), list(self.p2)], "hysteresis": self.hysteresis}


@dataclass(frozen=True)
class ZoneSpec:
    """A polygonal zone; an anchor must be inside (or outside) `min_frames` frames in a row to count."""

    name: str
    polygon: tuple[Point, ...]
    min_frames: int = 3
    resolved: bool = field(default=False, kw_only=True)

    def __post_init__(self) -> None:
        _check_name("zone", self.name)
        polygon = _points("zone", self.name, self.polygon)
        problem = polygon_problem(polygon)
        if problem is not None:
            raise AnalyticsConfigError("zone", f"{self.name}: {problem}")
        object.__setattr__(self, "polygon", polygon)
        if isinstance(self.min_frames, bool) or not isinstance(self.min_frames, int) or self.min_frames < 1:
            raise AnalyticsConfigError("zone", f"{self.name}: min_frames must be a whole number >= 1")

    @property
    def normalized(self) -> bool:
        return not self.resolved and _all_fractions(self.polygon)

    def resolve(self, width: int, height: int) -> ZoneSpec:
        if self.resolved:
            return self
        polygon = _resolve_points("zone", self.name, self.polygon, width, height)
        return ZoneSpec(self.name, polygon, self.min_frames, resolved=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], index: int = 0) -> ZoneSpec:
        """{"name": ..., "points": [[x, y], ...], "min_frames": ...}; name and min_frames optional."""
        label = _dict_label("zone", data, index)
        _check_keys("zone", label, data, {"name", "points", "min_frames"})
        min_frames = data.get("min_frames", 3)
        if isinstance(min_frames, bool) or not isinstance(min_frames, int):
            raise AnalyticsConfigError(
                "zone", f"{label}: min_frames must be a whole number, not {min_frames!r}"
            )
        return cls(label, _dict_points("zone", label, data), min_frames)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "points": [list(p) for p in self.polygon], "min_frames": self.min_frames}


def parse_line(text: str, index: int) -> LineSpec:
    """The CLI form, "x1,y1,x2,y2" or "name:x1,y1,x2,y2"; unnamed lines are line1, line2, ... by position,
    so the names in reports match the order of the options."""
    name, numbers = _parse_text("line", text, f"line{index + 1}")
    if len(numbers) != 4:
        raise AnalyticsConfigError("line", f"{text!r}: expected x1,y1,x2,y2 (4 numbers), got {len(numbers)}")
    try:
        return LineSpec(name, (numbers[0], numbers[1]), (numbers[2], numbers[3]))
    except AnalyticsConfigError as exc:
        raise AnalyticsConfigError("line", f"{text!r}: {exc.message}") from exc


def parse_zone(text: str, index: int) -> ZoneSpec:
    """The CLI form, "x,y,x,y,x,y[,...]" or "name:..."; unnamed zones are zone1, zone2, ... by position."""
    name, numbers = _parse_text("zone", text, f"zone{index + 1}")
    if len(numbers) % 2:
        raise AnalyticsConfigError("zone", f"{text!r}: expected x,y pairs, got an odd count ({len(numbers)})")
    try:
        return ZoneSpec(name, tuple((numbers[i], numbers[i + 1]) for i in range(0, len(numbers), 2)))
    except AnalyticsConfigError as exc:
        raise AnalyticsConfigError("zone", f"{text!r}: {exc.message}") from exc


def _parse_text(kind: str, text: str, default_name: str) -> tuple[str, list[float]]:
    name, sep, body = text.partition(":")
    if not sep:
        name, body = default_name, text
    name = name.strip()
    if not name:
        raise AnalyticsConfigError(kind, f"{text!r}: empty name before ':'")
    _check_name(kind, name, text)
    numbers: list[float] = []
    for part in body.split(","):
        try:
            value = float(part.strip())
        except ValueError:
            raise AnalyticsConfigError(kind, f"{text!r}: {part.strip()!r} is not a number") from None
        if not math.isfinite(value):
            raise AnalyticsConfigError(kind, f"{text!r}: {part.strip()!r} is not a finite number")
        numbers.append(value)
    return name, numbers


def _check_name(kind: str, name: object, shown: str | None = None) -> None:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        where = repr(shown) if shown is not None else repr(name)
        raise AnalyticsConfigError(
            kind,
            f"{where}: a {kind} name is 1-64 letters, digits, spaces, '_', '.' or '-', "
            "starting with a letter or digit",
        )


def _number(kind: str, name: str, what: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise AnalyticsConfigError(kind, f"{name}: {what} must be a finite number, got {value!r}")
    return float(value)


def _points(kind: str, name: str, points: Sequence[Sequence[object]]) -> tuple[Point, ...]:
    out: list[Point] = []
    for point in points:
        if not isinstance(point, Sequence) or isinstance(point, str | bytes) or len(point) != 2:
            raise AnalyticsConfigError(kind, f"{name}: a point must be an [x, y] pair, got {point!r}")
        x = _number(kind, name, "a coordinate", point[0])
        y = _number(kind, name, "a coordinate", point[1])
        if x < 0 or y < 0:
            raise AnalyticsConfigError(kind, f"{name}: coordinates must not be negative, got ({x:g}, {y:g})")
        out.append((x, y))
    return tuple(out)


def _all_fractions(points: Sequence[Point]) -> bool:
    return all(0.0 <= v <= 1.0 for point in points for v in point)


def _resolve_points(
    kind: str, name: str, points: Sequence[Point], width: int, height: int
) -> tuple[Point, ...]:
    if width <= 0 or height <= 0:
        raise ValueError(f"frame size must be positive, got {width}x{height}")
    if _all_fractions(points):
        return tuple((x * width, y * height) for x, y in points)
    for x, y in points:
        if x > width or y > height:
            raise AnalyticsConfigError(
                kind,
                f"{name}: point ({x:g}, {y:g}) lies outside the {width}x{height} frame "
                "(pixels for another resolution? fractions of the frame avoid that)",
            )
    return tuple(points)


def _dict_label(kind: str, data: Mapping[str, Any], index: int) -> str:
    if not isinstance(data, Mapping):
        raise AnalyticsConfigError(kind, f"{kind}{index + 1}: expected an object, got {type(data).__name__}")
    name = data.get("name")
    return f"{kind}{index + 1}" if name is None else name  # a non-string name fails _check_name later


def _check_keys(kind: str, label: object, data: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = sorted(str(k) for k in data if k not in allowed)
    if unknown:
        raise AnalyticsConfigError(
            kind, f"{label}: unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})"
        )


def _dict_points(kind: str, label: str, data: Mapping[str, Any]) -> tuple[Point, ...]:
    _check_name(kind, label)
    points = data.get("points")
    if not isinstance(points, list | tuple):
        raise AnalyticsConfigError(kind, f"{label}: points must be a list of [x, y] pairs")
    return _points(kind, label, points)

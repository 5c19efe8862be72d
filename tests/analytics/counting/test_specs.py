"""Line and zone specs from CLI text and API dicts: pixels or fractions, and errors that name the field."""

from __future__ import annotations

import math
from typing import Any

import pytest

from vtrack.analytics.counting.specs import LineSpec, ZoneSpec, parse_line, parse_zone
from vtrack.analytics.errors import AnalyticsConfigError


def test_parse_line_with_and_without_a_name() -> None:
    assert parse_line("100,200,300,200", 0) == LineSpec("line1", (100.0, 200.0), (300.0, 200.0))
    named = parse_line(" door : 0.1, 0.5 ,0.9,0.5", 4)
    assert named == LineSpec("door", (0.1, 0.5), (0.9, 0.5))
    assert named.normalized
    assert parse_line("0,0,0,1", 2).name == "line3"


def test_parse_zone_with_and_without_a_name() -> None:
    zone = parse_zone("0,0,0.5,0,0.5,0.5,0,0.5", 1)
    assert zone.name == "zone2"
    assert zone.polygon == ((0.0, 0.0), (0.5, 0.0), (0.5, 0.5), (0.0, 0.5))
    assert zone.min_frames == 3
    assert parse_zone("till:10,10,200,10,100,150", 0).name == "till"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("1,2,3", "4 numbers"),
        ("1,2,3,4,5", "4 numbers"),
        ("a:1,2,x,4", "'x' is not a number"),
        ("1,2,nan,4", "not a finite number"),
        (":1,2,3,4", "empty name"),
        ("bad/name:1,2,3,4", "name"),
        ("5,5,5,5", "same point"),
        ("-1,2,3,4", "negative"),
    ],
)
def test_bad_lines_name_the_field_and_the_text(text: str, needle: str) -> None:
    with pytest.raises(AnalyticsConfigError) as caught:
        parse_line(text, 0)
    assert caught.value.field == "line"
    assert needle in str(caught.value)
    assert repr(text) in str(caught.value)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("1,2,3,4", "at least 3 points"),
        ("1,2,3,4,5", "odd count"),
        ("0,0,10,10,20,20", "no area"),
        ("0,0,10,10,10,0,0,4", "crosses itself"),
        ("z:0,0,10,zero,10,10", "'zero' is not a number"),
    ],
)
def test_bad_zones_name_the_field_and_the_text(text: str, needle: str) -> None:
    with pytest.raises(AnalyticsConfigError) as caught:
        parse_zone(text, 0)
    assert caught.value.field == "zone"
    assert needle in str(caught.value)
    assert repr(text) in str(caught.value)


def test_fractions_resolve_to_pixels_and_hysteresis_to_a_share_of_the_diagonal() -> None:
    line = LineSpec("door", (0.1, 0.5), (0.9, 0.5)).resolve(1000, 500)
    assert line.resolved and not line.normalized
    assert line.p1 == pytest.approx((100.0, 250.0)) and line.p2 == pytest.approx((900.0, 250.0))
    assert line.hysteresis == pytest.approx(0.02 * math.hypot(1000, 500))
    # Resolving twice changes nothing, even where pixel values look like fractions.
    assert line.resolve(10, 10) is line
    zone = ZoneSpec("z", ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0))).resolve(640, 480)
    assert zone.polygon == ((0.0, 0.0), (640.0, 0.0), (640.0, 480.0))


def test_pixels_stay_pixels_and_hysteresis_of_one_or_more_is_pixels() -> None:
    line = LineSpec("l", (0.0, 300.0), (1280.0, 300.0), hysteresis=12).resolve(1280, 720)
    assert (line.p1, line.p2, line.hysteresis) == ((0.0, 300.0), (1280.0, 300.0), 12.0)


def test_pixels_outside_the_frame_are_refused_when_resolving() -> None:
    line = parse_line("door:100,100,1900,100", 0)
    with pytest.raises(AnalyticsConfigError) as caught:
        line.resolve(1280, 720)
    assert caught.value.field == "line" and "door" in str(caught.value) and "1280x720" in str(caught.value)
    with pytest.raises(AnalyticsConfigError, match="zone: z: point"):
        ZoneSpec("z", ((0.0, 0.0), (100.0, 0.0), (100.0, 800.0))).resolve(1280, 720)


def test_dicts_round_trip() -> None:
    line = LineSpec("door", (0.1, 0.5), (0.9, 0.5), hysteresis=15.0)
    assert LineSpec.from_dict(line.to_dict()) == line
    zone = ZoneSpec("till", ((10.0, 10.0), (200.0, 10.0), (100.0, 150.0)), min_frames=5)
    assert ZoneSpec.from_dict(zone.to_dict()) == zone
    assert line.to_dict() == {"name": "door", "points": [[0.1, 0.5], [0.9, 0.5]], "hysteresis": 15.0}


def test_dict_defaults() -> None:
    line = LineSpec.from_dict({"points": [[0, 0.5], [1, 0.5]]}, 1)
    assert (line.name, line.hysteresis) == ("line2", 0.02)
    zone = ZoneSpec.from_dict({"points": [[0, 0], [1, 0], [1, 1]]}, 0)
    assert (zone.name, zone.min_frames) == ("zone1", 3)


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ({"points": [[0, 0]]}, "two [x, y] pairs"),
        ({"points": "0,0,1,1"}, "list of [x, y] pairs"),
        ({"points": [[0, 0], [1, "a"]]}, "finite number"),
        ({"points": [[0, 0], [1, True]]}, "finite number"),
        ({"points": [[0, 0], 5]}, "[x, y] pair"),
        ({"points": [[0, 0], [1, 1, 1]]}, "[x, y] pair"),
        ({"points": [[0, 0], [1, 1]], "hysteresis": -1}, "negative"),
        ({"points": [[0, 0], [1, 1]], "hysteresis": "wide"}, "finite number"),
        ({"points": [[0, 0], [1, 1]], "colour": "red"}, "unknown key(s) colour"),
        ({"name": 7, "points": [[0, 0], [1, 1]]}, "name"),
    ],
)
def test_bad_line_dicts(data: dict[str, Any], needle: str) -> None:
    with pytest.raises(AnalyticsConfigError) as caught:
        LineSpec.from_dict(data)
    assert caught.value.field == "line"
    assert needle in str(caught.value)


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ({"points": [[0, 0], [1, 0], [1, 1]], "min_frames": 0}, "min_frames"),
        ({"points": [[0, 0], [1, 0], [1, 1]], "min_frames": 2.5}, "min_frames"),
        ({"points": [[0, 0], [1, 0], [1, 1]], "min_frames": True}, "min_frames"),
        ({"points": [[0, 0], [1, 0]]}, "at least 3 points"),
        ({"name": "z", "points": [[0, 0], [1, 0], [1, 1]], "hysteresis": 3}, "unknown key(s) hysteresis"),
    ],
)
def test_bad_zone_dicts(data: dict[str, Any], needle: str) -> None:
    with pytest.raises(AnalyticsConfigError) as caught:
        ZoneSpec.from_dict(data)
    assert caught.value.field == "zone"
    assert needle in str(caught.value)


def test_a_dict_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(AnalyticsConfigError, match="zone: zone3: expected an object, got list"):
        ZoneSpec.from_dict([[0, 0], [1, 0], [1, 1]], 2)  # type: ignore[arg-type]

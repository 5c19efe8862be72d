"""Geometry on image coordinates: the side convention lines rely on, and point-in-polygon against OpenCV."""

from __future__ import annotations

import random

import cv2
import numpy as np
import pytest

from vtrack.analytics.counting.geometry import (
    crossing_point,
    point_in_polygon,
    polygon_area,
    polygon_problem,
    projection,
    signed_distance,
)


def test_right_hand_side_of_a_left_to_right_line_is_below_it() -> None:
    p1, p2 = (0.0, 100.0), (200.0, 100.0)
    assert signed_distance(p1, p2, (50.0, 130.0)) == pytest.approx(30.0)
    assert signed_distance(p1, p2, (50.0, 60.0)) == pytest.approx(-40.0)
    # A line drawn downwards has its right-hand side on the left of the picture.
    assert signed_distance((100.0, 0.0), (100.0, 50.0), (90.0, 10.0)) == pytest.approx(10.0)


def test_projection_and_crossing_point() -> None:
    p1, p2 = (100.0, 0.0), (300.0, 0.0)
    assert projection(p1, p2, (100.0, 7.0)) == pytest.approx(0.0)
    assert projection(p1, p2, (250.0, -3.0)) == pytest.approx(0.75)
    assert projection(p1, p2, (350.0, 0.0)) == pytest.approx(1.25)
    assert crossing_point((0.0, -10.0), (40.0, 30.0), -10.0, 30.0) == pytest.approx((10.0, 0.0))


def test_point_in_polygon_agrees_with_opencv_on_a_concave_outline() -> None:
    polygon = [(10.0, 10.0), (200.0, 20.0), (120.0, 90.0), (210.0, 190.0), (15.0, 170.0), (60.0, 95.0)]
    contour = np.array(polygon, np.float32).reshape(-1, 1, 2)
    rng = random.Random(7)
    checked = 0
    for _ in range(2000):
        point = (rng.uniform(0, 220), rng.uniform(0, 200))
        distance = cv2.pointPolygonTest(contour, point, True)
        if abs(distance) < 1e-3:
            continue  # on the outline either answer is acceptable
        assert point_in_polygon(point, polygon) == (distance > 0), point
        checked += 1
    assert checked > 1900


def test_polygon_area_is_signed_by_orientation() -> None:
    square = [(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)]
    assert polygon_area(square) == pytest.approx(100.0)
    assert polygon_area(square[::-1]) == pytest.approx(-100.0)


@pytest.mark.parametrize(
    ("polygon", "problem"),
    [
        ([(0.0, 0.0), (1.0, 1.0)], "at least 3 points"),
        ([(0.0, 0.0), (5.0, 5.0), (10.0, 10.0)], "no area"),
        ([(3.0, 3.0), (3.0, 3.0), (3.0, 3.0)], "no area"),
        ([(0.0, 0.0), (10.0, 10.0), (10.0, 0.0), (0.0, 4.0)], "crosses itself"),
    ],
)
def test_polygon_problems(polygon: list[tuple[float, float]], problem: str) -> None:
    found = polygon_problem(polygon)
    assert found is not None and problem in found


def test_good_polygons_have_no_problem() -> None:
    assert polygon_problem([(0.0, 0.0), (1.0, 0.0), (0.0, 1.0)]) is None
    concave = [(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (5.0, 3.0), (0.0, 10.0)]
    assert polygon_problem(concave) is None

"""Letterbox geometry and its inverse: boxes must come back to exactly where they were."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from vtrack.analytics.detectors.letterbox import FILL, Letterbox, Letterboxer, letterbox

SIZES = [(720, 1280), (1280, 720), (480, 640), (1080, 1920), (303, 77), (416, 416), (100, 50), (577, 1031)]


def reference_letterbox(image: np.ndarray, dst_hw: tuple[int, int], box: Letterbox) -> np.ndarray:
    out = np.full((*dst_hw, 3), FILL, np.uint8)
    resized = cv2.resize(image, (box.new_width, box.new_height), interpolation=cv2.INTER_LINEAR)
    out[box.top : box.top + box.new_height, box.left : box.left + box.new_width] = resized
    return out


def test_yolox_geometry_pads_right_and_bottom() -> None:
    box = Letterbox.fit((720, 1280), (416, 416), centred=False)
    assert (box.new_height, box.new_width, box.top, box.left) == (234, 416, 0, 0)
    assert box.scale_x == pytest.approx(0.325) and box.scale_y == pytest.approx(234 / 720)


def test_ultralytics_geometry_centres_the_content() -> None:
    wide = Letterbox.fit((720, 1280), (416, 416), centred=True)
    assert (wide.new_height, wide.new_width, wide.top, wide.left) == (234, 416, 91, 0)
    tall = Letterbox.fit((1280, 720), (640, 640), centred=True)
    assert (tall.new_height, tall.new_width, tall.top, tall.left) == (640, 360, 0, 140)
    odd = Letterbox.fit((100, 50), (64, 64), centred=True)  # 32 px wide content, 32 px padding split 16/16
    assert (odd.new_width, odd.left) == (32, 16)
    odd = Letterbox.fit((100, 51), (64, 64), centred=True)  # 33 px content: the odd pixel goes right
    assert (odd.new_width, odd.left) == (33, 15)


def test_exact_fit_does_not_lose_a_pixel_to_rounding() -> None:
    # 320/77*77 is 319.99999999999994 in floating point; a plain int() would leave a 1 px stripe of padding.
    box = Letterbox.fit((77, 77), (320, 320), centred=False)
    assert (box.new_height, box.new_width) == (320, 320)


@pytest.mark.parametrize("centred", [False, True])
@pytest.mark.parametrize("src_hw", SIZES)
def test_boxes_round_trip_exactly(src_hw: tuple[int, int], centred: bool) -> None:
    rng = np.random.default_rng(sum(src_hw))
    h, w = src_hw
    box = Letterbox.fit(src_hw, (416, 640), centred)
    xy1 = rng.uniform(0, [w, h], size=(50, 2))
    xy2 = xy1 + rng.uniform(0, [w, h], size=(50, 2))
    boxes = np.clip(np.concatenate([xy1, xy2], axis=1), 0, [w, h, w, h]).astype(np.float32)
    back = box.to_original(box.to_input(boxes))
    np.testing.assert_allclose(back, boxes, atol=1e-3)
    inside = box.to_input(np.array([[0, 0, w, h]]))[0]
    assert inside.tolist() == [box.left, box.top, box.left + box.new_width, box.top + box.new_height]


@pytest.mark.parametrize("centred", [False, True])
@pytest.mark.parametrize("src_hw", [(720, 1280), (1280, 720), (303, 77)])
def test_canvas_matches_reference_and_content_maps_back(src_hw: tuple[int, int], centred: bool) -> None:
    h, w = src_hw
    image = np.zeros((h, w, 3), np.uint8)
    x1, y1, x2, y2 = w // 4, h // 3, w // 2, (2 * h) // 3
    image[y1:y2, x1:x2] = 255
    canvas, box = letterbox(image, (416, 416), centred)
    np.testing.assert_array_equal(canvas, reference_letterbox(image, (416, 416), box))
    content = np.zeros((416, 416), bool)
    content[box.top : box.top + box.new_height, box.left : box.left + box.new_width] = True
    assert (canvas[~content] == FILL).all()
    ys, xs = np.nonzero(canvas[:, :, 0] > 127)
    found = box.to_original([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]])[0]
    np.testing.assert_allclose(found, [x1, y1, x2, y2], atol=max(w, h) / 416 + 1)


def test_reused_canvas_repaints_padding_when_the_frame_size_changes() -> None:
    boxer = Letterboxer((416, 416), centred=True)
    rng = np.random.default_rng(1)
    wide = rng.integers(0, 256, (720, 1280, 3), dtype=np.uint8)
    tall = rng.integers(0, 256, (1280, 720, 3), dtype=np.uint8)
    canvas = boxer.canvas
    for image in (wide, tall, wide):
        box = boxer(image)
        assert boxer.canvas is canvas  # written in place, never reallocated
        np.testing.assert_array_equal(canvas, reference_letterbox(image, (416, 416), box))


def test_same_size_frame_is_copied_unchanged() -> None:
    image = np.random.default_rng(2).integers(0, 256, (416, 416, 3), dtype=np.uint8)
    canvas, box = letterbox(image, (416, 416), centred=False)
    assert (box.scale_x, box.scale_y) == (1.0, 1.0)
    np.testing.assert_array_equal(canvas, image)


def test_to_original_clips_to_the_frame() -> None:
    box = Letterbox.fit((720, 1280), (416, 416), centred=True)
    out = box.to_original([[-10, 50, 500, 400]])[0]  # reaches into the top padding and beyond the right
    assert out.tolist() == [0, 0, 1280, 720]
    unclipped = box.to_original([[-10, 50, 500, 400]], clip=False)[0]
    assert unclipped[0] < 0 and unclipped[1] < 0 and unclipped[2] > 1280


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        Letterbox.fit((0, 10), (416, 416), centred=False)

"""Motion detector on synthetic scenes: a moving block is found, a still or noisy scene gives nothing."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from vtrack.analytics.detectors.motion import MotionDetector
from vtrack.analytics.detectors.nms import box_iou

H, W = 360, 640
BLOCK_W, BLOCK_H = 40, 100


def background(seed: int = 0) -> np.ndarray:
    """A textured floor, so that a static scene is not trivially uniform."""
    noise = np.random.default_rng(seed).integers(60, 200, (H, W, 3), dtype=np.uint8)
    return cv2.GaussianBlur(noise, (9, 9), 0)


def with_block(scene: np.ndarray, x: int, y: int = 150) -> tuple[np.ndarray, np.ndarray]:
    frame = scene.copy()
    frame[y : y + BLOCK_H, x : x + BLOCK_W] = (20, 30, 240)
    return frame, np.array([x, y, x + BLOCK_W, y + BLOCK_H], np.float32)


def noisy(scene: np.ndarray, rng: np.random.Generator, spread: int = 3) -> np.ndarray:
    """Per-pixel sensor noise, uniform in +-spread (the scene stays clear of 0 and 255)."""
    noise = rng.integers(0, 2 * spread + 1, scene.shape, dtype=np.uint8)
    return np.asarray(cv2.add(scene, noise)) - np.uint8(spread)


def test_moving_block_is_found_after_warm_up() -> None:
    scene, rng = background(), np.random.default_rng(1)
    detector = MotionDetector(warmup_frames=10)
    assert detector.stateful and detector.name == "motion"
    still = detector.detect([noisy(scene, rng) for _ in range(20)])
    assert [len(d) for d in still] == [0] * 20
    hits = 0
    for step in range(25):
        frame, truth = with_block(noisy(scene, rng), x=50 + 20 * step)
        (dets,) = detector.detect([frame])
        assert (dets.scores == 1.0).all() and (dets.class_ids == 0).all()
        assert len(dets) <= 1  # nothing but the block moves
        if len(dets) and box_iou(truth, dets.xyxy)[0] > 0.6:
            hits += 1
    assert hits >= 23


def test_still_scene_with_sensor_noise_gives_nothing() -> None:
    scene, rng = background(2), np.random.default_rng(2)
    detector = MotionDetector()
    results = detector.detect([noisy(scene, rng, spread=5) for _ in range(60)])
    assert sum(len(d) for d in results) == 0


def test_warm_up_frames_never_report() -> None:
    scene = background(3)
    detector = MotionDetector(warmup_frames=5)
    frames = [with_block(scene, x=20 + 30 * i)[0] for i in range(8)]
    counts = [len(d) for d in detector.detect(frames)]
    assert counts[:5] == [0] * 5 and all(counts[5:])


def test_small_movers_are_ignored() -> None:
    scene, rng = background(4), np.random.default_rng(4)
    big = MotionDetector(min_area=BLOCK_W * BLOCK_H * 2)  # pixels: twice the block
    fraction = MotionDetector(min_area=0.05)  # of the frame: 11520 px, three times the block
    for detector in (big, fraction):
        detector.detect([noisy(scene, rng) for _ in range(15)])
        found = detector.detect([with_block(noisy(scene, rng), x=100 + 20 * i)[0] for i in range(10)])
        assert sum(len(d) for d in found) == 0


def test_new_frame_size_restarts_learning() -> None:
    detector = MotionDetector(warmup_frames=3)
    scene = background(5)
    detector.detect([with_block(scene, x=10 * i)[0] for i in range(10)])
    small = np.ascontiguousarray(scene[::2, ::2])
    # A different resolution: the old background is meaningless, so warm-up starts again.
    assert [len(d) for d in detector.detect([small] * 3)] == [0, 0, 0]
    detector.close()
    assert [len(d) for d in detector.detect([scene] * 3)] == [0, 0, 0]


def test_bad_images_and_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="HxWx3 uint8"):
        MotionDetector().detect([np.zeros((10, 10), np.uint8)])
    with pytest.raises(ValueError, match="out of range"):
        MotionDetector(min_fill=2.0)

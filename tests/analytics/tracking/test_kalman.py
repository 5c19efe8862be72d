"""The Kalman filter against a textbook dense-matrix filter, plus behaviour a tracker relies on."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from vtrack.analytics.tracking.kalman import (
    STD_WEIGHT_POSITION,
    STD_WEIGHT_VELOCITY,
    KalmanFilter,
    xyah_to_xyxy,
    xyxy_to_xyah,
)

F64 = npt.NDArray[np.float64]


class TextbookFilter:
    """Same model written the slow, obvious way: explicit F, H, Q, R and a matrix inverse."""

    def __init__(self) -> None:
        self.F = np.eye(8)
        self.F[:4, 4:] = np.eye(4)
        self.H = np.eye(4, 8)

    def predict(self, x: F64, p: F64) -> tuple[F64, F64]:
        h = x[3]
        q = np.diag(np.square([h / 20, h / 20, 1e-2, h / 20, h / 160, h / 160, 1e-5, h / 160]))
        return self.F @ x, self.F @ p @ self.F.T + q

    def update(self, x: F64, p: F64, z: F64) -> tuple[F64, F64]:
        h = x[3]
        r = np.diag(np.square([h / 20, h / 20, 1e-1, h / 20]))
        s = self.H @ p @ self.H.T + r
        k = p @ self.H.T @ np.linalg.inv(s)
        x_new = x + k @ (z - self.H @ x)
        p_new = (np.eye(8) - k @ self.H) @ p
        return x_new, p_new


def test_initiate_puts_the_box_in_the_state_with_zero_velocity_and_height_scaled_uncertainty() -> None:
    kf = KalmanFilter()
    mean, cov = kf.initiate([[100.0, 200.0, 0.4, 150.0], [10.0, 20.0, 0.5, 60.0]])
    assert mean.shape == (2, 8) and cov.shape == (2, 8, 8)
    np.testing.assert_array_equal(mean[0], [100, 200, 0.4, 150, 0, 0, 0, 0])
    expected_std = [
        2 * STD_WEIGHT_POSITION * 150,
        2 * STD_WEIGHT_POSITION * 150,
        1e-2,
        2 * STD_WEIGHT_POSITION * 150,
        10 * STD_WEIGHT_VELOCITY * 150,
        10 * STD_WEIGHT_VELOCITY * 150,
        1e-5,
        10 * STD_WEIGHT_VELOCITY * 150,
    ]
    np.testing.assert_allclose(cov[0], np.diag(np.square(expected_std)))
    # A box 2.5 x smaller is 2.5 x less certain in pixels: same relative tolerance near and far.
    np.testing.assert_allclose(np.sqrt(cov[1][0, 0]), np.sqrt(cov[0][0, 0]) * 60 / 150)


def test_predict_and_update_equal_a_textbook_filter_over_a_noisy_walk() -> None:
    rng = np.random.default_rng(7)
    kf, ref = KalmanFilter(), TextbookFilter()
    z0 = np.array([300.0, 250.0, 0.41, 160.0])
    mean, cov = kf.initiate(z0)
    x, p = mean[0].copy(), cov[0].copy()
    for step in range(1, 40):
        mean, cov = kf.predict(mean, cov)
        x, p = ref.predict(x, p)
        np.testing.assert_allclose(mean[0], x, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(cov[0], p, rtol=1e-9, atol=1e-9)
        if step % 7 == 0:
            continue  # a missed detection: predict only
        z = z0 + np.array([3.0, -1.0, 0.0, 0.5]) * step + rng.normal(0, [2, 2, 0.01, 2])
        mean, cov = kf.update(mean, cov, z)
        x, p = ref.update(x, p, z)
        np.testing.assert_allclose(mean[0], x, rtol=1e-9, atol=1e-7)
        np.testing.assert_allclose(cov[0], p, rtol=1e-7, atol=1e-7)


def test_velocity_is_learned_from_a_constant_motion() -> None:
    kf = KalmanFilter()
    velocity = np.array([4.0, -1.5, 0.0, 0.3])
    z = np.array([100.0, 300.0, 0.4, 120.0])
    mean, cov = kf.initiate(z)
    for _ in range(30):
        z = z + velocity
        mean, cov = kf.predict(mean, cov)
        mean, cov = kf.update(mean, cov, z)
    np.testing.assert_allclose(mean[0, 4:], velocity, atol=0.05)
    predicted, _ = kf.predict(mean, cov)
    np.testing.assert_allclose(predicted[0, :4], z + velocity, atol=0.2)


def test_update_shrinks_and_predict_grows_the_uncertainty() -> None:
    kf = KalmanFilter()
    mean, cov = kf.initiate([200.0, 200.0, 0.4, 100.0])
    predicted_mean, predicted_cov = kf.predict(mean, cov)
    assert np.trace(predicted_cov[0]) > np.trace(cov[0])
    _, updated_cov = kf.update(predicted_mean, predicted_cov, [202.0, 199.0, 0.4, 101.0])
    assert np.trace(updated_cov[0]) < np.trace(predicted_cov[0])
    # The covariance stays symmetric positive definite through the Joseph-free update.
    np.testing.assert_allclose(updated_cov[0], updated_cov[0].T, atol=1e-9)
    assert np.all(np.linalg.eigvalsh(updated_cov[0]) > 0)


def test_a_batch_equals_the_tracks_one_by_one() -> None:
    rng = np.random.default_rng(3)
    kf = KalmanFilter()
    boxes = np.column_stack(
        [rng.uniform(0, 1000, 5), rng.uniform(0, 600, 5), rng.uniform(0.3, 0.5, 5), rng.uniform(50, 200, 5)]
    )
    mean, cov = kf.predict(*kf.initiate(boxes))
    z = boxes + rng.normal(0, 2, boxes.shape) * [1, 1, 0.001, 1]
    batch_mean, batch_cov = kf.update(mean, cov, z)
    for i in range(5):
        one_mean, one_cov = kf.update(mean[i : i + 1], cov[i : i + 1], z[i])
        np.testing.assert_allclose(batch_mean[i], one_mean[0])
        np.testing.assert_allclose(batch_cov[i], one_cov[0])


@pytest.mark.parametrize("box", [[10.0, 20.0, 50.0, 120.0], [-5.5, 0.25, 3.5, 40.0]])
def test_box_conversions_round_trip(box: list[float]) -> None:
    xyah = xyxy_to_xyah(box)
    x1, y1, x2, y2 = box
    np.testing.assert_allclose(xyah[0], [(x1 + x2) / 2, (y1 + y2) / 2, (x2 - x1) / (y2 - y1), y2 - y1])
    np.testing.assert_allclose(xyah_to_xyxy(xyah)[0], box)
    # A full 8-wide state converts by its first four columns.
    np.testing.assert_allclose(xyah_to_xyxy(np.r_[xyah[0], [9, 9, 9, 9]])[0], box)

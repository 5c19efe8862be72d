"""ByteTrack's (and DeepSORT's) constant-velocity Kalman filter on boxes as (cx, cy, aspect, height).

The state is (cx, cy, a, h, vcx, vcy, va, vh). Aspect rather than width is filtered because a walking
person's width/height ratio barely changes while the height follows the distance to the camera; the noise
of every coordinate except the aspect is proportional to the height, so a near person (tall box, fast in
pixels) and a far one get the same relative tolerance. Constants are those of the reference implementation
(position weight 1/20, velocity weight 1/160), so the tracker behaves as the published ByteTrack does.

Every method works on a batch of N tracks at once (means N x 8, covariances N x 8 x 8): the tracker
predicts all tracks and updates all matched ones per frame with one numpy call each instead of a Python
loop of small matrix products, which is what keeps a 20-person frame well under a millisecond.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]

STATE_DIM = 8
MEASURE_DIM = 4
STD_WEIGHT_POSITION = 1.0 / 20.0
STD_WEIGHT_VELOCITY = 1.0 / 160.0
# Absolute noise of the aspect ratio and its velocity: the aspect is unitless, so it cannot scale with height.
_ASPECT_INIT_STD = 1e-2
_ASPECT_VEL_INIT_STD = 1e-5
_ASPECT_PROCESS_STD = 1e-2
_ASPECT_VEL_PROCESS_STD = 1e-5
_ASPECT_MEASURE_STD = 1e-1

_DIAG_STATE = np.arange(STATE_DIM)
_DIAG_MEASURE = np.arange(MEASURE_DIM)


def _diagonal(std: Array) -> Array:
    """N x D standard deviations -> N x D x D diagonal covariances."""
    n, d = std.shape
    cov = np.zeros((n, d, d), np.float64)
    idx = np.arange(d)
    cov[:, idx, idx] = std * std
    return cov


class KalmanFilter:
    """Batched constant-velocity filter (dt = one frame) with height-proportional noise."""

    def __init__(self) -> None:
        self._motion = np.eye(STATE_DIM, dtype=np.float64)
        self._motion[:MEASURE_DIM, MEASURE_DIM:] = np.eye(MEASURE_DIM)

    def initiate(self, measurements: npt.ArrayLike) -> tuple[Array, Array]:
        """A new track: position known to the measurement's precision, velocity unknown (wide, zero mean)."""
        z = np.asarray(measurements, np.float64).reshape(-1, MEASURE_DIM)
        n = len(z)
        mean = np.concatenate([z, np.zeros((n, MEASURE_DIM), np.float64)], axis=1)
        h = z[:, 3]
        pos = 2.0 * STD_WEIGHT_POSITION * h
        vel = 10.0 * STD_WEIGHT_VELOCITY * h
        std = np.stack(
            [pos, pos, np.full(n, _ASPECT_INIT_STD), pos, vel, vel, np.full(n, _ASPECT_VEL_INIT_STD), vel],
            axis=1,
        )
        return mean, _diagonal(std)

    def predict(self, mean: Array, covariance: Array) -> tuple[Array, Array]:
        """One frame ahead: x' = F x, P' = F P F^T + Q, with Q scaled by the current height."""
        h = mean[:, 3]
        n = len(mean)
        pos = STD_WEIGHT_POSITION * h
        vel = STD_WEIGHT_VELOCITY * h
        std = np.stack(
            [
                pos,
                pos,
                np.full(n, _ASPECT_PROCESS_STD),
                pos,
                vel,
                vel,
                np.full(n, _ASPECT_VEL_PROCESS_STD),
                vel,
            ],
            axis=1,
        )
        new_mean = mean @ self._motion.T
        new_cov = self._motion @ covariance @ self._motion.T + _diagonal(std)
        return new_mean, new_cov

    def project(self, mean: Array, covariance: Array) -> tuple[Array, Array]:
        """The state seen as a measurement: H x and H P H^T + R (H selects the first four coordinates)."""
        h = mean[:, 3]
        pos = STD_WEIGHT_POSITION * h
        std = np.stack([pos, pos, np.full(len(mean), _ASPECT_MEASURE_STD), pos], axis=1)
        return mean[:, :MEASURE_DIM].copy(), covariance[:, :MEASURE_DIM, :MEASURE_DIM] + _diagonal(std)

    def update(self, mean: Array, covariance: Array, measurements: npt.ArrayLike) -> tuple[Array, Array]:
        """Correct each track with its matched box: K = P H^T S^-1, x += K (z - H x), P -= K S K^T."""
        z = np.asarray(measurements, np.float64).reshape(-1, MEASURE_DIM)
        projected_mean, innovation_cov = self.project(mean, covariance)
        # P H^T is the first four columns of P; S is symmetric, so K^T = S^-1 (P H^T)^T.
        cross = covariance[:, :, :MEASURE_DIM]
        gain = np.linalg.solve(innovation_cov, np.swapaxes(cross, 1, 2)).swapaxes(1, 2)
        innovation = z - projected_mean
        new_mean = mean + np.einsum("nij,nj->ni", gain, innovation)
        new_cov = covariance - gain @ innovation_cov @ np.swapaxes(gain, 1, 2)
        return new_mean, new_cov


def xyxy_to_xyah(boxes: npt.ArrayLike) -> Array:
    """(x1, y1, x2, y2) -> (cx, cy, width / height, height), the filter's measurement space."""
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    out = np.empty_like(b)
    h = b[:, 3] - b[:, 1]
    out[:, 0] = (b[:, 0] + b[:, 2]) / 2.0
    out[:, 1] = (b[:, 1] + b[:, 3]) / 2.0
    out[:, 2] = (b[:, 2] - b[:, 0]) / h
    out[:, 3] = h
    return out


def xyah_to_xyxy(xyah: npt.ArrayLike) -> Array:
    """Inverse of `xyxy_to_xyah`; full 8-wide states are accepted too (only the first four columns count)."""
    s = np.asarray(xyah, np.float64)
    s = s.reshape(-1, s.shape[-1]) if s.ndim else s.reshape(-1, 4)
    out = np.empty((len(s), 4), np.float64)
    half_w = s[:, 2] * s[:, 3] / 2.0
    half_h = s[:, 3] / 2.0
    out[:, 0] = s[:, 0] - half_w
    out[:, 1] = s[:, 1] - half_h
    out[:, 2] = s[:, 0] + half_w
    out[:, 3] = s[:, 1] + half_h
    return out

"""The camera health state machine: one pure function from (state so far, new sample) to the next state.

Why hysteresis. A camera on Wi-Fi or a busy switch drops the odd check; a camera that reboots for a
firmware update is gone for a minute. Flipping online/offline on every such blip floods operators with
notifications they learn to ignore, which is worse than none. So, like the camera-health views of
commercial NVR/VMS software:

- one bad check (a failure, or a success that is slow or short of frames) only makes an online camera
  `degraded` — visible in the UI, worth a glance, not an alarm;
- `offline` needs `offline_after` (3) consecutive failures: at the default 60 s interval the camera
  has been unreachable for two minutes, longer than a reboot or a DHCP renewal usually takes;
- back to `online` needs `recover_after` (2) consecutive good checks, from `degraded` as well as from
  `offline`, so a camera that alternates good and bad checks stays `degraded` (one event) instead of
  flapping (one event per check);
- a camera never checked (`idle`, or `error` set by hand) takes its first result at face value: there is
  no earlier state to protect, and a new camera should not show "idle" for three minutes;
- a flapping camera is held in `degraded`: consecutive counts alone cannot stop every storm (a camera
  that fails one check in three would go online and back every three minutes, for any fixed
  `recover_after`), so, like Nagios' flap detection, a camera that already changed status
  `flap_changes` (5) times within `flap_window_seconds` (30 min) does not return to `online` until the
  window has calmed down. Five leaves room for a new camera's first status plus one whole outage
  (online, degraded, offline, online) without being called flapping. Offline is still reported.

Counters live in the cameras table (health_failures, health_successes) so hysteresis survives restarts
and several workers share it.

Thresholds for "good" (`HealthThresholds`):
- latency (connect + RTSP DESCRIBE round trip) above 1,000 ms: a camera on a LAN answers DESCRIBE in
  tens of milliseconds, even over a site VPN in a few hundred; a second means an overloaded camera (too
  many stream clients — consumer cameras serve 4 to 6) or a congested uplink;
- first frame later than 4,000 ms: cameras send a keyframe every 1 to 4 s by default (Hikvision 50 frames
  at 25 fps, Dahua 2x fps), so a viewer waiting longer than the longest usual GOP sees a black tile;
  "smart codec" GOPs (H.264+, up to 8 s) should raise this;
- measured frame rate below 50 % of the configured one: half the frames missing is visibly choppy video
  and breaks tracking, while short samples of a variable-frame-rate stream easily read 20-30 % low, so
  a tighter ratio would mark healthy cameras degraded.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class HealthStatus(StrEnum):
    IDLE = "idle"
    ONLINE = "online"
    DEGRADED = "degraded"
    OFFLINE = "offline"
    ERROR = "error"


class Outcome(StrEnum):
    GOOD = "good"  # the stream answered within every threshold
    POOR = "poor"  # the stream answered, but slowly or with too few frames
    FAIL = "fail"  # no stream: unreachable, refused, timed out, bad credentials, undecodable


@dataclass(frozen=True)
class HealthThresholds:
    recover_after: int = 2
    offline_after: int = 3
    max_latency_ms: float = 1000.0
    max_first_frame_ms: float | None = 4000.0
    min_fps_ratio: float = 0.5
    flap_changes: int = 5
    flap_window_seconds: float = 1800.0

    def __post_init__(self) -> None:
        if self.recover_after < 1 or self.offline_after < 1 or self.flap_changes < 1:
            raise ValueError("recover_after, offline_after and flap_changes must be at least 1")
        if not 0 <= self.min_fps_ratio <= 1:
            raise ValueError("min_fps_ratio must be between 0 and 1")


@dataclass(frozen=True)
class Observation:
    """What one check saw, reduced to what the state machine judges."""

    ok: bool
    latency_ms: float | None = None
    first_frame_ms: float | None = None
    fps: float | None = None
    expected_fps: float | None = None  # the camera's configured rate, when known
    error_kind: str | None = None


@dataclass(frozen=True)
class HealthState:
    status: HealthStatus
    failures: int = 0  # consecutive failed checks so far
    successes: int = 0  # consecutive good checks so far


@dataclass(frozen=True)
class Transition:
    before: HealthState
    after: HealthState
    outcome: Outcome
    reason: str

    @property
    def changed(self) -> bool:
        return self.before.status != self.after.status


def judge(observation: Observation, thresholds: HealthThresholds) -> tuple[Outcome, str]:
    """Classify one check and say why, in words an operator reads in an event."""
    if not observation.ok:
        return Outcome.FAIL, observation.error_kind or "failed"
    if observation.latency_ms is not None and observation.latency_ms > thresholds.max_latency_ms:
        return Outcome.POOR, f"latency {observation.latency_ms:.0f} ms > {thresholds.max_latency_ms:.0f} ms"
    limit = thresholds.max_first_frame_ms
    if limit is not None and observation.first_frame_ms is not None and observation.first_frame_ms > limit:
        return Outcome.POOR, f"first frame after {observation.first_frame_ms:.0f} ms > {limit:.0f} ms"
    expected = observation.expected_fps
    if observation.fps is not None and expected and observation.fps < expected * thresholds.min_fps_ratio:
        return Outcome.POOR, f"{observation.fps:.1f} fps < {thresholds.min_fps_ratio:.0%} of {expected:g} fps"
    return Outcome.GOOD, "ok"


def _next_status(
    state: HealthState, outcome: Outcome, failures: int, successes: int, t: HealthThresholds
) -> HealthStatus:
    status = state.status
    unknown = status in (HealthStatus.IDLE, HealthStatus.ERROR)
    if outcome is Outcome.FAIL:
        if unknown or failures >= t.offline_after:
            return HealthStatus.OFFLINE
        return HealthStatus.DEGRADED if status is HealthStatus.ONLINE else status
    if outcome is Outcome.POOR:
        return HealthStatus.DEGRADED  # answering, so not offline; short of good, so not online
    if unknown or successes >= t.recover_after:
        return HealthStatus.ONLINE
    return status


def step(
    state: HealthState, observation: Observation, thresholds: HealthThresholds, recent_changes: int = 0
) -> Transition:
    """The state after one more check. Pure: callers persist `after` and announce it when `changed`.

    `recent_changes` is how often the camera changed status within `flap_window_seconds`; callers
    need it only when this step would bring the camera back online (see `recovers`).
    """
    outcome, reason = judge(observation, thresholds)
    failures = state.failures + 1 if outcome is Outcome.FAIL else 0
    successes = state.successes + 1 if outcome is Outcome.GOOD else 0
    status = _next_status(state, outcome, failures, successes, thresholds)
    if (
        status is HealthStatus.ONLINE
        and state.status is not status
        and recent_changes >= thresholds.flap_changes
    ):
        status = HealthStatus.DEGRADED
        minutes = thresholds.flap_window_seconds / 60
        reason = f"flapping: {recent_changes} status changes in {minutes:g} min"
    return Transition(state, HealthState(status, failures, successes), outcome, reason)


def recovers(transition: Transition) -> bool:
    """Would this step bring the camera back online? Only then does flapping matter."""
    return transition.changed and transition.after.status is HealthStatus.ONLINE


def parse_status(value: str | None) -> HealthStatus:
    """A stored status; anything unknown (a value from a newer version) counts as never checked."""
    try:
        return HealthStatus(value or HealthStatus.IDLE)
    except ValueError:
        return HealthStatus.IDLE

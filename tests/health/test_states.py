"""The health state machine, transition by transition, and sequences that must not flap."""

from __future__ import annotations

import pytest

from vtrack.health.states import (
    HealthState,
    HealthStatus,
    HealthThresholds,
    Observation,
    Outcome,
    judge,
    parse_status,
    step,
)

T = HealthThresholds()
IDLE, ONLINE, DEGRADED, OFFLINE, ERROR = (
    HealthStatus.IDLE,
    HealthStatus.ONLINE,
    HealthStatus.DEGRADED,
    HealthStatus.OFFLINE,
    HealthStatus.ERROR,
)

GOOD = Observation(ok=True, latency_ms=20, first_frame_ms=300, fps=25, expected_fps=25)
SLOW = Observation(ok=True, latency_ms=1500, first_frame_ms=1600, fps=25, expected_fps=25)
LATE_FRAME = Observation(ok=True, latency_ms=20, first_frame_ms=6000, fps=25, expected_fps=25)
CHOPPY = Observation(ok=True, latency_ms=20, first_frame_ms=300, fps=10, expected_fps=25)
FAIL = Observation(ok=False, error_kind="unreachable")
SYMBOL = {"g": GOOD, "s": SLOW, "c": CHOPPY, "f": FAIL}


@pytest.mark.parametrize(
    ("observation", "outcome", "reason"),
    [
        (GOOD, Outcome.GOOD, "ok"),
        (SLOW, Outcome.POOR, "latency 1500 ms > 1000 ms"),
        (LATE_FRAME, Outcome.POOR, "first frame after 6000 ms > 4000 ms"),
        (CHOPPY, Outcome.POOR, "10.0 fps < 50% of 25 fps"),
        (FAIL, Outcome.FAIL, "unreachable"),
        (Observation(ok=False), Outcome.FAIL, "failed"),
        # Exactly at a threshold is still good; unknown expectations are not judged.
        (
            Observation(ok=True, latency_ms=1000, first_frame_ms=4000, fps=12.5, expected_fps=25),
            Outcome.GOOD,
            "ok",
        ),
        (Observation(ok=True, latency_ms=20, fps=2, expected_fps=None), Outcome.GOOD, "ok"),
        (Observation(ok=True, latency_ms=20, fps=None, expected_fps=25), Outcome.GOOD, "ok"),
        (Observation(ok=True), Outcome.GOOD, "ok"),
    ],
)
def test_judge(observation: Observation, outcome: Outcome, reason: str) -> None:
    assert judge(observation, T) == (outcome, reason)


def test_judge_without_a_first_frame_limit() -> None:
    assert judge(LATE_FRAME, HealthThresholds(max_first_frame_ms=None))[0] is Outcome.GOOD


# (status before, failures, successes, observation) -> (status after, failures, successes)
TRANSITIONS = [
    # Never checked (idle) or set by hand (error): the first result counts at once.
    (IDLE, 0, 0, GOOD, ONLINE, 0, 1),
    (IDLE, 0, 0, SLOW, DEGRADED, 0, 0),
    (IDLE, 0, 0, FAIL, OFFLINE, 1, 0),
    (ERROR, 0, 0, GOOD, ONLINE, 0, 1),
    (ERROR, 0, 0, FAIL, OFFLINE, 1, 0),
    # Online: one bad check degrades it, good checks keep it.
    (ONLINE, 0, 5, GOOD, ONLINE, 0, 6),
    (ONLINE, 0, 5, FAIL, DEGRADED, 1, 0),
    (ONLINE, 0, 5, SLOW, DEGRADED, 0, 0),
    (ONLINE, 0, 5, CHOPPY, DEGRADED, 0, 0),
    (ONLINE, 0, 5, LATE_FRAME, DEGRADED, 0, 0),
    # Degraded: back online after 2 good checks, offline after the 3rd failure in a row.
    (DEGRADED, 0, 0, GOOD, DEGRADED, 0, 1),
    (DEGRADED, 0, 1, GOOD, ONLINE, 0, 2),
    (DEGRADED, 1, 0, FAIL, DEGRADED, 2, 0),
    (DEGRADED, 2, 0, FAIL, OFFLINE, 3, 0),
    (DEGRADED, 2, 0, SLOW, DEGRADED, 0, 0),
    (DEGRADED, 0, 1, SLOW, DEGRADED, 0, 0),
    (DEGRADED, 2, 0, GOOD, DEGRADED, 0, 1),
    # Offline: 2 good checks to come back; a poor answer means it is reachable again, but not online.
    (OFFLINE, 3, 0, FAIL, OFFLINE, 4, 0),
    (OFFLINE, 3, 0, GOOD, OFFLINE, 0, 1),
    (OFFLINE, 0, 1, GOOD, ONLINE, 0, 2),
    (OFFLINE, 0, 1, FAIL, OFFLINE, 1, 0),
    (OFFLINE, 3, 0, SLOW, DEGRADED, 0, 0),
    (OFFLINE, 3, 0, CHOPPY, DEGRADED, 0, 0),
]


@pytest.mark.parametrize(("before", "failures", "successes", "observation", "after", "f2", "s2"), TRANSITIONS)
def test_transition(
    before: HealthStatus,
    failures: int,
    successes: int,
    observation: Observation,
    after: HealthStatus,
    f2: int,
    s2: int,
) -> None:
    transition = step(HealthState(before, failures, successes), observation, T)
    assert transition.after == HealthState(after, f2, s2)
    assert transition.changed == (before != after)


def run(sequence: str, start: HealthStatus = ONLINE, thresholds: HealthThresholds = T) -> list[HealthStatus]:
    """The status after each check of `sequence` (g good, s slow, c choppy, f failed), one a minute.

    Recent changes are counted the way the monitor counts events: those within the flap window.
    """
    state = HealthState(start)
    window = thresholds.flap_window_seconds / 60
    changed_at: list[int] = []
    statuses = []
    for minute, symbol in enumerate(sequence):
        recent = sum(1 for t in changed_at if minute - t < window)
        transition = step(state, SYMBOL[symbol], thresholds, recent)
        if transition.changed:
            changed_at.append(minute)
        state = transition.after
        statuses.append(state.status)
    return statuses


def changes(statuses: list[HealthStatus], start: HealthStatus = ONLINE) -> int:
    return sum(a != b for a, b in zip([start, *statuses], statuses, strict=False))


@pytest.mark.parametrize(
    ("sequence", "final", "events"),
    [
        ("gggg", ONLINE, 0),
        ("fff", OFFLINE, 2),  # online -> degraded -> offline
        ("fffgg", ONLINE, 3),  # ... -> online after two good checks
        ("fffg", OFFLINE, 2),  # one good check is not enough
        ("fgfgfgfgfgfgfgfg", DEGRADED, 1),  # flapping: one event, not sixteen
        ("ffgffgffgffg", DEGRADED, 1),  # never three failures in a row: never offline
        ("sgsgsgsgsg", DEGRADED, 1),  # intermittently slow
        ("fffgfgfgfg", OFFLINE, 2),  # an offline camera answering now and then stays offline
        ("fffsfsfs", DEGRADED, 3),  # ... but if it does stream, it is reachable: degraded
        ("sgg", ONLINE, 2),
    ],
)
def test_sequences(sequence: str, final: HealthStatus, events: int) -> None:
    statuses = run(sequence)
    assert statuses[-1] == final
    assert changes(statuses) == events


@pytest.mark.parametrize("pattern", ["fg", "ffg", "sg", "fsg", "ggf", "gggf", "ggs", "gsgf", "ggggf"])
def test_flapping_causes_a_bounded_number_of_events(pattern: str) -> None:
    """Blips shorter than an outage, in any rhythm: at most flap_changes + 2 events per flap window."""
    statuses = run(pattern * 100)
    windows = len(statuses) / 30
    assert changes(statuses) <= windows * (T.flap_changes + 2), pattern


def test_real_outages_are_reported_even_while_flapping() -> None:
    """Down four minutes, up three, again and again: every outage is an offline event."""
    statuses = run("ffffggg" * 10)
    outages = sum(1 for a, b in zip(statuses, statuses[1:], strict=False) if b == OFFLINE and a != OFFLINE)
    assert outages + (statuses[0] == OFFLINE) == 10
    assert ONLINE not in statuses[21:]  # held degraded between outages once flapping


def test_a_flapping_camera_is_held_degraded_and_recovers_once_calm() -> None:
    # Fails one check in three: without the hold it would change status twice every three minutes.
    statuses = run("ggf" * 4 + "g" * 40)
    assert changes(statuses[:12]) == 5  # degraded, online, degraded, online, degraded ... then held
    assert statuses[11] == DEGRADED and statuses[20] == DEGRADED
    assert statuses[-1] == ONLINE  # 30 calm minutes later
    assert changes(statuses) == 6


def test_the_hold_says_why() -> None:
    transition = step(HealthState(DEGRADED, 0, 1), GOOD, T, recent_changes=5)
    assert transition.after.status == DEGRADED and not transition.changed
    assert transition.reason == "flapping: 5 status changes in 30 min"
    from_offline = step(HealthState(OFFLINE, 0, 1), GOOD, T, recent_changes=7)
    assert from_offline.after.status == DEGRADED and from_offline.changed
    assert step(HealthState(DEGRADED, 0, 1), GOOD, T, recent_changes=4).after.status == ONLINE
    # Failures are still reported while flapping.
    assert step(HealthState(DEGRADED, 2, 0), FAIL, T, recent_changes=9).after.status == OFFLINE


def test_custom_thresholds() -> None:
    eager = HealthThresholds(recover_after=1, offline_after=1)
    assert run("fg", thresholds=eager) == [OFFLINE, ONLINE]
    patient = HealthThresholds(recover_after=3, offline_after=5)
    assert run("ffffgg", thresholds=patient)[-3:] == [DEGRADED, DEGRADED, DEGRADED]
    assert run("fffff", thresholds=patient)[-1] == OFFLINE
    with pytest.raises(ValueError, match="must be at least 1"):
        HealthThresholds(offline_after=0)
    with pytest.raises(ValueError, match="between 0 and 1"):
        HealthThresholds(min_fps_ratio=1.5)


@pytest.mark.parametrize(
    ("stored", "status"),
    [
        ("online", ONLINE),
        ("degraded", DEGRADED),
        (None, IDLE),
        ("", IDLE),
        ("rebooting", IDLE),
        ("error", ERROR),
    ],
)
def test_parse_status(stored: str | None, status: HealthStatus) -> None:
    assert parse_status(stored) == status

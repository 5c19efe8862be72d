"""The failed-login throttle, driven by an injected clock."""

from __future__ import annotations

from dataclasses import dataclass

from vtrack.security.ratelimit import LoginThrottle


@dataclass
class Clock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


def throttle(clock: Clock, max_failures: int = 3, window: float = 60) -> LoginThrottle:
    return LoginThrottle(max_failures, window, clock=clock)


def test_allows_until_the_limit_then_waits_for_the_window() -> None:
    clock = Clock()
    limiter = throttle(clock)
    for _ in range(3):
        assert limiter.retry_after("alice", "10.0.0.1") is None
        limiter.record_failure("alice", "10.0.0.1")
        clock.now += 10
    # Failures at 1000, 1010, 1020; now 1030. The oldest leaves the window at 1060.
    assert limiter.retry_after("alice", "10.0.0.1") == 30
    clock.now = 1059.5
    assert limiter.retry_after("alice", "10.0.0.1") == 1  # rounded up, never 0
    clock.now = 1060
    assert limiter.retry_after("alice", "10.0.0.1") is None
    limiter.record_failure("alice", "10.0.0.1")  # back at the limit: 1010, 1020, 1060
    assert limiter.retry_after("alice", "10.0.0.1") == 10


def test_limit_is_per_user_across_addresses_and_case() -> None:
    clock = Clock()
    limiter = throttle(clock)
    for index, name in enumerate(["alice", "ALICE", "Alice"]):
        limiter.record_failure(name, f"10.0.0.{index}")
    assert limiter.retry_after("alice", "10.9.9.9") == 60
    assert limiter.retry_after("bob", "10.9.9.9") is None


def test_username_variants_share_one_limit() -> None:
    """The account lookup ignores surrounding blanks, so the throttle must too, or it is bypassed."""
    clock = Clock()
    limiter = throttle(clock)
    for index, name in enumerate([" alice", "alice ", "\talice\n"]):
        limiter.record_failure(name, f"10.0.0.{index}")
    assert limiter.retry_after("alice", "10.9.9.9") == 60
    assert limiter.retry_after("  ALICE ", "10.9.9.9") == 60


def test_per_address_limit_is_four_times_the_user_limit() -> None:
    clock = Clock()
    limiter = throttle(clock)
    for index in range(11):
        limiter.record_failure(f"user{index}", "10.0.0.1")
    assert limiter.retry_after("someone-new", "10.0.0.1") is None
    limiter.record_failure("user11", "10.0.0.1")
    assert limiter.retry_after("someone-new", "10.0.0.1") == 60
    assert limiter.retry_after("someone-new", "10.0.0.2") is None
    assert limiter.retry_after("someone-new", None) is None  # no address known: only the user counts


def test_retry_after_is_the_longest_wait() -> None:
    clock = Clock()
    limiter = throttle(clock, max_failures=1)
    limiter.record_failure("alice", "10.0.0.1")  # user limit 1 reached at 1000
    clock.now += 20
    for index in range(4):
        limiter.record_failure(f"other{index}", "10.0.0.2")  # address limit 4 reached at 1020
    assert limiter.retry_after("alice", "10.0.0.1") == 40
    assert limiter.retry_after("alice", "10.0.0.2") == 60


def test_success_clears_the_user_but_not_the_address() -> None:
    clock = Clock()
    limiter = throttle(clock, max_failures=2)
    limiter.record_failure("alice", "10.0.0.1")
    limiter.record_failure("alice", "10.0.0.1")
    assert limiter.retry_after("alice", "10.0.0.5") == 60
    limiter.record_success(" Alice")
    assert limiter.retry_after("alice", "10.0.0.5") is None
    for index in range(6):
        limiter.record_failure(f"x{index}", "10.0.0.1")
    assert limiter.retry_after("alice", "10.0.0.1") == 60


def test_stale_entries_are_forgotten() -> None:
    """Failures for names never tried again must not pile up in memory forever."""
    clock = Clock()
    limiter = throttle(clock, max_failures=5)
    for index in range(5000):
        limiter.record_failure(f"random-{index}", f"10.{index // 250}.{index % 250}.1")
    assert limiter.tracked_keys > 5000
    clock.now += 61
    limiter.record_failure("late", "10.200.0.1")
    assert limiter.tracked_keys == 2


def test_acquire_counts_the_attempt_before_it_is_judged() -> None:
    """Concurrent guesses must not all pass the check before the first of them is counted."""
    clock = Clock()
    limiter = throttle(clock)
    assert [limiter.acquire("alice", "10.0.0.1") for _ in range(5)] == [None, None, None, 60, 60]
    limiter.record_success("alice", "10.0.0.1")
    assert limiter.acquire("alice", "10.0.0.1") is None


def test_success_takes_back_only_its_own_attempt_for_the_address() -> None:
    clock = Clock()
    limiter = throttle(clock, max_failures=1)  # the address allows 4
    for index in range(3):
        limiter.record_failure(f"x{index}", "10.0.0.1")
    assert limiter.acquire("alice", "10.0.0.1") is None  # the fourth, counted
    assert limiter.retry_after("bob", "10.0.0.1") == 60
    limiter.record_success("alice", "10.0.0.1")
    assert limiter.retry_after("bob", "10.0.0.1") is None  # the three real failures remain, under 4
    assert limiter.tracked_keys == 4

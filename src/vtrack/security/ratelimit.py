"""Sliding-window throttle for failed logins, per username and per client address."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable


def _user_key(username: str) -> str:
    # The same normalisation as the account lookup, or " admin" and "admin " would each get their own budget.
    return f"user:{username.strip().lower()}"


class LoginThrottle:
    """In-process; a scale-out deployment puts the same windows in Redis (step 8)."""

    def __init__(
        self, max_failures: int, window_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_failures = max_failures
        self.window = window_seconds
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._last_sweep = clock()

    @property
    def tracked_keys(self) -> int:
        """How many users and addresses have failures on record."""
        return len(self._failures)

    def _keys(self, username: str, ip: str | None) -> list[str]:
        keys = [_user_key(username)]
        if ip:
            keys.append(f"ip:{ip}")
        return keys

    def _recent(self, key: str, now: float) -> deque[float]:
        stamps = self._failures.get(key)
        if stamps is None:
            return deque()
        while stamps and stamps[0] <= now - self.window:
            stamps.popleft()
        if not stamps:
            del self._failures[key]
        return stamps

    def _sweep(self, now: float) -> None:
        """Drop keys whose failures all left the window: names tried once are otherwise kept forever."""
        if now - self._last_sweep < self.window:
            return
        self._last_sweep = now
        for key in list(self._failures):
            self._recent(key, now)

    def retry_after(self, username: str, ip: str | None) -> int | None:
        """Seconds until another attempt is allowed, or None when one is allowed now."""
        now = self._clock()
        waits = []
        for key in self._keys(username, ip):
            # An address gets more room than an account: several people may share one NAT.
            limit = self.max_failures * (4 if key.startswith("ip:") else 1)
            stamps = self._recent(key, now)
            if len(stamps) >= limit:
                waits.append(stamps[len(stamps) - limit] + self.window - now)
        return max(1, math.ceil(max(waits))) if waits else None

    def acquire(self, username: str, ip: str | None) -> int | None:
        """Check and count an attempt in one step: the seconds to wait when refused, else None.

        The attempt counts as a failure from the start and `record_success` takes it back. Checking
        first and counting only after the slow password check would let a burst of concurrent guesses
        all pass the check before any of them is counted.
        """
        wait = self.retry_after(username, ip)
        if wait is None:
            self.record_failure(username, ip)
        return wait

    def record_failure(self, username: str, ip: str | None) -> None:
        now = self._clock()
        self._sweep(now)
        for key in self._keys(username, ip):
            self._failures.setdefault(key, deque()).append(now)

    def record_success(self, username: str, ip: str | None = None) -> None:
        """Forget the account's failures; for the address, only take back the attempt `acquire` counted."""
        self._failures.pop(_user_key(username), None)
        stamps = self._failures.get(f"ip:{ip}") if ip else None
        if stamps:
            stamps.pop()
            if not stamps:
                del self._failures[f"ip:{ip}"]

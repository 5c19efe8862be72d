"""Sliding-window throttle for failed logins, per username and per client address."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable


class LoginThrottle:
    """In-process; a scale-out deployment puts the same windows in Redis (step 8)."""

    def __init__(
        self, max_failures: int, window_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_failures = max_failures
        self.window = window_seconds
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}

    def _keys(self, username: str, ip: str | None) -> list[str]:
        keys = [f"user:{username.lower()}"]
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

    def record_failure(self, username: str, ip: str | None) -> None:
        now = self._clock()
        for key in self._keys(username, ip):
            self._failures.setdefault(key, deque()).append(now)

    def record_success(self, username: str) -> None:
        self._failures.pop(f"user:{username.lower()}", None)

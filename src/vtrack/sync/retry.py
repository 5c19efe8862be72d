"""Retrying a device call: exponential backoff with full jitter, and only for failures that can pass.

A refused password or a missing stream will be refused again in a second; retrying them is how a
sync hammers an NVR into locking the account. Network trouble (unreachable, timeout, a dropped
connection) often passes, so it is retried a few times, each wait random in [0, base * 2^n] (AWS's
"full jitter"), so cameras that failed together do not come back together.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from vtrack.devices.errors import DeviceError

log = logging.getLogger(__name__)

T = TypeVar("T")
# Its own generator: jitter must not draw from (or disturb) the random module's shared state.
_JITTER = random.SystemRandom()
TRANSIENT_KINDS = frozenset({"unreachable", "timeout", "protocol", "error", "throttled"})


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    base_seconds: float = 1.0
    max_seconds: float = 30.0

    def delay(self, attempt: int, rng: Callable[[], float] = _JITTER.random) -> float:
        return float(rng() * min(self.max_seconds, self.base_seconds * 2.0**attempt))


def is_transient(error: BaseException) -> bool:
    if isinstance(error, DeviceError):
        return error.kind in TRANSIENT_KINDS
    return isinstance(error, OSError | TimeoutError)


async def with_retries(
    call: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    what: str,
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    for attempt in range(policy.attempts):
        try:
            return await call()
        except Exception as error:
            if not is_transient(error) or attempt == policy.attempts - 1:
                raise
            wait = policy.delay(attempt)
            log.info("%s failed (%s); retry %d in %.1f s", what, error, attempt + 1, wait)
            await sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover

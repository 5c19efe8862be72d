"""One health check of one camera: open its stream the way a viewer would and say what was seen.

Reachability is the probe's TCP connect, latency its DESCRIBE round trip (what a viewer waits for before
anything else happens; the connect time when DESCRIBE was not reached), then the first decoded frame and
the frame rate over a short sample. The prober is a constructor argument so tests pass a fake and the
benchmark a connect-only variant; the real one is `vtrack.devices.rtsp.probe.probe_stream`.

Credentials reach only the prober. Error texts come from the RTSP client, which already strips URLs of
userinfo; they are still scrubbed of the password here, because an error message is stored and shown.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from vtrack.db.types import utcnow
from vtrack.devices.rtsp.errors import RtspError, safe_url

log = logging.getLogger(__name__)

SAMPLE_SECONDS = 0.5  # long enough for ~12 frames at 25 fps, short enough for 1,000 cameras a minute
_GRACE = 0.5  # past the timeout, so a probe step's own (more specific) timeout message wins the race
_MAX_ERROR = 1000  # camera_health.error column size


class ProbeResult(Protocol):
    """What the checker reads of `vtrack.devices.rtsp.probe.StreamProbe`."""

    @property
    def connect_ms(self) -> float: ...
    @property
    def describe_ms(self) -> float: ...
    @property
    def first_frame_ms(self) -> float: ...
    @property
    def fps(self) -> float | None: ...
    @property
    def codec(self) -> str: ...
    @property
    def width(self) -> int | None: ...
    @property
    def height(self) -> int | None: ...


class Prober(Protocol):
    """The signature of `probe_stream`; raises RtspError subclasses (with `.kind`) on failure."""

    async def __call__(
        self,
        url: str,
        *,
        username: str | None,
        password: str | None,
        timeout: float,  # noqa: ASYNC109  (probe_stream's contract: it bounds each step itself)
        sample_seconds: float = ...,
        decode: bool = ...,
    ) -> ProbeResult: ...


@dataclass(frozen=True)
class CheckTarget:
    """A camera as the checker needs it: where, with which credentials, and what rate to expect."""

    camera_id: str
    name: str
    url: str
    username: str | None
    password: str | None
    expected_fps: float | None = None

    def __repr__(self) -> str:  # the password stays out of logs and tracebacks
        return f"CheckTarget(camera_id={self.camera_id!r}, name={self.name!r}, url={safe_url(self.url)!r})"


@dataclass(frozen=True)
class HealthSample:
    """The result of one check, as stored in camera_health (without the judged status)."""

    camera_id: str
    checked_at: datetime
    ok: bool
    duration_ms: float
    latency_ms: float | None = None
    first_frame_ms: float | None = None
    fps: float | None = None
    codec: str | None = None
    width: int | None = None
    height: int | None = None
    error_kind: str | None = None
    error: str | None = None


def _scrub(message: str, password: str | None) -> str:
    if password:
        message = message.replace(password, "***")
    return message[:_MAX_ERROR]


class HealthChecker:
    def __init__(
        self,
        prober: Prober,
        *,
        timeout: float,
        sample_seconds: float = SAMPLE_SECONDS,
        decode: bool = True,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.prober = prober
        self.timeout = timeout
        self.sample_seconds = sample_seconds
        self.decode = decode
        self.clock = clock

    async def check(self, target: CheckTarget) -> HealthSample:
        """Never raises for a camera's fault: every failure becomes a sample with an error kind."""
        checked_at = self.clock()
        start = time.perf_counter()

        def failed(kind: str, message: str) -> HealthSample:
            elapsed = (time.perf_counter() - start) * 1000
            return HealthSample(
                target.camera_id, checked_at, False, elapsed, error_kind=kind,
                error=_scrub(message, target.password),
            )  # fmt: skip

        try:
            async with asyncio.timeout(self.timeout + _GRACE):
                probe = await self.prober(
                    target.url,
                    username=target.username,
                    password=target.password,
                    timeout=self.timeout,
                    sample_seconds=self.sample_seconds,
                    decode=self.decode,
                )
        except RtspError as exc:
            return failed(exc.kind, exc.message)
        except TimeoutError:
            return failed("timeout", f"no answer within {self.timeout:g} s")
        except OSError as exc:  # a prober that let a socket error through
            return failed("unreachable", exc.strerror or str(exc))
        except Exception as exc:  # a bug in the prober must cost one sample, not the round
            log.exception("health check of camera %s failed unexpectedly", target.camera_id)
            return failed("internal", f"{type(exc).__name__}: {exc}")
        latency = probe.describe_ms if probe.describe_ms > 0 else probe.connect_ms
        return HealthSample(
            camera_id=target.camera_id,
            checked_at=checked_at,
            ok=True,
            duration_ms=(time.perf_counter() - start) * 1000,
            latency_ms=round(latency, 2),
            first_frame_ms=round(probe.first_frame_ms, 2) if probe.first_frame_ms >= 0 else None,
            fps=round(probe.fps, 2) if probe.fps is not None else None,
            codec=probe.codec or None,
            width=probe.width,
            height=probe.height,
        )

"""A scripted prober and helpers to put cameras in the database, for monitor and API tests."""

from __future__ import annotations

import asyncio
import os
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from vtrack.db.models import Camera
from vtrack.db.session import Database
from vtrack.devices.rtsp.errors import RtspAuthError, RtspError, RtspTimeout, RtspUnreachable
from vtrack.health.checker import HealthChecker, ProbeResult
from vtrack.registry.cameras import PASSWORD_PURPOSE
from vtrack.security.encryption import Keyring

KEYRING = Keyring(current=os.urandom(32))


@dataclass(frozen=True)
class FakeProbe:
    connect_ms: float = 1.0
    describe_ms: float = 5.0
    first_frame_ms: float = 80.0
    fps: float | None = 25.0
    codec: str = "H264"
    width: int | None = 640
    height: int | None = 360


GOOD = FakeProbe()
SLOW = FakeProbe(describe_ms=2500.0)
CHOPPY = FakeProbe(fps=5.0)
DOWN = RtspUnreachable("connection refused by 127.0.0.1:9 — nothing listens there")
AUTH = RtspAuthError("camera at 127.0.0.1:9 refused the credentials")
TIMEOUT = RtspTimeout("no answer")
Script = FakeProbe | RtspError | BaseException


@dataclass
class FakeProber:
    """Answers each URL from its script, one entry per check (the last one repeats); GOOD by default."""

    scripts: dict[str, deque[Script]] = field(default_factory=dict)
    delay: float = 0.0
    calls: list[dict[str, Any]] = field(default_factory=list)
    running: int = 0
    most_running: int = 0

    def script(self, url: str, *answers: Script) -> None:
        self.scripts[url] = deque(answers)

    async def __call__(
        self,
        url: str,
        *,
        username: str | None,
        password: str | None,
        timeout: float,  # noqa: ASYNC109
        sample_seconds: float = 0.5,
        decode: bool = True,
    ) -> ProbeResult:
        self.calls.append({"url": url, "username": username, "password": password, "timeout": timeout})
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            queue = self.scripts.get(url)
            answer: Script = GOOD
            if queue:
                answer = queue.popleft() if len(queue) > 1 else queue[0]
            if isinstance(answer, BaseException):
                raise answer
            return answer
        finally:
            self.running -= 1


def checker(prober: FakeProber, timeout: float = 2.0) -> HealthChecker:
    return HealthChecker(prober, timeout=timeout)


async def add_cameras(
    database: Database, count: int, *, prefix: str = "cam", fps: int | None = 25, active: bool = True
) -> list[str]:
    """Cameras rtsp://127.0.0.1:9/{prefix}{n} with user admin / password secret{n}; returns their ids."""
    cameras = [
        Camera(
            name=f"{prefix} {n}",
            rtsp_url=f"rtsp://127.0.0.1:9/{prefix}{n}",
            username="admin",
            password_encrypted=KEYRING.encrypt(f"secret{n}", PASSWORD_PURPOSE),
            fps=fps,
            is_active=active,
        )
        for n in range(count)
    ]
    async with database.transaction() as session:
        session.add_all(cameras)
    return [c.id for c in cameras]


def url_of(prefix: str, n: int) -> str:
    return f"rtsp://127.0.0.1:9/{prefix}{n}"

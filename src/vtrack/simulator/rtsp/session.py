"""An RTSP session: one client's stream of one camera, live or replay, from SETUP to TEARDOWN or timeout.

Sessions own what must be released when they end: a place in the live broadcast, a running replay
task, UDP sockets. The server ends a session on TEARDOWN, when its connection closes, or when the client
has been silent (no request, no RTCP) for longer than the timeout it was promised in the Session header.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from typing import Literal

from vtrack.simulator.media.archive import ArchiveFrame
from vtrack.simulator.media.sources import CameraMedia
from vtrack.simulator.rtsp.live import MAX_BACKLOG, LiveBroadcast, LiveSink, LiveStart
from vtrack.simulator.rtsp.replay import ReplayRequest, ReplayStream
from vtrack.simulator.rtsp.transport import RtpSender

log = logging.getLogger(__name__)

Kind = Literal["live", "replay"]
State = Literal["ready", "playing"]


def _nothing() -> None:
    return None


class Session(ABC):
    """What live and replay sessions share: identity, transport, liveness."""

    def __init__(
        self,
        session_id: str,
        media: CameraMedia,
        sender: RtpSender,
        timeout: float,
        drop_connection: Callable[[], None] = _nothing,
    ) -> None:
        self.id = session_id
        self.media = media
        self.sender = sender
        self.timeout = timeout
        self.state: State = "ready"
        self.last_seen = time.monotonic()
        self.drop_connection = drop_connection  # closes the RTSP connection that set this session up

    @property
    @abstractmethod
    def ssrc(self) -> int:
        """The RTP source id of what this session sends (the broadcast's for live, its own for replay)."""

    def touch(self) -> None:
        self.last_seen = time.monotonic()

    def expired(self, now: float) -> bool:
        return now - self.last_seen > self.timeout

    async def pause(self) -> None:
        self.state = "ready"

    async def close(self) -> None:
        await self.pause()
        self.sender.close()


class LiveSession(Session):
    def __init__(
        self,
        session_id: str,
        media: CameraMedia,
        sender: RtpSender,
        timeout: float,
        broadcast: LiveBroadcast,
        drop_connection: Callable[[], None] = _nothing,
        max_backlog: int = MAX_BACKLOG,
    ) -> None:
        super().__init__(session_id, media, sender, timeout, drop_connection)
        self.broadcast = broadcast
        self.max_backlog = max_backlog
        self._sink: LiveSink | None = None

    @property
    def ssrc(self) -> int:
        return self.broadcast.ssrc

    async def play(self) -> LiveStart:
        """Join the camera's broadcast. The caller answers the PLAY, then calls `LiveStart.deliver()`."""
        if self._sink is not None:
            self.broadcast.detach(self._sink)
        self._sink = LiveSink(self.sender, self.media.camera.faults, self.max_backlog)
        start = await self.broadcast.attach(self._sink)
        self.state = "playing"
        return start

    @property
    def sink(self) -> LiveSink | None:
        """This session's place in the broadcast while playing (its send and drop counters)."""
        return self._sink

    async def pause(self) -> None:
        if self._sink is not None:
            self.broadcast.detach(self._sink)
            self._sink = None
        await super().pause()


class ReplaySession(Session):
    def __init__(
        self,
        session_id: str,
        media: CameraMedia,
        sender: RtpSender,
        timeout: float,
        replay: ReplayStream,
        drop_connection: Callable[[], None] = _nothing,
    ) -> None:
        super().__init__(session_id, media, sender, timeout, drop_connection)
        self.replay = replay
        self._task: asyncio.Task[None] | None = None

    @property
    def ssrc(self) -> int:
        return self.replay.ssrc

    async def play(self, request: ReplayRequest, *, resume: bool = False) -> ArchiveFrame | None:
        """Start streaming `request`'s range (or, with `resume`, continue after PAUSE); returns the first
        frame, None when there is nothing to send.

        The replay task only runs once the caller yields to the event loop, so the PLAY response written
        right after this returns always precedes the first RTP packet.
        """
        await self._stop_task()
        if resume:
            frames, first = self.replay.prepare_resume()
        else:
            frames, first = self.replay.prepare(request.start, request.end)
        if first is None:
            return None
        self._task = asyncio.create_task(self._run(request, frames, first))
        self.state = "playing"
        return first

    async def _run(self, request: ReplayRequest, frames: Iterator[ArchiveFrame], first: ArchiveFrame) -> None:
        try:
            await self.replay.run(request, frames, first)
        except (ConnectionError, OSError) as exc:
            log.debug("replay session %s stopped: %s", self.id, exc)

    async def pause(self) -> None:
        await self._stop_task()
        await super().pause()

    async def _stop_task(self) -> None:
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

"""The simulator's RTSP server: one asyncio listener serving every simulated camera by path.

Cameras are told apart by path (`/live/{channel}`, `/live/{channel}/sub`, `/replay/{channel}`, plus the
persona's vendor paths: see routes.py), like an NVR serving its channels. The server owns what is shared
across connections: the session table (sessions outlive requests and are found by id), one live
broadcaster per stream, one replay payload cache per camera, the Digest authenticator, and a reaper that
ends sessions whose client fell silent or whose camera went offline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import socket
import time
from collections.abc import Mapping

from vtrack.simulator.config import CameraSpec, SimulatorConfig
from vtrack.simulator.media.sources import CameraMedia, LiveMode, build_camera_media
from vtrack.simulator.media.stream import EncodedClip
from vtrack.simulator.rtsp.auth import Authenticator
from vtrack.simulator.rtsp.connection import Connection
from vtrack.simulator.rtsp.live import MAX_BACKLOG, LiveBroadcast
from vtrack.simulator.rtsp.replay import PayloadCache
from vtrack.simulator.rtsp.routes import Target, build_routes
from vtrack.simulator.rtsp.session import Session
from vtrack.simulator.streams import Stream, live_path

log = logging.getLogger(__name__)

DEFAULT_SESSION_TIMEOUT = 60.0


class RtspServer:
    """`await start()` listens on config.host:config.rtsp_port (0 picks a free port, see `port`)."""

    product = "vtrack-simulator RTSP/1.0"

    def __init__(
        self,
        config: SimulatorConfig,
        sources: Mapping[int, CameraMedia] | None = None,
        *,
        sub_sources: Mapping[int, CameraMedia] | None = None,
        session_timeout: float = DEFAULT_SESSION_TIMEOUT,
        allow_basic: bool = False,
        realm: str = "vtrack",
        live_mode: LiveMode = "encode",
        max_backlog: int = MAX_BACKLOG,
        send_buffer: int | None = None,
    ) -> None:
        self.config = config
        self.sources: Mapping[int, CameraMedia] = (
            sources if sources is not None else build_camera_media(config, live_mode=live_mode)
        )
        # Given main sources without sub ones (a test's own media): no sub streams.
        self.sub_sources: Mapping[int, CameraMedia] = (
            sub_sources
            if sub_sources is not None
            else {}
            if sources is not None
            else build_camera_media(config, live_mode=live_mode, stream="sub")
        )
        self.session_timeout = session_timeout
        self.max_backlog = max_backlog  # bytes a live client may fall behind before it loses frames
        # SO_SNDBUF for client sockets; None keeps the kernel's autotuning (on loopback it lets ~3 MB
        # pile up in the kernel before a slow client shows any backlog here).
        self.send_buffer = send_buffer
        self.auth = Authenticator(realm, allow_basic=allow_basic)
        self.sessions: dict[str, Session] = {}
        self._routes = build_routes(config, self.sources, self.sub_sources)
        self._broadcasts: dict[tuple[int, Stream], LiveBroadcast] = {}
        self._payload_caches: dict[int, PayloadCache] = {}
        self._server: asyncio.Server | None = None
        self._connections: dict[Connection, asyncio.Event] = {}  # open connections -> "finished" flags
        self._reaper: asyncio.Task[None] | None = None
        self._port = config.rtsp_port

    @property
    def host(self) -> str:
        return self.config.host

    @property
    def port(self) -> int:
        return self._port

    def url(self, camera: CameraSpec, *, replay: bool = False, stream: Stream = "main") -> str:
        path = self.config.replay_path(camera) if replay else live_path(self.config.live_path(camera), stream)
        return f"rtsp://{self.host}:{self.port}{path}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, self.config.host, self.config.rtsp_port)
        self._port = self._server.sockets[0].getsockname()[1]
        self._reaper = asyncio.create_task(self._reap())
        log.info("RTSP server on rtsp://%s:%d (%d cameras)", self.host, self.port, len(self.config.cameras))

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
        # Hang up on every client (their handlers then end on EOF) rather than cancelling the handler
        # tasks, which asyncio's stream server would report as errors.
        for connection in list(self._connections):
            connection.writer.close()
        for finished in list(self._connections.values()):
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(5):
                    await finished.wait()
        for session in list(self.sessions.values()):
            await self.end_session(session)
        for media in [*self.sources.values(), *self.sub_sources.values()]:
            await media.live.close()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    # -- shared state for connections ------------------------------------------------------------

    def route(self, url: str) -> Target | None:
        """The stream a request URL (absolute or a path, with its query) names."""
        return self._routes.resolve(url)

    def new_session_id(self) -> str:
        return secrets.token_hex(8).upper()

    def touch(self, session_id: str) -> None:
        session = self.sessions.get(session_id)
        if session is not None:
            session.touch()

    def broadcast(self, media: CameraMedia) -> LiveBroadcast:
        key = (media.camera.channel, media.stream)
        if key not in self._broadcasts:
            self._broadcasts[key] = LiveBroadcast(media.live)
        return self._broadcasts[key]

    def payload_cache(self, media: CameraMedia, clip: EncodedClip) -> PayloadCache:
        cache = self._payload_caches.get(media.camera.channel)
        if cache is None or cache.clip is not clip:
            cache = self._payload_caches[media.camera.channel] = PayloadCache(clip)
        return cache

    async def end_session(self, session: Session) -> None:
        self.sessions.pop(session.id, None)
        await session.close()

    # -- internals ---------------------------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.send_buffer is not None:
            sock = writer.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.send_buffer)
        connection = Connection(self, reader, writer)
        finished = self._connections[connection] = asyncio.Event()
        try:
            await connection.run()
        finally:
            del self._connections[connection]
            finished.set()
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    async def _reap(self) -> None:
        """End sessions whose client went silent past the timeout, or whose camera was switched offline."""
        interval = max(0.2, min(5.0, self.session_timeout / 4))
        while True:
            await asyncio.sleep(interval)
            now = time.monotonic()
            for session in list(self.sessions.values()):
                offline = session.media.camera.faults.offline
                if offline or session.expired(now):
                    reason = "camera offline" if offline else "timed out"
                    log.info("ending session %s (%s)", session.id, reason)
                    await self.end_session(session)
                    session.drop_connection()

"""One client connection: reads RTSP requests, answers them, owns the sessions it set up.

Methods are answered the way IP cameras answer them: OPTIONS without credentials (FFmpeg and GStreamer
start with it), everything else behind Digest; SETUP offers TCP-interleaved and UDP unicast; PLAY on a
/replay path speaks ONVIF replay. A handler returns its response plus an optional action that must run
right after the response is written (starting live delivery), so no RTP packet can overtake the reply.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from email.utils import formatdate
from typing import TYPE_CHECKING

from vtrack.simulator.media.archive import datetime_from_ticks
from vtrack.simulator.media.sources import CameraMedia
from vtrack.simulator.rtsp.headers import (
    HeaderError,
    parse_range,
    parse_rate_control,
    parse_scale,
    parse_transport,
)
from vtrack.simulator.rtsp.messages import InterleavedData, ProtocolError, Request, Response, read_message
from vtrack.simulator.rtsp.replay import ReplayRequest, ReplayStream
from vtrack.simulator.rtsp.sdp import TRACK, build_sdp, clock_time
from vtrack.simulator.rtsp.session import Kind, LiveSession, ReplaySession, Session
from vtrack.simulator.rtsp.transport import InterleavedSender, RtpSender, UdpSender

if TYPE_CHECKING:
    from vtrack.simulator.rtsp.server import RtspServer

log = logging.getLogger(__name__)

PUBLIC = "OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER, SET_PARAMETER"
SUPPORTED_REQUIRE = {"onvif-replay"}
After = Callable[[], None]


class CameraOffline(Exception):
    """The request names a camera whose `offline` fault is on: drop the connection without answering."""


class Connection:
    def __init__(
        self, server: RtspServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer
        peer = writer.get_extra_info("peername")
        self.peer_host: str = peer[0] if peer else "127.0.0.1"
        self.sessions: dict[str, Session] = {}
        self.authenticated = False
        self._next_channel = 0

    async def run(self) -> None:
        try:
            while not self.writer.is_closing():
                message = await read_message(self.reader)
                if isinstance(message, InterleavedData):
                    for session in self.sessions.values():
                        session.touch()  # RTCP receiver reports keep TCP sessions alive
                    continue
                response, after = await self._dispatch(message)
                self.writer.write(response.encode(message.cseq))
                if after is not None:
                    after()
                await self.writer.drain()
        except CameraOffline:
            log.debug("request for an offline camera from %s: dropping the connection", self.peer_host)
        except (EOFError, asyncio.IncompleteReadError, ConnectionError):
            pass
        except (ProtocolError, ValueError) as exc:
            log.info("closing RTSP connection from %s: %s", self.peer_host, exc)
        finally:
            await self.close()

    async def close(self) -> None:
        for session in list(self.sessions.values()):
            await self.server.end_session(session)
        self.sessions.clear()
        if not self.writer.is_closing():
            self.writer.close()

    async def _dispatch(self, request: Request) -> tuple[Response, After | None]:
        handlers = {
            "OPTIONS": self._options,
            "DESCRIBE": self._describe,
            "SETUP": self._setup,
            "PLAY": self._play,
            "PAUSE": self._pause,
            "TEARDOWN": self._teardown,
            "GET_PARAMETER": self._keepalive,
            "SET_PARAMETER": self._keepalive,
        }
        handler = handlers.get(request.method)
        if request.version != "RTSP/1.0":
            return self._response(505), None
        if handler is None:
            return self._response(501).add("Public", PUBLIC), None
        try:
            return await handler(request)
        except HeaderError as exc:
            log.info("%s %s: %s", request.method, request.url, exc)
            return self._response(exc.status), None
        except CameraOffline:
            raise
        except Exception:  # a bug or an exhausted resource must cost one request, not the connection
            log.exception("%s %s failed", request.method, request.url)
            return self._response(500), None

    def _response(self, status: int) -> Response:
        return Response(status).add("Server", self.server.product).add("Date", formatdate(usegmt=True))

    # -- routing and auth ------------------------------------------------------------------------

    def _resolve(self, request: Request) -> tuple[Kind, CameraMedia] | None:
        target = self.server.route(request.url)
        if target is not None and target[1].camera.faults.offline:
            raise CameraOffline
        return target

    def _authorized_target(self, request: Request) -> tuple[Kind, CameraMedia] | Response:
        """The stream the request names if its credentials open it; else the 404 or 401 to send."""
        target = self._resolve(request)
        if target is None:
            return self._response(404)
        denied = self._authorize(request, target[1])
        return target if denied is None else denied

    def _authorize(self, request: Request, media: CameraMedia) -> Response | None:
        """None when the request carries valid credentials for `media`'s camera, else the 401 to send."""
        password = None if media.camera.faults.wrong_password else self.server.config.password
        result = self.server.auth.check(
            request.header("Authorization"), request.method, self.server.config.username, password
        )
        if result.ok or (result.stale and self.authenticated):
            self.authenticated = True
            return None
        response = self._response(401)
        for challenge in self.server.auth.challenges(stale=result.stale):
            response.add("WWW-Authenticate", challenge)
        return response

    def _session(self, request: Request) -> Session | None:
        session_id = request.header("Session").split(";", 1)[0].strip()
        session = self.server.sessions.get(session_id) if session_id else None
        if session is not None:
            session.touch()
        return session

    def _session_header(self, session: Session) -> str:
        return f"{session.id};timeout={int(session.timeout)}"

    # -- methods -----------------------------------------------------------------------------------

    async def _options(self, request: Request) -> tuple[Response, After | None]:
        self._resolve(request)  # an offline camera answers nothing, not even OPTIONS
        response = self._response(200).add("Public", PUBLIC)
        session = self._session(request)
        if session is not None:
            response.add("Session", self._session_header(session))
        return response, None

    async def _describe(self, request: Request) -> tuple[Response, After | None]:
        target = self._authorized_target(request)
        if isinstance(target, Response):
            return target, None
        kind, media = target
        clock_range = None
        try:
            if kind == "live":
                info = await media.live.info()
            else:
                archive = await media.archive()
                info = archive.clip.info
                start, end = archive.recording_range()
                clock_range = (datetime_from_ticks(start), datetime_from_ticks(end))
        except (TimeoutError, OSError, ValueError) as exc:
            log.warning("camera %d has no %s stream: %s", media.camera.channel, kind, exc)
            return self._response(503), None
        sdp = build_sdp(
            info,
            host=self.server.host,
            session_id=media.camera.channel,
            name=media.camera.name,
            clock_range=clock_range,
        )
        # The whole URL, query included: Dahua's /cam/realmonitor names its stream in the query.
        base = request.url.rstrip("/") + "/"
        response = self._response(200).add("Content-Type", "application/sdp").add("Content-Base", base)
        response.body = sdp.encode("utf-8")
        return response, None

    async def _setup(self, request: Request) -> tuple[Response, After | None]:
        target = self._authorized_target(request)
        if isinstance(target, Response):
            return target, None
        kind, media = target
        existing = self._session(request)
        if existing is not None:
            return self._response(459), None  # one track per stream: a second SETUP has nothing to add
        spec = parse_transport(request.header("Transport"))
        sender: RtpSender
        session_id = self.server.new_session_id()
        if spec.client_ports is None:
            rtp_channel, rtcp_channel = spec.interleaved or (self._next_channel, self._next_channel + 1)
            self._next_channel = max(self._next_channel, rtcp_channel + 1)
            sender = InterleavedSender(self.writer, rtp_channel, rtcp_channel)
        else:
            sender = await UdpSender.open(
                self.server.host, self.peer_host, spec.client_ports, lambda: self.server.touch(session_id)
            )
        timeout = self.server.session_timeout
        session: Session
        try:
            if kind == "live":
                await media.live.info()
                broadcast = self.server.broadcast(media)
                session = LiveSession(
                    session_id, media, sender, timeout, broadcast, self.writer.close, self.server.max_backlog
                )
            else:
                archive = await media.archive()
                replay = ReplayStream(archive, self.server.payload_cache(media, archive.clip), sender)
                session = ReplaySession(session_id, media, sender, timeout, replay, self.writer.close)
        except (TimeoutError, OSError, ValueError) as exc:
            sender.close()
            log.warning("SETUP of camera %d failed: %s", media.camera.channel, exc)
            return self._response(503), None
        self.server.sessions[session.id] = session
        self.sessions[session.id] = session
        response = self._response(200)
        response.add("Transport", f'{sender.description};ssrc={session.ssrc:08X};mode="PLAY"')
        response.add("Session", self._session_header(session))
        return response, None

    async def _play(self, request: Request) -> tuple[Response, After | None]:
        session = self._session(request)
        if session is None:
            return self._response(454), None
        if session.media.camera.faults.offline:
            raise CameraOffline
        denied = self._authorize(request, session.media)
        if denied is not None:
            return denied, None
        unsupported = [
            tag.strip()
            for tag in request.header("Require").split(",")
            if tag.strip() and tag.strip() not in SUPPORTED_REQUIRE
        ]
        if unsupported:
            return self._response(551).add("Unsupported", ", ".join(unsupported)), None
        # As the client built it from Content-Base: FFmpeg matches RTP-Info to its track by this exact URL.
        track_url = request.url.rstrip("/") + "/" + TRACK
        if request.url.rstrip("/").rpartition("/")[2].lower().startswith("track"):
            track_url = request.url
        if isinstance(session, LiveSession):
            start = await session.play()
            response = self._response(200).add("Session", self._session_header(session))
            response.add("Range", "npt=now-")
            response.add("RTP-Info", f"url={track_url};seq={start.seq};rtptime={start.rtptime}")
            return response, start.deliver
        if isinstance(session, ReplaySession):
            return await self._play_replay(request, session, track_url)
        return self._response(455), None

    async def _play_replay(
        self, request: Request, session: ReplaySession, track_url: str
    ) -> tuple[Response, After | None]:
        replay = session.replay
        low, high = replay.archive.recording_range()
        wanted = parse_range(request.header("Range"))
        resume = wanted is None and replay.paused_at is not None
        if wanted is not None:
            start, end = wanted.start, wanted.end if wanted.end is not None else high
        elif resume:
            start, end = replay.paused_at.time if replay.paused_at else low, replay.last_end
        else:
            start, end = low, high  # no Range and nothing paused: the whole recording
        if end < low or start > high:
            return self._response(457), None
        scale = parse_scale(request.header("Scale"))
        rate_control = parse_rate_control(request.header("Rate-Control"))
        cseq = int(request.cseq) if request.cseq.isdigit() else 0
        first = await session.play(ReplayRequest(start, end, rate_control, scale, cseq), resume=resume)
        if first is None:
            return self._response(457), None
        response = self._response(200).add("Session", self._session_header(session))
        # Open-ended on purpose: where the range stops is told in-band (the last packet's E and T flags,
        # then an RTCP BYE), never as an end time here. Given an end, GStreamer's rtspsrc hands the
        # jitterbuffer an npt-stop and it arms an estimated-EOS timer while it drains; when a fast replay
        # has arrived whole before that (the client still building its decoder), nothing wakes the
        # jitterbuffer's timer thread again and the EOS from the BYE waits on that timer forever
        # (GStreamer 1.22: rtspsrc never posts EOS, and even setting the pipeline to NULL stalls).
        response.add("Range", f"clock={clock_time(datetime_from_ticks(first.time))}-")
        response.add("RTP-Info", f"url={track_url};seq={replay.seq};rtptime={replay.rtp_time(first.time)}")
        response.add("Rate-Control", "yes" if rate_control else "no")
        if request.header("Scale"):
            response.add("Scale", f"{scale:g}")
        return response, None

    async def _pause(self, request: Request) -> tuple[Response, After | None]:
        session = self._session(request)
        if session is None:
            return self._response(454), None
        denied = self._authorize(request, session.media)
        if denied is not None:
            return denied, None
        await session.pause()
        return self._response(200).add("Session", self._session_header(session)), None

    async def _teardown(self, request: Request) -> tuple[Response, After | None]:
        session = self._session(request)
        if session is None:
            return self._response(454), None
        denied = self._authorize(request, session.media)
        if denied is not None:
            return denied, None
        self.sessions.pop(session.id, None)
        await self.server.end_session(session)
        return self._response(200), None

    async def _keepalive(self, request: Request) -> tuple[Response, After | None]:
        """GET_PARAMETER / SET_PARAMETER with no body: the keep-alive clients send to hold a session."""
        session = self._session(request)
        response = self._response(200)
        if session is not None:
            response.add("Session", self._session_header(session))
        elif request.header("Session"):
            return self._response(454), None
        return response, None

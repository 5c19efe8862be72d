"""vtrack's RTSP client: one TCP connection, RTP interleaved on it, plain asyncio streams.

FFmpeg cannot send ONVIF replay's PLAY headers nor hand back the RTP header extension, and opening a
PyAV container per health check costs far more than the check needs, so this client speaks RTSP itself.
It reads the connection from one place at a time: `request()` waits for the reply whose CSeq matches and
queues any RTP that arrives first; the `packets()` iterator yields RTP/RTCP and swallows keep-alive
replies; keep-alives (keepalive.py) go out at half the session timeout while it plays. `timeout` bounds
the TCP connect, each request's round trip and each read while streaming. Use one task per client: the
connection has one reader at a time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass
from types import TracebackType
from urllib.parse import urljoin

from vtrack.devices.rtsp.auth import Authenticator, Challenge, split_credentials
from vtrack.devices.rtsp.connection import Connection, address, where
from vtrack.devices.rtsp.errors import RtspAuthError, RtspProtocolError, safe_url, status_error
from vtrack.devices.rtsp.keepalive import KeepAlive
from vtrack.devices.rtsp.rtp import RtcpPacket, RtpPacket, parse_rtp
from vtrack.devices.rtsp.sdp import SessionDescription, Track, base_url, parse_sdp
from vtrack.devices.rtsp.wire import (
    Interleaved,
    RtspResponse,
    ServerRequest,
    encode_request,
    encode_response,
    parse_interleaved,
    parse_session,
)

log = logging.getLogger(__name__)

DEFAULT_SESSION_TIMEOUT = 60.0
MAX_QUEUED = 8192  # interleaved packets held while waiting for a reply
_REDIRECTS = {301, 302, 303, 305, 307}
_REDIRECTABLE = {"OPTIONS", "DESCRIBE"}  # before a session exists: moving loses nothing


@dataclass(frozen=True)
class Channels:
    """The interleaved channel pair a SETUP got for its track."""

    rtp: int
    rtcp: int


class RtspClient:
    def __init__(
        self,
        url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
        user_agent: str = "vtrack",
    ) -> None:
        self.url, credentials = split_credentials(url, username, password)
        self._auth = Authenticator(credentials) if credentials else None
        self.timeout = timeout
        self.user_agent = user_agent
        self.session_id: str | None = None
        self.session_timeout = DEFAULT_SESSION_TIMEOUT
        self.channels: dict[int, Track] = {}  # RTP channel -> its track
        self._rtcp_channels: set[int] = set()
        self._connection: Connection | None = None
        self._cseq = 0
        self._aggregate: str | None = None
        self._queued: deque[tuple[Interleaved, float]] = deque(maxlen=MAX_QUEUED)
        self._playing = False
        self._redirected = False
        self._keepalive = KeepAlive(self._send_keepalive, self.where)

    @property
    def where(self) -> str:
        """host:port, for messages."""
        try:
            return where(*address(self.url))
        except RtspProtocolError:
            return safe_url(self.url)

    async def __aenter__(self) -> RtspClient:
        await self.connect()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def connect(self) -> None:
        self._connection = await Connection.open(*address(self.url), self.timeout)

    async def close(self) -> None:
        """Hang up; a live session gets a TEARDOWN written on the way out, with no wait for its reply."""
        self._keepalive.stop()
        self._playing = False
        connection, self._connection = self._connection, None
        if connection is None:
            return
        if self.session_id is not None:
            connection.write(self._encode("TEARDOWN", self._aggregate or self.url, {}))
            self.session_id = None
        await connection.close()

    # -- requests ----------------------------------------------------------------------------------

    async def options(self) -> RtspResponse:
        response = await self.request("OPTIONS", self.url)
        public = response.header("Public")
        if public is not None and "GET_PARAMETER" not in public.upper():
            self._keepalive.method = "OPTIONS"
        return response

    async def describe(self) -> SessionDescription:
        response = await self.request("DESCRIBE", self.url, {"Accept": "application/sdp"})
        if not response.body.lstrip().startswith(b"v="):
            raise RtspProtocolError(f"camera at {self.where} answered DESCRIBE without a session description")
        base = base_url(self.url, response.header("Content-Base"), response.header("Content-Location"))
        sdp = parse_sdp(response.body.decode("utf-8", "replace"), base=split_credentials(base)[0])
        self._aggregate = sdp.control
        return sdp

    async def setup(self, track: Track) -> Channels:
        """SETUP `track` with RTP over TCP on the next free channel pair (0-1, 2-3, ...)."""
        wanted = max([*self.channels, *self._rtcp_channels], default=-1) + 1
        transport = f"RTP/AVP/TCP;unicast;interleaved={wanted}-{wanted + 1}"
        response = await self.request("SETUP", track.control, {"Transport": transport})
        if response.header("Session"):
            self.session_id, timeout = parse_session(response.header("Session") or "")
            self.session_timeout = timeout or self.session_timeout
        reply = response.header("Transport") or transport
        channels = parse_interleaved(reply)
        if "TCP" not in reply.upper() or channels is None:
            raise RtspProtocolError(f"camera at {self.where} answered SETUP with a transport other than TCP")
        rtp, rtcp = channels
        self.channels[rtp] = track
        self._rtcp_channels.add(rtcp)
        return Channels(rtp, rtcp)

    async def play(
        self, *, range_header: str | None = None, headers: Mapping[str, str] | None = None
    ) -> RtspResponse:
        """PLAY the set-up session; `headers` adds e.g. ONVIF replay's Require and Rate-Control."""
        if self.session_id is None:
            raise RuntimeError("PLAY needs a session: call setup() first")
        extra = {"Range": range_header} if range_header else {}
        extra.update(headers or {})
        self._playing = True  # RTP may overtake the reply: keep it
        try:
            response = await self.request("PLAY", self._aggregate or self.url, extra)
        except BaseException:
            self._playing = False
            raise
        self._keepalive.start(self.session_timeout)
        return response

    async def teardown(self) -> None:
        if self.session_id is None:
            return
        self._keepalive.stop()
        self._playing = False
        self._queued.clear()
        await self.request("TEARDOWN", self._aggregate or self.url)
        self.session_id = None

    async def request(
        self, method: str, uri: str | None = None, headers: Mapping[str, str] | None = None
    ) -> RtspResponse:
        """Send `method`, answering auth challenges and one redirect; raise on a final non-2xx."""
        uri = uri or self.url
        attempts = 0
        while True:
            sent = self._auth.challenge if self._auth is not None else None
            response = await self._exchange(method, uri, headers or {})
            location = response.header("Location")
            if response.status == 401:
                self._unauthorized(response, sent, attempts)
                attempts += 1
            elif (
                response.status in _REDIRECTS
                and location
                and not self._redirected
                and method in _REDIRECTABLE
            ):
                await self._redirect(location)
                uri = self.url
            elif response.status >= 300:
                raise status_error(response.status, response.reason, method=method, url=uri)
            else:
                return response

    def _unauthorized(self, response: RtspResponse, sent: Challenge | None, attempts: int) -> None:
        """Accept a fresh challenge, or raise when the credentials are missing or were refused."""
        if self._auth is None:
            raise RtspAuthError(f"camera at {self.where} requires a username and password; none were given")
        values = response.header_values("WWW-Authenticate")
        verdict = self._auth.on_unauthorized(values, sent, attempts)
        if verdict == "unsupported":
            schemes = ", ".join(v.split(" ", 1)[0] for v in values) or "none"
            raise RtspAuthError(f"camera at {self.where} asks for an unsupported authentication ({schemes})")
        if verdict == "refused":
            user = self._auth.credentials.username
            raise RtspAuthError(f"camera at {self.where} refused the username or password (user {user!r})")

    async def _redirect(self, location: str) -> None:
        target = split_credentials(urljoin(self.url, location))[0]
        log.info("RTSP redirect from %s to %s", safe_url(self.url), safe_url(target))
        self._redirected = True
        await self.close()
        self.url = target
        if self._auth is not None:
            self._auth.challenge = None
        await self.connect()

    def _encode(self, method: str, uri: str, headers: Mapping[str, str]) -> bytes:
        self._cseq += 1
        lines = [("CSeq", str(self._cseq)), ("User-Agent", self.user_agent)]
        authorization = self._auth.header(method, uri) if self._auth is not None else None
        if authorization:
            lines.append(("Authorization", authorization))
        if self.session_id is not None and method != "DESCRIBE":
            lines.append(("Session", self.session_id))
        lines.extend(headers.items())
        return encode_request(method, uri, lines)

    async def _exchange(self, method: str, uri: str, headers: Mapping[str, str]) -> RtspResponse:
        connection = self._connected()
        connection.write(self._encode(method, uri, headers))
        cseq = self._cseq
        deadline = asyncio.get_running_loop().time() + self.timeout
        while True:
            message = await connection.read(method, deadline)
            if isinstance(message, Interleaved):
                if self._playing:
                    self._queued.append((message, time.monotonic()))
            elif isinstance(message, ServerRequest):
                self._answer(message)
            elif message.cseq in (cseq, None):
                log.debug("%s %s -> %d", method, safe_url(uri), message.status)
                return message
            else:
                self._stray(message)

    def _connected(self) -> Connection:
        if self._connection is None:
            raise RuntimeError("not connected: use `async with RtspClient(...)`")
        return self._connection

    # -- streaming ---------------------------------------------------------------------------------

    async def packets(self) -> AsyncGenerator[RtpPacket | RtcpPacket, None]:
        """RTP and RTCP of the playing session; ends after an RTCP BYE (end of a replayed range)."""
        if not self._playing:
            raise RuntimeError("packets() needs a playing session: call play() first")
        connection = self._connected()
        while True:
            message: Interleaved | RtspResponse | ServerRequest
            if self._queued:
                message, received_at = self._queued.popleft()
            else:
                message = await connection.read(None)
                received_at = time.monotonic()
            if isinstance(message, Interleaved):
                if message.channel in self.channels:
                    yield parse_rtp(message.channel, message.data, received_at)
                elif message.channel in self._rtcp_channels:
                    rtcp = RtcpPacket(message.channel, message.data, received_at)
                    yield rtcp
                    if rtcp.is_bye:
                        self._playing = False
                        self._keepalive.stop()
                        return
            elif isinstance(message, ServerRequest):
                self._answer(message)
            else:
                self._stray(message)

    def _answer(self, request: ServerRequest) -> None:
        if self._connection is not None:
            known = request.method in ("OPTIONS", "GET_PARAMETER")
            status, reason = (200, "OK") if known else (501, "Not Implemented")
            self._connection.write(encode_response(status, reason, request.cseq))

    def _stray(self, response: RtspResponse) -> None:
        """A reply nobody waits for: a keep-alive's, or a late one."""
        if not self._keepalive.claims(response):
            log.debug("ignoring a reply with CSeq %s from %s", response.cseq, self.where)

    def _send_keepalive(self, method: str) -> int | None:
        connection = self._connection
        if connection is None or connection.is_closing() or self.session_id is None:
            return None
        connection.write(self._encode(method, self._aggregate or self.url, {}))
        return self._cseq

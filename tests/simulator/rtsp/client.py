"""A small RTSP client for tests: raw asyncio socket, Digest auth, TCP-interleaved RTP.

Written from RFC 2326 / 2617 and the ONVIF replay headers, independently of the server's own helpers
(no imports from vtrack.simulator.rtsp), so a test that passes is two implementations agreeing.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import struct
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class RtspReply:
    status: int
    headers: dict[str, str]
    body: bytes = b""

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


@dataclass
class RtpPacket:
    marker: bool
    seq: int
    timestamp: int
    ssrc: int
    extension_id: int | None
    extension: bytes
    payload: bytes
    raw_size: int


def parse_rtp(packet: bytes) -> RtpPacket:
    first, second, seq, timestamp, ssrc = struct.unpack_from("!BBHII", packet)
    assert first >> 6 == 2, "RTP version must be 2"
    pos = 12 + 4 * (first & 0x0F)
    ext_id = None
    ext = b""
    if first & 0x10:
        ext_id, words = struct.unpack_from("!HH", packet, pos)
        ext = packet[pos + 4 : pos + 4 + 4 * words]
        pos += 4 + 4 * words
    return RtpPacket(bool(second & 0x80), seq, timestamp, ssrc, ext_id, ext, packet[pos:], len(packet))


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


@dataclass
class RtspClient:
    url: str
    username: str = ""
    password: str = ""
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    cseq: int = 0
    session: str = ""
    _challenge: dict[str, str] = field(default_factory=dict)
    rtcp: list[bytes] = field(default_factory=list)
    held: list[tuple[int, bytes]] = field(default_factory=list)  # RTP/RTCP that arrived before a reply

    async def connect(self) -> None:
        parts = urlsplit(self.url)
        self.reader, self.writer = await asyncio.open_connection(parts.hostname, parts.port or 554)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except ConnectionError:
                pass

    def _authorization(self, method: str, uri: str) -> str | None:
        if not self._challenge or not self.username:
            return None
        realm, nonce = self._challenge["realm"], self._challenge["nonce"]
        ha1 = _md5(f"{self.username}:{realm}:{self.password}")
        ha2 = _md5(f"{method}:{uri}")
        if "auth" in self._challenge.get("qop", ""):
            cnonce, nc = "0a4f113b", "00000001"
            response = _md5(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")
            return (
                f'Digest username="{self.username}", realm="{realm}", nonce="{nonce}", uri="{uri}", '
                f'response="{response}", qop=auth, nc={nc}, cnonce="{cnonce}", algorithm=MD5'
            )
        response = _md5(f"{ha1}:{nonce}:{ha2}")
        return (
            f'Digest username="{self.username}", realm="{realm}", nonce="{nonce}", uri="{uri}", '
            f'response="{response}"'
        )

    async def request(
        self, method: str, url: str | None = None, headers: dict[str, str] | None = None
    ) -> RtspReply:
        """Send a request (answering one Digest challenge if it comes) and return the reply."""
        for _attempt in range(2):
            reply = await self._send(method, url or self.url, headers or {})
            if reply.status == 401 and self.username and not self._challenge:
                challenge = reply.header("www-authenticate")
                self._challenge = {m[0].lower(): m[1] for m in re.findall(r'(\w+)="?([^",]*)"?', challenge)}
                continue
            return reply
        return reply

    async def _send(self, method: str, url: str, headers: dict[str, str]) -> RtspReply:
        assert self.writer is not None
        self.cseq += 1
        lines = [f"{method} {url} RTSP/1.0", f"CSeq: {self.cseq}", "User-Agent: vtrack-test"]
        auth = self._authorization(method, url)
        if auth:
            lines.append(f"Authorization: {auth}")
        if self.session and "Session" not in headers:
            lines.append(f"Session: {self.session}")
        lines.extend(f"{k}: {v}" for k, v in headers.items())
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await self.writer.drain()
        while True:
            item = await self.read_item()
            if isinstance(item, RtspReply):
                if item.header("session"):
                    self.session = item.header("session").split(";")[0]
                return item
            self.held.append(item)

    async def read_item(self) -> RtspReply | tuple[int, bytes]:
        """The next thing on the connection: a reply, or an interleaved (channel, packet)."""
        assert self.reader is not None
        first = await self.reader.readexactly(1)
        if first == b"$":
            channel, size = struct.unpack("!BH", await self.reader.readexactly(3))
            return channel, await self.reader.readexactly(size)
        head = first + await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        status = int(lines[0].split()[1])
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if ":" in line:
                name, _, value = line.partition(":")
                headers.setdefault(name.strip().lower(), value.strip())  # repeated headers: the first counts
        body = await self.reader.readexactly(int(headers.get("content-length", "0")))
        return RtspReply(status, headers, body)

    async def read_rtp(self, limit: float) -> RtpPacket | None:
        """The next RTP packet on channel 0 (RTCP on channel 1 is collected in `rtcp`); None on timeout."""
        try:
            async with asyncio.timeout(limit):
                while True:
                    item = self.held.pop(0) if self.held else await self.read_item()
                    if isinstance(item, tuple):
                        channel, packet = item
                        if channel == 0:
                            return parse_rtp(packet)
                        self.rtcp.append(packet)
        except TimeoutError:
            return None

    async def open_stream(self, extra_play_headers: dict[str, str] | None = None) -> RtspReply:
        """DESCRIBE, SETUP (TCP interleaved 0-1), PLAY; returns the PLAY reply."""
        described = await self.request("DESCRIBE", headers={"Accept": "application/sdp"})
        assert described.status == 200, described
        base = described.header("content-base") or self.url + "/"
        control = re.search(rb"m=video.*?a=control:(\S+)", described.body, re.S)
        assert control is not None
        track = control.group(1).decode()
        setup_url = track if track.startswith("rtsp://") else base + track
        setup = await self.request("SETUP", setup_url, {"Transport": "RTP/AVP/TCP;unicast;interleaved=0-1"})
        assert setup.status == 200, setup
        return await self.request("PLAY", headers=extra_play_headers or {})

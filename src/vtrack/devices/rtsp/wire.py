"""RTSP/1.0 framing on the client side: requests out; responses, server requests and `$` frames in.

Once PLAY is sent the connection carries interleaved binary data (`$`, channel, 16-bit length) between
RTSP messages (RFC 2326 10.12), and a reply may arrive after packets; the first byte tells them apart.
The first bytes of the first answer also tell a port that is not RTSP at all (a vendor's binary SDK
port, a web server) from a camera, which must fail fast rather than wait out the timeout.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable
from dataclasses import dataclass

from vtrack.devices.rtsp.errors import RtspProtocolError

MAX_HEADERS = 100
MAX_BODY = 1 << 20
_REQUEST_START = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_INTERLEAVED = re.compile(r"interleaved=(\d+)(?:-(\d+))?")


class ConnectionClosed(EOFError):
    """The peer closed the connection; the client words the error for what it was doing."""


@dataclass(frozen=True, slots=True)
class RtspResponse:
    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]  # in order, names as received
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """The first value of `name` (case-insensitive)."""
        wanted = name.lower()
        return next((v for k, v in self.headers if k.lower() == wanted), None)

    def header_values(self, name: str) -> list[str]:
        wanted = name.lower()
        return [v for k, v in self.headers if k.lower() == wanted]

    @property
    def cseq(self) -> int | None:
        value = self.header("CSeq")
        return int(value) if value is not None and value.strip().isdigit() else None


@dataclass(frozen=True, slots=True)
class ServerRequest:
    """A request the server sent us (RFC 2326 allows OPTIONS, GET_PARAMETER, ANNOUNCE, ...)."""

    method: str
    cseq: str


@dataclass(frozen=True, slots=True)
class Interleaved:
    channel: int
    data: bytes


Message = RtspResponse | ServerRequest | Interleaved


def encode_request(method: str, uri: str, headers: Iterable[tuple[str, str]]) -> bytes:
    lines = [f"{method} {uri} RTSP/1.0", *(f"{name}: {value}" for name, value in headers), "", ""]
    return "\r\n".join(lines).encode("utf-8")


def encode_response(status: int, reason: str, cseq: str) -> bytes:
    return f"RTSP/1.0 {status} {reason}\r\nCSeq: {cseq}\r\n\r\n".encode("ascii", "replace")


def parse_session(value: str) -> tuple[str, float | None]:
    """`Session: 1234ABCD;timeout=60` as (id, timeout seconds or None)."""
    session_id, *params = (part.strip() for part in value.split(";"))
    timeout = None
    for param in params:
        name, _, number = param.partition("=")
        if name.strip().lower() == "timeout" and number.strip().isdigit() and int(number) > 0:
            timeout = float(number)
    return session_id, timeout


def parse_interleaved(transport: str) -> tuple[int, int] | None:
    """The channel pair of a Transport header's `interleaved=0-1` (one channel means RTCP on the next)."""
    match = _INTERLEAVED.search(transport)
    if match is None:
        return None
    rtp = int(match.group(1))
    return rtp, int(match.group(2)) if match.group(2) else rtp + 1


def _not_rtsp(where: str, first: bytes) -> RtspProtocolError:
    if first.startswith(b"HTTP/"):
        return RtspProtocolError(
            f"{where} answered with HTTP, not RTSP: this is a web port, not the RTSP port"
        )
    preview = first[:16].hex(" ")
    return RtspProtocolError(f"{where} does not speak RTSP (it answered {preview} …): wrong port?")


async def _line(reader: asyncio.StreamReader, where: str) -> str:
    try:
        raw = await reader.readuntil(b"\n")
    except asyncio.LimitOverrunError as exc:
        raise RtspProtocolError(f"{where} sent an RTSP header line longer than the limit") from exc
    return raw.decode("latin-1").rstrip("\r\n")


async def _headers(reader: asyncio.StreamReader, where: str) -> list[tuple[str, str]]:
    headers: list[tuple[str, str]] = []
    while True:
        line = await _line(reader, where)
        if not line:
            return headers
        if line[0] in " \t" and headers:  # obsolete line folding
            name, value = headers[-1]
            headers[-1] = (name, f"{value} {line.strip()}")
            continue
        name, colon, value = line.partition(":")
        if not colon:
            raise RtspProtocolError(f"{where} sent a malformed RTSP header line: {line[:80]!r}")
        headers.append((name.strip(), value.strip()))
        if len(headers) > MAX_HEADERS:
            raise RtspProtocolError(f"{where} sent more than {MAX_HEADERS} RTSP headers")


async def _body(reader: asyncio.StreamReader, headers: list[tuple[str, str]], where: str) -> bytes:
    length = next((v for k, v in headers if k.lower() == "content-length"), "0")
    if not length.isdigit() or int(length) > MAX_BODY:
        raise RtspProtocolError(f"{where} sent an unusable Content-Length: {length[:20]!r}")
    return await reader.readexactly(int(length)) if int(length) else b""


async def read_message(reader: asyncio.StreamReader, where: str) -> Message:
    """The next message; raises ConnectionClosed on EOF and RtspProtocolError on anything not RTSP."""
    try:
        first = await reader.readexactly(1)
        while first in (b"\r", b"\n"):  # stray line ends between messages
            first = await reader.readexactly(1)
        if first == b"$":
            head = await reader.readexactly(3)
            return Interleaved(head[0], await reader.readexactly(int.from_bytes(head[1:3], "big")))
        start = first + await reader.readexactly(4)
        if start == b"RTSP/":
            status_line = "RTSP/" + await _line(reader, where)
            parts = status_line.split(" ", 2)
            if len(parts) < 2 or not parts[1].isdigit():
                raise RtspProtocolError(f"{where} sent a malformed RTSP status line: {status_line[:80]!r}")
            headers = await _headers(reader, where)
            body = await _body(reader, headers, where)
            reason = parts[2] if len(parts) > 2 else ""
            return RtspResponse(int(parts[1]), reason, tuple(headers), body)
        if all(byte in _REQUEST_START for byte in start):
            request_line = start.decode("ascii") + await _line(reader, where)
            if not request_line.endswith(" RTSP/1.0"):
                raise _not_rtsp(where, start)
            headers = await _headers(reader, where)
            await _body(reader, headers, where)
            cseq = next((v for k, v in headers if k.lower() == "cseq"), "0")
            return ServerRequest(request_line.split(" ", 1)[0], cseq)
        raise _not_rtsp(where, start)
    except asyncio.IncompleteReadError as exc:
        raise ConnectionClosed from exc

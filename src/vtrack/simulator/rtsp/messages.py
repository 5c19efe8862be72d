"""RTSP 1.0 message framing (RFC 2326): requests in, responses out, interleaved binary data skipped.

On a TCP-interleaved connection the client's RTCP receiver reports arrive as `$`-framed binary data
between requests, so the reader must tell the two apart by the first byte. Limits on line, header and
body sizes keep a misbehaving client from growing the server's memory.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from urllib.parse import urlsplit

MAX_LINE = 8192
MAX_HEADERS = 64
MAX_BODY = 65536

REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    454: "Session Not Found",
    455: "Method Not Valid in This State",
    457: "Invalid Range",
    459: "Aggregate Operation Not Allowed",
    461: "Unsupported Transport",
    500: "Internal Server Error",
    501: "Not Implemented",
    503: "Service Unavailable",
    505: "RTSP Version Not Supported",
    551: "Option not supported",
}


class ProtocolError(Exception):
    """The peer sent something that is not RTSP; the connection is closed."""


@dataclass
class Request:
    method: str
    url: str
    version: str
    headers: dict[str, str]  # lower-cased names
    body: bytes = b""

    @property
    def cseq(self) -> str:
        return self.headers.get("cseq", "0")

    @property
    def path(self) -> str:
        """The URL's path without trailing slash: `/live/1/trackID=0` for a SETUP."""
        path = urlsplit(self.url).path if "://" in self.url else self.url.split("?", 1)[0]
        return path.rstrip("/") or "/"

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def add(self, name: str, value: str) -> Response:
        self.headers.append((name, value))
        return self

    def encode(self, cseq: str) -> bytes:
        lines = [f"RTSP/1.0 {self.status} {REASONS.get(self.status, 'Unknown')}", f"CSeq: {cseq}"]
        lines.extend(f"{name}: {value}" for name, value in self.headers)
        if self.body:
            lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + self.body


@dataclass
class InterleavedData:
    """A `$`-framed packet from the client (RTCP receiver reports on TCP-interleaved sessions)."""

    channel: int
    data: bytes


async def _read_line(reader: asyncio.StreamReader) -> str:
    line = await reader.readline()
    if not line:
        raise EOFError
    if len(line) > MAX_LINE or not line.endswith(b"\n"):
        raise ProtocolError("line too long or truncated")
    return line.decode("utf-8", errors="replace").rstrip("\r\n")


async def read_message(reader: asyncio.StreamReader) -> Request | InterleavedData:
    """The next request or interleaved packet; EOFError at a clean end of the connection."""
    first = await reader.read(1)
    if not first:
        raise EOFError
    if first == b"$":
        head = await reader.readexactly(3)
        size = int.from_bytes(head[1:3], "big")
        return InterleavedData(head[0], await reader.readexactly(size))
    while first in (b"\r", b"\n"):  # tolerate blank lines between messages
        first = await reader.read(1)
        if not first:
            raise EOFError
    request_line = first.decode("latin-1") + await _read_line(reader)
    parts = request_line.split()
    if len(parts) != 3:
        raise ProtocolError(f"malformed request line {request_line[:80]!r}")
    method, url, version = parts
    headers: dict[str, str] = {}
    while True:
        line = await _read_line(reader)
        if not line:
            break
        if len(headers) >= MAX_HEADERS:
            raise ProtocolError("too many headers")
        name, sep, value = line.partition(":")
        if not sep:
            raise ProtocolError(f"malformed header {line[:80]!r}")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0") or 0)
    if length < 0 or length > MAX_BODY:
        raise ProtocolError("body too large")
    body = await reader.readexactly(length) if length else b""
    return Request(method.upper(), url, version, headers, body)

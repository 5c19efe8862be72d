"""Tiny loopback servers for the failures the simulator does not stage.

- `UnknownCodecRtsp`: a complete RTSP exchange whose SDP names an encoding no decoder knows, then RTP;
  the "camera sends a codec we cannot decode" case, which the simulator (H.264/H.265/MPEG-4) never is.
- `SilentPort`: accepts connections and never says a word (a hung service).
- `HttpPort`: answers anything with an HTTP 400, like a camera's web port given as the RTSP port.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct

UNKNOWN_ENCODING = "VTRACKX"
_SDP = (
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=stub\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\na=control:*\r\n"
    f"m=video 0 RTP/AVP 96\r\na=rtpmap:96 {UNKNOWN_ENCODING}/90000\r\na=control:trackID=0\r\n"
)


class _Server:
    def __init__(self) -> None:
        self._server: asyncio.Server | None = None
        self._open: dict[asyncio.StreamWriter, asyncio.Event] = {}  # connections -> "handler finished"
        self.port = 0

    async def __aenter__(self) -> _Server:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        # Hang up rather than cancel the handlers: asyncio reports a cancelled stream handler as an error.
        for writer in list(self._open):
            writer.close()
        for finished in list(self._open.values()):
            await asyncio.wait_for(finished.wait(), 5)
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        finished = self._open[writer] = asyncio.Event()
        try:
            await self.converse(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            del self._open[writer]
            finished.set()
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    async def converse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError


class SilentPort(_Server):
    async def converse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await reader.read(4096):
            pass


class HttpPort(_Server):
    async def converse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readline()
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()


class UnknownCodecRtsp(_Server):
    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.port}/stream"

    async def converse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            request = await reader.readuntil(b"\r\n\r\n")
            lines = request.decode().split("\r\n")
            method = lines[0].split(" ", 1)[0]
            cseq = next(line.split(":", 1)[1].strip() for line in lines if line.lower().startswith("cseq:"))
            head = f"RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\n"
            if method == "DESCRIBE":
                head += f"Content-Type: application/sdp\r\nContent-Length: {len(_SDP)}\r\n\r\n{_SDP}"
            elif method == "SETUP":
                head += "Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\nSession: 5150\r\n\r\n"
            elif method in ("PLAY", "TEARDOWN"):
                head += "Session: 5150\r\n\r\n"
            else:
                head += "Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN\r\n\r\n"
            writer.write(head.encode())
            await writer.drain()
            if method == "PLAY":
                await self._send_rtp(writer)

    async def _send_rtp(self, writer: asyncio.StreamWriter) -> None:
        for seq in range(50):
            if writer.is_closing():
                return
            rtp = struct.pack("!BBHII", 0x80, 0x80 | 96, seq, seq * 6000, 0x5150) + bytes(200)
            writer.write(b"$\x00" + struct.pack("!H", len(rtp)) + rtp)
            await writer.drain()
            await asyncio.sleep(0.02)

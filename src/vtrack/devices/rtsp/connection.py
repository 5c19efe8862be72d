"""The TCP connection under an RTSP client: connect, write, read one message by a deadline, hang up.

Every socket failure becomes an RtspError here, worded for what the client was doing at the time
(`doing`: "DESCRIBE", or None while streaming), so the client above deals in RTSP only.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

from vtrack.devices.rtsp.errors import (
    RtspProtocolError,
    RtspTimeout,
    RtspUnreachable,
    connect_error,
    safe_url,
)
from vtrack.devices.rtsp.wire import ConnectionClosed, Message, read_message

DEFAULT_PORT = 554
CLOSE_WAIT = 1.0  # seconds a hang-up may wait for buffered bytes to drain before the socket is aborted


def address(url: str) -> tuple[str, int]:
    """(host, port) of an rtsp:// URL; RtspProtocolError when it is not one."""
    try:
        parts = urlsplit(url)
        if parts.scheme.lower() == "rtsp" and parts.hostname:
            return parts.hostname, parts.port or DEFAULT_PORT
    except ValueError:  # a bad port or IPv6 literal
        pass
    raise RtspProtocolError(f"not an rtsp:// URL: {safe_url(url)}")


def where(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class Connection:
    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, where: str, timeout: float
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.where = where
        self.timeout = timeout
        self._reading = False

    @classmethod
    async def open(cls, host: str, port: int, limit: float) -> Connection:
        place = where(host, port)
        try:
            async with asyncio.timeout(limit):
                reader, writer = await asyncio.open_connection(host, port)
        except TimeoutError:
            raise RtspTimeout(
                f"no answer from {place} within {limit:.1f} s: camera off, filtered or overloaded"
            ) from None
        except OSError as exc:
            raise connect_error(host, port, exc) from None
        return cls(reader, writer, place, limit)

    def is_closing(self) -> bool:
        return self.writer.is_closing()

    def write(self, data: bytes) -> None:
        if not self.writer.is_closing():
            self.writer.write(data)

    async def read(self, doing: str | None, deadline: float | None = None) -> Message:
        """The next message by `deadline` (loop time; default: `timeout` from now).

        `doing` is the request awaiting its reply, or None while streaming; it words the errors.
        """
        if self._reading:
            raise RuntimeError("the RTSP connection is already being read: one reader at a time")
        if deadline is None:
            deadline = asyncio.get_running_loop().time() + self.timeout
        self._reading = True
        try:
            async with asyncio.timeout_at(deadline):
                if doing is not None:
                    await self.writer.drain()
                return await read_message(self.reader, self.where)
        except TimeoutError:
            if doing is None:
                stalled = f"no data from {self.where} for {self.timeout:.1f} s while streaming"
                raise RtspTimeout(f"{stalled}: the stream stalled") from None
            raise RtspTimeout(f"no answer to {doing} from {self.where} within {self.timeout:.1f} s") from None
        except ConnectionClosed:
            if doing is None:
                raise RtspUnreachable(f"{self.where} closed the connection while streaming") from None
            raise RtspUnreachable(f"{self.where} closed the connection without answering {doing}") from None
        except OSError as exc:
            during = f"during {doing}" if doing else "while streaming"
            raise RtspUnreachable(f"{self.where} dropped the connection {during}: {exc}") from None
        finally:
            self._reading = False

    async def close(self) -> None:
        self.writer.close()
        try:
            async with asyncio.timeout(CLOSE_WAIT):
                await self.writer.wait_closed()
        except TimeoutError:
            self.writer.transport.abort()
        except OSError:
            pass

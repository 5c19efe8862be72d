"""A port that accepts TCP and speaks neither HTTP nor ONVIF, like a Hikvision SDK port (8000).

Real sites are full of such ports (Hikvision 8000, Dahua 37777, vendor P2P services); discovery and probing
code must recognise "open, but not something I can talk to" and move on without hanging. This listener
accepts, reads whatever the client sends, answers the first bytes it gets with a short opaque binary packet
(never an HTTP status line), and closes once the client has been quiet for `idle_timeout` seconds or has
sent more than a real login packet would.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from vtrack.simulator.config import Faults

logger = logging.getLogger(__name__)

# Shaped like a vendor's binary reply header (length, command, status words); means nothing.
OPAQUE_REPLY = bytes.fromhex("00000020 5a000000 00000001 00000000 000000ff 00000000 00000000 00000000")
_MAX_READ = 64 * 1024


class SdkPortServer:
    def __init__(
        self,
        host: str,
        port: int,
        *,
        idle_timeout: float = 5.0,
        faults: Callable[[], Faults] | None = None,
    ) -> None:
        self._host = host
        self._requested_port = port
        self._idle_timeout = idle_timeout
        self._faults = faults
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self.port = port

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self._host, self._requested_port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        logger.info("SDK-like port listening on %s:%s", self._host, self.port)

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        try:
            if self._faults is not None and self._faults().offline:
                writer.transport.abort()
                return
            await self._converse(reader, writer)
        except (ConnectionError, OSError) as error:
            logger.debug("SDK port connection ended: %s", error)
        finally:
            if task is not None:
                self._connections.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    async def _converse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received = 0
        answered = False
        while received <= _MAX_READ:
            try:
                async with asyncio.timeout(self._idle_timeout):
                    chunk = await reader.read(4096)
            except TimeoutError:
                return
            if not chunk:
                return
            received += len(chunk)
            if not answered:
                writer.write(OPAQUE_REPLY)
                await writer.drain()
                answered = True

"""A loopback TCP relay in front of the test PostgreSQL, to take the database away from one node only.

`refuse()` drops every connection and closes the port (the server is down or restarting: connects are
refused at once); `blackhole()` keeps the sockets open but passes nothing either way (a network
partition: statements hang instead of failing); `restore()` brings the relay back on the same port.
"""

from __future__ import annotations

import asyncio
import contextlib


class DatabaseRelay:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._pipes: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def _accept(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self._writers.add(client_w)
        try:
            server_r, server_w = await asyncio.open_connection(*self.upstream)
        except OSError:
            client_w.transport.abort()
            return
        self._writers.add(server_w)
        for source, sink in ((client_r, server_w), (server_r, client_w)):
            task = asyncio.create_task(self._pipe(source, sink, client_w, server_w))
            self._pipes.add(task)
            task.add_done_callback(self._pipes.discard)

    async def _pipe(
        self,
        source: asyncio.StreamReader,
        sink: asyncio.StreamWriter,
        *ends: asyncio.StreamWriter,
    ) -> None:
        try:
            while data := await source.read(65536):
                await self._flowing.wait()  # a partition holds the bytes back, it does not drop them
                sink.write(data)
                await sink.drain()
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            for end in ends:
                end.transport.abort()
                self._writers.discard(end)

    def blackhole(self) -> None:
        self._flowing.clear()

    async def refuse(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        if server is not None:
            await server.wait_closed()

    async def restore(self) -> None:
        self._flowing.set()
        if self._server is None:
            await self.start()

    async def stop(self) -> None:
        self._flowing.set()
        await self.refuse()
        for task in list(self._pipes):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

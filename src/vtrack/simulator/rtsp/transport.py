"""Where a session's RTP goes: interleaved on the RTSP connection, or UDP datagrams to the client's ports.

Writes never block the event loop. A TCP client that reads too slowly shows up as a growing write buffer
(`backlog`), which the live broadcaster uses to drop frames for that client alone; UDP has no backlog,
the kernel drops datagrams like a network would. For UDP the destination is always the address the
RTSP connection came from: a `destination=` transport parameter is ignored so the server cannot be
pointed at a third party.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable
from typing import Protocol

from vtrack.simulator.rtsp.rtp import interleave

log = logging.getLogger(__name__)


class Burst:
    """The packets of one access unit, framed lazily once per interleaved channel and shared by sessions."""

    __slots__ = ("packets", "size", "_framed")

    def __init__(self, packets: list[bytes]) -> None:
        self.packets = packets
        self.size = sum(len(p) for p in packets)
        self._framed: dict[int, bytes] = {}

    def framed(self, channel: int) -> bytes:
        data = self._framed.get(channel)
        if data is None:
            data = self._framed[channel] = interleave(channel, self.packets)
        return data


class RtpSender(Protocol):
    description: str

    def send(self, burst: Burst) -> None: ...

    def send_rtcp(self, packet: bytes) -> None: ...

    def backlog(self) -> int: ...

    async def drain(self) -> None: ...

    def is_closing(self) -> bool: ...

    def close(self) -> None: ...


class InterleavedSender:
    def __init__(self, writer: asyncio.StreamWriter, rtp_channel: int, rtcp_channel: int) -> None:
        self._writer = writer
        self.rtp_channel = rtp_channel
        self.rtcp_channel = rtcp_channel
        self.description = f"RTP/AVP/TCP;unicast;interleaved={rtp_channel}-{rtcp_channel}"

    def send(self, burst: Burst) -> None:
        if not self._writer.is_closing():
            self._writer.write(burst.framed(self.rtp_channel))

    def send_rtcp(self, packet: bytes) -> None:
        if not self._writer.is_closing():
            self._writer.write(interleave(self.rtcp_channel, [packet]))

    def backlog(self) -> int:
        return self._writer.transport.get_write_buffer_size()

    async def drain(self) -> None:
        await self._writer.drain()

    def is_closing(self) -> bool:
        return self._writer.is_closing()

    def close(self) -> None:
        """The connection belongs to the RTSP session's client, not to this track: nothing to close."""


class _RtcpProtocol(asyncio.DatagramProtocol):
    def __init__(self, on_packet: Callable[[], None]) -> None:
        self._on_packet = on_packet

    def datagram_received(self, data: bytes, addr: tuple[str | int, int]) -> None:
        self._on_packet()

    def error_received(self, exc: Exception) -> None:
        log.debug("UDP error (client port closed?): %s", exc)


class _RtpProtocol(asyncio.DatagramProtocol):
    """Tracks asyncio's flow control for the RTP socket, so a fast replay can wait instead of polling."""

    def __init__(self) -> None:
        self.writable = asyncio.Event()
        self.writable.set()

    def pause_writing(self) -> None:
        self.writable.clear()

    def resume_writing(self) -> None:
        self.writable.set()

    def error_received(self, exc: Exception) -> None:
        log.debug("UDP error (client port closed?): %s", exc)


class UdpSender:
    def __init__(
        self,
        rtp: asyncio.DatagramTransport,
        rtp_protocol: _RtpProtocol,
        rtcp: asyncio.DatagramTransport,
        client_host: str,
        client_ports: tuple[int, int],
        server_ports: tuple[int, int],
    ) -> None:
        self._rtp = rtp
        self._rtp_protocol = rtp_protocol
        self._rtcp = rtcp
        self._rtp_address = (client_host, client_ports[0])
        self._rtcp_address = (client_host, client_ports[1])
        self.server_ports = server_ports
        self.description = (
            f"RTP/AVP;unicast;client_port={client_ports[0]}-{client_ports[1]};"
            f"server_port={server_ports[0]}-{server_ports[1]}"
        )

    @classmethod
    async def open(
        cls, host: str, client_host: str, client_ports: tuple[int, int], on_rtcp: Callable[[], None]
    ) -> UdpSender:
        """Bind an RTP/RTCP port pair (even, even+1) on `host`, as RFC 3550 11 recommends."""
        loop = asyncio.get_running_loop()
        for _ in range(20):
            probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                probe.bind((host, 0))
                port = probe.getsockname()[1] & ~1
            finally:
                probe.close()
            try:
                rtp, rtp_protocol = await loop.create_datagram_endpoint(_RtpProtocol, local_addr=(host, port))
            except OSError:
                continue
            try:
                rtcp, _ = await loop.create_datagram_endpoint(
                    lambda: _RtcpProtocol(on_rtcp), local_addr=(host, port + 1)
                )
            except OSError:
                rtp.close()
                continue
            return cls(rtp, rtp_protocol, rtcp, client_host, client_ports, (port, port + 1))
        raise OSError("no free UDP port pair")

    def send(self, burst: Burst) -> None:
        if self._rtp.is_closing():
            return
        for packet in burst.packets:
            self._rtp.sendto(packet, self._rtp_address)

    def send_rtcp(self, packet: bytes) -> None:
        if not self._rtcp.is_closing():
            self._rtcp.sendto(packet, self._rtcp_address)

    def backlog(self) -> int:
        """Datagrams asyncio holds because the socket buffer was full (selector transports queue them)."""
        size = getattr(self._rtp, "get_write_buffer_size", None)
        return int(size()) if callable(size) else 0

    async def drain(self) -> None:
        """Wait until asyncio's datagram queue is below its high-water mark again."""
        await self._rtp_protocol.writable.wait()

    def is_closing(self) -> bool:
        return self._rtp.is_closing()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._rtp.close()
        with contextlib.suppress(Exception):
            self._rtcp.close()

"""Client behaviour the simulator never shows, against a loopback peer whose answers each test writes.

Redirects, a stale nonce, Basic-only cameras, RTP and server requests arriving before the PLAY reply,
SETUP refusals, several tracks, and keep-alives falling back to OPTIONS.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest

from vtrack.devices.rtsp import RtcpPacket, RtpPacket, RtspClient, RtspStatusError
from vtrack.devices.rtsp.auth import parse_auth_params

SDP = (
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=x\r\nt=0 0\r\na=control:*\r\n"
    "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=control:trackID=0\r\n"
    "m=audio 0 RTP/AVP 0\r\na=control:trackID=1\r\n"
)


@dataclass
class Request:
    method: str
    uri: str
    headers: dict[str, str]


@dataclass
class Peer:
    port: int
    requests: list[Request] = field(default_factory=list)
    received: bytearray = field(default_factory=bytearray)  # everything that was not a request


Handler = Callable[[Request, asyncio.StreamWriter], Awaitable[None]]


def reply(
    request: Request, status: str = "200 OK", headers: dict[str, str] | None = None, body: str = ""
) -> bytes:
    lines = [f"RTSP/1.0 {status}", f"CSeq: {request.headers['cseq']}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


def rtp(seq: int, marker: bool) -> bytes:
    packet = struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | 96, seq, 3000, 7) + bytes([0x41, 1, 2, 3])
    return b"$\x00" + struct.pack("!H", len(packet)) + packet


@asynccontextmanager
async def scripted(handler: Handler) -> AsyncIterator[Peer]:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                if head.startswith(b"RTSP/"):  # the client's answer to a request of ours
                    peer.received += head
                    continue
                lines = head.decode().split("\r\n")
                method, uri, _ = lines[0].split(" ")
                headers = {
                    k.strip().lower(): v.strip()
                    for k, _, v in (line.partition(":") for line in lines[1:] if line)
                }
                request = Request(method, uri, headers)
                peer.requests.append(request)
                await handler(request, writer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    peer = Peer(server.sockets[0].getsockname()[1])
    try:
        yield peer
    finally:
        server.close()
        await server.wait_closed()


async def plain(request: Request, writer: asyncio.StreamWriter) -> None:
    """A camera without auth: SDP for DESCRIBE, a session for SETUP, 200 for the rest."""
    if request.method == "DESCRIBE":
        writer.write(reply(request, headers={"Content-Type": "application/sdp"}, body=SDP))
    elif request.method == "SETUP":
        transport = request.headers["transport"]
        writer.write(reply(request, headers={"Session": "ABC;timeout=2", "Transport": transport}))
    else:
        writer.write(reply(request))


def redirect_to(port: int) -> Handler:
    async def redirect(request: Request, writer: asyncio.StreamWriter) -> None:
        location = f"rtsp://127.0.0.1:{port}/real"
        writer.write(reply(request, "302 Moved Temporarily", {"Location": location}))

    return redirect


async def test_one_redirect_is_followed_without_userinfo_on_the_wire() -> None:
    async with scripted(plain) as target, scripted(redirect_to(target.port)) as first:
        async with RtspClient(f"rtsp://admin:pw@127.0.0.1:{first.port}/old", timeout=2.0) as client:
            sdp = await client.describe()
            assert client.url == f"rtsp://127.0.0.1:{target.port}/real"
            assert sdp.video() is not None
    assert first.requests[0].uri == f"rtsp://127.0.0.1:{first.port}/old"
    assert target.requests[0].uri == f"rtsp://127.0.0.1:{target.port}/real"


async def test_a_second_redirect_is_not_followed() -> None:
    async with scripted(plain) as target, scripted(redirect_to(target.port)) as second:
        async with scripted(redirect_to(second.port)) as first:
            async with RtspClient(f"rtsp://127.0.0.1:{first.port}/x", timeout=2.0) as client:
                with pytest.raises(RtspStatusError, match="302") as caught:
                    await client.describe()
    assert caught.value.status == 302 and not target.requests


async def test_stale_nonce_is_retried_with_the_new_one() -> None:
    async def stale(request: Request, writer: asyncio.StreamWriter) -> None:
        nonce = parse_auth_params(request.headers.get("authorization", "Digest ")[7:]).get("nonce")
        if nonce is None:
            writer.write(
                reply(request, "401 Unauthorized", {"WWW-Authenticate": 'Digest realm="r", nonce="n1"'})
            )
        elif nonce == "n1":
            challenge = 'Digest realm="r", nonce="n2", stale=true'
            writer.write(reply(request, "401 Unauthorized", {"WWW-Authenticate": challenge}))
        else:
            await plain(request, writer)

    async with scripted(stale) as peer:
        async with RtspClient(
            f"rtsp://127.0.0.1:{peer.port}/s", username="u", password="p", timeout=2.0
        ) as c:
            await c.describe()
    assert [r.method for r in peer.requests] == ["DESCRIBE"] * 3


async def test_basic_only_camera() -> None:
    async def basic(request: Request, writer: asyncio.StreamWriter) -> None:
        if request.headers.get("authorization") != "Basic dTpw":
            writer.write(reply(request, "401 Unauthorized", {"WWW-Authenticate": 'Basic realm="cam"'}))
        else:
            await plain(request, writer)

    async with scripted(basic) as peer:
        async with RtspClient(f"rtsp://u:p@127.0.0.1:{peer.port}/s", timeout=2.0) as client:
            await client.describe()


async def test_rtp_and_server_requests_before_the_play_reply_then_bye() -> None:
    async def eager(request: Request, writer: asyncio.StreamWriter) -> None:
        if request.method != "PLAY":
            return await plain(request, writer)
        writer.write(rtp(1, marker=False))
        writer.write(b"OPTIONS * RTSP/1.0\r\nCSeq: 77\r\n\r\n")  # servers may ask too (RFC 2326 10.1)
        writer.write(b"RTSP/1.0 200 OK\r\nCSeq: 999\r\n\r\n")  # a stray reply nobody waits for
        writer.write(reply(request, headers={"Session": "ABC"}))
        writer.write(rtp(2, marker=True))
        bye = struct.pack("!BBHI", 0x81, 203, 1, 7)
        writer.write(b"$\x01" + struct.pack("!H", len(bye)) + bye)

    async with scripted(eager) as peer:
        async with RtspClient(f"rtsp://127.0.0.1:{peer.port}/s", timeout=2.0) as client:
            track = (await client.describe()).video()
            assert track is not None
            await client.setup(track)
            await client.play()
            packets = [packet async for packet in client.packets()]
        await asyncio.sleep(0.05)
    assert [type(p) for p in packets] == [RtpPacket, RtpPacket, RtcpPacket]
    assert [p.sequence for p in packets if isinstance(p, RtpPacket)] == [1, 2]
    assert b"RTSP/1.0 200 OK\r\nCSeq: 77\r\n\r\n" in peer.received
    assert peer.requests[-1].method == "TEARDOWN"  # written on the way out
    assert peer.requests[-1].headers["session"] == "ABC"


async def test_setup_refusal_and_channel_pairs_for_two_tracks() -> None:
    async with scripted(plain) as peer:
        async with RtspClient(f"rtsp://127.0.0.1:{peer.port}/s", timeout=2.0) as client:
            sdp = await client.describe()
            video, audio = sdp.tracks
            assert (await client.setup(video)).rtp == 0
            assert (await client.setup(audio)).rtp == 2
    setups = [r for r in peer.requests if r.method == "SETUP"]
    assert setups[0].uri.endswith("/s/trackID=0") and "interleaved=0-1" in setups[0].headers["transport"]
    assert "interleaved=2-3" in setups[1].headers["transport"] and setups[1].headers["session"] == "ABC"

    async def udp_only(request: Request, writer: asyncio.StreamWriter) -> None:
        if request.method == "SETUP":
            writer.write(reply(request, "461 Unsupported Transport"))
        else:
            await plain(request, writer)

    async with scripted(udp_only) as peer:
        async with RtspClient(f"rtsp://127.0.0.1:{peer.port}/s", timeout=2.0) as client:
            track = (await client.describe()).video()
            assert track is not None
            with pytest.raises(RtspStatusError, match="does not offer RTP over TCP") as caught:
                await client.setup(track)
            assert caught.value.status == 461


async def test_keepalive_falls_back_to_options_when_get_parameter_is_refused() -> None:
    """Session timeout 2 s: a keep-alive every second; GET_PARAMETER gets 501, so the next is OPTIONS."""

    async def old_firmware(request: Request, writer: asyncio.StreamWriter) -> None:
        if request.method == "GET_PARAMETER":
            writer.write(reply(request, "501 Not Implemented"))
        elif request.method in ("PLAY", "OPTIONS"):
            await plain(request, writer)
            writer.write(rtp(len(peer.requests), marker=True))
        else:
            await plain(request, writer)

    async with scripted(old_firmware) as peer:
        async with RtspClient(f"rtsp://127.0.0.1:{peer.port}/s", timeout=3.0) as client:
            track = (await client.describe()).video()
            assert track is not None
            await client.setup(track)
            await client.play()
            async for _packet in client.packets():
                if [r.method for r in peer.requests][-1] == "OPTIONS":
                    break
    methods = [r.method for r in peer.requests]
    assert methods[3:5] == ["GET_PARAMETER", "OPTIONS"]

"""Simulator RTSP benchmark: live clients served at full frame rate, and replay speed with Rate-Control: no.

One simulator process (this script with --serve, a child process) serves one 1280x720 H.264 camera: the
test pattern encoded in real time (default), or the --video file looped without re-encoding. The
benchmark process runs lightweight RTSP clients: each does DESCRIBE/SETUP/PLAY with Digest auth over
TCP-interleaved RTP and then only counts packets, bytes and frames (marker bits); none decodes video.
So "served" means the server delivered every frame on time, not that a decoder kept up.

- Live: clients are added in steps; a step passes when every client received at least 95 % of the
  camera's frame rate over the measuring window. Reports the largest passing step and the server's
  CPU use. Target: >= 32 clients per process.
- Replay: one client asks for a clock range with `Require: onvif-replay` and `Rate-Control: no` and reads
  until the server's RTCP BYE. Reports MB/s and x real time. Target: >= 50x.
- Baseline, same run: a plain asyncio server (--serve-raw, also a child process) writing pre-framed
  1400-byte interleaved packets as fast as it can to the same counting client: the most this client and
  loopback TCP can carry from Python. Throughputs are printed as a fraction of it.

    .venv/bin/python bench/simulator.py [--video FILE] [--max-clients 128] [--window 4]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import re
import struct
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

TARGET_CLIENTS = 32
TARGET_REPLAY_X = 50.0
USER, PASSWORD = "admin", "bench-pass"
FPS = 25
DEMO_VIDEO = Path(__file__).resolve().parents[2] / "shared" / "data" / "people_walk_720p50.avi"


# -- child processes ---------------------------------------------------------------------------------


async def serve(video: Path | None) -> None:
    """The simulator under test: one 720p H.264 camera on a free loopback port."""
    from vtrack.simulator.config import CameraSpec, SimulatorConfig
    from vtrack.simulator.rtsp import RtspServer

    camera = CameraSpec(index=0, name="Bench Camera", width=1280, height=720, codec="h264", fps=FPS)
    config = SimulatorConfig(cameras=[camera], rtsp_port=0, username=USER, password=PASSWORD, video=video)
    server = RtspServer(config, session_timeout=300)
    await server.start()
    print(server.port, flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the parent closes stdin
    await server.stop()


async def serve_raw(total_bytes: int) -> None:
    """Baseline: interleaved 1400-byte RTP-sized frames written as fast as the client reads."""
    frame = b"$\x00" + struct.pack("!H", 1400) + bytes([0x80, 0x60]) + bytes(1398)
    chunk = frame * 64

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sent = 0
        while sent < total_bytes:
            writer.write(chunk)
            sent += len(chunk)
            if writer.transport.get_write_buffer_size() > 1 << 20:
                await writer.drain()
        writer.write(b"$\x01\x00\x08" + bytes([0x81, 203, 0, 1, 0, 0, 0, 0]))  # an RTCP BYE ends it
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    server.close()


class Child:
    """A child process of this script that prints its port, and stops when its stdin closes."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(  # noqa: S603  (this same script, fixed arguments)
            [sys.executable, __file__, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        self.port = int(self.process.stdout.readline())

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


# -- the counting client -----------------------------------------------------------------------------


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


@dataclass
class Counter:
    frames: list[float] = field(default_factory=list)  # arrival time of each frame's last packet
    payload_bytes: int = 0
    ended: asyncio.Event = field(default_factory=asyncio.Event)


class CountingClient:
    """RTSP over TCP-interleaved RTP that counts what arrives and decodes nothing."""

    def __init__(self, port: int, path: str) -> None:
        self.port = port
        self.url = f"rtsp://127.0.0.1:{port}{path}"
        self.cseq = 0
        self.session = ""
        self.auth: dict[str, str] = {}
        self.counter = Counter()
        self._task: asyncio.Task[None] | None = None

    async def start(self, play_headers: dict[str, str] | None = None) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        await self._request("DESCRIBE", self.url, {"Accept": "application/sdp"})
        setup = await self._request(
            "SETUP", self.url + "/trackID=0", {"Transport": "RTP/AVP/TCP;unicast;interleaved=0-1"}
        )
        self.session = setup["session"].split(";")[0]
        await self._request("PLAY", self.url, {"Session": self.session, **(play_headers or {})})
        self._task = asyncio.create_task(self._count())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        self.writer.close()

    def _authorization(self, method: str, uri: str) -> str:
        ha1 = _md5(f"{USER}:{self.auth['realm']}:{PASSWORD}")
        response = _md5(f"{ha1}:{self.auth['nonce']}:00000001:bench:auth:{_md5(f'{method}:{uri}')}")
        return (
            f'Digest username="{USER}", realm="{self.auth["realm"]}", nonce="{self.auth["nonce"]}", '
            f'uri="{uri}", response="{response}", qop=auth, nc=00000001, cnonce="bench"'
        )

    async def _request(self, method: str, uri: str, headers: dict[str, str]) -> dict[str, str]:
        for _ in range(2):
            self.cseq += 1
            lines = [f"{method} {uri} RTSP/1.0", f"CSeq: {self.cseq}"]
            if self.auth:
                lines.append(f"Authorization: {self._authorization(method, uri)}")
            lines += [f"{k}: {v}" for k, v in headers.items()]
            self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
            head = (await self.reader.readuntil(b"\r\n\r\n")).decode()
            status = int(head.split()[1])
            reply = {
                k.lower(): v.strip() for k, _, v in (line.partition(":") for line in head.split("\r\n")[1:])
            }
            await self.reader.readexactly(int(reply.get("content-length", "0") or 0))
            if status == 401 and not self.auth:
                self.auth = dict(re.findall(r'(realm|nonce)="([^"]*)"', reply["www-authenticate"]))
                continue
            if status != 200:
                raise RuntimeError(f"{method} answered {status}")
            return reply
        raise RuntimeError("authentication failed")

    async def _count(self) -> None:
        buffer = b""
        counter = self.counter
        try:
            while True:
                data = await self.reader.read(1 << 18)
                if not data:
                    break
                buffer += data
                pos, end = 0, len(buffer)
                while end - pos >= 4:
                    channel, size = buffer[pos + 1], (buffer[pos + 2] << 8) | buffer[pos + 3]
                    if end - pos < 4 + size:
                        break
                    if channel == 0:
                        counter.payload_bytes += size
                        if buffer[pos + 5] & 0x80:  # marker: last packet of a frame
                            counter.frames.append(time.monotonic())
                    elif buffer[pos + 5] == 203:  # RTCP BYE: the replay is over
                        counter.ended.set()
                    pos += 4 + size
                buffer = buffer[pos:]
        finally:
            counter.ended.set()


# -- measurements ------------------------------------------------------------------------------------


@dataclass
class LiveStep:
    clients: int
    full_rate: int
    min_fps: float
    cpu_percent: float
    mbit_per_client: float


async def live_steps(server: Child, max_clients: int, window: float) -> list[LiveStep]:
    clients: list[CountingClient] = []
    steps: list[LiveStep] = []
    count = 1
    while count <= max_clients:
        while len(clients) < count:
            client = CountingClient(server.port, "/live/1")
            await client.start()
            clients.append(client)
        await asyncio.sleep(1.5)  # past the GOP burst every newcomer gets
        start, cpu_start = time.monotonic(), server.cpu_seconds()
        bytes_start = [c.counter.payload_bytes for c in clients]
        await asyncio.sleep(window)
        end, cpu_end = time.monotonic(), server.cpu_seconds()
        rates = [sum(1 for t in c.counter.frames if start <= t < end) / window for c in clients]
        mbit = (
            sum(c.counter.payload_bytes - b for c, b in zip(clients, bytes_start, strict=True))
            * 8
            / window
            / 1e6
        )
        step = LiveStep(
            count,
            sum(r >= FPS * 0.95 for r in rates),
            min(rates),
            100 * (cpu_end - cpu_start) / (end - start),
            mbit / count,
        )
        steps.append(step)
        print(
            f"  {count:4d} clients: {step.full_rate:4d} at full rate, slowest {step.min_fps:5.1f} fps, "
            f"server CPU {step.cpu_percent:5.1f} %, {step.mbit_per_client:.2f} Mbit/s each",
            flush=True,
        )
        if step.full_rate < count:
            break
        count = count * 2 if count < 32 else count + 16
    for client in clients:
        await client.stop()
    return steps


async def replay(server: Child, seconds: int) -> tuple[float, float, int]:
    """(MB/s, x real time, frames) for `seconds` of recording from a day ago, Rate-Control: no."""
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    end = start + timedelta(seconds=seconds)
    clock = f"clock={start:%Y%m%dT%H%M%SZ}-{end:%Y%m%dT%H%M%SZ}"
    client = CountingClient(server.port, "/replay/1")
    began = time.monotonic()
    await client.start({"Require": "onvif-replay", "Range": clock, "Rate-Control": "no"})
    await client.counter.ended.wait()
    elapsed = time.monotonic() - began
    await client.stop()
    return client.counter.payload_bytes / elapsed / 1e6, seconds / elapsed, len(client.counter.frames)


async def raw_copy(total_bytes: int) -> float:
    raw = Child("--serve-raw", str(total_bytes))
    try:
        client = CountingClient(raw.port, "/")
        client.reader, client.writer = await asyncio.open_connection("127.0.0.1", raw.port)
        began = time.monotonic()
        task = asyncio.create_task(client._count())
        await client.counter.ended.wait()
        elapsed = time.monotonic() - began
        task.cancel()
        client.writer.close()
        return client.counter.payload_bytes / elapsed / 1e6
    finally:
        raw.stop()


async def bench(video: Path | None, max_clients: int, window: float, replay_seconds: int) -> int:
    source = f"--video {video}" if video else "test pattern encoded live (x264 ultrafast, zerolatency)"
    print(f"simulator benchmark: one 1280x720 H.264 camera at {FPS} fps, {source}; {os.cpu_count()} CPUs")
    baseline = await raw_copy(400_000_000)
    print(f"baseline: raw interleaved socket copy to the counting client: {baseline:.1f} MB/s")
    server = Child("--serve", *(["--video", str(video)] if video else []))
    try:
        print("live (counting clients, no decoding):")
        steps = await live_steps(server, max_clients, window)
        replay_mbs, replay_x, frames = await replay(server, replay_seconds)
    finally:
        server.stop()
    served = max((s.clients for s in steps if s.full_rate == s.clients), default=0)
    best = next((s for s in steps if s.clients == served), None)
    aggregate = served * (best.mbit_per_client if best else 0) / 8
    ratio = served / TARGET_CLIENTS
    print(f"live: {served} clients served at full frame rate (target {TARGET_CLIENTS}: {ratio:.2f}x)")
    print(f"      aggregate {aggregate:.1f} MB/s = {aggregate / baseline:.3f} of the raw copy baseline")
    print(
        f"replay, Rate-Control: no, {replay_seconds} s of recording ({frames} frames): "
        f"{replay_mbs:.1f} MB/s, "
        f"{replay_x:.0f}x real time (target {TARGET_REPLAY_X:.0f}x: {replay_x / TARGET_REPLAY_X:.2f}x), "
        f"{replay_mbs / baseline:.3f} of the raw copy baseline"
    )
    ok = served >= TARGET_CLIENTS and replay_x >= TARGET_REPLAY_X
    print("targets:", "met" if ok else "MISSED")
    return 0 if ok else 1


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--video", type=Path, help=f"serve this file looped (e.g. {DEMO_VIDEO})")
    parser.add_argument("--max-clients", type=int, default=128)
    parser.add_argument("--window", type=float, default=4.0, help="seconds each live step is measured")
    parser.add_argument("--replay-seconds", type=int, default=600)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve-raw", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.video))
    elif args.serve_raw:
        asyncio.run(serve_raw(args.serve_raw))
    else:
        sys.exit(asyncio.run(bench(args.video, args.max_clients, args.window, args.replay_seconds)))


if __name__ == "__main__":
    main()

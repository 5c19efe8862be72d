"""Live feeds: produced on demand in real time, restamped across loops, stopped when nobody watches."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

import av

from tests.simulator.media.glyphs import clock_text
from vtrack.simulator.config import CameraSpec
from vtrack.simulator.media.encode import encode_pattern_clip
from vtrack.simulator.media.live import ClipProducer, LiveFeed, PatternProducer, Producer
from vtrack.simulator.media.stream import AccessUnit

CAMERA = CameraSpec(index=0, name="x", width=320, height=240, codec="h264", fps=10)


async def test_clip_loop_is_paced_and_restamped_across_loops() -> None:
    clip = encode_pattern_clip(CAMERA, seconds=1.0)  # 10 frames, 1 s

    async def make() -> Producer:
        return ClipProducer(clip)

    feed = LiveFeed(make, idle_seconds=0.2)
    received: list[tuple[float, AccessUnit]] = []
    info = await feed.info()
    assert info.params.sps is not None and feed.running

    def listener(unit: AccessUnit) -> None:
        received.append((time.monotonic(), unit))

    await feed.add_listener(listener)
    await asyncio.sleep(2.05)
    feed.remove_listener(listener)
    units = [u for _, u in received]
    assert 19 <= len(units) <= 22  # real time: ~10 frames a second
    pts = [u.pts for u in units]
    assert all(b - a == 9000 for a, b in zip(pts, pts[1:], strict=False))  # continuous across the loop seam
    assert [u.keyframe for u in units].count(True) >= 2
    await asyncio.sleep(0.5)
    assert not feed.running  # stopped once idle
    await feed.close()


async def test_pattern_producer_burns_in_the_wall_clock() -> None:
    async def make() -> Producer:
        return PatternProducer(CameraSpec(index=0, name="x", width=640, height=360, codec="h264", fps=10))

    feed = LiveFeed(make, idle_seconds=0.1)
    units: list[AccessUnit] = []
    await feed.add_listener(units.append)
    await asyncio.sleep(1.0)
    feed.remove_listener(units.append)
    started = feed.epoch
    await feed.close()
    assert 8 <= len(units) <= 12 and units[0].keyframe
    decoder = av.CodecContext.create("h264", "r")
    frames = decoder.decode(av.Packet(b"".join(b"\x00\x00\x00\x01" + n for n in units[0].units)))
    frames += decoder.decode(None)
    text = clock_text(frames[0].to_ndarray(format="gray"))
    shown = datetime.strptime(text + "+0000", "%Y-%m-%d %H:%M:%S.%f%z")
    assert abs(shown.timestamp() - started) < 0.5

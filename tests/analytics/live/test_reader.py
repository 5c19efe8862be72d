"""LiveReader against the simulator over RTSP: newest-frame hand-off, backoff, faults, secrets, stop.

Every blocking call (take, stop) goes through a thread: the simulator serves from this event loop.
Reconnect waits are read from the reader's own log records (their float argument), and the gaps
between records show the waits really happened.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import numpy as np
import pytest

from tests.analytics.live.conftest import FPS, wait_for
from tests.peers.ports import free_port
from vtrack.analytics.live.reader import LiveReader, ReconnectPolicy, live_options
from vtrack.analytics.live.stats import ChannelStats
from vtrack.analytics.types import FrameInput
from vtrack.simulator.config import DEFAULT_PASSWORD, DEFAULT_USERNAME, Faults
from vtrack.simulator.runner import Simulator

POLICY = ReconnectPolicy(first=0.2, maximum=1.0, open_timeout=3.0, read_timeout=1.0)
READER_LOG = "vtrack.analytics.live.reader"


@asynccontextmanager
async def running(
    url: str,
    *,
    username: str | None = DEFAULT_USERNAME,
    password: str | None = DEFAULT_PASSWORD,
    policy: ReconnectPolicy = POLICY,
) -> AsyncIterator[LiveReader]:
    reader = LiveReader(url, ChannelStats(), username=username, password=password, policy=policy, name="t")
    reader.start()
    try:
        yield reader
    finally:
        await asyncio.to_thread(reader.stop)


async def take(reader: LiveReader, within: float = 5.0) -> FrameInput | None:
    return await asyncio.to_thread(reader.take, within)


def waits(caplog: pytest.LogCaptureFixture) -> list[tuple[float, float]]:
    """(when logged, the wait announced) for every "reconnecting in" record so far."""
    return [
        (r.created, float(r.args[1]))  # type: ignore[index, arg-type]
        for r in caplog.records
        if r.name == READER_LOG and r.msg.startswith("%s: reconnecting in")
    ]


def has_error(stats: ChannelStats) -> bool:
    return stats.last_error is not None


def test_the_policy_doubles_from_first_and_caps_at_maximum() -> None:
    next_delay = ReconnectPolicy(first=0.2, maximum=1.0).delays()
    assert [next_delay() for _ in range(6)] == pytest.approx([0.2, 0.4, 0.8, 1.0, 1.0, 1.0])
    assert ReconnectPolicy(first=0.2, maximum=1.0).delays()() == 0.2  # each closure starts over
    assert [ReconnectPolicy().delays()() for _ in range(2)] == [5.0, 5.0]
    options = live_options(2.5)
    assert options["rtsp_transport"] == "tcp" and options["timeout"] == "2500000"


async def test_frames_flow_as_bgr_with_their_capture_clocks(simulator: Simulator) -> None:
    async with running(simulator.cameras()[0].rtsp_url) as reader:
        first = await take(reader)
        assert first is not None, reader.stats.last_error
        assert first.image.shape == (240, 320, 3) and first.image.dtype == np.uint8
        assert abs(first.captured_at - time.time()) < 2.0
        assert time.monotonic() - first.captured_mono < 2.0
        assert first.image.std() > 5  # a picture, not a blank buffer
        await asyncio.sleep(1.5)
        second = await take(reader)
        assert second is not None and second.index > first.index
        stats = reader.stats
        assert stats.state == "running" and stats.last_error is None and stats.reconnects == 0
        assert stats.last_frame_at is not None and abs(stats.last_frame_at - time.time()) < 1.0
        assert 0.5 * FPS < stats.fps_in.rate() < 2 * FPS  # plausible; the opening GOP arrives at once
        assert "admin" not in reader.display and reader.display.startswith("rtsp://127.0.0.1:")


async def test_a_slow_consumer_only_ever_gets_the_newest_frame(simulator: Simulator) -> None:
    async with running(simulator.cameras()[0].rtsp_url) as reader:
        assert await take(reader) is not None
        taken: list[FrameInput] = []
        ages: list[float] = []
        for _ in range(4):
            await asyncio.sleep(0.5)  # ~7 frames arrive meanwhile
            frame = await take(reader)
            assert frame is not None
            ages.append(time.monotonic() - frame.captured_mono)
            taken.append(frame)
        # A queue would hand over the oldest waiting frame, ~0.5 s old; the slot holds the latest only.
        assert max(ages) < 0.3, ages
        gaps = [b.index - a.index for a, b in zip(taken, taken[1:], strict=False)]
        assert min(gaps) >= 4, gaps
    stats = reader.stats
    leftover = 1 if reader.take(0) is not None else 0
    # Every decoded frame was either handed over or counted as dropped (the first take included).
    assert stats.frames_in == len(taken) + 1 + stats.dropped + leftover
    assert stats.dropped >= sum(g - 1 for g in gaps)


async def test_a_stalled_stream_times_out_and_reconnects(
    simulator: Simulator, faults: list[Faults], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=READER_LOG)
    faults[1].stream_stall_seconds = 5.0  # each new session gets 1 s of video, then nothing for 5 s
    async with running(simulator.cameras()[1].rtsp_url) as reader:
        stats = reader.stats
        await wait_for(lambda: stats.frames_in > 0, 8, "the first second of video")
        await wait_for(lambda: stats.reconnects >= 1, 6, "the stall to be noticed")
        # Noticed within the read timeout (plus the second of video and slack), not the camera's 5 s.
        assert stats.last_frame_at is not None
        assert time.time() - stats.last_frame_at < POLICY.read_timeout + 1.5
        # Why, from the log: the state and last_error say "reconnecting" only for the 0.2 s wait and the
        # new session's setup, and a poller on a loaded machine can look after the next video is in.
        warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert any("stopped answering" in message for message in warned), warned
        assert waits(caplog)
        faults[1].stream_stall_seconds = 0.0
        frames = stats.frames_in
        await wait_for(lambda: stats.frames_in > frames + 10, 8, "frames after the stall")
        assert stats.state == "running" and stats.last_error is None
        assert await take(reader) is not None
    assert waits(caplog)[0][1] == pytest.approx(POLICY.first)


async def test_offline_camera_backoff_doubles_caps_and_restarts_after_frames(
    simulator: Simulator, faults: list[Faults], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=READER_LOG)
    faults[2].offline = True
    async with running(simulator.cameras()[2].rtsp_url) as reader:
        stats = reader.stats
        await wait_for(lambda: len(waits(caplog)) >= 4, 10, "four failed attempts")
        first_outage = waits(caplog)[:4]
        assert [w for _, w in first_outage] == pytest.approx([0.2, 0.4, 0.8, 1.0])  # 1.6 capped
        for (at, wait), (next_at, _) in zip(first_outage, first_outage[1:], strict=False):
            assert next_at - at >= wait - 0.02  # it really waited before trying again
        assert stats.state == "reconnecting" and stats.frames_in == 0
        assert stats.last_error is not None and "127.0.0.1" in stats.last_error

        faults[2].offline = False  # back: the next attempt (<= 1 s away) connects
        await wait_for(lambda: stats.frames_in > 5, 8, "frames once the camera is back")
        assert stats.state == "running" and stats.last_error is None
        seen = len(waits(caplog))

        faults[2].offline = True  # gone mid-stream: the simulator drops the session
        await wait_for(lambda: len(waits(caplog)) >= seen + 2, 10, "failed attempts after frames flowed")
        second_outage = [w for _, w in waits(caplog)[seen : seen + 2]]
        assert second_outage == pytest.approx([0.2, 0.4])  # frames flowed: back to `first`, doubling
    assert stats.reconnects == len(waits(caplog))


async def test_wrong_credentials_are_reported_without_the_password(
    simulator: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger=READER_LOG)
    camera = simulator.cameras()[0].rtsp_url
    embedded = camera.replace("rtsp://", "rtsp://admin:Embedded-Secret-9@", 1)
    async with (
        running(camera, password="Hunter2-wrong") as given,
        running(embedded, username=None, password=None) as in_url,
    ):
        for reader, secret in ((given, "Hunter2-wrong"), (in_url, "Embedded-Secret-9")):
            stats = reader.stats
            await wait_for(functools.partial(has_error, stats), 8, "the 401")
            assert stats.last_error is not None
            assert "rejected the username or password (401)" in stats.last_error
            assert secret not in stats.last_error and "admin" not in stats.last_error
            assert secret not in reader.display
            assert stats.frames_in == 0 and stats.state in ("starting", "reconnecting")
            assert secret not in caplog.text
        await wait_for(lambda: given.stats.reconnects >= 2, 5, "retries")  # keeps trying, with backoff


async def test_stop_returns_promptly_streaming_or_waiting(simulator: Simulator) -> None:
    streaming = LiveReader(simulator.cameras()[0].rtsp_url, ChannelStats(), policy=POLICY,
                           username=DEFAULT_USERNAME, password=DEFAULT_PASSWORD)  # fmt: skip
    waiting = LiveReader(f"rtsp://127.0.0.1:{free_port()}/live/1", ChannelStats(),
                         policy=ReconnectPolicy(first=30.0, maximum=60.0))  # fmt: skip
    streaming.start()
    waiting.start()
    await wait_for(lambda: streaming.stats.frames_in > 3, 8, "frames")
    await wait_for(lambda: waiting.stats.reconnects == 1, 5, "the refused connection")
    assert waiting.stats.last_error is not None and "connection refused" in waiting.stats.last_error
    for reader in (streaming, waiting):
        started = time.monotonic()
        await asyncio.to_thread(reader.stop)
        assert time.monotonic() - started < 1.0
        assert reader.stopped and reader.stats.state == "stopped"
        started = time.monotonic()
        while reader.take(0.5) is not None:  # at most the frame left in the slot, then None at once
            pass
        assert time.monotonic() - started < 0.2

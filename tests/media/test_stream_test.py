"""Connection tests against real peers on loopback: the simulator, a vendor SDK port, small stubs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.media.conftest import (
    FPS,
    H264,
    H265,
    MPEG4,
    OFFLINE,
    PASSWORD,
    STALLING,
    USERNAME,
    WRONG_PASSWORD,
    Cameras,
    camera_spec,
)
from tests.media.peers import HttpPort, SilentPort, UnknownCodecRtsp
from vtrack.media.deadline import Deadline
from vtrack.media.stream_test import StreamTest, probe_stream
from vtrack.media.stream_test import test_stream as check_stream
from vtrack.media.worker import GRACE
from vtrack.simulator.config import SimulatorConfig
from vtrack.simulator.rtsp import RtspServer
from vtrack.simulator.sdk_port import SdkPortServer

# Characters that must be percent-encoded in userinfo, and a marker no message may ever contain.
ODD_PASSWORD = "p@ss:w/rd%?#Zq9"


def assert_failed(result: StreamTest, kind: str, *, secret: str = PASSWORD) -> None:
    assert not result.success
    assert result.kind == kind, result
    assert secret not in result.message
    assert "@" not in result.message.split("//", 1)[-1].split("/", 1)[0]  # no userinfo in any URL


@pytest.mark.parametrize(
    ("channel", "codec"), [(H264, "H264"), (H265, "H265"), (MPEG4, "MPEG4")], ids=["h264", "h265", "mpeg4"]
)
async def test_decodes_each_codec_with_its_size_and_rate(cameras: Cameras, channel: int, codec: str) -> None:
    spec = cameras.spec(channel)
    result = await check_stream(
        cameras.url(channel), username=USERNAME, password=PASSWORD, timeout=10, frames=10
    )
    assert result.success, result
    assert (result.kind, result.codec, result.resolution) == (None, codec, f"{spec.width}x{spec.height}")
    assert result.fps == pytest.approx(FPS, abs=0.5)
    assert result.latency_ms is not None and 0 < result.latency_ms < 10_000
    assert codec in result.message and result.resolution in result.message


async def test_password_with_reserved_characters_is_percent_encoded() -> None:
    camera = camera_spec(1, "mpeg4", 320, 240)
    config = SimulatorConfig(cameras=[camera], rtsp_port=0, username="ops user", password=ODD_PASSWORD)
    server = RtspServer(config)
    await server.start()
    try:
        ok = await check_stream(server.url(camera), username="ops user", password=ODD_PASSWORD, timeout=10)
        wrong = await check_stream(
            server.url(camera), username="ops user", password=ODD_PASSWORD + "x", timeout=10
        )
    finally:
        await server.stop()
    assert ok.success, ok
    assert_failed(wrong, "auth", secret=ODD_PASSWORD)


async def test_wrong_password_is_auth(cameras: Cameras) -> None:
    result = await check_stream(cameras.url(H264), username=USERNAME, password="not-the-password", timeout=5)
    assert_failed(result, "auth", secret="not-the-password")
    assert "username or password" in result.message


async def test_missing_credentials_is_auth(cameras: Cameras) -> None:
    result = await check_stream(cameras.url(H264), username=None, password=None, timeout=5)
    assert_failed(result, "auth")
    assert "needs a username and password" in result.message


async def test_camera_that_changed_its_password_is_auth(cameras: Cameras) -> None:
    result = await check_stream(cameras.url(WRONG_PASSWORD), username=USERNAME, password=PASSWORD, timeout=5)
    assert_failed(result, "auth")


async def test_credentials_in_the_url_are_used_and_never_shown(cameras: Cameras) -> None:
    url = cameras.url(H264).replace("rtsp://", f"rtsp://{USERNAME}:wrong-in-url@", 1)
    result = await check_stream(url, username=None, password=None, timeout=5)
    assert_failed(result, "auth", secret="wrong-in-url")


async def test_offline_camera_is_unreachable(cameras: Cameras) -> None:
    result = await check_stream(cameras.url(OFFLINE), username=USERNAME, password=PASSWORD, timeout=5)
    assert_failed(result, "unreachable")
    assert "closed it without answering" in result.message


async def test_closed_port_is_unreachable(closed_port: int) -> None:
    url = f"rtsp://127.0.0.1:{closed_port}/live/1"
    result = await check_stream(url, username=USERNAME, password=PASSWORD, timeout=5)
    assert_failed(result, "unreachable")
    assert "refused" in result.message


async def test_unknown_path_is_not_found(cameras: Cameras) -> None:
    url = f"rtsp://127.0.0.1:{cameras.server.port}/no/such/stream"
    result = await check_stream(url, username=USERNAME, password=PASSWORD, timeout=5)
    assert_failed(result, "not_found")
    assert "/no/such/stream" in result.message


async def test_vendor_sdk_port_is_protocol() -> None:
    sdk = SdkPortServer("127.0.0.1", 0)
    await sdk.start()
    try:
        started = time.monotonic()
        result = await check_stream(
            f"rtsp://127.0.0.1:{sdk.port}/", username=USERNAME, password=PASSWORD, timeout=5
        )
        elapsed = time.monotonic() - started
    finally:
        await sdk.stop()
    assert_failed(result, "protocol")
    assert "not an RTSP server" in result.message
    assert elapsed < 1.0  # told at once, not after FFmpeg's socket timeout


async def test_web_port_is_protocol() -> None:
    async with HttpPort() as http:
        result = await check_stream(
            f"rtsp://127.0.0.1:{http.port}/", username=USERNAME, password=PASSWORD, timeout=5
        )
    assert_failed(result, "protocol")
    assert "HTTP" in result.message


async def test_undecodable_codec_is_codec() -> None:
    async with UnknownCodecRtsp() as stub:
        result = await check_stream(stub.url(), username=None, password=None, timeout=5)
    assert_failed(result, "codec")
    assert "cannot decode" in result.message


async def test_silent_port_times_out_within_its_timeout() -> None:
    async with SilentPort() as silent:
        started = time.monotonic()
        result = await check_stream(
            f"rtsp://127.0.0.1:{silent.port}/", username=USERNAME, password=PASSWORD, timeout=1.0
        )
        elapsed = time.monotonic() - started
    assert_failed(result, "timeout")
    assert elapsed < 1.0 + GRACE + 0.5


@pytest.fixture
async def one_worker() -> AsyncIterator[ThreadPoolExecutor]:
    """A pool of its own, so a test can wait for the worker thread itself to finish."""
    pool = ThreadPoolExecutor(1, thread_name_prefix="stream-test")
    yield pool
    pool.shutdown(wait=True)


async def stall(
    cameras: Cameras, worker: ThreadPoolExecutor, seconds: float
) -> tuple[StreamTest, float, float]:
    """Test the stalling camera for 40 frames; the result, when it came, and when its worker ended."""
    started = time.monotonic()
    result = await check_stream(
        cameras.url(STALLING),
        username=USERNAME,
        password=PASSWORD,
        timeout=seconds,
        frames=40,
        executor=worker,
    )
    returned = time.monotonic() - started
    await asyncio.to_thread(worker.shutdown, wait=True)
    return result, returned, time.monotonic() - started


async def test_stalled_stream_returns_near_its_timeout(
    cameras: Cameras, one_worker: ThreadPoolExecutor
) -> None:
    """The stall fault stops the video after ~1 s; 40 frames at 15 fps would take ~2.7 s."""
    timeout = 2.0
    result, returned, worker_done = await stall(cameras, one_worker, timeout)
    assert_failed(result, "timeout")
    assert "stalled" in result.message
    assert returned < timeout + 1.0, returned
    # The worker thread itself ends within one read gap (1 s at this timeout) of the deadline.
    assert worker_done < timeout + Deadline(timeout).read_gap + 0.5, worker_done
    assert (result.codec, result.resolution) == ("H264", "320x240")  # what was learnt before the stall


async def test_caller_stops_waiting_at_the_deadline_even_while_a_read_blocks(
    cameras: Cameras, one_worker: ThreadPoolExecutor
) -> None:
    """Timeout 1.5 s, read gap 1 s: the stall (~1 s in) blocks a read until ~2 s, past the deadline."""
    timeout = 1.5
    result, returned, worker_done = await stall(cameras, one_worker, timeout)
    assert_failed(result, "timeout")
    assert returned < timeout + GRACE + 0.3, returned
    assert worker_done < timeout + Deadline(timeout).read_gap + 0.5, worker_done


async def test_blocking_probe_is_bounded_on_its_own(cameras: Cameras) -> None:
    timeout = 2.0
    started = time.monotonic()
    result = await asyncio.to_thread(
        probe_stream, cameras.url(STALLING), username=USERNAME, password=PASSWORD, timeout=timeout, frames=40
    )
    elapsed = time.monotonic() - started
    assert_failed(result, "timeout")
    assert elapsed < timeout + Deadline(timeout).read_gap + 0.5, elapsed


async def test_frames_and_timeout_must_be_positive(cameras: Cameras) -> None:
    with pytest.raises(ValueError, match="frames"):
        probe_stream(cameras.url(H264), username=USERNAME, password=PASSWORD, timeout=1, frames=0)
    with pytest.raises(ValueError, match="timeout"):
        await check_stream(cameras.url(H264), username=USERNAME, password=PASSWORD, timeout=0)

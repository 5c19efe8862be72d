"""`replay_range` against the simulator's ONVIF replay: three codecs, range edges, auth, hanging up early."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta

import pytest

from tests.devices.rtsp.conftest import PASSWORD, USERNAME
from vtrack.devices.rtsp import RtspAuthError, RtspStatusError
from vtrack.devices.rtsp.replay import ReplayUnit, replay_range
from vtrack.simulator.config import CameraSpec
from vtrack.simulator.rtsp import RtspServer

CODECS = {"h264": "H264", "h265": "H265", "mpeg4": "MPEG4"}


def hours_ago(hours: float) -> datetime:
    return datetime.now(UTC).replace(microsecond=0) - timedelta(hours=hours)


async def replay(server: RtspServer, camera: CameraSpec, start: datetime, end: datetime) -> list[ReplayUnit]:
    units = replay_range(
        server.url(camera, replay=True),
        username=USERNAME,
        password=PASSWORD,
        start=start,
        end=end,
        timeout=5.0,
    )
    return [unit async for unit in units]


@pytest.mark.parametrize("channel", [1, 2, 3], ids=["h264", "h265", "mpeg4"])
async def test_units_carry_their_recording_times(simulator: RtspServer, channel: int) -> None:
    camera = simulator.config.cameras[channel - 1]
    start = hours_ago(30)
    end = start + timedelta(seconds=4)
    units = await replay(simulator, camera, start, end)
    gop = timedelta(seconds=1)  # the simulator's keyframe interval
    assert units[0].keyframe and start <= units[0].time < start + gop
    assert all(unit.stamped and unit.codec == CODECS[camera.codec] for unit in units)
    assert units[0].parameter_sets and not any(unit.discontinuity for unit in units)
    steps = {
        round((b.time - a.time).total_seconds() * camera.fps, 3)
        for a, b in zip(units, units[1:], strict=False)
    }
    assert steps == {1.0}  # one frame apart, in order: no B-frames, nothing lost
    assert end - timedelta(seconds=1 / camera.fps) <= units[-1].time < end
    assert len(units) == round((end - units[0].time).total_seconds() * camera.fps)


async def test_consecutive_ranges_meet_without_sharing_a_frame(simulator: RtspServer) -> None:
    camera = simulator.config.cameras[0]
    start = hours_ago(29)
    middle, end = start + timedelta(seconds=2), start + timedelta(seconds=4)
    first, second = (
        await replay(simulator, camera, start, middle),
        await replay(simulator, camera, middle, end),
    )
    assert first[-1].time < middle <= second[0].time
    assert second[0].time - first[-1].time == timedelta(microseconds=round(1_000_000 / camera.fps))


async def test_naive_datetimes_are_taken_as_utc(simulator: RtspServer) -> None:
    start = hours_ago(28)
    units = await replay(
        simulator,
        simulator.config.cameras[2],
        start.replace(tzinfo=None),
        (start + timedelta(seconds=1)).replace(tzinfo=None),
    )
    assert units[0].time == start


async def test_hanging_up_early_tears_the_session_down(simulator: RtspServer) -> None:
    camera = simulator.config.cameras[0]
    start = hours_ago(27)
    units = replay_range(
        simulator.url(camera, replay=True),
        username=USERNAME,
        password=PASSWORD,
        start=start,
        end=start + timedelta(minutes=10),
        timeout=5.0,
    )
    async with contextlib.aclosing(units):
        async for unit in units:
            if unit.time >= start + timedelta(seconds=1):
                break
    for _ in range(50):
        if not simulator.sessions:
            break
        await asyncio.sleep(0.02)
    assert not simulator.sessions


async def test_wrong_password_is_an_auth_error(simulator: RtspServer, faulty: CameraSpec) -> None:
    faulty.faults.wrong_password = True
    start = hours_ago(26)
    with pytest.raises(RtspAuthError, match="refused the username or password") as caught:
        await replay(simulator, faulty, start, start + timedelta(seconds=2))
    assert caught.value.kind == "auth" and PASSWORD not in str(caught.value)


async def test_a_range_outside_the_recording_is_a_status_error(simulator: RtspServer) -> None:
    start = datetime.now(UTC) + timedelta(days=1)
    with pytest.raises(RtspStatusError, match="457") as caught:
        await replay(simulator, simulator.config.cameras[0], start, start + timedelta(seconds=5))
    assert caught.value.status == 457


async def test_a_reversed_range_is_refused_before_connecting(simulator: RtspServer) -> None:
    start = hours_ago(25)
    with pytest.raises(ValueError, match="before it starts"):
        await replay(simulator, simulator.config.cameras[0], start, start)

"""Tapo through pytapo against the loopback camera of tests/fakes/tapo.py: login, search, download, errors."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.fakes.hls import make_ts_segments
from tests.fakes.tapo import FakeTapo
from vtrack.devices import tapo
from vtrack.devices.errors import DeviceError
from vtrack.devices.probe import SourceSpec, probe_source
from vtrack.devices.recordings import DeviceAccess, download_tapo, search_recordings
from vtrack.devices.tapo import TapoCamera, TapoTarget

# The cameras' certificates are self-signed; pytapo does not verify them (the secure login's
# device_confirm is what proves the camera knows the password).
pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")


def recording_ts(seconds: int = 6) -> bytes:
    return b"".join(make_ts_segments(seconds=seconds, fps=5, per_segment=2, sized_pes=True))


@pytest.fixture
async def camera() -> AsyncIterator[FakeTapo]:
    async with FakeTapo() as fake:
        yield fake


def target(camera: FakeTapo, password: str | None = None, timeout: float = 10.0) -> TapoTarget:
    return TapoTarget(
        camera.host,
        camera.password if password is None else password,
        camera.control_port,
        camera.media_port,
        timeout,
    )


def access(camera: FakeTapo) -> DeviceAccess:
    return DeviceAccess(
        "tapo", camera.host, camera.control_port, None, camera.password, stream_port=camera.media_port
    )


def midnight() -> datetime:
    return (datetime.now(UTC) - timedelta(days=2)).replace(hour=0, minute=0, second=0, microsecond=0)


async def test_the_search_lists_what_overlaps_the_window_across_the_cameras_days(camera: FakeTapo) -> None:
    day = midnight()
    ts = recording_ts()
    camera.add_recording(day - timedelta(minutes=5), 360, ts)  # begins the day before, ends inside
    camera.add_recording(day + timedelta(minutes=10), 60, ts, kind=2)
    camera.add_recording(day + timedelta(hours=5), 60, ts)  # after the window
    camera.add_recording(day - timedelta(hours=2), 60, ts)  # before it

    found = await search_recordings(None, access(camera), 1, day, day + timedelta(hours=1))  # type: ignore[arg-type]

    assert [(s.start, s.end) for s in found] == [
        (day - timedelta(minutes=5), day + timedelta(minutes=1)),
        (day + timedelta(minutes=10), day + timedelta(minutes=11)),
    ]
    assert {s.kind for s in found} == {"tapo"} and all(s.container == "ts" for s in found)
    assert found[0].url == f"tapo://{camera.host}:{camera.media_port}" and "cloud" not in found[0].url
    assert camera.logins == 1 and "searchVideoOfDay" in camera.requests


async def test_a_recording_downloads_whole_inside_the_cameras_flow_control(
    camera: FakeTapo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tapo, "WINDOW", 3)  # the camera then waits for an acknowledgement every 3 chunks
    ts = recording_ts(6)
    camera.chunk_packets = 8
    start = midnight()
    camera.add_recording(start, 6, ts)
    segment = (await search_recordings(None, access(camera), 1, start, start + timedelta(hours=1)))[0]  # type: ignore[arg-type]
    seen: list[int] = []

    async def progress(received: int) -> None:
        seen.append(received)

    dest = tmp_path / "clip.download"
    dest.write_bytes(b"left over from a cut stream")
    size = await download_tapo(access(camera), segment, dest, progress=progress)

    assert dest.read_bytes() == ts and size == len(ts)
    assert seen[-1] == len(ts)
    chunks = -(-len(ts) // (8 * 188))
    # The camera waited for each window's acknowledgement before sending on (the last one may race the end).
    assert [a for a in camera.acks if a < chunks] == list(range(3, chunks, 3))
    request = camera.media_requests[0]["params"]["download"]
    assert request["client_id"] == camera.user_id
    assert (request["start_time"], request["end_time"]) == (
        str(int(start.timestamp())),
        str(int(start.timestamp()) + 6),
    )


async def test_a_wrong_password_is_an_auth_error_and_never_reaches_the_digest(camera: FakeTapo) -> None:
    with pytest.raises(DeviceError) as raised:
        await TapoCamera.connect(target(camera, password="guess"))
    assert raised.value.kind == "auth" and "password" in raised.value.message
    assert camera.logins == 0  # the client saw device_confirm fail and never sent a digest

    spec = SourceSpec(
        "tapo", camera.host, [camera.control_port], None, "guess", 5.0, stream_port=camera.media_port
    )
    with pytest.raises(DeviceError) as probed:
        await probe_source(spec)
    assert probed.value.kind == "auth"


async def test_a_camera_that_locked_its_logins_says_for_how_long(camera: FakeTapo) -> None:
    said = []
    for _ in range(4):  # each try is two first steps (pytapo retries once); past five the camera locks
        with pytest.raises(DeviceError) as raised:
            await TapoCamera.connect(target(camera, password="guess"))
        assert raised.value.kind == "auth"
        said.append(raised.value.message)
    assert "refused the password" in said[0]
    assert "locked logins" in said[-1] and "1800 seconds" in said[-1]
    with pytest.raises(DeviceError) as locked:
        await TapoCamera.connect(target(camera))  # the right password too, until the lock ends
    assert "locked logins" in locked.value.message


async def test_the_probe_names_the_camera_from_its_device_info(camera: FakeTapo) -> None:
    spec = SourceSpec(
        "tapo", camera.host, [camera.control_port], None, camera.password, 5.0, stream_port=camera.media_port
    )
    [probe] = await probe_source(spec)
    [found] = probe.cameras
    assert (probe.protocol, found.protocol, found.name, found.model) == ("tapo", "tapo", "Front door", "C200")
    assert found.manufacturer == "TP-Link" and found.rtsp_url == f"rtsp://{camera.host}:554/stream1"
    assert any("camera account" in note for note in probe.notes)


async def test_an_expired_session_logs_in_again(camera: FakeTapo) -> None:
    start = midnight()
    camera.add_recording(start, 6, recording_ts())
    connected = await TapoCamera.connect(target(camera))
    camera.expire_sessions()
    assert len(await connected.recordings(start, start + timedelta(hours=1))) == 1
    assert camera.logins == 2
    await connected.close()


async def test_a_busy_camera_and_a_stalled_stream_are_errors_worth_retrying(
    camera: FakeTapo, tmp_path: Path
) -> None:
    start = midnight()
    camera.add_recording(start, 6, recording_ts())
    connected = await TapoCamera.connect(target(camera, timeout=1.0))

    async def progress(received: int) -> None:
        pass

    camera.other_client = True  # the Tapo app holds the stream
    with pytest.raises(DeviceError) as busy:
        await connected.download(start, start + timedelta(seconds=6), tmp_path / "a", progress)
    assert busy.value.kind == "busy"

    camera.other_client = False
    camera.stall_after = 2
    with pytest.raises(DeviceError) as stalled:
        await connected.download(start, start + timedelta(seconds=6), tmp_path / "b", progress)
    assert stalled.value.kind == "timeout" and "before the recording ended" in stalled.value.message

    with pytest.raises(DeviceError) as nothing:
        await connected.download(start - timedelta(hours=1), start, tmp_path / "c", progress)
    assert nothing.value.kind == "protocol" and "-52402" in nothing.value.message
    await connected.close()


async def test_without_pytapo_a_tapo_source_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pytapo", None)
    with pytest.raises(DeviceError) as raised:
        await TapoCamera.connect(TapoTarget("127.0.0.1", "x", 1, 2))
    assert "vtrack[tapo]" in raised.value.message


async def test_a_camera_that_is_off_fails_fast(camera: FakeTapo) -> None:
    closed = TapoTarget(camera.host, camera.password, 9, camera.media_port, timeout=2.0)
    with pytest.raises(DeviceError) as raised:
        await TapoCamera.connect(closed)
    assert raised.value.kind == "unreachable" and "127.0.0.1:9" in raised.value.message


async def test_two_downloads_from_one_camera_take_turns_instead_of_finding_it_busy(
    camera: FakeTapo, tmp_path: Path
) -> None:
    start = midnight()
    ts = recording_ts()
    for offset in (0, 60):
        camera.add_recording(start + timedelta(seconds=offset), 6, ts)
    first, second = [await TapoCamera.connect(target(camera)) for _ in range(2)]

    async def progress(received: int) -> None:
        pass

    def fetch(connected: TapoCamera, offset: int) -> asyncio.Task[int]:
        begin = start + timedelta(seconds=offset)
        job = connected.download(begin, begin + timedelta(seconds=6), tmp_path / f"{offset}", progress)
        return asyncio.ensure_future(job)

    camera.gate = asyncio.Event()  # the first stream stays open until the second has asked
    running = fetch(first, 0)
    await asyncio.wait_for(camera.streaming.wait(), 10)
    waiting = fetch(second, 60)
    await asyncio.sleep(0.3)  # long enough for a second stream request to be refused as busy
    assert not waiting.done() and len(camera.media_requests) == 1
    camera.gate.set()
    assert await asyncio.gather(running, waiting) == [len(ts), len(ts)]
    assert len(camera.media_requests) == 2  # the second asked once the first had finished
    for connected in (first, second):
        await connected.close()

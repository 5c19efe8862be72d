"""MP4 without re-encoding: ONVIF replay from the simulator (three codecs), B-frames, cancellation, and
vendor files (a Dahua DHAV stream built to FFmpeg's dhav demuxer's layout, MPEG-PS, MP4) copied over."""

from __future__ import annotations

import asyncio
import struct
import threading
import time
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from tests.media.conftest import H264, H265, MPEG4, PASSWORD, USERNAME, Cameras
from vtrack.devices.rtsp.replay import ReplayUnit, replay_range
from vtrack.media.remux import DecodeTimes, RemuxError, remux_file, write_replay_mp4
from vtrack.media.verify import verify_media

ENCODERS = {"H264": "libx264", "H265": "libx265", "MPEG4": "mpeg4"}


def encoded_units(
    start: datetime,
    seconds: float,
    *,
    fps: int = 10,
    codec: str = "H264",
    size: tuple[int, int] = (160, 120),
    bframes: int = 0,
    skip: Iterable[int] = (),
) -> list[ReplayUnit]:
    """Replay units as a camera would send them: a fresh encode, times from the encoder's pts."""
    context = av.CodecContext.create(ENCODERS[codec], "w")
    assert isinstance(context, av.VideoCodecContext)
    context.width, context.height, context.pix_fmt = *size, "yuv420p"
    context.time_base, context.framerate = Fraction(1, fps), Fraction(fps)
    context.gop_size, context.max_b_frames = fps, bframes
    if codec == "H264":
        context.options = {"preset": "ultrafast", "bf": str(bframes)}
    elif codec == "H265":
        context.options = {"preset": "ultrafast", "x265-params": "log-level=error"}
    units: list[ReplayUnit] = []
    skipped = set(skip)
    frames = [*range(round(seconds * fps)), None]
    for index in frames:
        frame = None
        if index is not None:
            picture = np.full((size[1] * 3 // 2, size[0]), index % 200 + 20, np.uint8)
            frame = av.VideoFrame.from_ndarray(picture, format="yuv420p")
            frame.pts = index
        for packet in context.encode(frame):
            if packet.pts in skipped:
                continue
            when = start + timedelta(seconds=float(packet.pts * context.time_base))
            units.append(ReplayUnit(when, bytes(packet), packet.is_keyframe, codec, ()))
    return units


async def iterate(units: Iterable[ReplayUnit]) -> AsyncIterator[ReplayUnit]:
    for unit in units:
        yield unit


def top_level_boxes(path: Path) -> list[str]:
    boxes, data, pos = [], path.read_bytes(), 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        boxes.append(kind.decode("ascii"))
        pos += size if size >= 8 else len(data)
    return boxes


def hours_ago(hours: float) -> datetime:
    return datetime.now(UTC).replace(microsecond=0) - timedelta(hours=hours)


def writer_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith("vtrack-mp4")]


# -- ONVIF replay from the simulator -----------------------------------------------------------------


@pytest.mark.parametrize("channel", [H264, H265, MPEG4], ids=["h264", "h265", "mpeg4"])
async def test_a_minute_downloads_fast_verifies_plays_and_is_faststart(
    cameras: Cameras, channel: int, tmp_path: Path
) -> None:
    camera = cameras.spec(channel)
    start = hours_ago(20 + channel)
    end = start + timedelta(seconds=60)
    dest = tmp_path / "chunk.mp4.part"
    began = time.monotonic()
    units = replay_range(
        cameras.server.url(camera, replay=True),
        username=USERNAME,
        password=PASSWORD,
        start=start,
        end=end,
        timeout=5.0,
    )
    written = await write_replay_mp4(units, dest)
    speed = 60 / (time.monotonic() - began)
    assert speed >= 20, f"only {speed:.0f}x real time"  # ~200-600x when the machine is idle
    gop = timedelta(seconds=1)
    assert written.codec == {"h264": "H264", "h265": "H265", "mpeg4": "MPEG4"}[camera.codec]
    assert start <= written.first < start + gop and written.last < end
    assert written.frames == round((end - written.first).total_seconds() * camera.fps)
    assert written.bytes == dest.stat().st_size and list(tmp_path.iterdir()) == [dest]  # nothing else

    check = verify_media(dest, expect_start=start, expect_end=end, tolerance=gop)
    assert check.ok, check.problem
    assert (check.first, check.last, check.frames) == (written.first, written.last, written.frames)

    boxes = top_level_boxes(dest)
    assert boxes.index("moov") < boxes.index("mdat"), boxes
    with av.open(str(dest)) as container:
        video = container.streams.video[0]
        assert video.time_base is not None
        container.seek(round(30 / video.time_base), stream=video)
        frame = next(container.decode(video))
        assert (frame.width, frame.height) == (camera.width, camera.height)
        assert frame.time is not None and 28 <= frame.time <= 31


async def test_progress_reports_bytes_and_times(cameras: Cameras, tmp_path: Path) -> None:
    start = hours_ago(19)
    end = start + timedelta(seconds=20)
    seen: list[tuple[int, datetime]] = []

    async def progress(received: int, when: datetime) -> None:
        seen.append((received, when))

    units = replay_range(
        cameras.server.url(cameras.spec(MPEG4), replay=True),
        username=USERNAME,
        password=PASSWORD,
        start=start,
        end=end,
        timeout=5.0,
    )
    written = await write_replay_mp4(units, tmp_path / "p.part", progress=progress)
    assert seen and seen[-1][1] == written.last
    assert [received for received, _ in seen] == sorted(received for received, _ in seen)


async def test_cancelling_closes_the_file_ends_the_thread_and_hangs_up(
    cameras: Cameras, tmp_path: Path
) -> None:
    start = hours_ago(18)
    halfway = asyncio.Event()

    async def stalls_after_a_while() -> AsyncIterator[ReplayUnit]:
        units = replay_range(
            cameras.server.url(cameras.spec(H264), replay=True),
            username=USERNAME,
            password=PASSWORD,
            start=start,
            end=start + timedelta(minutes=10),
            timeout=5.0,
        )
        async for unit in units:
            yield unit
            if unit.time >= start + timedelta(seconds=20):
                halfway.set()
                await asyncio.sleep(3600)  # a recorder that stops sending

    dest = tmp_path / "cancelled.mp4.part"
    task = asyncio.create_task(write_replay_mp4(stalls_after_a_while(), dest))
    await asyncio.wait_for(halfway.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not writer_threads()
    with av.open(str(dest)) as container:  # closed properly: the trailer is there
        assert container.streams.video[0].frames > 0
    for _ in range(50):
        if not cameras.server.sessions:
            break
        await asyncio.sleep(0.02)
    assert not cameras.server.sessions


async def test_a_failing_source_leaves_no_thread(tmp_path: Path) -> None:
    async def breaks() -> AsyncIterator[ReplayUnit]:
        for unit in encoded_units(hours_ago(1), 3):
            yield unit
        raise ConnectionResetError("recorder went away")

    with pytest.raises(ConnectionResetError):
        await write_replay_mp4(breaks(), tmp_path / "broken.part")
    assert not writer_threads()


# -- timestamps -----------------------------------------------------------------------------------------


def test_decode_times_without_b_frames_equal_presentation_times() -> None:
    times = DecodeTimes(window=4)
    out = [entry for pts in range(0, 60_000, 6000) for entry in times.push(pts, pts)] + times.flush()
    assert [(pts, dts) for _, pts, dts in out] == [(pts, pts) for pts in range(0, 60_000, 6000)]
    assert times.frame_ticks == 6000


def test_decode_times_for_b_frames_precede_presentation() -> None:
    shown = [0, 3, 1, 2, 6, 4, 5, 9, 7, 8]  # I P B B P B B ... in decode order
    times = DecodeTimes(window=4)
    out = [entry for pts in shown for entry in times.push(pts * 100, pts)] + times.flush()
    assert [item for item, _, _ in out] == shown
    dts = [d for _, _, d in out]
    assert dts == sorted(dts) and len(set(dts)) == len(dts)
    assert all(d <= p for _, p, d in out) and times.fixed == 0


async def test_b_frames_keep_their_order(tmp_path: Path) -> None:
    start = hours_ago(2)
    units = encoded_units(start, 6, bframes=2)
    assert any(b.time < a.time for a, b in zip(units, units[1:], strict=False))  # reordered indeed
    dest = tmp_path / "b.part"
    written = await write_replay_mp4(iterate(units), dest, width=160, height=120)
    assert written.frames == len(units) == 60
    with av.open(str(dest)) as container:
        shown = [frame.pts for frame in container.decode(video=0)]
    assert len(shown) == 60 and shown == sorted(shown)
    check = verify_media(
        dest, expect_start=start, expect_end=start + timedelta(seconds=6), tolerance=timedelta(0)
    )
    assert check.ok and check.duration == timedelta(seconds=6), check.problem


async def test_units_before_the_first_keyframe_are_skipped(tmp_path: Path) -> None:
    start = hours_ago(3)
    units = encoded_units(start, 3, skip=[0])  # the stream joins after its first keyframe
    written = await write_replay_mp4(iterate(units), tmp_path / "late.part")
    assert written.first == start + timedelta(seconds=1) and written.frames == 20


async def test_no_keyframe_is_an_error_and_writes_nothing(tmp_path: Path) -> None:
    units = [unit for unit in encoded_units(hours_ago(4), 1) if not unit.keyframe]
    dest = tmp_path / "none.part"
    with pytest.raises(RemuxError, match="no keyframe"):
        await write_replay_mp4(iterate(units), dest)
    assert not dest.exists()


# -- vendor files --------------------------------------------------------------------------------------


def dhav_file(path: Path, units: list[ReplayUnit], size: tuple[int, int], fps: int) -> None:
    """Dahua's DHAV container as FFmpeg's dhav demuxer reads it: per frame a 24-byte header (type 0xfd
    keyframe / 0xfc other, frame number, length, packed local date, a millisecond counter), extension
    records (0x80 size in 8-pixel units, 0x81 codec 2 = H.264 and frame rate), the Annex-B frame, and a
    `dhav` trailer repeating the length."""
    chunks = []
    origin = units[0].time
    for number, unit in enumerate(units):
        when = unit.time
        date = (
            when.second
            | when.minute << 6
            | when.hour << 12
            | when.day << 17
            | when.month << 22
            | (when.year - 2000) << 26
        )
        counter = round((when - origin).total_seconds() * 1000) & 0xFFFF
        ext = bytes([0x80, 0, size[0] // 8, size[1] // 8, 0x81, 0, 0x02, fps])
        length = 24 + len(ext) + len(unit.data) + 8
        header = b"DHAV" + bytes([0xFD if unit.keyframe else 0xFC, 0, 0, 0])
        header += struct.pack("<IIIHBB", number, length, date, counter, len(ext), 0)
        chunks.append(header + ext + unit.data + b"dhav" + struct.pack("<I", length))
    path.write_bytes(b"".join(chunks))


def ps_file(path: Path, seconds: int, fps: int = 10) -> int:
    """An MPEG program stream with H.264 video, as Hikvision's downloads are; returns its frame count."""
    with av.open(str(path), "w", format="mpeg") as container:
        stream = container.add_stream("libx264", rate=fps, options={"preset": "ultrafast", "bf": "0"})
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        for index in range(seconds * fps):
            picture = np.full((180, 160), index % 200 + 20, np.uint8)
            frame = av.VideoFrame.from_ndarray(picture, format="yuv420p")
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return seconds * fps


def test_dahua_dav_becomes_mp4_with_every_frame_and_its_time(tmp_path: Path) -> None:
    start = datetime(2025, 3, 14, 9, 26, 53, tzinfo=UTC)
    units = encoded_units(start, 3)
    src, dest = tmp_path / "09.26.53-09.26.56[R][0@0][0].dav", tmp_path / "out.mp4.part"
    dhav_file(src, units, (160, 120), 10)
    written = remux_file(src, dest)
    assert (written.frames, written.codec, written.first) == (30, "H264", start)
    assert written.last == start + timedelta(seconds=2.9)
    check = verify_media(
        dest, expect_start=start, expect_end=start + timedelta(seconds=3), tolerance=timedelta(0)
    )
    assert check.ok and check.frames == 30, check.problem
    assert top_level_boxes(dest).index("moov") < top_level_boxes(dest).index("mdat")
    with av.open(str(dest)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 30


def test_program_stream_becomes_mp4_given_the_searchs_start(tmp_path: Path) -> None:
    src, dest = tmp_path / "ch01_20250314092653.mp4", tmp_path / "out.part"  # Hikvision names PS .mp4
    frames = ps_file(src, 4)
    start = datetime(2025, 3, 14, 9, 26, 53, tzinfo=UTC)
    written = remux_file(src, dest, start=start)
    assert (written.frames, written.codec, written.first) == (frames, "H264", start)
    check = verify_media(
        dest, expect_start=start, expect_end=start + timedelta(seconds=4), tolerance=timedelta(seconds=0.05)
    )
    assert check.ok, check.problem
    with av.open(str(dest)) as container:
        assert sum(1 for _ in container.decode(video=0)) == frames


def test_a_file_without_a_recording_time_needs_one(tmp_path: Path) -> None:
    src = tmp_path / "clip.mpg"
    ps_file(src, 1)
    with pytest.raises(RemuxError, match=r"clip\.mpg carries no recording time"):
        remux_file(src, tmp_path / "out.part")


@pytest.mark.parametrize(("codec", "bframes"), [("H265", 0), ("H264", 2)])
async def test_an_mp4_copies_with_its_start(tmp_path: Path, codec: str, bframes: int) -> None:
    start = hours_ago(5)
    first = tmp_path / "first.part"
    await write_replay_mp4(iterate(encoded_units(start, 2, codec=codec, bframes=bframes)), first)
    dest = tmp_path / "again.part"
    written = remux_file(first, dest)
    assert (written.first, written.frames, written.codec) == (start, 20, codec)
    check = verify_media(
        dest, expect_start=start, expect_end=start + timedelta(seconds=2), tolerance=timedelta(0)
    )
    assert check.ok, check.problem  # B-frames: time zero is the first frame shown, not the first decoded
    with av.open(str(dest)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 20


def test_no_video_is_a_clear_error(tmp_path: Path) -> None:
    src = tmp_path / "audio.wav"
    with av.open(str(src), "w", format="wav") as container:
        stream = container.add_stream("pcm_s16le", rate=8000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format="s16", layout="mono")
        frame.sample_rate = 8000
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    with pytest.raises(RemuxError, match=r"audio\.wav has no video stream"):
        remux_file(src, tmp_path / "out.part")
    assert not (tmp_path / "out.part").exists()


def test_not_a_media_file_is_a_clear_error(tmp_path: Path) -> None:
    src = tmp_path / "notes.dav"
    src.write_bytes(b"this is not a recording\n" * 100)
    with pytest.raises(RemuxError, match=r"notes\.dav: FFmpeg cannot read it"):
        remux_file(src, tmp_path / "out.part")

"""The connection test behind "Test connection" and health checks: open a stream, decode a few frames.

A test passes only when `frames` frames decode: a camera that accepts RTSP but whose video cannot be
decoded, or that stops after a second, is not working. The frame rate comes from the decoded frames'
timestamps (what the camera actually sends), not from the SDP's advertised rate.

Note for test modules: `test_stream` starts with "test_", so import it under another name
(`from vtrack.media.stream_test import test_stream as check_stream`) or pytest may try to collect it.
"""

from __future__ import annotations

import logging
from concurrent.futures import Executor
from dataclasses import dataclass

from vtrack.media.deadline import Deadline
from vtrack.media.errors import FailureKind, StreamError
from vtrack.media.reader import VideoReader
from vtrack.media.urls import redact_url
from vtrack.media.worker import run_with_deadline

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StreamTest:
    """The outcome; on failure, whatever was learnt before it (codec, resolution) is still filled in.

    latency_ms: from the start of the test to the first decoded frame (connect, RTSP handshake and the
    wait for a decodable frame), what a viewer waits before video appears.
    """

    success: bool
    latency_ms: float | None
    resolution: str | None
    fps: float | None
    codec: str | None
    message: str
    kind: FailureKind | None


def _fps(times: list[float]) -> float | None:
    if len(times) < 2:
        return None
    span = max(times) - min(times)
    return round((len(times) - 1) / span, 2) if span > 0 else None


def probe_stream(
    url: str,
    *,
    username: str | None,
    password: str | None,
    timeout: float,
    frames: int = 10,
    deadline: Deadline | None = None,
) -> StreamTest:
    """The blocking test; `test_stream` runs it in a worker thread. Never raises for a camera's failure."""
    if frames < 1:
        raise ValueError("frames must be at least 1")
    deadline = deadline or Deadline(timeout)
    latency_ms: float | None = None
    resolution: str | None = None
    times: list[float] = []
    count = 0
    reader = VideoReader(url, username=username, password=password, deadline=deadline)
    try:
        with reader:
            for frame in reader.frames():
                count += 1
                if latency_ms is None:
                    latency_ms = round(deadline.elapsed() * 1000, 1)
                resolution = f"{frame.width}x{frame.height}"
                if frame.time is not None:  # FFmpeg's RTSP demuxer may not time the very first frame
                    times.append(frame.time)
                if count >= frames:
                    break
    except StreamError as error:
        message = error.message
        if error.kind == "timeout" and count:
            message = (
                f"the stream stalled: {count} of {frames} frames from {reader.display} "
                f"in {deadline.elapsed():.1f} s (limit {timeout:g} s)"
            )
        log.debug("stream test of %s failed (%s): %s", reader.display, error.kind, message)
        return StreamTest(False, latency_ms, resolution, _fps(times), reader.codec, message, error.kind)
    fps = _fps(times)
    rate = f" at {fps:g} fps" if fps else ""
    message = f"{reader.codec} {resolution}{rate}, first frame after {latency_ms:.0f} ms"
    return StreamTest(True, latency_ms, resolution, fps, reader.codec, message, None)


async def test_stream(
    url: str,
    *,
    username: str | None,
    password: str | None,
    timeout: float,  # noqa: ASYNC109  (bounds a worker thread, which asyncio.timeout cannot stop)
    frames: int = 10,
    executor: Executor | None = None,
) -> StreamTest:
    """Test `url` in a worker thread; returns within `timeout` (plus a fraction of a second) whatever happens.

    `executor`: a pool of its own for callers that test many cameras at once (the default is the event
    loop's, shared with everything else that uses `asyncio.to_thread`).
    """
    display = redact_url(url)

    def overran(deadline: Deadline) -> StreamTest:
        message = f"no usable video from {display} within {timeout:g} s (it stopped answering mid-way)"
        log.debug("stream test of %s timed out after %.1f s", display, deadline.elapsed())
        return StreamTest(False, None, None, None, None, message, "timeout")

    def job(deadline: Deadline) -> StreamTest:
        return probe_stream(
            url, username=username, password=password, timeout=timeout, frames=frames, deadline=deadline
        )

    return await run_with_deadline(job, timeout, overran, executor=executor)


# Callers' test modules import this name; keep pytest from collecting it as a test there.
setattr(test_stream, "__test__", False)  # noqa: B010

"""ChannelWorker on a simulated camera: analysis, its run row, and how a failing channel stops for good.

The failures come from a scripted detector wrapping the real motion detector: a detector bug is what
the consecutive-failure limit is for, and no real detector fails on demand.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence

import pytest

from tests.analytics.live.conftest import wait_for
from vtrack.analytics.counting.specs import LineSpec
from vtrack.analytics.detectors.base import Detector
from vtrack.analytics.detectors.motion import MotionDetector
from vtrack.analytics.live.reader import ReconnectPolicy
from vtrack.analytics.live.worker import MAX_CONSECUTIVE_FAILURES, ChannelWorker, StreamTarget
from vtrack.analytics.options import AnalysisOptions
from vtrack.analytics.sinks.db_writer import RunWriter
from vtrack.analytics.types import Detections, Image
from vtrack.db.models import AnalyticsRun
from vtrack.db.session import Database
from vtrack.simulator.config import DEFAULT_PASSWORD, DEFAULT_USERNAME
from vtrack.simulator.runner import Simulator

POLICY = ReconnectPolicy(first=0.2, maximum=1.0, open_timeout=3.0, read_timeout=1.0)


class ScriptedDetector:
    """Raises on the calls `fails(n)` picks (1-based), else detects motion."""

    name = "scripted"
    stateful = True

    def __init__(self, fails: Callable[[int], bool]) -> None:
        self.calls = 0
        self._fails = fails
        self._motion = MotionDetector()

    def detect(self, images: Sequence[Image]) -> list[Detections]:
        self.calls += 1
        if self._fails(self.calls):
            raise RuntimeError(f"scripted failure on call {self.calls}")
        return self._motion.detect(images)

    def close(self) -> None:
        self._motion.close()


Factory = Callable[..., ChannelWorker]


@pytest.fixture
async def make_worker(simulator: Simulator, database: Database) -> AsyncIterator[Factory]:
    """Workers on camera 1 writing to `database`; any a failed test left running are stopped after it."""
    made: list[ChannelWorker] = []

    def make(detector: Detector, lines: tuple[LineSpec, ...] = ()) -> ChannelWorker:
        writer = RunWriter(database, flush_interval=0.05)
        worker = ChannelWorker(
            None,
            "bench door",
            StreamTarget(simulator.cameras()[0].rtsp_url, DEFAULT_USERNAME, DEFAULT_PASSWORD),
            AnalysisOptions(detector="motion", lines=lines),
            detector,
            writer,
            policy=POLICY,
            frame_rate=15,
        )
        made.append(worker)
        return worker

    yield make
    for worker in made:
        if not worker.summary:  # stop() never ran (it sets the summary)
            await worker.stop()


async def run_row(database: Database, run_id: str | None) -> AnalyticsRun:
    async with database.session() as session:
        run = await session.get(AnalyticsRun, run_id)
    assert run is not None
    return run


async def test_a_worker_analyses_the_newest_frames_and_stop_closes_its_run(
    simulator: Simulator, database: Database, make_worker: Factory
) -> None:
    worker = make_worker(MotionDetector(), (LineSpec("door", (0.0, 0.5), (1.0, 0.5)),))
    await worker.start()
    run = await run_row(database, worker.run_id)
    assert (run.status, run.kind, run.ended_at) == ("running", "live", None)
    assert run.source == simulator.cameras()[0].rtsp_url and DEFAULT_PASSWORD not in run.source
    assert run.config["detector"] == "motion" and run.config["lines"][0]["name"] == "door"

    stats = worker.stats
    await wait_for(lambda: stats.frames_processed >= 15, 10, "analysed frames")
    assert stats.state == "running" and stats.fps_out.rate() > 0
    p50 = stats.latency.percentile(50)
    assert p50 is not None and 0 < p50 < 1000  # capture -> analysed, on an idle 320x240 stream
    latest = worker.latest()
    assert latest is not None and latest.frame.image.shape == (240, 320, 3)
    assert "lines" in latest.totals  # published within the first second
    jpeg = await asyncio.to_thread(worker.preview_jpeg)
    assert jpeg is not None and jpeg[:2] == b"\xff\xd8"

    started = time.monotonic()
    summary = await worker.stop()
    assert time.monotonic() - started < 2.0
    processed = stats.frames_processed
    assert summary["channel"] == "bench door" and summary["frames_processed"] == processed
    assert set(summary["lines"]) == {"door"} and "tracks" in summary
    assert stats.state == "stopped" and worker.reader.stopped
    run = await run_row(database, worker.run_id)
    assert run.status == "finished" and run.ended_at is not None and run.error is None
    assert run.summary["frames_processed"] == processed and "events_written" in run.summary
    await asyncio.sleep(0.3)
    assert stats.frames_processed == processed  # nothing runs after stop


async def test_only_failures_in_a_row_stop_the_channel_and_it_stays_failed(
    database: Database, make_worker: Factory
) -> None:
    limit = MAX_CONSECUTIVE_FAILURES
    # limit-1 failures, one success (the streak starts over), then failures until the limit.
    detector = ScriptedDetector(lambda n: n != limit)
    worker = make_worker(detector)
    await worker.start()
    stats = worker.stats
    await wait_for(lambda: stats.state == "failed", 15, "the channel to fail")
    assert detector.calls == 2 * limit and stats.frames_processed == 1
    assert stats.last_error == f"analysis failed {limit} times in a row: RuntimeError: " + (
        f"scripted failure on call {2 * limit}"
    )
    await asyncio.sleep(0.5)  # no restart, no retry loop, and the failure stays visible
    assert detector.calls == 2 * limit and stats.state == "failed" and stats.reconnects == 0
    assert worker.reader.stopped and not worker.reader._thread.is_alive()

    summary = await worker.stop()
    assert summary["state"] == "failed" and stats.state == "failed"
    run = await run_row(database, worker.run_id)
    assert run.status == "failed" and run.ended_at is not None and run.error == stats.last_error


async def test_lines_that_do_not_fit_the_stream_fail_it_at_the_first_frame(
    database: Database, make_worker: Factory
) -> None:
    detector = ScriptedDetector(lambda n: False)
    far = LineSpec("far", (0.0, 500.0), (1000.0, 500.0))  # pixels of a bigger picture than 320x240
    worker = make_worker(detector, (far,))
    await worker.start()
    stats = worker.stats
    await wait_for(lambda: stats.state == "failed", 10, "the channel to fail")
    assert stats.last_error is not None
    assert stats.last_error.startswith("line: far") and "outside the 320x240 frame" in stats.last_error
    assert detector.calls == 0 and stats.frames_processed == 0
    await asyncio.sleep(0.3)
    assert stats.state == "failed" and worker.pipeline is None
    await worker.stop("interrupted")  # a failed channel's run says failed, whatever the caller asked
    run = await run_row(database, worker.run_id)
    assert run.status == "failed" and run.error is not None and "outside" in run.error

"""One live channel at work: its reader thread, its analysis thread, and its run in the database.

A channel's failures stay in the channel. Stream errors are the reader's (it reconnects); an exception
in analysis is logged and the frame skipped; only a run of failures in a row (a bug, not bad luck)
stops the channel, as "failed", without taking others down or restarting in a loop.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from vtrack.analytics.annotate import annotate, to_jpeg
from vtrack.analytics.detectors.base import Detector
from vtrack.analytics.errors import AnalyticsConfigError
from vtrack.analytics.live.reader import LiveReader, ReconnectPolicy
from vtrack.analytics.live.stats import ChannelStats
from vtrack.analytics.options import AnalysisOptions, build_pipeline
from vtrack.analytics.pipeline import Pipeline
from vtrack.analytics.sinks.db_writer import RunWriter
from vtrack.analytics.types import FrameInput, Track

log = logging.getLogger(__name__)

MAX_CONSECUTIVE_FAILURES = 25
TOTALS_EVERY_SECONDS = 1.0


@dataclass(frozen=True)
class StreamTarget:
    url: str  # without credentials
    username: str | None = None
    password: str | None = None


@dataclass
class _Latest:
    frame: FrameInput
    tracks: list[Track]
    totals: dict[str, Any]


class ChannelWorker:
    def __init__(
        self,
        channel_id: str | None,
        name: str,
        target: StreamTarget,
        options: AnalysisOptions,
        detector: Detector,
        writer: RunWriter | None,
        *,
        policy: ReconnectPolicy | None = None,
        frame_rate: float = 15.0,
    ) -> None:
        self.channel_id = channel_id
        self.name = name
        self.options = options
        self.detector = detector
        self.writer = writer
        self.frame_rate = frame_rate
        self.stats = ChannelStats()
        if writer is not None:  # the run's event latency is one of the channel's health figures
            writer.stats = self.stats
        self.reader = LiveReader(
            target.url,
            self.stats,
            username=target.username,
            password=target.password,
            policy=policy,
            name=name,
        )
        self.display = self.reader.display
        self.pipeline: Pipeline | None = None
        self.summary: dict[str, Any] = {}
        self._latest: _Latest | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"analytics-{name}", daemon=True)
        self._last_totals = 0.0

    @property
    def run_id(self) -> str | None:
        return self.writer.run_id if self.writer is not None else None

    async def start(self) -> None:
        if self.writer is not None:
            await self.writer.open("live", self.display, self.channel_id, self.options.to_dict())
        self.reader.start()
        self._thread.start()

    def halt(self) -> None:
        """Stop reading and analysing, touching no database (blocking: call it from a thread).

        A node that lost its leases must stop analysing even while its database hangs; `stop()` later
        flushes and closes the run when it can.
        """
        self._stop.set()
        self.reader.stop()
        if self._thread.is_alive():
            self._thread.join()

    async def stop(self, status: str = "finished") -> dict[str, Any]:
        """Stop reading, finish open tracks and zone visits, flush everything, close the run."""
        await asyncio.to_thread(self.halt)
        if self.stats.state == "failed":
            status = "failed"
        self.summary = self._summary()
        if self.writer is not None:
            await self.writer.close(
                status, self.summary, self.stats.last_error if status == "failed" else None
            )
        self.stats.state = "failed" if status == "failed" else "stopped"
        return self.summary

    def _summary(self) -> dict[str, Any]:
        totals = self.pipeline.totals() if self.pipeline is not None else {}
        return {"channel": self.name, "source": self.display, **self.stats.to_dict(), **totals}

    def latest(self) -> _Latest | None:
        return self._latest

    def preview_jpeg(self, max_width: int = 960) -> bytes | None:
        """The newest analysed frame, annotated; blocking (call it from a worker thread)."""
        latest, pipeline = self._latest, self.pipeline
        if latest is None or pipeline is None:
            return None
        counter = pipeline.counter
        image = annotate(
            latest.frame.image,
            latest.tracks,
            counter.lines,
            counter.zones,
            latest.totals,
            max_width=max_width,
        )
        return to_jpeg(image)

    def _pipeline_for(self, frame: FrameInput) -> Pipeline:
        height, width = frame.image.shape[:2]
        pipeline = self.pipeline
        if pipeline is not None and pipeline.frame_size == (width, height):
            return pipeline
        if pipeline is not None:  # the camera changed resolution: close the old geometry's visits
            log.info("%s: resolution changed to %dx%d", self.name, width, height)
            self._hand_over_close(pipeline, frame.captured_at)
        self.pipeline = build_pipeline(self.options, self.detector, (width, height), self.frame_rate)
        return self.pipeline

    def _hand_over_close(self, pipeline: Pipeline, at: float) -> None:
        events, finished = pipeline.close(at)
        if self.writer is not None:
            self.writer.submit(events, {}, finished, time.monotonic(), pipeline.totals())

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            frame = self.reader.take(0.5)
            if frame is None:
                continue
            try:
                pipeline = self._pipeline_for(frame)
                result = pipeline.process(frame)
            except AnalyticsConfigError as exc:  # lines or zones do not fit this stream: nothing to retry
                self._fail(str(exc))
                break
            except Exception as exc:
                failures += 1
                log.exception("%s: analysis failed on frame %d", self.name, frame.index)
                if failures >= MAX_CONSECUTIVE_FAILURES:
                    self._fail(f"analysis failed {failures} times in a row: {type(exc).__name__}: {exc}")
                    break
                continue
            failures = 0
            now = time.monotonic()
            self.stats.frames_processed += 1
            self.stats.fps_out.tick(now)
            self.stats.latency.add((now - frame.captured_mono) * 1000)
            totals = None
            if result.events or now - self._last_totals >= TOTALS_EVERY_SECONDS:
                totals = {**pipeline.totals(), "fps": round(self.stats.fps_out.rate(now), 2)}
                self._last_totals = now
            self._latest = _Latest(
                frame, result.tracks, totals or (self._latest.totals if self._latest else {})
            )
            if self.writer is not None:
                self.writer.submit(
                    result.events, result.genders, result.finished, frame.captured_mono, totals
                )
        if self.pipeline is not None:
            self._hand_over_close(self.pipeline, time.time())

    def _fail(self, message: str) -> None:
        log.error("%s: channel stopped: %s", self.name, message)
        self.stats.last_error = message
        # The reader marks the shared stats "stopped" as it exits: wait for that (a frame interval, or at
        # most its read timeout) before saying "failed", or health and the run's status would lose it.
        self.reader.stop()
        self.stats.state = "failed"

"""Analyse a video file (or, from the CLI, a stream URL) start to end: the baseline live runs match.

A file is analysed as fast as the machine allows, every frame (or every `stride`th), never dropping:
its numbers are the reference the live path is compared with. Event times are the run's start plus the
frame's presentation time, so a file's minute buckets follow the video's own timeline.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import av.error

from vtrack.analytics.decode import FrameClock, to_bgr
from vtrack.analytics.errors import AnalyticsConfigError, AnalyticsError
from vtrack.analytics.options import AnalysisOptions, build_pipeline
from vtrack.analytics.pipeline import Pipeline, StepResult
from vtrack.analytics.sinks.db_writer import RunWriter
from vtrack.analytics.summary import RunMeter
from vtrack.analytics.tracking.mot import MotWriter
from vtrack.analytics.types import Detections, FrameInput
from vtrack.db.session import Database

log = logging.getLogger(__name__)

Progress = Callable[[int, int | None], None]  # (frames decoded, total frames if known)


@dataclass(frozen=True)
class FileInfo:
    width: int
    height: int
    fps: float
    frames: int | None


def probe_file(path: Path) -> FileInfo:
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise AnalyticsConfigError("source", f"{path} has no video stream")
            stream = container.streams.video[0]
            rate = float(stream.guessed_rate or stream.average_rate or 25)
            context = stream.codec_context
            return FileInfo(context.width, context.height, rate, stream.frames or None)
    except av.error.FFmpegError as exc:
        raise AnalyticsConfigError("source", f"{path} is not a readable video ({exc.strerror})") from None


def file_frames(path: Path, started_at: float, stop: threading.Event | None = None) -> Iterator[FrameInput]:
    """Every decoded frame as BGR, stamped `started_at` + its presentation time."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        clock = FrameClock(float(stream.guessed_rate or stream.average_rate or 25))
        first: float | None = None
        for index, frame in enumerate(container.decode(stream)):
            if stop is not None and stop.is_set():
                return
            offset = clock.offset(frame)
            first = offset if first is None else first
            yield FrameInput(to_bgr(frame), index, started_at + offset - first, time.monotonic())


class FileAnalysis:
    """One file run: decode -> pipeline -> (database, MOT file); `run()` is blocking, for a worker thread."""

    def __init__(
        self,
        path: Path,
        options: AnalysisOptions,
        *,
        detections: dict[int, Detections] | None = None,
        mot_out: Path | None = None,
        writer: RunWriter | None = None,
        progress: Progress | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.path = path
        self.source = str(path.absolute())
        self.options = options
        self.info = probe_file(path)
        self.external = detections
        self.mot_out = mot_out
        self.writer = writer
        self.progress = progress
        self.stop = stop or threading.Event()
        self.meter = RunMeter()
        detector = None if detections is not None else options.build_detector()
        self.pipeline: Pipeline = build_pipeline(
            options, detector, (self.info.width, self.info.height), self.info.fps / options.stride
        )

    def run(self) -> dict[str, Any]:
        started_at = time.time()
        last_at = started_at
        with MotWriter(self.mot_out) if self.mot_out is not None else nullcontext() as mot:
            for frame in file_frames(self.path, started_at, self.stop):
                self.meter.frames_in += 1
                if self.progress is not None:
                    self.progress(self.meter.frames_in, self.info.frames)
                if frame.index % self.options.stride:
                    continue
                detections = None
                if self.external is not None:
                    detections = self.external.get(frame.index + 1, Detections.empty())
                result = self.pipeline.process(frame, detections)
                self.meter.processed(frame.captured_mono)
                last_at = frame.captured_at
                if mot is not None:
                    mot.write(frame.index + 1, result.tracks)
                self._submit(result)
            if self.stop.is_set() and mot is not None:
                mot.discard()  # stopped midway: whoever stopped the run reports it; no partial MOT file
        events, finished = self.pipeline.close(last_at)
        if self.writer is not None:
            self.writer.submit(events, {}, finished, time.monotonic(), self.pipeline.totals())
        return self.meter.summary(
            self.source, self.pipeline.totals(), self.writer.run_id if self.writer else None
        )

    def _submit(self, result: StepResult) -> None:
        if self.writer is not None:
            self.writer.submit(result.events, result.genders, result.finished, result.frame.captured_mono)


async def analyze_file(
    path: Path,
    options: AnalysisOptions,
    *,
    database: Database | None = None,
    detections: dict[int, Detections] | None = None,
    mot_out: Path | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run the analysis on a worker thread, writing to `database` when given; returns the summary."""
    writer = RunWriter(database) if database is not None else None
    stop = threading.Event()
    # Probing the file and loading models block: off the event loop, like the run itself.
    analysis = await asyncio.to_thread(
        FileAnalysis,
        path,
        options,
        detections=detections,
        mot_out=mot_out,
        writer=writer,
        progress=progress,
        stop=stop,
    )
    if writer is not None:
        await writer.open("file", analysis.source, None, options.to_dict())
    work = asyncio.ensure_future(asyncio.to_thread(analysis.run))
    try:
        summary = await asyncio.shield(work)
    except BaseException as exc:
        stop.set()
        # The worker ends at its next frame. Until then it is still counting and submitting: reading its
        # totals now could fail (a dict changing size) or miss the final zone exits, and its last rows
        # could reach the writer after close().
        await asyncio.wait({work})
        if writer is not None:
            interrupted = isinstance(exc, asyncio.CancelledError | KeyboardInterrupt)
            status = "interrupted" if interrupted else "failed"
            summary = analysis.meter.summary(analysis.source, analysis.pipeline.totals(), writer.run_id)
            await asyncio.shield(writer.close(status, summary, None if interrupted else str(exc)))
        if isinstance(exc, av.error.FFmpegError):
            raise AnalyticsError(f"{path}: decoding failed ({exc.strerror})") from None
        raise
    if writer is not None:
        await writer.close("finished", summary)
    return summary

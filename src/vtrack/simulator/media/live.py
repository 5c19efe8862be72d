"""Live video for one camera: produced once, in real time, and handed to every listener.

A camera has one encoder however many clients watch, so the producer runs once per camera and the feed
fans each access unit out to listeners (the RTSP server's per-camera broadcaster). Producers start with
the first listener (or the first DESCRIBE, which needs the parameter sets) and stop a few seconds after
the last one leaves, so an idle simulator burns no CPU and a client that reconnects (FFmpeg probes, then
reopens) finds the stream still warm.

Two producers:
- PatternProducer renders and encodes the test pattern on a thread, in real time, with the wall clock
  burned in. Measured on this project's 2-core box (one encoder thread each, x264/x265 `ultrafast`,
  `zerolatency`): 1080p H.264 costs ~11 ms a frame, 720p H.265 ~14 ms, 800x600 MPEG-4 ~2 ms, so the
  three default cameras at 25 fps need about two thirds of one core. Beyond what the box can encode the
  producer drops frames to stay on time rather than drifting behind the clock.
- ClipProducer paces an already-encoded loop (a --video file, or the pattern loop when CPU is scarce),
  restamped so time keeps running forward across loops; nothing is encoded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from itertools import count
from typing import Protocol

from vtrack.simulator.config import CameraSpec
from vtrack.simulator.media.encode import PatternEncoder
from vtrack.simulator.media.stream import CLOCK_RATE, AccessUnit, EncodedClip, StreamInfo

log = logging.getLogger(__name__)

START_TIMEOUT = 10.0
MAX_GOP_FRAMES = 600  # frames kept for late joiners (a 24 s GOP at 25 fps)
Listener = Callable[[AccessUnit], None]
Publish = Callable[[AccessUnit], None]


class Producer(Protocol):
    """Makes access units in real time; `publish` must be called on the event loop's thread."""

    epoch: float  # wall-clock time (Unix seconds) of presentation time 0; valid once info() is known

    def start(self, publish: Publish) -> None: ...

    def info(self) -> StreamInfo | None:
        """Stream description once the parameter sets are known (after the first keyframe)."""
        ...

    async def stop(self) -> None: ...


class PatternProducer:
    """The test pattern, rendered and encoded on a thread at the camera's frame rate."""

    def __init__(self, camera: CameraSpec, fps: Fraction | None = None) -> None:
        self.camera = camera
        self.fps = fps or Fraction(camera.fps)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._info: StreamInfo | None = None
        self.epoch = time.time()

    def info(self) -> StreamInfo | None:
        return self._info

    def start(self, publish: Publish) -> None:
        loop = asyncio.get_running_loop()
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, args=(loop, publish), name=f"sim-encoder-{self.camera.channel}", daemon=True
        )
        self._thread.start()

    async def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join)
            self._thread = None

    def _run(self, loop: asyncio.AbstractEventLoop, publish: Publish) -> None:
        try:
            encoder = PatternEncoder.for_camera(self.camera, self.fps)
            # The clock starts once the encoder is open (x265 takes a moment), so frame 0 is not late.
            self.epoch = epoch = time.time()
            origin = time.monotonic()
            frame = 0
            late_frames = 0
            while not self._stop.is_set():
                due = origin + float(frame / self.fps)
                wait = due - time.monotonic()
                if wait > 0 and self._stop.wait(wait):
                    break
                behind = int((time.monotonic() - origin) * self.fps) - frame
                if behind > 1:  # the CPU cannot keep up: skip to now instead of drifting behind the clock
                    if late_frames < self.fps <= late_frames + behind:
                        log.warning(
                            "camera %d encoder is behind real time; dropping frames", self.camera.channel
                        )
                    late_frames += behind
                    frame += behind
                skew = timedelta(seconds=self.camera.faults.clock_skew_seconds)
                when = datetime.fromtimestamp(epoch + float(frame / self.fps), UTC) + skew
                units = encoder.encode(when, frame, round(frame * CLOCK_RATE / self.fps))
                if self._info is None and encoder.params.complete_for(encoder.codec):
                    self._info = encoder.info()
                for unit in units:
                    loop.call_soon_threadsafe(publish, unit)
                frame += 1
        except RuntimeError:  # the event loop closed under us: the simulator is shutting down
            log.debug("camera %d encoder stopped with its event loop", self.camera.channel)
        except Exception:
            log.exception("camera %d encoder failed", self.camera.channel)


class ClipProducer:
    """An encoded loop played in real time, timestamps carried on across loops."""

    def __init__(self, clip: EncodedClip) -> None:
        self.clip = clip
        self._task: asyncio.Task[None] | None = None
        self.epoch = time.time()

    def info(self) -> StreamInfo:
        return self.clip.info

    def start(self, publish: Publish) -> None:
        self.epoch = time.time()
        self._task = asyncio.create_task(self._run(publish))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self, publish: Publish) -> None:
        loop = asyncio.get_running_loop()
        origin = loop.time()
        for repeat in count():
            offset = repeat * self.clip.duration
            for unit in self.clip.units:
                wait = origin + (offset + unit.dts) / CLOCK_RATE - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                publish(unit.shifted(offset) if offset else unit)


class LiveFeed:
    """One camera's live stream, started on demand and shared by all its listeners."""

    def __init__(
        self, make_producer: Callable[[], Awaitable[Producer]], *, idle_seconds: float = 5.0
    ) -> None:
        self._make_producer = make_producer
        self.idle_seconds = idle_seconds
        self._producer: Producer | None = None
        self._listeners: list[Listener] = []
        self._idle: asyncio.TimerHandle | None = None
        self._stopping: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._starting = asyncio.Lock()
        self._gop: list[AccessUnit] = []  # frames since the last keyframe, for late joiners

    @property
    def running(self) -> bool:
        return self._producer is not None

    @property
    def epoch(self) -> float:
        """Wall-clock time (Unix seconds) of presentation time 0 of the running producer."""
        return self._producer.epoch if self._producer is not None else time.time()

    async def info(self) -> StreamInfo:
        """The stream's description, starting the producer if needed (a DESCRIBE needs parameter sets).

        Waits for the first keyframe, at most `START_TIMEOUT` seconds (TimeoutError past that).
        """
        await self._ensure_started()
        if not self._listeners:
            self._schedule_idle_stop()
        async with asyncio.timeout(START_TIMEOUT):
            await self._ready.wait()
        info = self._producer.info() if self._producer is not None else None
        if info is None:
            raise TimeoutError("the live producer stopped before its first keyframe")
        return info

    async def add_listener(self, listener: Listener) -> list[AccessUnit]:
        """Start delivering to `listener`; returns the frames since the last keyframe.

        The returned frames (already produced, e.g. while a DESCRIBE waited for parameter sets) let a new
        listener start decoding at once instead of waiting up to a GOP for the next keyframe.
        """
        await self._ensure_started()
        self._cancel_idle_stop()
        self._listeners.append(listener)
        return list(self._gop)

    def remove_listener(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)
        if not self._listeners and self._producer is not None:
            self._schedule_idle_stop()

    async def close(self) -> None:
        self._cancel_idle_stop()
        self._listeners.clear()
        await self._stop_producer()

    async def _ensure_started(self) -> None:
        async with self._starting:
            if self._stopping is not None:
                await self._stopping
            if self._producer is None:
                self._ready.clear()
                producer = await self._make_producer()
                producer.start(self._publish)
                self._producer = producer
                if producer.info() is not None:
                    self._ready.set()

    def _publish(self, unit: AccessUnit) -> None:
        if unit.keyframe:
            self._gop.clear()
        if self._gop or unit.keyframe:
            if len(self._gop) < MAX_GOP_FRAMES:
                self._gop.append(unit)
        if not self._ready.is_set() and self._producer is not None and self._producer.info() is not None:
            self._ready.set()
        for listener in tuple(self._listeners):
            try:
                listener(unit)
            except Exception:
                log.exception("live listener failed; removing it")
                self.remove_listener(listener)

    def _schedule_idle_stop(self) -> None:
        self._cancel_idle_stop()
        loop = asyncio.get_running_loop()
        self._idle = loop.call_later(self.idle_seconds, self._idle_stop)

    def _cancel_idle_stop(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None

    def _idle_stop(self) -> None:
        self._idle = None
        if not self._listeners and self._producer is not None:
            self._stopping = asyncio.get_running_loop().create_task(self._stop_producer())

    async def _stop_producer(self) -> None:
        producer, self._producer = self._producer, None
        try:
            if producer is not None:
                await producer.stop()
        finally:
            self._stopping = None
            self._ready.clear()
            self._gop.clear()

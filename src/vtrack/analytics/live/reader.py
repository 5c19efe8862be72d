"""Read a live RTSP stream on its own thread and keep only the newest decoded frame.

Analysis is slower than the camera on a small box; a queue would grow latency without bound, so the
reader overwrites a one-frame slot and counts what it overwrote (`dropped`). Frames stay as FFmpeg's
YUV until the worker takes one: converting to BGR costs about as much as decoding, and most decoded
frames are never analysed. Every frame must still be decoded, because H.264 P-frames need their
references.

FFmpeg's low-latency switches: TCP interleaved transport (no UDP loss, one firewall hole), no input
buffering (`fflags nobuffer`, `flags low_delay`), no reorder wait (`max_delay 0`), and a one-packet probe
since the SDP already names the codec. On any failure the reader reconnects after 5, 10, 20, 40, 60, 60 s
(seed 002), starting again from 5 s once frames flowed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import av
import av.error

from vtrack.analytics.decode import to_bgr
from vtrack.analytics.live.stats import ChannelStats
from vtrack.analytics.types import FrameInput
from vtrack.media.errors import StreamError, from_ffmpeg
from vtrack.media.urls import redact_url, scrub, secrets_of, with_credentials

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReconnectPolicy:
    first: float = 5.0
    maximum: float = 60.0
    open_timeout: float = 10.0
    read_timeout: float = 10.0  # no packet for this long = the stream stalled

    def delays(self) -> Callable[[], float]:
        """A closure giving the next wait: first, 2x, 4x, ... capped at maximum."""
        state = {"next": self.first}

        def next_delay() -> float:
            delay = state["next"]
            state["next"] = min(delay * 2, self.maximum)
            return delay

        return next_delay


def live_options(read_timeout: float) -> dict[str, str]:
    return {
        "rtsp_transport": "tcp",
        "allowed_media_types": "video",
        "fflags": "nobuffer",
        "flags": "low_delay",
        "max_delay": "0",
        "analyzeduration": "0",
        "probesize": "32",
        "timeout": str(int(read_timeout * 1_000_000)),
    }


@dataclass
class _Slot:
    frame: av.VideoFrame
    index: int
    captured_at: float
    captured_mono: float


class LiveReader:
    def __init__(
        self,
        url: str,
        stats: ChannelStats,
        *,
        username: str | None = None,
        password: str | None = None,
        policy: ReconnectPolicy | None = None,
        name: str = "channel",
    ) -> None:
        self.display = redact_url(url)
        self._url = with_credentials(url, username, password)
        self._secrets = secrets_of(self._url, password)
        self.stats = stats
        self.policy = policy or ReconnectPolicy()
        self._stop = threading.Event()
        self._ready = threading.Condition()
        self._slot: _Slot | None = None
        self._index = 0
        self._flowed = False  # the current connection delivered a frame: the backoff starts over
        self._thread = threading.Thread(target=self._run, name=f"reader-{name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        self._stop.set()
        with self._ready:
            self._ready.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout if timeout is not None else self.policy.read_timeout + 1)

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def take(self, timeout: float) -> FrameInput | None:
        """The newest frame not yet taken, as BGR; None after `timeout` without one or once stopped."""
        with self._ready:
            if not self._ready.wait_for(lambda: self._slot is not None or self._stop.is_set(), timeout):
                return None
            slot, self._slot = self._slot, None
        if slot is None:
            return None
        return FrameInput(to_bgr(slot.frame), slot.index, slot.captured_at, slot.captured_mono)

    def _publish(self, frame: av.VideoFrame) -> None:
        now_mono = time.monotonic()
        slot = _Slot(frame, self._index, time.time(), now_mono)
        self._index += 1
        self.stats.frames_in += 1
        self.stats.fps_in.tick(now_mono)
        self.stats.last_frame_at = slot.captured_at
        if self.stats.first_frame_at is None:
            self.stats.first_frame_at = slot.captured_at
        with self._ready:
            if self._slot is not None:
                self.stats.dropped += 1
            self._slot = slot
            self._ready.notify()

    def _run(self) -> None:
        next_delay = self.policy.delays()
        while not self._stop.is_set():
            self._flowed = False
            try:
                self._read_until_failure()
            except StreamError as exc:
                self._failed(exc.message)
            except av.error.FFmpegError as exc:
                error = from_ffmpeg(exc, self.display, with_credentials="@" in self._url)
                self._failed(error.message)
            except Exception as exc:  # a bug must not kill the channel's reader for good
                log.exception("reader for %s crashed", self.display)
                self._failed(f"internal error: {type(exc).__name__}")
            if self._stop.is_set():
                break
            if self._flowed:  # set even when the attempt ended in an exception, as they all do
                next_delay = self.policy.delays()
            delay = next_delay()
            self.stats.reconnects += 1
            self.stats.state = "reconnecting"
            log.info("%s: reconnecting in %.1f s", self.display, delay)
            self._stop.wait(delay)
        self.stats.state = "stopped"

    def _failed(self, message: str) -> None:
        message = scrub(message, self._secrets)
        if message != self.stats.last_error:
            log.warning("%s", message)
        self.stats.last_error = message

    def _read_until_failure(self) -> None:
        """Decode until the stream fails (raises) or stop(); `_flowed` tells whether frames came through."""
        policy = self.policy
        with av.open(
            self._url,
            options=live_options(policy.read_timeout),
            timeout=(policy.open_timeout, policy.read_timeout),
        ) as container:
            if not container.streams.video:
                raise StreamError("codec", f"{self.display} has no video track")
            stream = container.streams.video[0]
            stream.codec_context.thread_count = 1  # several channels share two cores; decode is cheap
            for packet in container.demux(stream):
                if self._stop.is_set():
                    return
                for frame in stream.codec_context.decode(packet):
                    if frame.is_corrupt:
                        continue
                    if not self._flowed:
                        self.stats.state = "running"
                        self.stats.last_error = None
                        self._flowed = True
                    self._publish(frame)
        raise StreamError("protocol", f"{self.display} ended the stream")

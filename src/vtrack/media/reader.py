"""Open a camera's stream with PyAV and decode its video, everything bounded by one Deadline.

Three layers keep a stalled camera from holding a worker past its deadline: FFmpeg's socket `timeout`
option (every connect, send and receive), PyAV's interrupt callback (`av.open(timeout=(open, read))`,
polled by FFmpeg about every 100 ms while it blocks), and a deadline check between packets. The read
timeouts restart with every read, so a read may end up to `Deadline.read_gap` past the deadline; opening
gets the time left, once for the RTSP handshake and once more for FFmpeg's stream probe (kept to one
packet here). The async wrappers (`worker.py`) stop waiting at the deadline whatever the thread does.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Generator
from types import TracebackType
from urllib.parse import urlsplit

import av
import av.error
from av.container import InputContainer
from av.video.stream import VideoStream

from vtrack.media.deadline import Deadline
from vtrack.media.errors import StreamError, from_ffmpeg
from vtrack.media.preflight import check_port
from vtrack.media.urls import redact_url, scrub, secrets_of, with_credentials

log = logging.getLogger(__name__)

CODEC_LABELS = {
    "h264": "H264",
    "hevc": "H265",
    "mpeg4": "MPEG4",
    "mjpeg": "MJPEG",
    "mpeg2video": "MPEG2",
    "vp8": "VP8",
    "vp9": "VP9",
    "av1": "AV1",
}
# Packets in a row that fail to decode, with no frame yet, before the stream counts as undecodable.
MAX_DECODE_FAILURES = 25


def codec_label(ffmpeg_name: str) -> str:
    return CODEC_LABELS.get(ffmpeg_name, ffmpeg_name.upper())


def _options(url: str, read_gap: float) -> dict[str, str]:
    options = {"timeout": str(int(read_gap * 1_000_000))}  # socket I/O timeout, microseconds
    if urlsplit(url).scheme.lower() in {"rtsp", "rtsps"}:
        options |= {
            "rtsp_transport": "tcp",  # interleaved: one connection, no UDP ports for firewalls to drop
            "allowed_media_types": "video",  # no SETUP of audio or metadata tracks we would not read
            # The SDP names the codec and carries its parameter sets; the frames we decode tell the
            # rest. Without this, find_stream_info reads up to 5 s of video before av.open returns.
            "analyzeduration": "0",
            "probesize": "32",
        }
    return options


class VideoReader:
    """`with VideoReader(...) as reader: for frame in reader.frames(): ...`; raises StreamError only.

    Credentials go into the URL handed to FFmpeg and nowhere else: `display` (for messages) has none,
    and FFmpeg's exceptions, which quote the URL they were given, are replaced rather than chained.
    """

    def __init__(self, url: str, *, username: str | None, password: str | None, deadline: Deadline) -> None:
        self.deadline = deadline
        self.display = redact_url(url)
        self._url = with_credentials(url, username, password)
        self._secrets = secrets_of(self._url, password)
        self._with_credentials = "@" in urlsplit(self._url).netloc
        self._container: InputContainer | None = None
        self._stream: VideoStream | None = None
        self._frames: Generator[av.VideoFrame] | None = None
        self.codec: str | None = None

    def __enter__(self) -> VideoReader:
        self.open()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _fail(self, exc: av.error.FFmpegError) -> StreamError:
        error = from_ffmpeg(exc, self.display, with_credentials=self._with_credentials)
        error.message = scrub(error.message, self._secrets)
        return error

    def open(self) -> None:
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in self._url):
            raise StreamError("protocol", "the stream URL contains control characters")
        check_port(self.display, self.deadline)
        if self.deadline.over():
            raise StreamError("timeout", f"{self.display} took longer than {self.deadline.timeout:g} s")
        gap = self.deadline.read_gap
        log.debug("opening %s (timeout %.1f s, read gap %.1f s)", self.display, self.deadline.timeout, gap)
        try:
            container = av.open(
                self._url, options=_options(self._url, gap), timeout=(self.deadline.remaining(), gap)
            )
        except av.error.FFmpegError as exc:
            raise self._fail(exc) from None  # not chained: the FFmpeg error quotes the URL, password too
        self._container = container
        if not container.streams.video:
            self.close()
            raise StreamError("codec", f"{self.display} has no video track")
        stream = container.streams.video[0]
        if stream.codec_context is None:
            self.close()
            raise StreamError(
                "codec",
                f"{self.display} sends video in a codec FFmpeg cannot decode; "
                "set the camera to H.264 or H.265",
            )
        # One decoding thread: many cameras are tested at once, and ten frames decode in milliseconds.
        stream.codec_context.thread_count = 1
        self._stream = stream
        self.codec = codec_label(stream.codec_context.name)

    def close(self) -> None:
        if self._frames is not None:  # first, so its demuxer is let go before the container is freed
            self._frames.close()
            self._frames = None
        if self._container is not None:
            self._container.close()
            self._container = None
        self._stream = None

    def frames(self) -> Generator[av.VideoFrame]:
        """Decoded frames until the caller stops; StreamError on a failure, the deadline, or end of stream."""
        if self._container is None or self._stream is None:
            raise RuntimeError("VideoReader.frames() before open()")
        self._frames = self._decode(self._container, self._stream)
        return self._frames

    def _decode(self, container: InputContainer, stream: VideoStream) -> Generator[av.VideoFrame]:
        packets = container.demux(stream)
        gap = self.deadline.read_gap
        failures = 0
        decoded = 0
        try:
            while True:
                if self.deadline.over():
                    raise StreamError(
                        "timeout", f"not enough video from {self.display} within {self.deadline.timeout:g} s"
                    )
                started = time.monotonic()
                try:
                    packet = next(packets)
                except StopIteration:
                    raise StreamError("protocol", f"{self.display} ended the stream") from None
                except av.error.FFmpegError as exc:
                    raise self._fail(exc) from None
                if time.monotonic() - started >= gap:
                    # The read timed out, but FFmpeg first hands back the frame its parser held (the
                    # error comes on the next read, which would block for another whole gap).
                    raise StreamError(
                        "timeout", f"{self.display} sent nothing for {gap:.1f} s (stream stalled)"
                    )
                try:
                    frames = stream.codec_context.decode(packet)
                except av.error.FFmpegError as exc:
                    failures += 1
                    if decoded == 0 and failures >= MAX_DECODE_FAILURES:
                        raise StreamError(
                            "codec", f"video from {self.display} does not decode ({exc.strerror})"
                        ) from None
                    continue
                for frame in frames:
                    if frame.is_corrupt:
                        continue
                    decoded += 1
                    yield frame
        finally:
            # demux() is a generator (typed as an Iterator): closing it frees its packet buffer now.
            close = getattr(packets, "close", None)
            if close is not None:
                close()

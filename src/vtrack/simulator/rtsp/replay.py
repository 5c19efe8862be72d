"""ONVIF replay (Profile G): streaming a clock range of the synthetic archive to one session.

What the ONVIF Streaming Specification asks of a replay server and how it is met here:
- `Range: clock=START-END` picks the section; playback begins at the first keyframe at or after START
  (so every frame sent lies inside the range and decodes) and stops after the last frame at or before END.
- Every access unit's first packet carries the 0xABAC header extension: the frame's recording time as
  NTP, the C (clean point) and D (discontinuity: first frame after a new PLAY position) flags and the
  low byte of the PLAY's CSeq. The last packet sent for the range repeats it with E and T set (end of
  section, terminal), then an RTCP BYE follows, so clients like GStreamer's rtponvifparse end cleanly.
- `Rate-Control: no` streams as fast as the client reads (TCP back-pressure is the only brake);
  otherwise frames are paced at recording speed times `Scale`.
RTP timestamps derive from the recording time itself, so they stay continuous across PAUSE/PLAY and seeks.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Iterator
from dataclasses import dataclass

from vtrack.simulator.media.archive import ArchiveFrame, SyntheticArchive, ntp_from_ticks
from vtrack.simulator.media.stream import CLOCK_RATE, EncodedClip
from vtrack.simulator.rtsp.payload import Packetizer, packetizer_for
from vtrack.simulator.rtsp.rtp import (
    FLAG_CLEAN_POINT,
    FLAG_DISCONTINUITY,
    FLAG_END,
    FLAG_TERMINAL,
    OnvifStamp,
    bye,
    packetize,
)
from vtrack.simulator.rtsp.transport import Burst, RtpSender

log = logging.getLogger(__name__)

FAST_BACKLOG = 1024 * 1024  # with Rate-Control: no, wait for the client once this much is queued


class PayloadCache:
    """RTP payloads per clip frame, computed once: replay serves the same loop for a whole week."""

    def __init__(self, clip: EncodedClip) -> None:
        self.clip = clip
        self._packetizer: Packetizer = packetizer_for(clip.info.codec)
        self._payloads: list[list[bytes] | None] = [None] * len(clip.units)

    def payloads(self, index: int) -> list[bytes]:
        cached = self._payloads[index]
        if cached is None:
            cached = self._payloads[index] = self._packetizer.payloads(self.clip.units[index])
        return cached


@dataclass
class ReplayRequest:
    start: int
    end: int
    rate_control: bool
    scale: float
    cseq: int


class ReplayStream:
    """One replay session's RTP state (SSRC, sequence, position), across PLAY/PAUSE/PLAY."""

    def __init__(self, archive: SyntheticArchive, cache: PayloadCache, sender: RtpSender) -> None:
        self.archive = archive
        self.sender = sender
        self.ssrc = random.getrandbits(32)
        self.seq = random.getrandbits(16)
        self._ts_base = random.getrandbits(32)
        self.paused_at: ArchiveFrame | None = None  # first frame not sent when PAUSE stopped a PLAY
        self.last_end = 0  # end of the last PLAY's range, where a resumed PLAY stops
        self.sent_units = 0
        self.sent_bytes = 0
        self._cache = cache

    def rtp_time(self, ticks: int) -> int:
        return (self._ts_base + ticks) & 0xFFFFFFFF

    def prepare(self, start: int, end: int) -> tuple[Iterator[ArchiveFrame], ArchiveFrame | None]:
        """The frames of [start, end] and the first of them (for RTP-Info), or None if the range is empty."""
        self.paused_at = None
        self.last_end = end
        frames = self.archive.frames(start, end)
        return frames, next(frames, None)

    def prepare_resume(self) -> tuple[Iterator[ArchiveFrame], ArchiveFrame | None]:
        """A PLAY without Range after PAUSE: continue at the exact frame where the pause stopped."""
        if self.paused_at is None:
            return iter(()), None
        frames = self.archive.resume(self.paused_at, self.last_end)
        self.paused_at = None
        return frames, next(frames, None)

    async def run(self, request: ReplayRequest, frames: Iterator[ArchiveFrame], first: ArchiveFrame) -> None:
        """Send `first` and the rest of `frames`, paced as requested; then the terminal stamp and BYE."""
        loop = asyncio.get_running_loop()
        wall_origin = loop.time()
        clip_duration = self.archive.clip.duration
        decode_origin = first.loop * clip_duration + first.unit.dts
        pending = first
        discontinuity = True
        try:
            for upcoming in frames:
                await self._pace(request, loop, wall_origin, decode_origin, pending, clip_duration)
                await self._send(pending, request.cseq, discontinuity=discontinuity, last=False)
                discontinuity = False
                pending = upcoming
            await self._pace(request, loop, wall_origin, decode_origin, pending, clip_duration)
            await self._send(pending, request.cseq, discontinuity=discontinuity, last=True)
            self.sender.send_rtcp(bye(self.ssrc))
            log.debug("replay finished: %d frames, %d bytes", self.sent_units, self.sent_bytes)
        except asyncio.CancelledError:
            self.paused_at = pending  # PAUSE: a later PLAY resumes with the frame not yet sent
            raise

    async def _pace(
        self,
        request: ReplayRequest,
        loop: asyncio.AbstractEventLoop,
        wall_origin: float,
        decode_origin: int,
        frame: ArchiveFrame,
        clip_duration: int,
    ) -> None:
        if request.rate_control:
            decode_time = frame.loop * clip_duration + frame.unit.dts
            due = wall_origin + (decode_time - decode_origin) / CLOCK_RATE / request.scale
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
        elif self.sender.backlog() > FAST_BACKLOG:
            await self.sender.drain()
        elif self.sent_units % 64 == 0:
            await asyncio.sleep(0)  # let other sessions and requests run between bursts

    async def _send(self, frame: ArchiveFrame, cseq: int, *, discontinuity: bool, last: bool) -> None:
        flags = (FLAG_CLEAN_POINT if frame.unit.keyframe else 0) | (
            FLAG_DISCONTINUITY if discontinuity else 0
        )
        ntp = ntp_from_ticks(frame.time)
        first_ext = OnvifStamp(ntp, flags, cseq).pack()
        last_ext = OnvifStamp(ntp, flags | FLAG_END | FLAG_TERMINAL, cseq).pack() if last else b""
        payloads = self._cache.payloads(frame.index)
        packets = packetize(
            payloads,
            ssrc=self.ssrc,
            first_seq=self.seq,
            timestamp=self.rtp_time(frame.time),
            first_extension=first_ext,
            last_extension=last_ext,
        )
        self.seq = (self.seq + len(packets)) & 0xFFFF
        burst = Burst(packets)
        self.sender.send(burst)
        self.sent_units += 1
        self.sent_bytes += burst.size
        if self.sender.is_closing():
            raise ConnectionResetError("client went away during replay")

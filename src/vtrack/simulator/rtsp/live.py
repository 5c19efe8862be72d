"""Live fan-out: one camera's feed packetised once, sent to every playing session without waiting on any.

Every session of a camera receives the very same RTP packets (one SSRC, one sequence), like a camera's
multicast-capable stream; each session only adds its own interleaved framing, cached per channel. The
broadcaster keeps the packets since the last keyframe so a new viewer starts decoding at once instead of
waiting up to a GOP (5 s for some files). A session whose TCP write buffer passes its `max_backlog` is
skipped until the next keyframe, so a slow client loses frames (and sees sequence gaps) while the others
stay on time.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass, field

from vtrack.simulator.config import Faults
from vtrack.simulator.media.archive import ntp_from_ticks
from vtrack.simulator.media.live import MAX_GOP_FRAMES, LiveFeed
from vtrack.simulator.media.stream import CLOCK_RATE, AccessUnit
from vtrack.simulator.rtsp.payload import Packetizer, packetizer_for
from vtrack.simulator.rtsp.rtp import packetize, sender_report
from vtrack.simulator.rtsp.transport import Burst, RtpSender

log = logging.getLogger(__name__)

MAX_BACKLOG = 2 * 1024 * 1024  # bytes queued for one client before it starts losing frames
SENDER_REPORT_INTERVAL = 5.0
STALL_AFTER = 1.0  # seconds of video a session gets before a stream_stall_seconds fault bites


@dataclass
class LiveSink:
    """One session's view of the broadcast: what it has been sent and whether it must skip to a keyframe."""

    sender: RtpSender
    faults: Faults
    max_backlog: int = MAX_BACKLOG
    waiting_for_keyframe: bool = True
    packets: int = 0
    octets: int = 0
    dropped: int = 0
    started: float = field(default_factory=time.monotonic)
    last_report: float = 0.0
    stall_until: float = 0.0
    stalled_for: float = 0.0  # the stall fault value already served, so each value stalls once

    def offer(self, burst: Burst, keyframe: bool) -> bool:
        """Send `burst` unless the client must skip it; True when sent."""
        if self.sender.is_closing():
            return False
        if self._stalled():
            self.waiting_for_keyframe = True
            return False
        if self.waiting_for_keyframe and not keyframe:
            return False
        if self.sender.backlog() > self.max_backlog:
            if not self.waiting_for_keyframe:
                log.info(
                    "live client too slow (%d bytes queued): dropping to the next keyframe",
                    self.sender.backlog(),
                )
            self.waiting_for_keyframe = True
            self.dropped += 1
            return False
        self.waiting_for_keyframe = False
        self.sender.send(burst)
        self.packets += len(burst.packets)
        self.octets += burst.size
        return True

    def _stalled(self) -> bool:
        """The stream_stall_seconds fault: after STALL_AFTER s of video, send nothing for that long."""
        stall = self.faults.stream_stall_seconds
        now = time.monotonic()
        if stall <= 0:
            self.stalled_for = 0.0
            return False
        if now < self.stall_until:
            return True
        if stall != self.stalled_for and now - self.started >= STALL_AFTER:
            self.stalled_for = stall
            self.stall_until = now + stall
            log.info("stream stall fault: pausing a live session for %.1f s", stall)
            return True
        return False


@dataclass
class LiveStart:
    """Where a newly attached sink starts (for RTP-Info) and the cached frames it is owed."""

    sink: LiveSink
    seq: int
    rtptime: int
    backlog: list[tuple[Burst, bool]]

    def deliver(self) -> None:
        """Send the cached GOP; call right after the PLAY response is written."""
        for burst, keyframe in self.backlog:
            self.sink.offer(burst, keyframe)
        self.backlog = []


class LiveBroadcast:
    """Packetises a camera's live feed and fans it out to the attached sinks."""

    def __init__(self, feed: LiveFeed) -> None:
        self.feed = feed
        self.ssrc = random.getrandbits(32)
        self._seq = random.getrandbits(16)
        self._ts_base = random.getrandbits(32)
        self._sinks: list[LiveSink] = []
        # (burst, keyframe, rtp timestamp) of the frames since the last keyframe
        self._gop: list[tuple[Burst, bool, int]] = []
        self._listening = False
        self._joining = asyncio.Lock()  # two first viewers at once must not subscribe twice
        self._packetizer: Packetizer | None = None

    @property
    def sinks(self) -> int:
        return len(self._sinks)

    async def attach(self, sink: LiveSink) -> LiveStart:
        """Add `sink`; it receives the cached GOP through the returned LiveStart, then every new frame.

        Everything after the awaits runs without yielding, so no frame can slip in between the position
        reported in RTP-Info and the first packet the sink gets.
        """
        async with self._joining:
            if not self._listening:
                self._packetizer = packetizer_for((await self.feed.info()).codec)
                self._gop.clear()
                held = await self.feed.add_listener(self._on_unit)
                self._listening = True
                for unit in held:  # packetise what the feed already holds: the first viewer starts at once
                    self._on_unit(unit)
        self._sinks.append(sink)
        backlog = [(burst, keyframe) for burst, keyframe, _ in self._gop]
        if self._gop:
            burst, _, ts = self._gop[0]
            seq = int.from_bytes(burst.packets[0][2:4], "big")
        else:
            elapsed = int((time.time() - self.feed.epoch) * CLOCK_RATE)
            seq, ts = self._seq, (self._ts_base + elapsed) & 0xFFFFFFFF
        return LiveStart(sink, seq, ts, backlog)

    def detach(self, sink: LiveSink) -> None:
        if sink in self._sinks:
            self._sinks.remove(sink)
        if not self._sinks and self._listening:
            self.feed.remove_listener(self._on_unit)
            self._listening = False
            self._gop.clear()

    def _on_unit(self, unit: AccessUnit) -> None:
        if self._packetizer is None:
            return
        payloads = self._packetizer.payloads(unit)
        timestamp = (self._ts_base + unit.pts) & 0xFFFFFFFF
        packets = packetize(payloads, ssrc=self.ssrc, first_seq=self._seq, timestamp=timestamp)
        self._seq = (self._seq + len(packets)) & 0xFFFF
        burst = Burst(packets)
        if unit.keyframe:
            self._gop.clear()
        if (self._gop or unit.keyframe) and len(self._gop) < MAX_GOP_FRAMES:
            self._gop.append((burst, unit.keyframe, timestamp))
        now = time.monotonic()
        ntp = ntp_from_ticks(int(self.feed.epoch * CLOCK_RATE) + unit.pts)
        for sink in tuple(self._sinks):
            if sink.offer(burst, unit.keyframe) and now - sink.last_report >= SENDER_REPORT_INTERVAL:
                sink.last_report = now
                sink.sender.send_rtcp(sender_report(self.ssrc, ntp, timestamp, sink.packets, sink.octets))

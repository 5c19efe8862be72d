"""One overall deadline shared by every step of a stream operation (connect, handshake, each read)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

# The longest a read may wait for the next packet before the stream counts as stalled. Packets arrive
# every frame interval (40 ms at 25 fps), so seconds without one means the camera stopped sending.
MAX_READ_GAP = 5.0
MIN_READ_GAP = 1.0


@dataclass
class Deadline:
    """`timeout` seconds from creation; `cancel` is set by an async caller that stopped waiting."""

    timeout: float
    start: float = field(default_factory=time.monotonic)
    cancel: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        if not self.timeout > 0:
            raise ValueError(f"a timeout must be positive, got {self.timeout!r}")

    @property
    def at(self) -> float:
        return self.start + self.timeout

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def over(self) -> bool:
        return self.cancel.is_set() or time.monotonic() >= self.at

    @property
    def read_gap(self) -> float:
        """How long one read may block: short enough that a stall ends the worker soon after the deadline.

        Between reads the deadline is checked, so a worker ends at most one read gap past it. Half the
        timeout (1 to 5 s, never above the timeout) keeps that small while a camera that sends a frame
        a second still counts as live.
        """
        return min(self.timeout, max(MIN_READ_GAP, min(self.timeout / 2, MAX_READ_GAP)))

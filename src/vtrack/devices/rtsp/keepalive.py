"""Keep-alives for a playing session: a request every half session timeout, its reply recognised later.

Written from a loop timer rather than awaited, because the one reader of the connection is the packet
iterator and a write never disturbs a read in progress. GET_PARAMETER is what cameras expect; older
firmware answers it 501 or 405, and then OPTIONS (which every camera answers) takes over.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from vtrack.devices.rtsp.wire import RtspResponse

log = logging.getLogger(__name__)

MIN_INTERVAL = 1.0
_REMEMBERED = 16  # CSeqs of keep-alives whose replies may still come


class KeepAlive:
    def __init__(self, send: Callable[[str], int | None], where: str) -> None:
        """`send(method)` writes a request and returns its CSeq (None when the connection is gone)."""
        self.method = "GET_PARAMETER"
        self._send = send
        self._where = where
        self._cseqs: list[int] = []
        self._timer: asyncio.TimerHandle | None = None
        self._interval = MIN_INTERVAL

    def start(self, session_timeout: float) -> None:
        self.stop()
        self._interval = max(MIN_INTERVAL, session_timeout / 2)
        self._timer = asyncio.get_running_loop().call_later(self._interval, self._tick)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def claims(self, response: RtspResponse) -> bool:
        """Whether `response` answers one of our keep-alives (and deal with it if so)."""
        if response.cseq not in self._cseqs:
            return False
        self._cseqs.remove(response.cseq)
        if response.status in (405, 501) and self.method != "OPTIONS":
            self.method = "OPTIONS"
        elif response.status >= 300:
            log.warning("keep-alive to %s answered %d %s", self._where, response.status, response.reason)
        return True

    def _tick(self) -> None:
        cseq = self._send(self.method)
        if cseq is None:
            self._timer = None
            return
        self._cseqs = [*self._cseqs[-_REMEMBERED + 1 :], cseq]
        self._timer = asyncio.get_running_loop().call_later(self._interval, self._tick)

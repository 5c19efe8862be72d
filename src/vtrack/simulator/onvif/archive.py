"""The NVR's synthetic archive as Profile G reports it, and the state of open recording searches.

Every channel records continuously over the last ARCHIVE_SPAN of the device clock, so DataFrom/DataUntil
move with time like a real NVR with rolling retention, and the RTSP replay server can serve any range a
client finds here.
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from vtrack.simulator.config import CameraSpec

ARCHIVE_SPAN = timedelta(days=7)
TRACK_TOKEN = "VIDEO001"  # noqa: S105 (an ONVIF track token, not a secret)
MAX_OPEN_SEARCHES = 16
DEFAULT_KEEPALIVE = timedelta(seconds=60)

_DURATION = re.compile(
    r"^P(?:(?P<days>\d+(?:\.\d+)?)D)?(?:T(?:(?P<hours>\d+(?:\.\d+)?)H)?"
    r"(?:(?P<minutes>\d+(?:\.\d+)?)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)


def recording_token(camera: CameraSpec) -> str:
    return f"recording_{camera.channel}"


def archive_span(now: datetime) -> tuple[datetime, datetime]:
    """(DataFrom, DataUntil) of every channel at device time `now`, in whole seconds."""
    until = now.replace(microsecond=0)
    return until - ARCHIVE_SPAN, until


def parse_duration(text: str | None) -> timedelta | None:
    """An xs:duration without years or months (what clients send for timeouts), e.g. PT10S, P1DT2H."""
    if not text:
        return None
    match = _DURATION.match(text.strip())
    if match is None or text.strip() in ("P", "PT"):
        return None
    parts = {key: float(value) for key, value in match.groupdict().items() if value}
    return timedelta(**parts)


def format_duration(value: timedelta) -> str:
    return f"PT{int(value.total_seconds())}S"


@dataclass
class Search:
    """An open FindRecordings search: its results and how far the client has read them."""

    results: list[CameraSpec]
    keepalive: timedelta
    expires_at: float
    cursor: int = 0


@dataclass
class SearchSessions:
    """Open searches of one device; each expires when its client stops polling for KeepAliveTime."""

    open: dict[str, Search] = field(default_factory=dict)

    def _purge(self) -> None:
        now = time.monotonic()
        for token in [token for token, search in self.open.items() if search.expires_at < now]:
            del self.open[token]

    def start(self, results: list[CameraSpec], keepalive: timedelta | None) -> str | None:
        """Open a search; None when too many are open (the caller reports ter:ResourceProblem)."""
        self._purge()
        if len(self.open) >= MAX_OPEN_SEARCHES:
            return None
        token = f"search_{secrets.token_hex(6)}"
        alive = DEFAULT_KEEPALIVE if keepalive is None else keepalive
        self.open[token] = Search(results, alive, time.monotonic() + alive.total_seconds())
        return token

    def next_results(self, token: str, max_results: int | None) -> tuple[list[CameraSpec], bool] | None:
        """The next batch and whether the search is now complete; None for an unknown or expired token."""
        self._purge()
        search = self.open.get(token)
        if search is None:
            return None
        search.expires_at = time.monotonic() + search.keepalive.total_seconds()
        end = (
            len(search.results)
            if max_results is None
            else min(len(search.results), search.cursor + max_results)
        )
        batch = search.results[search.cursor : end]
        search.cursor = end
        return batch, search.cursor >= len(search.results)

    def end(self, token: str) -> bool:
        self._purge()
        return self.open.pop(token, None) is not None

"""Parsing the RTSP header values that carry structure: Transport, Range, Scale, Rate-Control.

Kept apart from the server so the grammar (RFC 2326 12.29 Transport, 3.5-3.7 Range; ONVIF Streaming
Specification's clock ranges and Rate-Control) is testable on its own and the handlers read as intent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from vtrack.simulator.media.archive import ticks_from_datetime


class HeaderError(ValueError):
    """A header the server cannot honour; carries the RTSP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class TransportSpec:
    """The client's transport choice from SETUP."""

    tcp: bool
    interleaved: tuple[int, int] | None = None
    client_ports: tuple[int, int] | None = None


def _pair(value: str) -> tuple[int, int]:
    first, _, second = value.partition("-")
    low = int(first)
    return low, int(second) if second else low + 1


def parse_transport(header: str) -> TransportSpec:
    """The first transport the server supports: RTP/AVP/TCP (interleaved) or RTP/AVP[/UDP] unicast."""
    if not header:
        raise HeaderError(461, "SETUP without a Transport header")
    for option in header.split(","):
        fields = [f.strip() for f in option.split(";") if f.strip()]
        if not fields:
            continue
        protocol = fields[0].upper()
        params: dict[str, str] = {}
        for item in fields[1:]:
            key, _, value = item.partition("=")
            params[key.strip().lower()] = value.strip()
        if "multicast" in params:
            continue
        try:
            if protocol == "RTP/AVP/TCP":
                interleaved = _pair(params["interleaved"]) if "interleaved" in params else None
                return TransportSpec(tcp=True, interleaved=interleaved)
            if protocol in ("RTP/AVP", "RTP/AVP/UDP") and "client_port" in params:
                return TransportSpec(tcp=False, client_ports=_pair(params["client_port"]))
        except ValueError as exc:
            raise HeaderError(400, f"bad transport parameter in {option!r}") from exc
    raise HeaderError(461, f"no supported transport in {header!r}")


_CLOCK = re.compile(r"^(\d{8}T\d{6})(?:[.,](\d{1,9}))?Z$")


def parse_clock(text: str) -> datetime:
    """An RFC 2326 absolute time (`utc-time`): 20240131T235959Z or 20240131T235959.25Z."""
    match = _CLOCK.match(text.strip())
    if match is None:
        raise HeaderError(457, f"bad clock time {text!r}")
    base = datetime.strptime(match.group(1), "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
    fraction = match.group(2) or ""
    return base.replace(microsecond=int((fraction + "000000")[:6]))


@dataclass(frozen=True)
class ClockRange:
    """A replay range in 90 kHz ticks since the Unix epoch; `end` None means "to the end"."""

    start: int
    end: int | None


def parse_range(header: str) -> ClockRange | None:
    """`clock=START-[END]` as a ClockRange; `npt=...` (what a live client sends) as None."""
    value = header.split(";", 1)[0].strip()
    if not value or value.startswith("npt="):
        return None
    if not value.startswith("clock="):
        raise HeaderError(457, f"unsupported range {value!r}")
    start_text, sep, end_text = value[len("clock=") :].partition("-")
    if not sep or not start_text:
        raise HeaderError(457, f"a clock range needs a start: {value!r}")
    start = ticks_from_datetime(parse_clock(start_text))
    end = ticks_from_datetime(parse_clock(end_text)) if end_text.strip() else None
    if end is not None and end < start:
        raise HeaderError(457, "reverse clock ranges are not supported")
    return ClockRange(start, end)


def parse_scale(header: str) -> float:
    if not header:
        return 1.0
    try:
        scale = float(header)
    except ValueError as exc:
        raise HeaderError(400, f"bad Scale {header!r}") from exc
    if scale <= 0:
        raise HeaderError(501, "reverse or zero Scale (backwards playback) is not supported")
    return scale


def parse_rate_control(header: str) -> bool:
    """ONVIF Rate-Control: `no` streams as fast as the client reads; `yes` (the default) in real time."""
    return header.strip().lower() != "no"

"""Session descriptions (RFC 4566) as cameras write them, reduced to what a client needs per track.

Control URLs: RFC 2326 C.1.1 resolves `a=control` against Content-Base, else Content-Location, else the
request URL. Cameras rely on clients *appending* a relative control to that base, as FFmpeg and
GStreamer do, not on RFC 3986 resolution: Dahua's base `.../realmonitor?channel=1&subtype=0` with
`trackID=0` must become `...subtype=0/trackID=0`, and a base without its trailing slash must not lose
its last path segment. Parameter sets come out of the fmtp line decoded, so a decoder can start on the
first keyframe even when the camera sends SPS/PPS only in the SDP.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from urllib.parse import urljoin, urlsplit

# Static payload types that need no rtpmap (RFC 3551).
_STATIC = {0: ("PCMU", 8000), 8: ("PCMA", 8000), 26: ("JPEG", 90000), 32: ("MPV", 90000), 33: ("MP2T", 90000)}
_CODECS = {"H264": "H264", "H265": "H265", "HEVC": "H265", "MP4V-ES": "MPEG4"}


@dataclass(frozen=True)
class Track:
    media: str  # "video", "audio", "application"
    payload_type: int
    encoding: str  # upper-case encoding name: "H264", "H265", "MP4V-ES", "PCMA", ...
    clock_rate: int
    control: str  # absolute URL for SETUP
    fmtp: Mapping[str, str] = field(default_factory=dict)  # keys lower-case
    range: str | None = None  # media-level a=range
    framerate: float | None = None

    @property
    def codec(self) -> str | None:
        """ "H264", "H265" or "MPEG4" when this is video we can depacketize, else None."""
        return _CODECS.get(self.encoding) if self.media == "video" else None

    @property
    def parameter_sets(self) -> tuple[bytes, ...]:
        """H.264/H.265: VPS/SPS/PPS NAL units (no start codes); MPEG-4: the VOS/VOL `config` bytes."""
        codec = self.codec
        if codec == "H264":
            return _b64_list(self.fmtp.get("sprop-parameter-sets", ""))
        if codec == "H265":
            keys = ("sprop-vps", "sprop-sps", "sprop-pps")
            return tuple(nal for key in keys for nal in _b64_list(self.fmtp.get(key, "")))
        if codec == "MPEG4":
            try:
                config = bytes.fromhex(self.fmtp.get("config", ""))
            except ValueError:
                return ()
            return (config,) if config else ()
        return ()


@dataclass(frozen=True)
class SessionDescription:
    tracks: tuple[Track, ...]
    control: str  # aggregate control URL (PLAY, PAUSE, TEARDOWN)
    range: str | None  # session-level a=range, e.g. "npt=0-" or "clock=20240101T000000Z-..."
    text: str

    def video(self) -> Track | None:
        """The first video track we can depacketize, or else the first video track."""
        videos = [t for t in self.tracks if t.media == "video"]
        return next((t for t in videos if t.codec is not None), videos[0] if videos else None)


def _b64_list(text: str) -> tuple[bytes, ...]:
    out = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        try:
            out.append(base64.b64decode(item + "=" * (-len(item) % 4)))
        except (binascii.Error, ValueError):
            continue  # a garbled set is skipped; in-band parameter sets may still come
    return tuple(nal for nal in out if nal)


def base_url(request_url: str, content_base: str | None, content_location: str | None) -> str:
    return (content_base or content_location or request_url).strip()


def resolve(base: str, control: str | None) -> str:
    if not control or control == "*":
        return base
    if urlsplit(control).scheme:
        return control
    if control.startswith("/"):
        return urljoin(base, control)
    return (base if base.endswith("/") else base + "/") + control


def _fmtp(value: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for item in value.split(";"):
        key, eq, val = item.strip().partition("=")
        if key and eq:
            params[key.strip().lower()] = val.strip()
    return params


def _framerate(value: str) -> float | None:
    try:
        rate = float(value.strip())
    except ValueError:
        return None
    return rate if rate > 0 else None


def _track(media: list[str], attrs: list[tuple[str, str]], base: str) -> Track:
    kind = media[0]
    payload_type = int(media[3]) if len(media) > 3 and media[3].isdigit() else -1
    encoding, clock_rate = _STATIC.get(payload_type, ("", 0))
    fmtp: dict[str, str] = {}
    control = range_ = None
    framerate = None
    for name, value in attrs:
        head, _, rest = value.partition(" ")
        if name == "rtpmap" and head == str(payload_type):
            parts = rest.strip().split("/")
            encoding = parts[0].upper()
            clock_rate = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        elif name == "fmtp" and head == str(payload_type):
            fmtp = _fmtp(rest)
        elif name == "control":
            control = value
        elif name == "range":
            range_ = value
        elif name == "framerate":
            framerate = _framerate(value)
    return Track(
        kind,
        payload_type,
        encoding,
        clock_rate,
        resolve(base, control),
        MappingProxyType(fmtp),
        range_,
        framerate,
    )


def parse_sdp(text: str, *, base: str) -> SessionDescription:
    """Tracks of `text` with control URLs resolved against `base` (see `base_url`)."""
    session_attrs: list[tuple[str, str]] = []
    sections: list[tuple[list[str], list[tuple[str, str]]]] = []
    for raw in text.splitlines():
        line = raw.strip()
        kind, eq, value = line.partition("=")
        if not eq or len(kind) != 1:
            continue
        if kind == "m":
            sections.append((value.split(), []))
        elif kind == "a":
            name, _, attr = value.partition(":")
            (sections[-1][1] if sections else session_attrs).append((name.strip().lower(), attr.strip()))
    session = dict(session_attrs)
    tracks = tuple(_track(media, attrs, base) for media, attrs in sections if media)
    return SessionDescription(tracks, resolve(base, session.get("control")), session.get("range"), text)

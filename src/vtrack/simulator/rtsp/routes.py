"""Which stream an RTSP URL names: the simulator's own paths and the vendor personas' paths.

Every camera has `/live/{ch}` (main), `/live/{ch}/sub` and `/replay/{ch}`. A device with a vendor persona
also answers the URLs that vendor's clients build without asking ONVIF:

- Hikvision: `/Streaming/Channels/{ch}01` (main) and `{ch}02` (sub), any letter case, as the firmware
  accepts (`/Streaming/channels/101` is as common in the wild).
- Dahua: `/cam/realmonitor?channel={ch}&subtype=0|1`; the stream is named by the query, and other query
  parameters (`unicast=true&proto=Onvif`) are ignored, as the firmware does.

Track URLs follow from the Content-Base the server sends (the request URL plus "/"), and clients join a
relative control differently when the URL has a query: FFmpeg appends it after the query
(`...?channel=1&subtype=0/trackID=0`), GStreamer puts it before (`.../realmonitor/trackID=0?channel=1...`).
Both resolve to the same stream.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qs, urlsplit

from vtrack.simulator.config import SimulatorConfig
from vtrack.simulator.media.sources import CameraMedia
from vtrack.simulator.rtsp.session import Kind
from vtrack.simulator.streams import Stream, live_path

Target = tuple[Kind, CameraMedia]

DAHUA_LIVE_PATH = "/cam/realmonitor"
_SUBTYPES: dict[str, Stream] = {"0": "main", "1": "sub"}


def hikvision_path(channel: int, stream: Stream) -> str:
    return f"/Streaming/Channels/{channel}{'01' if stream == 'main' else '02'}"


def dahua_path(channel: int, stream: Stream) -> str:
    return f"{DAHUA_LIVE_PATH}?channel={channel}&subtype={0 if stream == 'main' else 1}"


def _split(url: str) -> tuple[str, str]:
    """(path without trailing slash, query) of an absolute or path-only request URL."""
    if "://" in url:
        parts = urlsplit(url)
        path, query = parts.path, parts.query
    else:
        path, _, query = url.partition("?")
    return path.rstrip("/") or "/", query


def _dahua_key(query: str) -> str | None:
    values = parse_qs(query)
    try:
        channel = int(values.get("channel", [""])[0])
    except ValueError:
        return None
    subtype = values.get("subtype", ["0"])[0].strip()
    return f"{DAHUA_LIVE_PATH}?channel={channel}&subtype={subtype}" if subtype in _SUBTYPES else None


class RouteTable:
    """Request URL -> (kind, media); lookups ignore letter case and a trailing track segment."""

    def __init__(self) -> None:
        self._targets: dict[str, Target] = {}

    def add(self, path: str, kind: Kind, media: CameraMedia) -> None:
        self._targets[path.rstrip("/").lower()] = (kind, media)

    def resolve(self, url: str) -> Target | None:
        path, query = _split(url)
        query = query.split("/", 1)[0]  # FFmpeg's "?channel=1&subtype=0/trackID=0"
        candidates = [path]
        head, _, tail = path.rpartition("/")
        if head and tail.lower().startswith("track"):
            candidates.append(head)
        for candidate in candidates:
            key = candidate.lower()
            target = self._targets.get(key)
            if target is None and key == DAHUA_LIVE_PATH and query:
                dahua = _dahua_key(query)
                target = self._targets.get(dahua) if dahua is not None else None
            if target is not None:
                return target
        return None


def build_routes(
    config: SimulatorConfig, main: Mapping[int, CameraMedia], sub: Mapping[int, CameraMedia]
) -> RouteTable:
    """The simulator's paths for every camera, plus its persona's vendor paths."""
    routes = RouteTable()
    streams: tuple[tuple[Stream, Mapping[int, CameraMedia]], ...] = (("main", main), ("sub", sub))
    for camera in config.cameras:
        for stream, sources in streams:
            media = sources.get(camera.channel)
            if media is None:
                continue
            routes.add(live_path(config.live_path(camera), stream), "live", media)
            if config.persona == "hikvision":
                routes.add(hikvision_path(camera.channel, stream), "live", media)
            elif config.persona == "dahua":
                routes.add(dahua_path(camera.channel, stream).lower(), "live", media)
            if stream == "main":
                routes.add(config.replay_path(camera), "replay", media)
    return routes

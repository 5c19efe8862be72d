"""One simulated ONVIF device: the cameras behind one port, its identity, clock, addresses and faults.

A plain camera is one CameraSpec on its own port; with --nvr one device serves every channel. Everything a
response advertises (XAddrs, stream, snapshot and replay URIs, discovery XAddrs, network interface) is
derived here, so the wrong_xaddrs fault changes all of them together, as a camera behind NAT does.
"""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlsplit

from vtrack import __version__
from vtrack.simulator.config import CameraSpec, Faults, SimulatorConfig
from vtrack.simulator.onvif.archive import SearchSessions
from vtrack.simulator.streams import STREAMS, Stream, live_path, profile_token

# Advertised by the wrong_xaddrs fault: a private address (RFC 1918) that is not routed here. The simulator
# only ever writes it into responses; no code in the simulator or its tests opens a connection to it.
UNREACHABLE_HOST = "10.255.255.1"

SERVICE_PATHS: dict[str, str] = {
    "device": "/onvif/device_service",
    "media": "/onvif/media_service",
    "recording": "/onvif/recording_service",
    "search": "/onvif/search_service",
    "replay": "/onvif/replay_service",
}
PROFILE_G_SERVICES = frozenset({"recording", "search", "replay"})


def utc_now() -> datetime:
    return datetime.now(UTC)


def is_loopback_host(host: str) -> bool:
    """127.0.0.0/8, ::1 or the name localhost; other names count as network hosts."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def device_password(config: SimulatorConfig, faults: Faults) -> str:
    """The password the device accepts: the configured one, unless the wrong_password fault changed it."""
    return f"{config.password}~changed" if faults.wrong_password else config.password


@dataclass
class Device:
    """The device on one ONVIF port. `port` is the bound port (known after binding when 0 was asked)."""

    config: SimulatorConfig
    cameras: list[CameraSpec]
    port: int
    clock: Callable[[], datetime] = utc_now
    searches: SearchSessions = field(default_factory=SearchSessions)

    def __post_init__(self) -> None:
        if not self.cameras:
            raise ValueError("a device needs at least one camera")

    @property
    def primary(self) -> CameraSpec:
        return self.cameras[0]

    @property
    def faults(self) -> Faults:
        """Device-wide switches: a camera's own, or for an NVR those of channel 1 (the box itself)."""
        return self.primary.faults

    @property
    def nvr(self) -> bool:
        return self.config.nvr

    @property
    def uuid(self) -> str:
        """Stable across restarts and ephemeral ports, so discovery sees the same device again."""
        kind = "nvr" if self.nvr else f"camera-{self.primary.index}"
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"vtrack-simulator://{self.config.host}/{kind}"))

    @property
    def name(self) -> str:
        return f"{self.primary.manufacturer} NVR" if self.nvr else self.primary.name

    @property
    def manufacturer(self) -> str:
        return self.primary.manufacturer

    @property
    def model(self) -> str:
        return f"{self.primary.model}-NVR{len(self.cameras)}" if self.nvr else self.primary.model

    @property
    def serial(self) -> str:
        if self.nvr:
            return "NVR" + self.uuid.replace("-", "")[:9].upper()
        return self.primary.serial or self.uuid.replace("-", "")[:12].upper()

    @property
    def firmware(self) -> str:
        return f"vtrack-sim {__version__}"

    @property
    def hardware_id(self) -> str:
        return f"{self.model}-HW1"

    @property
    def mac(self) -> str:
        """A locally administered MAC derived from the device uuid."""
        raw = uuid.UUID(self.uuid).bytes[:5]
        return ":".join(f"{b:02x}" for b in (0x02, *raw))

    def now(self) -> datetime:
        """The device's own clock, off by the clock_skew fault."""
        return self.clock() + timedelta(seconds=self.faults.clock_skew_seconds)

    def camera_now(self, camera: CameraSpec) -> datetime:
        """A channel's own clock (what its pictures show): on an NVR each channel may be skewed apart."""
        return self.clock() + timedelta(seconds=camera.faults.clock_skew_seconds)

    @property
    def advertised_host(self) -> str:
        return UNREACHABLE_HOST if self.faults.wrong_xaddrs else self.config.host

    @property
    def prefix_length(self) -> int:
        return 8 if is_loopback_host(self.advertised_host) or self.advertised_host == UNREACHABLE_HOST else 24

    def url(self, path: str) -> str:
        return f"http://{self.advertised_host}:{self.port}{path}"

    def xaddr(self, service: str) -> str:
        return self.url(SERVICE_PATHS[service])

    def services(self) -> list[str]:
        """Services this device offers: Profile G's three only on an NVR."""
        return [name for name in SERVICE_PATHS if self.nvr or name not in PROFILE_G_SERVICES]

    def profile_by_token(self, token: str | None) -> tuple[CameraSpec, Stream] | None:
        """The camera and stream of a media profile: each camera has a main and a sub profile."""
        return next(
            (
                (camera, stream)
                for camera in self.cameras
                for stream in STREAMS
                if profile_token(camera, stream) == token
            ),
            None,
        )

    def camera_by_channel(self, channel: int) -> CameraSpec | None:
        return next((camera for camera in self.cameras if camera.channel == channel), None)

    def _advertise(self, url: str) -> str:
        """Put the advertised host into a URL the config built with the bind host."""
        if not self.faults.wrong_xaddrs:
            return url
        parts = urlsplit(url)
        netloc = UNREACHABLE_HOST if parts.port is None else f"{UNREACHABLE_HOST}:{parts.port}"
        return parts._replace(netloc=netloc).geturl()

    def stream_uri(self, camera: CameraSpec, stream: Stream = "main") -> str:
        return self._advertise(self.config.rtsp_url(camera, live_path(self.config.live_path(camera), stream)))

    def replay_uri(self, camera: CameraSpec) -> str:
        return self._advertise(self.config.rtsp_url(camera, self.config.replay_path(camera)))

    def snapshot_uri(self, camera: CameraSpec) -> str:
        return self.url(f"/snapshot.jpg?channel={camera.channel}")

    def scopes(self) -> list[str]:
        """ONVIF scope URIs, as discovery and GetScopes report them."""
        base = "onvif://www.onvif.org"
        scopes = [
            f"{base}/type/video_encoder",
            f"{base}/Profile/Streaming",
            f"{base}/name/{quote(self.name, safe='')}",
            f"{base}/hardware/{quote(self.model, safe='')}",
            f"{base}/location/{quote(self.primary.location, safe='')}",
        ]
        if self.nvr:
            scopes.insert(2, f"{base}/Profile/G")
        return scopes

"""What a simulated camera is: the one description every simulator service (ONVIF, RTSP, personas) reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Codec = Literal["h264", "h265", "mpeg4"]
Persona = Literal["onvif", "hikvision", "dahua"]
PERSONAS: tuple[Persona, ...] = ("onvif", "hikvision", "dahua")
DEFAULT_USERNAME = "admin"
DEFAULT_PASSWORD = "admin123"  # noqa: S105  (the simulated device's documented default)


@dataclass
class Faults:
    """Switches a test or the control endpoint flips to make a camera misbehave like real ones do."""

    stream_stall_seconds: float = 0.0  # live stream stops sending for this long, then resumes
    offline: bool = False  # every port refuses or drops connections
    wrong_password: bool = False  # the configured password no longer works
    slow_seconds: float = 0.0  # added to every ONVIF/HTTP response
    clock_skew_seconds: float = 0.0  # the camera's clock (GetSystemDateAndTime, burned-in time) is off
    wrong_xaddrs: bool = False  # discovery and GetCapabilities advertise an unreachable address (NAT)
    malformed_xml: bool = False  # SOAP responses are cut short
    no_get_services: bool = False  # no GetServices (older ONVIF firmware): clients use GetCapabilities
    onvif_disabled: bool = False  # ONVIF switched off in the device's settings; vendor HTTP APIs still answer


@dataclass
class CameraSpec:
    index: int  # 0-based; channel number is index + 1
    name: str
    width: int
    height: int
    codec: Codec
    fps: int = 25
    manufacturer: str = "vtrack"
    model: str = "SimCam"
    serial: str = ""
    location: str = "lab"
    faults: Faults = field(default_factory=Faults)

    @property
    def channel(self) -> int:
        return self.index + 1

    @property
    def token(self) -> str:
        return f"profile_{self.channel}"


# Seed 000's three cameras; camera 4 and on repeat this list with a number added.
DEFAULT_CAMERAS: tuple[tuple[str, int, int, Codec], ...] = (
    ("Front Door Camera", 1920, 1080, "h264"),
    ("Parking Lot Camera", 1280, 720, "h265"),
    ("Warehouse Camera", 800, 600, "mpeg4"),
)


@dataclass
class SimulatorConfig:
    cameras: list[CameraSpec]
    host: str = "127.0.0.1"
    onvif_port_base: int = 1000
    rtsp_port: int = 8554
    username: str = DEFAULT_USERNAME
    password: str = DEFAULT_PASSWORD
    persona: Persona = "onvif"
    nvr: bool = False
    video: Path | None = None

    def onvif_port(self, camera: CameraSpec) -> int:
        """With --nvr one device answers for every channel on the base port; else one port per camera."""
        return self.onvif_port_base if self.nvr else self.onvif_port_base + camera.index

    def live_path(self, camera: CameraSpec) -> str:
        return f"/live/{camera.channel}"

    def replay_path(self, camera: CameraSpec) -> str:
        return f"/replay/{camera.channel}"

    def rtsp_url(self, camera: CameraSpec, path: str | None = None) -> str:
        return f"rtsp://{self.host}:{self.rtsp_port}{path or self.live_path(camera)}"


def default_cameras(count: int) -> list[CameraSpec]:
    cameras = []
    for i in range(count):
        name, width, height, codec = DEFAULT_CAMERAS[i % len(DEFAULT_CAMERAS)]
        if i >= len(DEFAULT_CAMERAS):
            name = f"{name} {i + 1}"
        cameras.append(
            CameraSpec(index=i, name=name, width=width, height=height, codec=codec, serial=f"SIM{i + 1:06d}")
        )
    return cameras

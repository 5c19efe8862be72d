"""What interrogating an ONVIF device yields, as plain data the registry and API turn into rows and JSON."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class DeviceInformation:
    manufacturer: str | None
    model: str | None
    firmware: str | None
    serial: str | None
    hardware_id: str | None


@dataclass(frozen=True)
class MediaProfile:
    token: str
    name: str
    source_token: str | None
    encoding: str | None  # H264, H265, MPEG4, JPEG as the device spells it
    width: int | None
    height: int | None
    fps: int | None
    has_ptz: bool = False
    has_audio: bool = False

    @property
    def pixels(self) -> int:
        return (self.width or 0) * (self.height or 0)


@dataclass
class DetectedCamera:
    """One camera (a video source; on an NVR a channel): seed 000's detected_cameras shape plus URIs."""

    id: str
    name: str
    channel: int
    resolution: str | None
    codec: str | None
    fps: int | None
    onvif_port: int
    rtsp_port: int | None
    rtsp_url: str | None
    sub_stream_url: str | None
    snapshot_url: str | None
    capabilities: list[str]
    host: str
    protocol: str = "onvif"
    profile_token: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    serial: str | None = None
    firmware: str | None = None

    def as_json(self) -> dict[str, object]:
        return dict(self.__dict__)


@dataclass
class DeviceProbe:
    """Everything learned about one host:port, or why nothing could be learned."""

    host: str
    port: int
    protocol: str  # onvif, hikvision, dahua, or what the port turned out to be
    name: str | None = None
    info: DeviceInformation | None = None
    is_nvr: bool = False
    cameras: list[DetectedCamera] = field(default_factory=list)
    clock_skew_seconds: float | None = None
    services: list[str] = field(default_factory=list)  # device, media, recording, search, replay, ptz, ...
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {
            "host": self.host,
            "port": self.port,
            "protocol": self.protocol,
            "name": self.name,
            "manufacturer": self.info.manufacturer if self.info else None,
            "model": self.info.model if self.info else None,
            "firmware": self.info.firmware if self.info else None,
            "serial": self.info.serial if self.info else None,
            "is_nvr": self.is_nvr,
            "cameras": len(self.cameras),
            "clock_skew_seconds": self.clock_skew_seconds,
            "services": self.services,
            "notes": self.notes,
        }

"""Validated input for video sources (seed 000's video_sources): where recordings and cameras come from."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, Field, model_validator

from vtrack.devices.targets import TargetError, parse_ports
from vtrack.registry.schemas import Name, RtspUrl, Secret, ShortText, StrictInput
from vtrack.registry.urls import AddressError, check_host


class SourceType(StrEnum):
    ONVIF = "onvif"
    NVR = "nvr"
    RTSP = "rtsp"
    HIKVISION = "hikvision"
    DAHUA = "dahua"


DEVICE_TYPES = frozenset(
    {SourceType.ONVIF, SourceType.NVR, SourceType.RTSP, SourceType.HIKVISION, SourceType.DAHUA}
)


def _host(value: str) -> str:
    value = value.strip()
    try:
        check_host(value)
    except AddressError as exc:
        raise ValueError(str(exc)) from None
    return value


def _ports(value: str | list[int]) -> list[int]:
    try:
        ports = parse_ports(value) if isinstance(value, str) else parse_ports(",".join(map(str, value)))
    except TargetError as exc:
        raise ValueError(str(exc).removeprefix("ports: ")) from None
    if len(ports) > 64:
        raise ValueError("at most 64 ports per source")
    return ports


Host = Annotated[str, Field(min_length=1, max_length=255), AfterValidator(_host)]
Ports = Annotated[str | list[int], AfterValidator(_ports)]
CameraName = Annotated[str, Field(min_length=1, max_length=255)]


class SourceCreate(StrictInput):
    name: Name
    type: SourceType
    protocol: ShortText | None = Field(default=None, max_length=32, description="onvif, isapi, cgi, rtsp")
    host: Host | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    ports: Ports | None = Field(
        default=None, description="More ports on the same host (one device each), e.g. 1000-1002"
    )
    rtsp_url: RtspUrl | None = Field(default=None, description="type rtsp only")
    username: ShortText | None = None
    password: Secret | None = Field(default=None, repr=False)
    selected_cameras: list[CameraName] | None = Field(
        default=None, description="Names of detected cameras to add; all when left out"
    )
    timeout_seconds: float = Field(default=5.0, ge=0.5, le=60)

    @model_validator(mode="after")
    def _where(self) -> SourceCreate:
        if self.type == SourceType.RTSP:
            if not self.rtsp_url and not self.host:
                raise ValueError("type rtsp needs rtsp_url (or host and port)")
        elif not self.host:
            raise ValueError(f"type {self.type} needs host")
        return self

    def all_ports(self, default: int) -> list[int]:
        ports = [self.port] if self.port else []
        ports += [p for p in (self.ports or []) if isinstance(p, int) and p not in ports]
        return ports or [default]


class SourceUpdate(StrictInput):
    """Change what is synced or how to log in; credentials or address changes re-probe the device."""

    name: Name | None = None
    username: ShortText | None = None
    password: Secret | None = Field(default=None, repr=False)
    selected_cameras: list[CameraName] | None = None
    is_active: bool | None = None
    timeout_seconds: float = Field(default=5.0, ge=0.5, le=60)

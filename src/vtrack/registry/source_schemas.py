"""Validated input for video sources (seed 000's video_sources): where recordings and cameras come from."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, model_validator

from vtrack.devices.targets import TargetError, parse_ports
from vtrack.registry.schemas import FolderPath, Name, RtspUrl, Secret, ShortText, StrictInput
from vtrack.registry.urls import AddressError, check_host


class SourceType(StrEnum):
    ONVIF = "onvif"
    NVR = "nvr"
    RTSP = "rtsp"
    HIKVISION = "hikvision"
    DAHUA = "dahua"
    TAPO = "tapo"
    LOCAL = "local"
    S3 = "s3"
    DROPBOX = "dropbox"
    ONEDRIVE = "onedrive"
    GOOGLE_DRIVE = "google_drive"
    IMOU = "imou"
    EZVIZ = "ezviz"


DEVICE_TYPES = frozenset(
    {
        SourceType.ONVIF,
        SourceType.NVR,
        SourceType.RTSP,
        SourceType.HIKVISION,
        SourceType.DAHUA,
        SourceType.TAPO,
    }
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


def _endpoint(value: str) -> str:
    parsed = urlsplit(value.strip())
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ValueError("must be an http(s) URL such as https://s3.example.com")
    try:
        check_host(parsed.hostname)
    except AddressError as exc:
        raise ValueError(str(exc)) from None
    return value.strip().rstrip("/")


EndpointUrl = Annotated[str, Field(min_length=1, max_length=2048), AfterValidator(_endpoint)]
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
    stream_port: int | None = Field(
        default=None, ge=1, le=65535, description="type tapo: the camera's media port (8800 when left out)"
    )
    username: ShortText | None = None
    password: Secret | None = Field(default=None, repr=False)
    selected_cameras: list[CameraName] | None = Field(
        default=None, description="Names of detected cameras to add; all when left out"
    )
    timeout_seconds: float = Field(default=5.0, ge=0.5, le=60)
    # Cloud sources (step 5).
    bucket: ShortText | None = Field(default=None, description="type s3", min_length=3, max_length=63)
    prefix: FolderPath = Field(default="", description="type s3: only keys below this prefix")
    endpoint_url: EndpointUrl | None = Field(default=None, description="type s3: MinIO, R2, B2, Wasabi...")
    region: ShortText | None = Field(default=None, description="type s3")
    access_key_id: ShortText | None = Field(default=None, description="type s3")
    secret_access_key: Secret | None = Field(default=None, repr=False, description="type s3")
    path: FolderPath | None = Field(default=None, description="type local: a folder on the server")
    account_id: str | None = Field(
        default=None, max_length=36, description="cloud drives and camera clouds: from /cloud/accounts"
    )
    root: FolderPath = Field(default="", description="cloud drives: the folder to sync (path or id)")
    device_ids: list[ShortText] | None = Field(
        default=None, max_length=1000, description="camera clouds: the devices to sync; all when left out"
    )

    @model_validator(mode="after")
    def _where(self) -> SourceCreate:
        needs = CLOUD_FIELDS.get(SourceType(self.type))
        if needs is not None:
            missing = [name for name in needs if not getattr(self, name)]
            if missing:
                raise ValueError(f"type {self.type} needs {', '.join(missing)}")
            return self
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


CLOUD_FIELDS: dict[SourceType, tuple[str, ...]] = {
    SourceType.LOCAL: ("path",),
    SourceType.S3: ("bucket", "access_key_id", "secret_access_key"),
    SourceType.DROPBOX: ("account_id",),
    SourceType.ONEDRIVE: ("account_id",),
    SourceType.GOOGLE_DRIVE: ("account_id",),
    SourceType.IMOU: ("account_id",),
    SourceType.EZVIZ: ("account_id",),
}


class SourceUpdate(StrictInput):
    """Change what is synced or how to log in; credentials or address changes re-probe the device."""

    name: Name | None = None
    username: ShortText | None = None
    password: Secret | None = Field(default=None, repr=False)
    selected_cameras: list[CameraName] | None = None
    root: FolderPath | None = Field(
        default=None,
        description="cloud drives: another folder to sync (path or id); syncing starts over there",
    )
    is_active: bool | None = None
    timeout_seconds: float = Field(default=5.0, ge=0.5, le=60)

"""Validated camera and group input, shared by the API and the importer so both give the same errors."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from vtrack.registry.urls import HTTP_SCHEMES, RTSP_SCHEMES, AddressError, parse_camera_url


class CameraStatus(StrEnum):
    IDLE = "idle"
    ONLINE = "online"
    DEGRADED = "degraded"
    OFFLINE = "offline"
    ERROR = "error"


class CameraProtocol(StrEnum):
    RTSP = "rtsp"
    ONVIF = "onvif"
    HIKVISION = "hikvision"
    DAHUA = "dahua"
    TAPO = "tapo"


class Codec(StrEnum):
    H264 = "h264"
    H265 = "h265"
    MPEG4 = "mpeg4"
    MJPEG = "mjpeg"
    VP8 = "vp8"
    VP9 = "vp9"
    AV1 = "av1"


def _plain_text(value: str) -> str:
    value = value.strip()
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise ValueError("must not contain control characters")
    return value


def _non_blank(value: str) -> str:
    if not value:
        raise ValueError("must not be blank")
    return value


def _rtsp_url(value: str) -> str:
    try:
        parse_camera_url(value, RTSP_SCHEMES)
    except AddressError as exc:
        raise ValueError(str(exc)) from None
    return value.strip()


def _http_url(value: str) -> str:
    try:
        return parse_camera_url(value, HTTP_SCHEMES).url
    except AddressError as exc:
        raise ValueError(str(exc)) from None


def _codec(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip().lower()
        return {"h.264": "h264", "avc": "h264", "h.265": "h265", "hevc": "h265", "mpeg-4": "mpeg4"}.get(
            value, value
        )
    return value


Name = Annotated[
    str, Field(min_length=1, max_length=255), AfterValidator(_plain_text), AfterValidator(_non_blank)
]
ShortText = Annotated[str, Field(max_length=255), AfterValidator(_plain_text)]
FolderPath = Annotated[str, Field(max_length=2048), AfterValidator(_plain_text)]
LongText = Annotated[str, Field(max_length=1000), AfterValidator(_plain_text)]
RtspUrl = Annotated[
    str,
    Field(min_length=1, max_length=2048, examples=["rtsp://192.168.1.64:554/Streaming/Channels/101"]),
    AfterValidator(_rtsp_url),
]
HttpUrl = Annotated[
    str,
    Field(min_length=1, max_length=2048, examples=["http://192.168.1.64/onvif/device_service"]),
    AfterValidator(_http_url),
]
Resolution = Annotated[str, Field(pattern=r"^[1-9][0-9]{1,4}x[1-9][0-9]{1,4}$", examples=["1920x1080"])]
Secret = Annotated[str, Field(max_length=255)]
GroupId = Annotated[str, Field(min_length=1, max_length=36)]
Sensitivity = Annotated[float, Field(ge=0.0, le=1.0)]
Fps = Annotated[int, Field(ge=1, le=240)]
RetentionDays = Annotated[int, Field(ge=1, le=36_500, description="delete archive files older than this")]
RetentionGb = Annotated[float, Field(gt=0, le=1_000_000, allow_inf_nan=False, description="archive cap, GB")]
CodecName = Annotated[Codec, BeforeValidator(_codec)]


class StrictInput(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False, use_enum_values=True)


class CameraCreate(StrictInput):
    name: Name
    rtsp_url: RtspUrl = Field(description="Credentials inside the URL are split out and stored encrypted")
    username: ShortText | None = None
    password: Secret | None = Field(default=None, repr=False)
    description: LongText | None = None
    location: ShortText | None = None
    group_id: GroupId | None = None
    protocol: CameraProtocol = CameraProtocol.RTSP
    onvif_url: HttpUrl | None = None
    manufacturer: ShortText | None = Field(default=None, max_length=128)
    model: ShortText | None = Field(default=None, max_length=128)
    resolution: Resolution | None = None
    fps: Fps | None = None
    codec: CodecName | None = None
    is_active: bool = True
    enable_detection: bool = False
    detection_sensitivity: Sensitivity = 0.7
    retention_max_age_days: RetentionDays | None = None
    retention_max_gb: RetentionGb | None = None


class CameraUpdate(StrictInput):
    """Every field optional: what is left out stays as it is; an explicit null clears optional fields."""

    name: Name | None = None
    rtsp_url: RtspUrl | None = None
    username: ShortText | None = None
    password: Secret | None = Field(default=None, repr=False)
    description: LongText | None = None
    location: ShortText | None = None
    group_id: GroupId | None = None
    protocol: CameraProtocol | None = None
    onvif_url: HttpUrl | None = None
    manufacturer: ShortText | None = Field(default=None, max_length=128)
    model: ShortText | None = Field(default=None, max_length=128)
    resolution: Resolution | None = None
    fps: Fps | None = None
    codec: CodecName | None = None
    is_active: bool | None = None
    enable_detection: bool | None = None
    detection_sensitivity: Sensitivity | None = None
    retention_max_age_days: RetentionDays | None = None
    retention_max_gb: RetentionGb | None = None


class CameraStateUpdate(StrictInput):
    is_active: bool | None = None
    status: CameraStatus | None = None

    @model_validator(mode="after")
    def _something(self) -> CameraStateUpdate:
        if self.is_active is None and self.status is None:
            raise ValueError("give is_active, status, or both")
        return self


class GroupCreate(StrictInput):
    name: Name
    location: ShortText | None = None
    description: LongText | None = None


class GroupUpdate(StrictInput):
    name: Name | None = None
    location: ShortText | None = None
    description: LongText | None = None

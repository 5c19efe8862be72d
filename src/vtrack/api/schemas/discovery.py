"""Discovery requests and results."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from vtrack.api.envelope import ApiModel
from vtrack.devices.targets import TargetError, parse_hosts, parse_ports


def _joined(value: str | list[Any] | None) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else ",".join(str(item) for item in value)


class DiscoveryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hosts: str | list[str] | None = Field(
        default=None,
        description="Hosts and CIDR ranges (a list or comma-separated); none: multicast WS-Discovery only",
        examples=["192.168.1.0/24,192.168.2.10"],
    )
    ports: str | list[int] | None = Field(
        default=None, description="Ports and ranges to sweep on each host", examples=["80,1000-1002,8000"]
    )
    username: str | None = Field(default=None, max_length=255)
    password: str | None = Field(default=None, max_length=255, repr=False)
    timeout_seconds: float = Field(default=3.0, ge=0.5, le=60)
    ws_discovery: bool = True

    @field_validator("hosts")
    @classmethod
    def _hosts(cls, value: str | list[str] | None) -> str | None:
        text = _joined(value)
        if text is not None:
            try:
                parse_hosts(text)
            except TargetError as exc:
                raise ValueError(str(exc)) from None
        return text

    @field_validator("ports")
    @classmethod
    def _ports(cls, value: str | list[int] | None) -> str | None:
        text = _joined(value)
        if text is not None:
            try:
                parse_ports(text)
            except TargetError as exc:
                raise ValueError(str(exc)) from None
        return text


class DiscoveryStarted(ApiModel):
    job_id: str
    state: str


class DiscoveryOut(ApiModel):
    job_id: str
    state: str
    progress: float
    message: str | None
    error: str | None
    created_at: datetime
    finished_at: datetime | None
    result: dict[str, Any] | None = Field(
        description="When done: success, message, cameras, devices, problems, stats (seed 000's shape)"
    )

"""Audit log entries as the API shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from vtrack.api.envelope import ApiModel


class AuditOut(ApiModel):
    id: int
    at: datetime
    actor_id: str | None
    actor_name: str | None
    action: str
    target_type: str | None
    target_id: str | None
    outcome: str
    ip: str | None
    details: dict[str, Any]

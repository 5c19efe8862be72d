"""Events as the API shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from vtrack.api.envelope import ApiModel


class EventOut(ApiModel):
    id: int
    at: datetime
    kind: str
    subject_type: str
    subject_id: str
    payload: dict[str, Any]

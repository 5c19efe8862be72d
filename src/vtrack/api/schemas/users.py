"""User responses; no hash, ever."""

from __future__ import annotations

from datetime import datetime

from vtrack.api.envelope import ApiModel
from vtrack.db.models import User


class UserOut(ApiModel):
    id: str
    username: str
    role: str
    permissions: list[str]
    is_active: bool
    last_login_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            id=user.id,
            username=user.username,
            role=user.role_name,
            permissions=sorted(user.role.permissions or []),
            is_active=user.is_active,
            last_login_at=user.last_login_at,
            created_at=user.created_at,
            updated_at=user.updated_at,
        )

"""Login and token models."""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from vtrack.api.envelope import ApiModel

NO_CONTROL_CHARS = r"^[^\x00-\x1f\x7f]*$"


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # No control characters: PostgreSQL refuses NUL in text, which would otherwise be a 500, not a 401.
    username: str = Field(min_length=1, max_length=64, pattern=NO_CONTROL_CHARS)
    password: str = Field(min_length=1, max_length=128, repr=False)


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Also under the name the login response gives it, so a client can send back what it received.
    refresh_token: str = Field(
        min_length=1, max_length=4096, validation_alias=AliasChoices("refresh_token", "refreshToken")
    )


class TokenOut(ApiModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105  (the OAuth token type, not a secret)
    expires_in: int

"""Signed JWT access and refresh tokens, and the dashboard's session token (kept in an HttpOnly cookie)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import jwt

TokenKind = Literal["access", "refresh", "session"]
_ALGORITHM = "HS256"
_ISSUER = "vtrack"


class TokenError(Exception):
    """The token is missing, malformed, expired, or of the wrong kind."""


@dataclass(frozen=True)
class TokenClaims:
    user_id: str
    kind: TokenKind
    version: int
    expires_at: datetime
    token_id: str = ""  # the JWT's jti: how a dashboard session is found again to be ended


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int


class TokenService:
    def __init__(
        self,
        key: bytes,
        access_ttl: timedelta,
        refresh_ttl: timedelta,
        session_ttl: timedelta = timedelta(hours=12),
    ) -> None:
        if len(key) < 32:
            raise ValueError("token signing key must be at least 32 bytes")
        self._key = key
        self._ttl: dict[TokenKind, timedelta] = {
            "access": access_ttl,
            "refresh": refresh_ttl,
            "session": session_ttl,
        }

    def _encode(self, user_id: str, kind: TokenKind, version: int) -> str:
        now = datetime.now(UTC)
        claims = {
            "sub": user_id,
            "typ": kind,
            "ver": version,
            "iss": _ISSUER,
            "iat": now,
            "exp": now + self._ttl[kind],
            "jti": secrets.token_hex(8),
        }
        return jwt.encode(claims, self._key, algorithm=_ALGORITHM)

    def issue(self, user_id: str, version: int) -> TokenPair:
        return TokenPair(
            access_token=self._encode(user_id, "access", version),
            refresh_token=self._encode(user_id, "refresh", version),
            expires_in=int(self._ttl["access"].total_seconds()),
        )

    def issue_session(self, user_id: str, version: int) -> tuple[str, TokenClaims]:
        """A dashboard session: one token that lives as long as a working day, so the browser's <img>,
        <video> and EventSource requests (which cannot refresh anything) keep working; a kind of its own,
        so it is refused as a bearer token. Its claims say which row in web_sessions to keep."""
        token = self._encode(user_id, "session", version)
        return token, self.verify(token, "session")

    def verify(self, token: str, kind: TokenKind) -> TokenClaims:
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[_ALGORITHM],
                issuer=_ISSUER,
                options={"require": ["exp", "sub", "typ", "iss"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenError("token expired") from exc
        except jwt.PyJWTError as exc:
            raise TokenError("invalid token") from exc
        if claims.get("typ") != kind:
            raise TokenError(f"not an {kind} token")
        return TokenClaims(
            user_id=str(claims["sub"]),
            kind=kind,
            version=int(claims.get("ver", 0)),
            expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
            token_id=str(claims.get("jti", "")),
        )

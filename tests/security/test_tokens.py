"""Signed access and refresh tokens."""

from __future__ import annotations

import base64
import json
import secrets
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from vtrack.security.tokens import TokenError, TokenService

KEY = secrets.token_bytes(32)


def service(key: bytes = KEY, access: timedelta = timedelta(minutes=5)) -> TokenService:
    return TokenService(key, access_ttl=access, refresh_ttl=timedelta(days=1))


def test_issue_and_verify_both_kinds() -> None:
    tokens = service()
    pair = tokens.issue("user-1", 3)
    assert pair.expires_in == 300 and pair.access_token != pair.refresh_token
    access = tokens.verify(pair.access_token, "access")
    refresh = tokens.verify(pair.refresh_token, "refresh")
    assert (access.user_id, access.kind, access.version) == ("user-1", "access", 3)
    assert (refresh.user_id, refresh.kind, refresh.version) == ("user-1", "refresh", 3)
    now = datetime.now(UTC)
    assert now + timedelta(minutes=4) < access.expires_at <= now + timedelta(minutes=5)
    assert now + timedelta(hours=23) < refresh.expires_at <= now + timedelta(days=1)
    # Each issue is unique, even for the same user in the same second.
    assert tokens.issue("user-1", 3).access_token != pair.access_token


def test_expired_token() -> None:
    tokens = service(access=timedelta(seconds=-1))
    pair = tokens.issue("user-1", 0)
    with pytest.raises(TokenError, match="expired"):
        tokens.verify(pair.access_token, "access")
    assert tokens.verify(pair.refresh_token, "refresh").user_id == "user-1"


def test_wrong_kind_is_refused() -> None:
    tokens = service()
    pair = tokens.issue("user-1", 0)
    with pytest.raises(TokenError, match="refresh"):
        tokens.verify(pair.access_token, "refresh")
    with pytest.raises(TokenError, match="access"):
        tokens.verify(pair.refresh_token, "access")


def _segments(token: str) -> list[str]:
    return token.split(".")


def _b64json(segment: str) -> dict[str, object]:
    decoded: dict[str, object] = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    return decoded


def _encode_segment(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_tampered_token_is_refused() -> None:
    tokens = service()
    header, payload, signature = _segments(tokens.issue("user-1", 0).access_token)
    claims = _b64json(payload)
    claims["sub"] = "admin-id"
    with pytest.raises(TokenError, match="invalid"):
        tokens.verify(f"{header}.{_encode_segment(claims)}.{signature}", "access")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    with pytest.raises(TokenError, match="invalid"):
        tokens.verify(f"{header}.{payload}.{flipped}", "access")
    for junk in ("", "abc", "a.b.c", f"{header}.{payload}"):
        with pytest.raises(TokenError):
            tokens.verify(junk, "access")


def test_alg_none_and_other_keys_are_refused() -> None:
    tokens = service()
    claims = _b64json(_segments(tokens.issue("user-1", 0).access_token)[1])
    unsigned = f"{_encode_segment({'alg': 'none', 'typ': 'JWT'})}.{_encode_segment(claims)}."
    with pytest.raises(TokenError):
        tokens.verify(unsigned, "access")
    other = service(secrets.token_bytes(32)).issue("user-1", 0).access_token
    with pytest.raises(TokenError, match="invalid"):
        tokens.verify(other, "access")


def test_required_claims_and_issuer() -> None:
    now = datetime.now(UTC)
    base = {"sub": "u", "typ": "access", "iss": "vtrack", "exp": now + timedelta(minutes=1)}
    tokens = service()
    for missing in ("sub", "typ", "iss", "exp"):
        claims = {k: v for k, v in base.items() if k != missing}
        with pytest.raises(TokenError):
            tokens.verify(jwt.encode(claims, KEY, algorithm="HS256"), "access")
    with pytest.raises(TokenError):
        tokens.verify(jwt.encode({**base, "iss": "someone-else"}, KEY, algorithm="HS256"), "access")
    assert tokens.verify(jwt.encode(base, KEY, algorithm="HS256"), "access").version == 0


def test_short_key_is_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        service(secrets.token_bytes(31))
    with pytest.raises(ValueError, match="32 bytes"):
        service(b"")

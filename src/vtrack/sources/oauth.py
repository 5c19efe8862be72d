"""OAuth 2.0 as Dropbox, Microsoft identity and Google all implement it (RFC 6749, 7636, 8628).

- Authorization code with PKCE (S256): the server keeps the verifier, the browser only sees the
  challenge, so an intercepted code is useless.
- Device authorization grant where the provider has one (Microsoft, Google): for headless boxes, the
  user types a short code on their phone.
- Refresh: one refresh at a time per account (`RefreshingTokens`); concurrent callers that saw a 401
  wait for it and reuse its result instead of each spending (and, with rotating refresh tokens,
  invalidating) the refresh token. A rotated refresh token is handed to `save` before the new access
  token is used, so a crash can never leave the account holding only a spent refresh token.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx

from vtrack.db.types import utcnow
from vtrack.devices.errors import DeviceError

EARLY_REFRESH = timedelta(seconds=60)


@dataclass(frozen=True)
class OAuthEndpoints:
    authorize_url: str
    token_url: str
    scopes: tuple[str, ...] = ()
    device_code_url: str | None = None
    authorize_params: dict[str, str] = field(default_factory=dict)  # e.g. token_access_type=offline


@dataclass(frozen=True)
class OAuthClient:
    client_id: str
    client_secret: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class TokenSet:
    access_token: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    expires_at: datetime | None = None
    scope: str | None = None
    account: str | None = None  # the provider's account id or e-mail, when the token answer says

    def expiring(self, now: datetime | None = None) -> bool:
        return self.expires_at is not None and self.expires_at - EARLY_REFRESH <= (now or utcnow())

    def as_json(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "scope": self.scope,
            "account": self.account,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TokenSet:
        expires = data.get("expires_at")
        return cls(
            str(data["access_token"]),
            data.get("refresh_token"),
            datetime.fromisoformat(expires) if expires else None,
            data.get("scope"),
            data.get("account"),
        )


@dataclass(frozen=True)
class DeviceCode:
    device_code: str = field(repr=False)
    user_code: str
    verification_uri: str
    interval: float
    expires_at: datetime


class OAuthError(DeviceError):
    """The provider refused a grant: `error` is its RFC 6749 error code (invalid_grant, ...)."""

    def __init__(self, error: str, description: str, where: str) -> None:
        kind = "auth" if error in {"invalid_grant", "invalid_client", "unauthorized_client"} else "protocol"
        detail = f" ({description})" if description else ""
        super().__init__(f"{where} refused the grant: {error}{detail}", kind)
        self.error = error


def pkce_pair() -> tuple[str, str]:
    """(verifier, S256 challenge): 43 characters of URL-safe randomness and its hash."""
    verifier = secrets.token_urlsafe(48)[:64]
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorization_url(
    endpoints: OAuthEndpoints, client: OAuthClient, redirect_uri: str, state: str, challenge: str
) -> str:
    params = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": redirect_uri,
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **endpoints.authorize_params,
    }
    if endpoints.scopes:
        params["scope"] = " ".join(endpoints.scopes)
    joiner = "&" if "?" in endpoints.authorize_url else "?"
    return f"{endpoints.authorize_url}{joiner}{urlencode(params)}"


def _token_set(data: dict[str, Any], previous_refresh: str | None = None) -> TokenSet:
    expires_in = data.get("expires_in")
    return TokenSet(
        access_token=str(data["access_token"]),
        # Providers that do not rotate leave refresh_token out of a refresh answer: keep the old one.
        refresh_token=data.get("refresh_token") or previous_refresh,
        expires_at=utcnow() + timedelta(seconds=float(expires_in)) if expires_in else None,
        scope=data.get("scope"),
        account=data.get("account_id") or data.get("id_token_email") or None,
    )


async def _token_request(
    http: httpx.AsyncClient, endpoints: OAuthEndpoints, client: OAuthClient, form: dict[str, str]
) -> dict[str, Any]:
    form = {**form, "client_id": client.client_id}
    if client.client_secret:
        form["client_secret"] = client.client_secret
    where = endpoints.token_url
    try:
        response = await http.post(endpoints.token_url, data=form, headers={"Accept": "application/json"})
    except httpx.TimeoutException:
        raise DeviceError(f"{where} timed out", "timeout") from None
    except httpx.HTTPError as exc:
        raise DeviceError(f"{where} could not be reached: {exc}", "unreachable") from None
    try:
        data = response.json()
    except ValueError:
        raise DeviceError(f"{where}: HTTP {response.status_code}, not JSON", "protocol") from None
    if not isinstance(data, dict):
        raise DeviceError(f"{where}: the token answer is not an object", "protocol")
    if response.status_code >= 400 or "error" in data:
        raise _refused(data, response.status_code, where)
    return data


def _refused(data: dict[str, Any], status: int, where: str) -> OAuthError:
    return OAuthError(str(data.get("error", status)), str(data.get("error_description", "")), where)


async def exchange_code(
    http: httpx.AsyncClient,
    endpoints: OAuthEndpoints,
    client: OAuthClient,
    code: str,
    redirect_uri: str,
    verifier: str,
) -> TokenSet:
    data = await _token_request(
        http,
        endpoints,
        client,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        },
    )
    return _token_set(data)


async def refresh_tokens(
    http: httpx.AsyncClient, endpoints: OAuthEndpoints, client: OAuthClient, tokens: TokenSet
) -> TokenSet:
    if not tokens.refresh_token:
        raise DeviceError("the access token expired and there is no refresh token; sign in again", "auth")
    data = await _token_request(
        http, endpoints, client, {"grant_type": "refresh_token", "refresh_token": tokens.refresh_token}
    )
    fresh = _token_set(data, tokens.refresh_token)
    return replace(fresh, account=fresh.account or tokens.account)


async def start_device_code(
    http: httpx.AsyncClient, endpoints: OAuthEndpoints, client: OAuthClient
) -> DeviceCode:
    if endpoints.device_code_url is None:
        raise DeviceError("this provider has no device-code sign-in", "protocol")
    form = {"client_id": client.client_id, "scope": " ".join(endpoints.scopes)}
    try:
        response = await http.post(endpoints.device_code_url, data=form)
        data = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise DeviceError(f"{endpoints.device_code_url}: {exc}", "unreachable") from None
    if response.status_code >= 400 or "device_code" not in data:
        raise _refused(data, response.status_code, endpoints.device_code_url)
    return DeviceCode(
        device_code=str(data["device_code"]),
        user_code=str(data["user_code"]),
        # RFC 8628 says verification_uri; Google's older answers say verification_url.
        verification_uri=str(data.get("verification_uri") or data.get("verification_url")),
        interval=float(data.get("interval", 5)),
        expires_at=utcnow() + timedelta(seconds=float(data.get("expires_in", 900))),
    )


async def poll_device_code(
    http: httpx.AsyncClient, endpoints: OAuthEndpoints, client: OAuthClient, device_code: str
) -> TokenSet | None:
    """The tokens once the user has approved; None while pending (`slow_down` too: the caller waits)."""
    try:
        data = await _token_request(
            http,
            endpoints,
            client,
            {"grant_type": "urn:ietf:params:oauth:grant-type:device_code", "device_code": device_code},
        )
    except OAuthError as error:
        if error.error in {"authorization_pending", "slow_down"}:
            return None
        raise
    return _token_set(data)


class RefreshingTokens:
    """An account's tokens: refreshed before they expire, or once when refused, never twice at once."""

    def __init__(
        self,
        tokens: TokenSet,
        refresh: Callable[[TokenSet], Awaitable[TokenSet]],
        save: Callable[[TokenSet], Awaitable[None]],
    ) -> None:
        self.tokens = tokens
        self._refresh = refresh
        self._save = save
        self._lock = asyncio.Lock()
        self.refreshes = 0

    async def current(self) -> str:
        if self.tokens.expiring():
            return await self.renew(self.tokens.access_token)
        return self.tokens.access_token

    async def renew(self, rejected: str) -> str:
        async with self._lock:
            if self.tokens.access_token != rejected and not self.tokens.expiring():
                return self.tokens.access_token  # another caller refreshed while this one waited
            fresh = await self._refresh(self.tokens)
            await self._save(fresh)  # the rotated refresh token is safe before anyone uses the new token
            self.tokens = fresh
            self.refreshes += 1
            return fresh.access_token

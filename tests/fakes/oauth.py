"""An OAuth 2.0 authorization server for the cloud fakes: checks what the real ones check.

Dropbox, Microsoft identity and Google differ in paths and error bodies, not in the grant rules, so the
provider fakes mount this one with their own paths:
- /authorize: the user "clicks Allow" at once (approve=False: "Deny"); the code is bound to client_id,
  redirect_uri and the PKCE challenge, single-use, valid 10 minutes;
- /token: authorization_code (verifier must hash to the challenge, S256 only), refresh_token (optionally
  rotating: the old refresh token dies when used), and RFC 8628 device_code (pending until approved,
  slow_down when polled faster than the interval);
- /devicecode: RFC 8628 device authorization;
- `bearer(request)`: the access token of a request, or None when missing, unknown or expired (tokens
  expire after `access_ttl` seconds, short in tests to exercise refresh).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import web


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    challenge: str
    scope: str
    expires: float


@dataclass
class DeviceGrant:
    client_id: str
    scope: str
    user_code: str
    interval: float
    expires: float
    approved: bool = False
    last_poll: float = 0.0


@dataclass
class AuthorizationServer:
    client_id: str = "vtrack-test-client"
    client_secret: str | None = "vtrack-test-secret"  # None: a public client (PKCE only)
    access_ttl: float = 3600.0
    rotate_refresh_tokens: bool = False
    approve: bool = True
    account: str = "user-1"
    codes: dict[str, Grant] = field(default_factory=dict)
    device_codes: dict[str, DeviceGrant] = field(default_factory=dict)
    access_tokens: dict[str, float] = field(default_factory=dict)  # token -> expiry (monotonic)
    refresh_tokens: set[str] = field(default_factory=set)
    token_requests: list[str] = field(default_factory=list)  # grant types, in order
    refused: list[str] = field(default_factory=list)  # error codes given, in order

    def routes(self, prefix: str = "/oauth2") -> list[web.RouteDef]:
        return [
            web.get(f"{prefix}/authorize", self.authorize),
            web.post(f"{prefix}/token", self.token),
            web.post(f"{prefix}/devicecode", self.device_authorization),
        ]

    # -- what tests call directly -------------------------------------------------------------------

    def issue(self) -> dict[str, Any]:
        """A fresh token answer, as if the user had just signed in."""
        access = "at-" + secrets.token_urlsafe(24)
        refresh = "rt-" + secrets.token_urlsafe(24)
        self.access_tokens[access] = time.monotonic() + self.access_ttl
        self.refresh_tokens.add(refresh)
        return {
            "access_token": access,
            "refresh_token": refresh,
            "token_type": "bearer",
            "expires_in": int(self.access_ttl),
            "account_id": self.account,
        }

    def expire_all(self) -> None:
        for token in self.access_tokens:
            self.access_tokens[token] = 0.0

    def bearer(self, request: web.Request) -> str | None:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return None
        token = header.removeprefix("Bearer ")
        expiry = self.access_tokens.get(token)
        return token if expiry is not None and expiry > time.monotonic() else None

    def approve_device(self, user_code: str) -> None:
        for grant in self.device_codes.values():
            if grant.user_code == user_code:
                grant.approved = True

    # -- endpoints -----------------------------------------------------------------------------------

    def _error(self, code: str, description: str, status: int = 400) -> web.Response:
        self.refused.append(code)
        return web.json_response({"error": code, "error_description": description}, status=status)

    async def authorize(self, request: web.Request) -> web.Response:
        q = request.query
        if q.get("client_id") != self.client_id:
            return web.Response(status=400, text="unknown client_id")
        redirect = q.get("redirect_uri", "")
        if q.get("response_type") != "code" or not redirect:
            return web.Response(status=400, text="response_type=code and redirect_uri are required")
        if q.get("code_challenge_method") != "S256" or len(q.get("code_challenge", "")) < 43:
            return web.Response(status=400, text="PKCE with S256 is required")
        state = q.get("state", "")
        if not self.approve:
            params = urlencode({"error": "access_denied", "state": state})
            raise web.HTTPFound(f"{redirect}?{params}")
        code = "code-" + secrets.token_urlsafe(16)
        self.codes[code] = Grant(
            self.client_id, redirect, q["code_challenge"], q.get("scope", ""), time.monotonic() + 600
        )
        raise web.HTTPFound(f"{redirect}?{urlencode({'code': code, 'state': state})}")

    def _client_ok(self, form: Any, request: web.Request) -> bool:
        client_id, secret = form.get("client_id"), form.get("client_secret")
        basic = request.headers.get("Authorization", "")
        if basic.startswith("Basic "):
            client_id, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
        if client_id != self.client_id:
            return False
        return self.client_secret is None or secret == self.client_secret

    async def token(self, request: web.Request) -> web.Response:
        form = await request.post()
        grant_type = str(form.get("grant_type", ""))
        self.token_requests.append(grant_type)
        if not self._client_ok(form, request):
            return self._error("invalid_client", "client authentication failed", 401)
        if grant_type == "authorization_code":
            return self._code_grant(form)
        if grant_type == "refresh_token":
            refresh = str(form.get("refresh_token", ""))
            if refresh not in self.refresh_tokens:
                return self._error("invalid_grant", "refresh token is invalid or was already used")
            answer = self.issue()
            self.refresh_tokens.discard(answer["refresh_token"])
            if self.rotate_refresh_tokens:
                self.refresh_tokens.discard(refresh)
                self.refresh_tokens.add(answer["refresh_token"])
            else:
                del answer["refresh_token"]
            return web.json_response(answer)
        if grant_type == "urn:ietf:params:oauth:grant-type:device_code":
            return self._device_grant(str(form.get("device_code", "")))
        return self._error("unsupported_grant_type", grant_type)

    def _code_grant(self, form: Any) -> web.Response:
        grant = self.codes.pop(str(form.get("code", "")), None)  # single use, even when refused below
        if grant is None or grant.expires < time.monotonic():
            return self._error("invalid_grant", "code is invalid, expired or already used")
        if form.get("redirect_uri") != grant.redirect_uri:
            return self._error("invalid_grant", "redirect_uri does not match the authorization request")
        verifier = str(form.get("code_verifier", ""))
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if not 43 <= len(verifier) <= 128 or digest != grant.challenge:
            return self._error("invalid_grant", "code_verifier does not match the code_challenge")
        return web.json_response(self.issue())

    async def device_authorization(self, request: web.Request) -> web.Response:
        form = await request.post()
        if form.get("client_id") != self.client_id:
            return self._error("invalid_client", "unknown client_id", 401)
        device_code = "dc-" + secrets.token_urlsafe(24)
        user_code = secrets.token_hex(4).upper()
        self.device_codes[device_code] = DeviceGrant(
            self.client_id, str(form.get("scope", "")), user_code, 0.2, time.monotonic() + 900
        )
        base = f"{request.scheme}://{request.host}"
        return web.json_response(
            {
                "device_code": device_code,
                "user_code": user_code,
                "verification_uri": f"{base}/device",
                "interval": 0.2,
                "expires_in": 900,
            }
        )

    def _device_grant(self, device_code: str) -> web.Response:
        grant = self.device_codes.get(device_code)
        if grant is None or grant.expires < time.monotonic():
            return self._error("expired_token", "the device code expired")
        now = time.monotonic()
        too_fast = now - grant.last_poll < grant.interval * 0.9
        grant.last_poll = now
        if too_fast:
            return self._error("slow_down", "polling too fast")
        if not grant.approved:
            return self._error("authorization_pending", "the user has not approved yet")
        del self.device_codes[device_code]
        return web.json_response(self.issue())


async def serve(app: web.Application, host: str = "127.0.0.1") -> tuple[web.AppRunner, str]:
    """Start `app` on an ephemeral loopback port; returns the runner (to clean up) and the base URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://{host}:{port}"

"""Cloud accounts: signing in (OAuth code + PKCE, device code, app keys), keeping tokens, building connectors.

Tokens and app secrets are stored only encrypted (AES-GCM, their own purpose label). Refreshing is
serialised twice over: an asyncio lock per account in this process, and the account row locked
(SELECT ... FOR UPDATE on PostgreSQL) across the provider call, with the stored tokens re-read first,
so a second process that raced us uses the tokens we just saved instead of spending the refresh token
again. The new tokens are written in that same transaction: a rotated refresh token is never lost.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from vtrack.db.models import CloudAccount, OAuthState, User, VideoSource
from vtrack.db.repositories.cloud import CloudRepository
from vtrack.db.session import Database
from vtrack.db.types import utcnow
from vtrack.devices.errors import DeviceError
from vtrack.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from vtrack.registry.sources import SOURCE_PASSWORD
from vtrack.security.encryption import Keyring
from vtrack.settings import Settings
from vtrack.sources.base import Connector
from vtrack.sources.http import StaticToken
from vtrack.sources.oauth import (
    DeviceCode,
    OAuthClient,
    OAuthEndpoints,
    RefreshingTokens,
    TokenSet,
    authorization_url,
    exchange_code,
    pkce_pair,
    poll_device_code,
    refresh_tokens,
    start_device_code,
)
from vtrack.sources.providers import Provider, SignIn, provider

ACCOUNT_SECRET = "cloud.account"  # noqa: S105  (AEAD labels, not secrets)
OAUTH_VERIFIER = "cloud.oauth_verifier"  # noqa: S105
SIGN_IN_TTL = timedelta(minutes=10)
DEVICE_REDIRECT = "urn:vtrack:device-code"


def is_admin(user: User) -> bool:
    return user.role_name == "admin"


@dataclass(frozen=True)
class Started:
    state: str
    authorization_url: str | None = None
    device: DeviceCode | None = None


class CloudAccounts:
    def __init__(self, database: Database, keyring: Keyring, settings: Settings) -> None:
        self.database = database
        self.keyring = keyring
        self.settings = settings
        self._locks: dict[str, asyncio.Lock] = {}

    # -- provider configuration ----------------------------------------------------------------------

    def oauth(self, p: Provider) -> tuple[OAuthEndpoints, OAuthClient]:
        if p.sign_in is not SignIn.OAUTH:
            raise InvalidInputError(f"{p.label} does not sign in with OAuth", [{"field": "provider"}])
        client = self.settings.cloud_clients.get(p.name) or {}
        if not client.get("client_id"):
            raise InvalidInputError(
                f"no OAuth app is configured for {p.label}: set VTRACK_CLOUD_CLIENTS to "
                f'{{"{p.name}": {{"client_id": "...", "client_secret": "..."}}}}',
                [{"field": "provider", "message": "not configured on this server"}],
            )
        endpoints: OAuthEndpoints = p.load().oauth_endpoints(p.urls(self.settings.cloud_urls))
        return endpoints, OAuthClient(client["client_id"], client.get("client_secret"))

    def redirect_uri(self, p: Provider) -> str:
        return f"{self.settings.public_url.rstrip('/')}/api/v1/cloud/{p.name}/oauth/callback"

    @staticmethod
    def _http() -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=httpx.Timeout(20.0, connect=10.0))

    # -- signing in ----------------------------------------------------------------------------------

    async def start(self, user: User, name: str, *, device: bool = False) -> Started:
        p = provider(name)
        endpoints, client = self.oauth(p)
        state = secrets.token_urlsafe(32)
        if device:
            if not p.device_code or endpoints.device_code_url is None:
                raise InvalidInputError(f"{p.label} has no device-code sign-in", [{"field": "flow"}])
            async with self._http() as http:
                code = await start_device_code(http, endpoints, client)
            secret, redirect, started = code.device_code, DEVICE_REDIRECT, Started(state, device=code)
        else:
            verifier, challenge = pkce_pair()
            redirect = self.redirect_uri(p)
            secret = verifier
            started = Started(state, authorization_url(endpoints, client, redirect, state, challenge))
        async with self.database.transaction() as session:
            await CloudRepository(session).drop_expired_states(utcnow())
            session.add(
                OAuthState(
                    state=state,
                    owner_id=user.id,
                    provider=p.name,
                    verifier_encrypted=self.keyring.encrypt(secret, OAUTH_VERIFIER),
                    redirect_uri=redirect,
                    expires_at=utcnow() + SIGN_IN_TTL,
                )
            )
        return started

    async def _take(self, name: str, state: str) -> OAuthState:
        async with self.database.transaction() as session:
            row = await CloudRepository(session).take_state(state)
        if row is None or row.provider != name or row.expires_at < utcnow():
            raise InvalidInputError(
                "this sign-in is unknown, expired or already used; start again",
                [{"field": "state", "message": "unknown or expired"}],
            )
        return row

    async def finish(self, name: str, state: str, code: str) -> CloudAccount:
        """The callback: the code plus the server-kept verifier buy tokens, owned by the sign-in's user."""
        row = await self._take(name, state)
        p = provider(name)
        endpoints, client = self.oauth(p)
        verifier = self.keyring.decrypt(row.verifier_encrypted, OAUTH_VERIFIER)
        async with self._http() as http:
            tokens = await exchange_code(http, endpoints, client, code, row.redirect_uri, verifier)
        return await self._save_oauth(row.owner_id, p, tokens)

    async def poll(self, user: User, name: str, state: str) -> CloudAccount | None:
        """Device code: the account once the user approved on their phone; None while pending."""
        async with self.database.session() as session:
            row = await session.get(OAuthState, state)
        if row is None or row.owner_id != user.id or row.redirect_uri != DEVICE_REDIRECT:
            raise InvalidInputError("unknown device sign-in", [{"field": "state", "message": "unknown"}])
        p = provider(name)
        endpoints, client = self.oauth(p)
        async with self._http() as http:
            tokens = await poll_device_code(
                http, endpoints, client, self.keyring.decrypt(row.verifier_encrypted, OAUTH_VERIFIER)
            )
        if tokens is None:
            return None
        await self._take(name, state)
        return await self._save_oauth(user.id, p, tokens)

    async def _save_oauth(self, owner_id: str, p: Provider, tokens: TokenSet) -> CloudAccount:
        # Just-issued tokens, for the one "who am I" call before the account exists to refresh them.
        connector = p.connector_class()(
            StaticToken(tokens.access_token), urls=p.urls(self.settings.cloud_urls)
        )
        try:
            label = await connector.account()
        finally:
            await connector.close()
        return await self._store(owner_id, p, label, tokens.as_json(), tokens)

    async def add_app_key(self, user: User, name: str, app_key: str, app_secret: str) -> CloudAccount:
        p = provider(name)
        if p.sign_in is not SignIn.APP_KEY:
            raise InvalidInputError(f"{p.label} does not use app keys", [{"field": "provider"}])
        connector = p.connector_class()(app_key, app_secret, urls=p.urls(self.settings.cloud_urls))
        try:
            label = await connector.account()
        except DeviceError as error:
            if error.kind == "auth":
                raise InvalidInputError(
                    f"{p.label} refused the app key: {error.message}",
                    [{"field": "app_secret", "message": "refused by the provider"}],
                ) from None
            raise
        finally:
            await connector.close()
        return await self._store(user.id, p, label, {"app_key": app_key, "app_secret": app_secret}, None)

    async def _store(
        self, owner_id: str, p: Provider, label: str, secret: dict[str, Any], tokens: TokenSet | None
    ) -> CloudAccount:
        async with self.database.transaction() as session:
            # Signing in to the same account again replaces its tokens rather than adding a twin.
            same = [a for a in await CloudRepository(session).accounts(owner_id, p.name) if a.label == label]
            account = same[0] if same else CloudAccount(owner_id=owner_id, provider=p.name, label=label)
            account.secret_encrypted = self.keyring.encrypt(json.dumps(secret), ACCOUNT_SECRET)
            account.expires_at = tokens.expires_at if tokens else None
            account.version = (account.version or 0) + 1
            session.add(account)
            await session.flush()
            return account

    # -- using an account ----------------------------------------------------------------------------

    async def owned(self, user: User, account_id: str) -> CloudAccount:
        async with self.database.session() as session:
            account = await CloudRepository(session).account(account_id)
        if account is None or (account.owner_id != user.id and not is_admin(user)):
            raise NotFoundError(f"cloud account {account_id} not found")
        return account

    def secret(self, account: CloudAccount) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.keyring.decrypt(account.secret_encrypted, ACCOUNT_SECRET))
        return data

    def tokens(self, account: CloudAccount) -> RefreshingTokens:
        p = provider(account.provider)
        lock = self._locks.setdefault(account.id, asyncio.Lock())

        async def refresh(stale: TokenSet) -> TokenSet:
            async with lock, self.database.transaction() as session:
                row = await CloudRepository(session).account(account.id, for_update=True)
                if row is None:
                    raise DeviceError("the cloud account was removed", "auth")
                stored = TokenSet.from_json(self.secret(row))
                if stored.access_token != stale.access_token and not stored.expiring():
                    return stored  # another worker refreshed first
                endpoints, client = self.oauth(p)
                async with self._http() as http:
                    fresh = await refresh_tokens(http, endpoints, client, stored)
                row.secret_encrypted = self.keyring.encrypt(json.dumps(fresh.as_json()), ACCOUNT_SECRET)
                row.expires_at, row.version = fresh.expires_at, row.version + 1
                return fresh

        async def saved(_tokens: TokenSet) -> None:
            return None  # written in refresh's own transaction, with the row still locked

        return RefreshingTokens(TokenSet.from_json(self.secret(account)), refresh, saved)

    async def connector(self, source: VideoSource) -> Connector:
        """The connector of a saved source, with its credentials and its synced root."""
        p = provider(source.source_type)
        config: Mapping[str, Any] = source.config
        cls = p.connector_class()
        connector: Connector
        if p.sign_in is SignIn.FOLDER:
            connector = cls(Path(config["path"]))
        elif p.sign_in is SignIn.ACCESS_KEY:
            connector = cls(
                config["bucket"],
                prefix=config.get("prefix", ""),
                endpoint_url=config.get("endpoint_url"),
                region=config.get("region"),
                access_key_id=source.username or "",
                secret_access_key=self.keyring.decrypt(source.secret_encrypted or "", SOURCE_PASSWORD),
            )
        else:
            account = None
            if source.account_id is not None:
                async with self.database.session() as session:
                    account = await CloudRepository(session).account(source.account_id)
            if account is None:
                raise DeviceError("the source's cloud account was removed; connect it again", "auth")
            connector = self.account_connector(account, config.get("root", ""), config)
        return connector

    def account_connector(
        self, account: CloudAccount, root: str = "", config: Mapping[str, Any] | None = None
    ) -> Connector:
        p = provider(account.provider)
        urls = p.urls(self.settings.cloud_urls)
        cls = p.connector_class()
        if p.sign_in is SignIn.APP_KEY:
            keys = self.secret(account)
            device_ids = (config or {}).get("device_ids") or None
            connector: Connector = cls(keys["app_key"], keys["app_secret"], device_ids=device_ids, urls=urls)
            return connector
        connector = cls(self.tokens(account), root=root, urls=urls)
        return connector


def require_admin(user: User, what: str) -> None:
    if not is_admin(user):
        raise PermissionDeniedError(f"{what} needs an admin")

"""Cloud sign-in and browsing: connect an account (OAuth code + PKCE, device code, app key), list its folders.

The OAuth callback is the one endpoint here without a bearer token: the provider redirects the user's
browser to it, and the browser carries no API token. It is authorised by its `state` instead: random,
single-use, ten minutes, bound server-side to the user who started the sign-in and to the PKCE verifier
that only the server knows.
"""

from __future__ import annotations

import html
import json
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import HTMLResponse
from pydantic import Field

from vtrack.api.deps import AuditorDep, ServicesDep, SessionDep, SourcesRead, SourcesWrite, client_ip
from vtrack.api.envelope import ApiModel, Envelope, error_responses, ok
from vtrack.db.models import CloudAccount
from vtrack.db.repositories.cloud import CloudRepository
from vtrack.devices.errors import DeviceError
from vtrack.errors import InvalidInputError, NotFoundError, UpstreamError
from vtrack.registry.cloud_accounts import is_admin
from vtrack.registry.cloud_sources import visible_source
from vtrack.registry.schemas import Secret, ShortText, StrictInput
from vtrack.security.audit import Actor, Auditor
from vtrack.sources.providers import PROVIDERS, SignIn, provider

router = APIRouter(prefix="/cloud", tags=["cloud"], responses=error_responses(401, 403, 404, 422))


class ProviderOut(ApiModel):
    name: str
    label: str
    sign_in: str
    device_code: bool
    camera_cloud: bool
    configured: bool


class AccountOut(ApiModel):
    id: str
    provider: str
    label: str
    owner_id: str
    expires_at: str | None

    @classmethod
    def of(cls, account: CloudAccount) -> AccountOut:
        expires = account.expires_at.isoformat() if account.expires_at else None
        return cls(
            id=account.id,
            provider=account.provider,
            label=account.label,
            owner_id=account.owner_id,
            expires_at=expires,
        )


class AuthStart(StrictInput):
    flow: Literal["code", "device"] = "code"


class AuthStarted(ApiModel):
    state: str
    flow: str
    authorization_url: str | None = None
    user_code: str | None = None
    verification_uri: str | None = None
    interval: float | None = None
    expires_at: str | None = None


class DevicePoll(StrictInput):
    state: str = Field(min_length=1, max_length=64)


class DevicePolled(ApiModel):
    status: Literal["pending", "connected"]
    account: AccountOut | None = None


class AppKey(StrictInput):
    app_key: ShortText = Field(min_length=1)
    app_secret: Secret = Field(min_length=1, repr=False)


class FolderOut(ApiModel):
    id: str
    name: str
    path: str
    has_children: bool | None


def _known(name: str) -> str:
    if name not in PROVIDERS:
        raise NotFoundError(f"unknown cloud provider {name!r}; known: {', '.join(sorted(PROVIDERS))}")
    return name


def _upstream(error: DeviceError) -> Exception:
    if error.kind == "auth":
        return InvalidInputError(f"the provider refused: {error.message}", [{"field": "code"}])
    return UpstreamError(error.message, error.kind)


@router.get("/providers")
async def providers(_: SourcesRead, services: ServicesDep) -> Envelope[list[ProviderOut]]:
    clients = services.settings.cloud_clients
    return ok(
        [
            ProviderOut(
                name=p.name,
                label=p.label,
                sign_in=p.sign_in.value,
                device_code=p.device_code,
                camera_cloud=p.camera_cloud,
                configured=p.sign_in is not SignIn.OAUTH or bool(clients.get(p.name, {}).get("client_id")),
            )
            for p in PROVIDERS.values()
        ]
    )


@router.post("/{provider_name}/auth", responses=error_responses(502))
async def start_auth(
    provider_name: str, body: AuthStart, user: SourcesWrite, services: ServicesDep, audit: AuditorDep
) -> Envelope[AuthStarted]:
    """Code flow: open `authorizationUrl` in the browser. Device flow: show `userCode`, then poll."""
    name = _known(provider_name)
    try:
        started = await services.cloud.start(user, name, device=body.flow == "device")
    except DeviceError as error:
        raise _upstream(error) from None
    audit.record("cloud.auth.start", "cloud_provider", name, flow=body.flow)
    out = AuthStarted(state=started.state, flow=body.flow, authorization_url=started.authorization_url)
    if started.device is not None:
        out.user_code = started.device.user_code
        out.verification_uri = started.device.verification_uri
        out.interval = started.device.interval
        out.expires_at = started.device.expires_at.isoformat()
    return ok(out)


@router.get("/{provider_name}/oauth/callback", include_in_schema=True, responses=error_responses(502))
async def oauth_callback(
    provider_name: str,
    request: Request,
    services: ServicesDep,
    session: SessionDep,
    state: Annotated[str, Query(min_length=1, max_length=64)],
    code: Annotated[str | None, Query(max_length=4096)] = None,
    error: Annotated[str | None, Query(max_length=255)] = None,
) -> Response:
    name = _known(provider_name)
    if code is None:
        taken = await CloudRepository(session).take_state(state)
        if taken is not None:
            Auditor(session, Actor(taken.owner_id, None, client_ip(request))).record(
                "cloud.connect", "cloud_provider", name, outcome="denied", error=error or "no code"
            )
        raise InvalidInputError(
            f"the sign-in was not completed ({error or 'no code'})", [{"field": "code", "message": "missing"}]
        )
    try:
        account = await services.cloud.finish(name, state, code)
    except DeviceError as failure:
        raise _upstream(failure) from None
    Auditor(session, Actor(account.owner_id, None, client_ip(request))).record(
        "cloud.connect", "cloud_account", account.id, provider=name, label=account.label
    )
    if "application/json" in request.headers.get("accept", ""):
        return Response(
            ok(AccountOut.of(account)).model_dump_json(by_alias=True), media_type="application/json"
        )
    label = html.escape(f"{provider(name).label}: {account.label}")
    # The dashboard opened the provider in a popup: tell it (same origin only) and close. Without a popup
    # (blocked, or the tab itself went to the provider), go back to the dashboard's Add source page.
    back = html.escape(f"/sources/add?protocol={name}&account={account.id}")
    return HTMLResponse(
        f"<!doctype html><title>Connected</title><p>Connected {label}. "
        f'<a href="{back}">Back to vtrack</a></p>'
        "<script>if (window.opener) {"
        f' window.opener.postMessage({{"cloudAccount": "{account.id}"}}, window.location.origin);'
        f" window.close(); }} else {{ window.location.replace({json.dumps(back)}); }}</script>"
    )


@router.post("/{provider_name}/device/poll", responses=error_responses(502))
async def poll_device(
    provider_name: str, body: DevicePoll, user: SourcesWrite, services: ServicesDep, audit: AuditorDep
) -> Envelope[DevicePolled]:
    name = _known(provider_name)
    try:
        account = await services.cloud.poll(user, name, body.state)
    except DeviceError as error:
        audit.record("cloud.connect", "cloud_provider", name, outcome="failure", error=error.message[:200])
        raise _upstream(error) from None
    if account is None:
        return ok(DevicePolled(status="pending"))
    audit.record("cloud.connect", "cloud_account", account.id, provider=name, label=account.label)
    return ok(DevicePolled(status="connected", account=AccountOut.of(account)))


@router.post("/{provider_name}/accounts", status_code=status.HTTP_201_CREATED, responses=error_responses(502))
async def add_app_key(
    provider_name: str, body: AppKey, user: SourcesWrite, services: ServicesDep, audit: AuditorDep
) -> Envelope[AccountOut]:
    """Camera clouds (Imou, Ezviz): the app key and secret from the provider's developer console."""
    name = _known(provider_name)
    try:
        account = await services.cloud.add_app_key(user, name, body.app_key, body.app_secret)
    except DeviceError as error:
        raise UpstreamError(error.message, error.kind) from None
    audit.record("cloud.connect", "cloud_account", account.id, provider=name, label=account.label)
    return ok(AccountOut.of(account))


@router.get("/accounts")
async def list_accounts(user: SourcesRead, session: SessionDep) -> Envelope[list[AccountOut]]:
    accounts = await CloudRepository(session).accounts(None if is_admin(user) else user.id)
    return ok([AccountOut.of(account) for account in accounts])


@router.delete("/accounts/{account_id}")
async def delete_account(
    account_id: str, user: SourcesWrite, services: ServicesDep, session: SessionDep, audit: AuditorDep
) -> Envelope[dict[str, str]]:
    """Forget the tokens; the account's sources keep their archive and stop syncing until reconnected."""
    account = await services.cloud.owned(user, account_id)
    row = await CloudRepository(session).account(account.id)
    if row is not None:
        await session.delete(row)
    audit.record("cloud.disconnect", "cloud_account", account.id, provider=account.provider)
    return ok({"id": account.id})


@router.get("/{provider_name}/list_folders", responses=error_responses(502))
async def list_folders(
    provider_name: str,
    user: SourcesRead,
    services: ServicesDep,
    session: SessionDep,
    source_id: Annotated[str | None, Query(max_length=36)] = None,
    account_id: Annotated[str | None, Query(max_length=36)] = None,
    parent: Annotated[str | None, Query(max_length=2048)] = None,
) -> Envelope[list[FolderOut]]:
    """One level of folders under `parent` (the top when left out), of a saved source or, while adding
    one, of a connected account (`account_id`)."""
    name = _known(provider_name)
    if source_id is not None:
        source = await visible_source(session, user, source_id)
        if source.source_type != name:
            raise InvalidInputError(f"source {source_id} is not a {name} source", [{"field": "source_id"}])
        connector = await services.cloud.connector(source)
    elif account_id is not None:
        account = await services.cloud.owned(user, account_id)
        if account.provider != name:
            raise InvalidInputError(
                f"account {account_id} is not a {name} account", [{"field": "account_id"}]
            )
        connector = services.cloud.account_connector(account)
    else:
        raise InvalidInputError(
            "give source_id or account_id", [{"field": "source_id", "message": "missing"}]
        )
    browse = getattr(connector, "list_folders", None)
    try:
        if browse is None:
            raise InvalidInputError(f"{name} sources have no folders to choose", [{"field": "source_id"}])
        folders = await browse(parent)
    except DeviceError as error:
        raise UpstreamError(error.message, error.kind) from None
    finally:
        await connector.close()
    return ok([FolderOut(id=f.id, name=f.name, path=f.path, has_children=f.has_children) for f in folders])

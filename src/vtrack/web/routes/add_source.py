"""The "Add source" wizard at /sources/add: a page rather than seed 000's modal, so it has a URL
(`?protocol=onvif` preselects) and fits a phone. The page only renders the fields of the chosen protocol;
testing, discovering and saving are the browser's calls to the JSON API (add_source.js)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from vtrack.api.deps import ServicesDep, SessionDep
from vtrack.db.repositories.cloud import CloudRepository
from vtrack.devices.targets import DEFAULT_PORTS
from vtrack.registry.cloud_accounts import is_admin
from vtrack.sources.providers import PROVIDERS, SignIn
from vtrack.web.session import SourcesWriter, TemplatesDep

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Protocol:
    key: str  # the page's name (URL, test ids)
    type: str  # the API's source type / cloud provider name
    kind: str  # device | rtsp | tapo | s3 | drive | camera_cloud: which fields and flow


PROTOCOLS: tuple[Protocol, ...] = (
    Protocol("onvif", "onvif", "device"),
    Protocol("nvr", "nvr", "device"),
    Protocol("rtsp", "rtsp", "rtsp"),
    Protocol("hikvision", "hikvision", "device"),
    Protocol("dahua", "dahua", "device"),
    Protocol("tapo", "tapo", "tapo"),
    Protocol("s3", "s3", "s3"),
    Protocol("dropbox", "dropbox", "drive"),
    Protocol("onedrive", "onedrive", "drive"),
    Protocol("gdrive", "google_drive", "drive"),
    Protocol("imou", "imou", "camera_cloud"),
    Protocol("ezviz", "ezviz", "camera_cloud"),
)
BY_KEY = {p.key: p for p in PROTOCOLS} | {p.type: p for p in PROTOCOLS}


@router.get("/sources/add", response_class=HTMLResponse)
async def add_source_page(
    request: Request,
    user: SourcesWriter,
    templates: TemplatesDep,
    services: ServicesDep,
    session: SessionDep,
    protocol: str = "",
    account: str = "",
) -> HTMLResponse:
    chosen = BY_KEY.get(protocol)
    context: dict[str, object] = {
        "protocols": PROTOCOLS,
        "chosen": chosen,
        "default_ports": ",".join(map(str, DEFAULT_PORTS)),
        "connected_account": account,  # just connected, when the provider's sign-in came back without a popup
    }
    if chosen is not None and chosen.kind in {"drive", "camera_cloud"}:
        info = PROVIDERS[chosen.type]
        client = services.settings.cloud_clients.get(chosen.type, {})
        context["provider"] = info
        context["configured"] = info.sign_in is not SignIn.OAUTH or bool(client.get("client_id"))
        owner = None if is_admin(user) else user.id
        context["accounts"] = await CloudRepository(session).accounts(owner, chosen.type)
    return templates.render(request, "add_source/page.html", context, user=user)

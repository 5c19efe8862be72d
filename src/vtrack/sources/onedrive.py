"""Microsoft OneDrive (personal, and for work or school) through Microsoft Graph, as a source.

Why it is built this way (Graph and OneDrive API documentation):
- The change feed is `driveItem: delta`. The cursor is the `@odata.nextLink` (mid-enumeration) or the
  `@odata.deltaLink` (caught up) exactly as Graph gave it, so a no-change re-sync is one request that
  returns no items. A token the service no longer honours answers `410 Gone` (resyncRequired) with a
  `Location` that starts a fresh enumeration; the sync engine dedups by id, so re-listing is harmless.
- OneDrive for Business and SharePoint offer delta on the drive root only (release notes), personal
  drives on any folder: a folder root asks for the folder's delta and, when refused, falls back to the
  drive's delta filtered by ancestry.
- Delta items carry no `parentReference.path` ("always track items by id"), so paths are rebuilt from
  parent ids: folders seen in the feed are remembered, an unknown parent costs one item GET per folder.
- Downloads: `/content` answers 302 to a pre-authenticated URL on another host; httpx follows it and
  drops the bearer there (it must not travel to the content host). Range rides along; the service may
  ignore it and send the whole file with 200, in which case the first `offset` bytes are skipped here.
- `quickXorHash` is the only hash every kind of drive provides (sha1Hash is personal-only and
  sha256Hash is documented as unsupported), so a file's hash never changes algorithm between syncs.
- Pacing: SharePoint/OneDrive budget each app per tenant in resource units, 1,200 a minute on the
  smallest tenants; listings cost 2, downloads and delta with a token 1. 5 requests a second stays under
  that, and throttling (429/503 with Retry-After) is waited out by CloudHttp.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from vtrack.devices.errors import DeviceError
from vtrack.sources.base import ChangePage, Folder, RateLimit, RemoteFile, is_video
from vtrack.sources.http import AccessTokens, CloudHttp, body_chunks
from vtrack.sources.oauth import OAuthEndpoints

DEFAULT_URLS: dict[str, str] = {
    "login": "https://login.microsoftonline.com",  # Microsoft identity platform (v2.0 endpoints)
    "graph": "https://graph.microsoft.com",  # Microsoft Graph; the API lives under /v1.0
}
# Files.Read is the least privilege for delta and downloads on both account kinds; offline_access is
# what makes the identity platform hand out a refresh token at all.
SCOPES = ("offline_access", "Files.Read", "User.Read")
_ITEM_SELECT = "id,name,parentReference,folder,root"
_MAX_DEPTH = 256  # far deeper than OneDrive allows; only guards against a parent cycle


def _urls(urls: Mapping[str, str] | None) -> dict[str, str]:
    merged = {**DEFAULT_URLS, **(urls or {})}
    return {key: value.rstrip("/") for key, value in merged.items()}


def oauth_endpoints(urls: Mapping[str, str] | None = None, *, tenant: str = "common") -> OAuthEndpoints:
    """`tenant`: "common" (work and personal accounts), "consumers", "organizations" or a tenant id."""
    prefix = f"{_urls(urls)['login']}/{tenant}/oauth2/v2.0"
    return OAuthEndpoints(
        authorize_url=f"{prefix}/authorize",
        token_url=f"{prefix}/token",
        scopes=SCOPES,
        device_code_url=f"{prefix}/devicecode",
        authorize_params={"response_mode": "query"},
    )


def content_hash(file_facet: Mapping[str, Any]) -> str | None:
    hashes = file_facet.get("hashes") or {}
    if hashes.get("quickXorHash"):
        return f"quickxor:{hashes['quickXorHash']}"  # base64, case matters
    for field, prefix in (("sha1Hash", "sha1"), ("sha256Hash", "sha256")):
        if hashes.get(field):
            return f"{prefix}:{str(hashes[field]).lower()}"  # Graph gives upper-case hex
    return None


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


@dataclass(frozen=True)
class _Node:
    name: str
    parent: str | None  # None: the drive's root


class OneDriveConnector:
    rate_limit = RateLimit(requests_per_second=5.0, concurrent_downloads=4)

    def __init__(
        self,
        tokens: AccessTokens,
        *,
        root: str = "",
        urls: Mapping[str, str] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.tokens = tokens
        self.root = root.strip("/")  # a folder path below the drive's root, "" for the whole drive
        self.urls = _urls(urls)
        self.api = f"{self.urls['graph']}/v1.0"
        self.where = f"OneDrive /{self.root}"
        self.http = CloudHttp(self.api, where=self.where, rate=self.rate_limit, tokens=tokens, sleep=sleep)
        self._nodes: dict[str, _Node] = {}  # folder id -> name and parent, learnt from the feed
        self._root_id: str | None = None
        self._drive_wide = False  # the drive refused a folder delta (OneDrive for Business)

    # -- addressing -----------------------------------------------------------------------------------

    @staticmethod
    def _by_path(path: str, action: str = "") -> str:
        """Graph's path addressing; names may hold #, % or ?, so every segment is percent-encoded."""
        if not path:
            return "/me/drive/root" + (f"/{action}" if action else "")
        encoded = quote(path, safe="/")
        return f"/me/drive/root:/{encoded}" + (f":/{action}" if action else "")

    @staticmethod
    def _by_id(item_id: str, action: str = "") -> str:
        return f"/me/drive/items/{quote(item_id, safe='!')}" + (f"/{action}" if action else "")

    def _ours(self, link: str | None) -> bool:
        """A link from a stored cursor or the service is only followed (with our bearer) to our API."""
        return bool(link) and str(link).startswith(self.api + "/")

    # -- the connector contract -------------------------------------------------------------------------

    async def account(self) -> str:
        drive = await self.http.json("GET", "/me/drive", params={"$select": "id,driveType,owner"})
        user = (drive.get("owner") or {}).get("user") or {}
        return str(user.get("email") or user.get("displayName") or drive.get("id") or "")

    async def changes(self, cursor: str | None, page_size: int = 1000) -> ChangePage:
        body = await self._delta(cursor, max(1, page_size))
        next_link, delta_link = body.get("@odata.nextLink"), body.get("@odata.deltaLink")
        link = next_link or delta_link
        if not isinstance(link, str):
            raise DeviceError(f"{self.where}: a delta page without nextLink or deltaLink", "protocol")
        if not self._ours(link):  # kept, it would restart the enumeration at every sync (see _delta)
            raise DeviceError(f"{self.where}: the service links to {link[:80]}, not {self.api}", "protocol")
        latest: dict[str, dict[str, Any]] = {}
        for item in body.get("value") or []:
            latest[str(item["id"])] = item  # an item may come twice: the last one is current
        for item in latest.values():
            self._remember(item)
        files = [file for item in latest.values() if (file := await self._file(item)) is not None]
        return ChangePage(files, link, has_more=bool(next_link))

    async def open(self, file: RemoteFile, offset: int = 0) -> AsyncIterator[bytes]:
        if offset and offset >= file.size:
            return
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        url = self._by_id(file.id, "content")
        async with self.http.stream("GET", url, expect=(200, 206), headers=headers) as response:
            skip = offset if response.status_code == 200 else 0  # the Range was ignored
            if response.status_code == 206:
                served = response.headers.get("Content-Range", "")
                if not served.startswith(f"bytes {offset}-"):
                    raise DeviceError(f"{self.where}: asked for byte {offset}, got {served!r}", "protocol")
            async for chunk in body_chunks(response, self.where):
                if skip:
                    if len(chunk) <= skip:
                        skip -= len(chunk)
                        continue
                    chunk, skip = chunk[skip:], 0
                yield chunk

    async def list_folders(self, parent: str | None) -> list[Folder]:
        """One level of folders below `parent` (a drive path, as Folder.id gives), or below the root."""
        base = self.root if parent is None else parent.strip("/")
        url: str | None = self._by_path(base, "children")
        params: dict[str, str] | None = {"$select": "id,name,folder,remoteItem", "$top": "200"}
        folders: list[Folder] = []
        while url:
            body = await self.http.json("GET", url, params=params)
            for item in body.get("value") or []:
                # Shared folders added to the drive are not covered by its delta: not offered.
                if "folder" not in item or "remoteItem" in item:
                    continue
                path = f"{base}/{item['name']}" if base else str(item["name"])
                count = item["folder"].get("childCount")
                folders.append(Folder(path, str(item["name"]), path, False if count == 0 else None))
            url, params = body.get("@odata.nextLink"), None
            if url is not None and not self._ours(url):
                raise DeviceError(
                    f"{self.where}: the service links to {url[:80]}, not {self.api}", "protocol"
                )
        return sorted(folders, key=lambda folder: folder.name.casefold())

    async def refresh(self) -> None:
        await self.tokens.current()

    async def close(self) -> None:
        await self.http.close()

    # -- delta --------------------------------------------------------------------------------------------

    async def _delta(self, cursor: str | None, page_size: int) -> dict[str, Any]:
        if cursor is not None and self._ours(cursor):
            response = await self.http.request("GET", cursor, expect=(200, 410))
            if response.status_code == 200:
                return self._page(response)
            fresh = response.headers.get("Location")  # resyncRequired: where a full enumeration starts
            if fresh is not None and self._ours(fresh):
                return dict(await self.http.json("GET", fresh))
        # No cursor, a cursor for another endpoint, or a resync without Location: enumerate afresh.
        params = {"$top": str(page_size)}
        if self.root and not self._drive_wide:
            url = self._by_path(self.root, "delta")
            response = await self.http.request("GET", url, expect=(200, 400, 501), params=params)
            if response.status_code == 200:
                return self._page(response)
            self._drive_wide = True
        return dict(await self.http.json("GET", "/me/drive/root/delta", params=params))

    def _page(self, response: httpx.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            raise DeviceError(f"{self.where}: a delta page that is not JSON", "protocol") from None
        if not isinstance(body, dict):
            raise DeviceError(f"{self.where}: a delta page that is not an object", "protocol")
        return body

    def _remember(self, item: Mapping[str, Any]) -> None:
        item_id = str(item["id"])
        if "deleted" in item:
            self._nodes.pop(item_id, None)
        elif "root" in item:
            self._nodes[item_id] = _Node(str(item.get("name", "root")), None)
            if not self.root:
                self._root_id = item_id
        elif "folder" in item:
            parent = (item.get("parentReference") or {}).get("id")
            self._nodes[item_id] = _Node(str(item["name"]), str(parent) if parent else None)

    async def _file(self, item: Mapping[str, Any]) -> RemoteFile | None:
        facet = item.get("file")
        if facet is None or "deleted" in item or "remoteItem" in item:
            return None
        name, mime = str(item["name"]), facet.get("mimeType")
        if not is_video(name, mime):
            return None
        directory = await self._below_root((item.get("parentReference") or {}).get("id"))
        if directory is None:
            return None  # outside the synced folder (drive-wide delta, or moved out of it)
        return RemoteFile(
            id=str(item["id"]),
            path=f"{directory}/{name}" if directory else name,
            size=int(item.get("size") or 0),
            modified=_when(str(item["lastModifiedDateTime"])),
            content_hash=content_hash(facet),
            content_type=str(mime) if mime else None,
        )

    async def _below_root(self, folder_id: str | None) -> str | None:
        """The folder's path relative to the root, or None when it is not below the root."""
        root_id = await self._root()
        parts: list[str] = []
        current = folder_id
        for _ in range(_MAX_DEPTH):
            if current is None:
                return None
            if current == root_id:
                return "/".join(reversed(parts))
            node = await self._node(current)
            if node is None or node.parent is None:
                return None
            parts.append(node.name)
            current = node.parent
        return None

    async def _root(self) -> str:
        if self._root_id is None:
            item = await self.http.json("GET", self._by_path(self.root), params={"$select": _ITEM_SELECT})
            self._remember(item)
            self._root_id = str(item["id"])
        return self._root_id

    async def _node(self, folder_id: str) -> _Node | None:
        if folder_id not in self._nodes:
            url = self._by_id(folder_id)
            response = await self.http.request(
                "GET", url, expect=(200, 404), params={"$select": _ITEM_SELECT}
            )
            if response.status_code == 404:
                return None
            item = response.json()
            self._remember(item)
            if folder_id not in self._nodes:  # not a folder after all
                return None
        return self._nodes[folder_id]

"""Google Drive (Drive API v3) as a source.

Drive is a graph of ids, not a tree of paths: a file names its parent folders by id, names need not be
unique, and the change feed (`changes.list`) reports the files of the whole drive without saying where
they are. So:
- the first sync takes the feed's start token *before* walking root's subtree folder by folder
  (`'<id>' in parents`), so whatever changes during a long walk is in the feed afterwards;
- later syncs read the feed from the saved token (no change: one request) and keep a change when walking
  its parents up (`files.get`, cached) reaches the configured root folder;
- Drive reports a moved or renamed folder, not the files below it, so such a folder (and one moved in from
  outside) is walked again and its videos come back with their new paths.
The cursor carries the feed token and the stack of folders being walked (each with the listing page it is
on and the last entry done), so an interrupted walk resumes where it stopped; it is JSON, a few hundred
characters for a normal tree. A cursor that would outgrow `MAX_CURSOR` (many folders reorganised at once)
is replaced by one that walks the whole root again, which re-offers known files but never loses any.

Quotas: Drive answers a spent per-user quota with 403 `userRateLimitExceeded`/`rateLimitExceeded` (and
sometimes 429), mostly without Retry-After, and asks for truncated exponential backoff; CloudHttp covers
429 and 503, the 403 form is handled here the same way.

Sign-in: the authorization-code flow with PKCE, `access_type=offline` (else Google issues no refresh
token) and `prompt=consent` (else a re-consent returns none either). Google does not rotate refresh
tokens: a refresh answer has no refresh_token and the stored one stays valid. Google's device flow is
declared too, but Google allows it only a few scopes (drive.file and drive.appdata, not drive.readonly),
so a device-code sign-in sees only files this app created: fine for tests, useless for camera uploads.
"""

from __future__ import annotations

import asyncio
import bisect
import json
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import httpx

from vtrack.devices.errors import DeviceError
from vtrack.sources.base import ChangePage, Folder, RateLimit, RemoteFile, is_video
from vtrack.sources.http import AccessTokens, CloudHttp, body_chunks, status_error
from vtrack.sources.oauth import OAuthEndpoints

DEFAULT_URLS: dict[str, str] = {
    "accounts": "https://accounts.google.com",  # the consent page
    "oauth2": "https://oauth2.googleapis.com",  # token and device-code endpoints
    "api": "https://www.googleapis.com",  # Drive API v3, metadata and downloads
}
SCOPE = "https://www.googleapis.com/auth/drive.readonly"
FOLDER = "application/vnd.google-apps.folder"
MAX_CURSOR = 4000
_FILE_FIELDS = "id,name,mimeType,size,createdTime,modifiedTime,md5Checksum,parents,trashed"
_CLOCK_MARGIN = timedelta(seconds=2)  # Date headers have whole seconds
_RATE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "RATE_LIMIT_EXCEEDED"})
_QUOTA_REASONS = frozenset({"dailyLimitExceeded", "downloadQuotaExceeded"})  # hours away: do not wait
_MAX_DEPTH = 64
_MAX_BACKOFF = 64.0  # seconds; Google's examples cap the backoff at 32 or 64
_JITTER = random.SystemRandom()


def oauth_endpoints(urls: Mapping[str, str] | None = None) -> OAuthEndpoints:
    """Google's endpoints. The device-code URL is real, but Google refuses drive.readonly there
    (`invalid_scope`; the device flow allows drive.file and drive.appdata only): offer the code flow."""
    base = {**DEFAULT_URLS, **(urls or {})}
    return OAuthEndpoints(
        authorize_url=f"{base['accounts'].rstrip('/')}/o/oauth2/v2/auth",
        token_url=f"{base['oauth2'].rstrip('/')}/token",
        scopes=(SCOPE,),
        device_code_url=f"{base['oauth2'].rstrip('/')}/device/code",
        authorize_params={"access_type": "offline", "prompt": "consent"},
    )


def _join(base: str, name: str) -> str:
    return f"{base}/{name}" if base else name


def _literal(value: str) -> str:
    """A string literal of Drive's query language."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _reason(response: httpx.Response) -> str:
    """Why Drive refused: errors[0].reason (v3's body) or the ErrorInfo reason of newer bodies."""
    try:
        error = response.json()["error"]
        errors = error.get("errors") or error.get("details") or [{}]
        return str(errors[0].get("reason", ""))
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return ""


@dataclass(frozen=True)
class _Item:
    id: str
    name: str
    mime: str
    parents: tuple[str, ...]
    size: int | None
    created: datetime | None
    modified: datetime | None
    md5: str | None
    trashed: bool

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> _Item:
        try:
            size, created, modified = data.get("size"), data.get("createdTime"), data.get("modifiedTime")
            return cls(
                id=str(data["id"]),
                name=str(data.get("name", "")),
                mime=str(data.get("mimeType", "")),
                parents=tuple(str(p) for p in data.get("parents") or ()),
                size=int(size) if size is not None else None,
                created=datetime.fromisoformat(str(created)) if created else None,
                modified=datetime.fromisoformat(str(modified)) if modified else None,
                md5=str(data["md5Checksum"]) if data.get("md5Checksum") else None,
                trashed=bool(data.get("trashed", False)),
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise DeviceError(f"Google Drive: unexpected file resource ({exc})", "protocol") from None

    @property
    def folder(self) -> bool:
        return self.mime == FOLDER

    @property
    def key(self) -> str:
        """A folder page is worked through in this order: files before folders, then by id (stable)."""
        return ("1" if self.folder else "0") + self.id


@dataclass
class _Frame:
    id: str  # a folder being walked
    path: str  # its path below root
    token: str = ""  # the listing page of it being worked on ("": the first)
    after: str = ""  # entries of that page up to this key are done


@dataclass
class _State:
    token: str  # where the change feed stands
    more: bool  # the feed has pages left after `token`
    stack: list[_Frame]
    at: float | None = None  # Drive's clock (POSIX seconds) when it gave `token`

    def encode(self) -> str:
        frames = [[f.id, f.path, f.token, f.after] for f in self.stack]
        state = {"v": 1, "t": self.token, "m": self.more, "a": self.at, "s": frames}
        return json.dumps(state, separators=(",", ":"))

    def new_since(self, folder: _Item) -> bool:
        """Created after `token` was given: all it holds arrived later, so the feed reports all of it."""
        return self.at is not None and folder.created is not None and folder.created.timestamp() > self.at

    @classmethod
    def decode(cls, cursor: str) -> _State:
        try:
            data = json.loads(cursor)
            if data.get("v") != 1:
                raise ValueError("unknown version")
            stack = [_Frame(str(i), str(p), str(t), str(a)) for i, p, t, a in data["s"]]
            at = float(data["a"]) if data.get("a") is not None else None
            return cls(str(data["t"]), bool(data["m"]), stack, at)
        except (ValueError, KeyError, TypeError, AttributeError):
            raise DeviceError("this is not a Google Drive cursor; sync from the start", "protocol") from None


class GoogleDriveConnector:
    # Drive's documented per-user quota is 12,000 queries a minute; stay far below it (other apps share it).
    rate_limit = RateLimit(requests_per_second=10.0, concurrent_downloads=4)

    def __init__(
        self,
        tokens: AccessTokens,
        *,
        root: str = "",
        urls: Mapping[str, str] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        attempts: int = 6,
        backoff_seconds: float = 1.0,
    ) -> None:
        """`root`: a folder id (what `list_folders` gives); "" or "root" is the whole of My Drive."""
        self.urls = {**DEFAULT_URLS, **(urls or {})}
        self.tokens = tokens
        self.root = "" if root.strip() in ("", "root") else root.strip()
        self.sleep = sleep
        self.attempts = attempts
        self.backoff_seconds = backoff_seconds
        self.where = "Google Drive"
        api = self.urls["api"].rstrip("/") + "/drive/v3"
        self.http = CloudHttp(
            api, where=self.where, rate=self.rate_limit, tokens=tokens, attempts=attempts, sleep=sleep
        )
        self._root_id: str | None = None
        self._folders: dict[str, _Item] = {}  # folder metadata seen or fetched
        self._paths: dict[str, str | None] = {}  # folder id -> path below root (None: not below it)
        self._pages: dict[tuple[str, str], tuple[list[_Item], str]] = {}  # pages being walked, by key

    @property
    def throttled(self) -> int:
        """Throttling answers waited out: 429/503 (CloudHttp) and Drive's 403 rate-limit form."""
        return self.http.throttled

    # -- HTTP --------------------------------------------------------------------------------------------

    @asynccontextmanager
    async def _stream(
        self, method: str, url: str, *, expect: Collection[int] = (200,), **kwargs: Any
    ) -> AsyncIterator[httpx.Response]:
        for attempt in range(self.attempts):
            async with self.http.stream(method, url, expect=(*expect, 403), **kwargs) as response:
                if response.status_code != 403:
                    yield response
                    return
                await response.aread()
                reason = _reason(response)
                if reason in _QUOTA_REASONS:
                    raise DeviceError(f"{self.where}: quota spent ({reason}), try again later", "throttled")
                if reason not in _RATE_REASONS:
                    raise status_error(response, self.where)
            if attempt == self.attempts - 1:
                break
            self.http.throttled += 1
            # Truncated exponential backoff with jitter, as Drive's documentation asks.
            delay = min(_MAX_BACKOFF, self.backoff_seconds * 2.0**attempt)
            await self.sleep(delay + _JITTER.random() * self.backoff_seconds)
        raise DeviceError(f"{self.where}: still rate limited after {self.attempts} attempts", "throttled")

    async def _json(self, url: str, params: Mapping[str, str]) -> dict[str, Any]:
        return (await self._dated(url, params))[0]

    async def _dated(self, url: str, params: Mapping[str, str]) -> tuple[dict[str, Any], float | None]:
        """The answer, and Drive's clock when it answered (its Date header, plus a margin), when it says."""
        async with self._stream("GET", url, params=dict(params)) as response:
            await response.aread()
            try:
                data = response.json()
            except ValueError:
                data = None
        if not isinstance(data, dict):
            raise DeviceError(f"{self.where}: the answer to {url} is not a JSON object", "protocol")
        try:
            at: float | None = (parsedate_to_datetime(response.headers["Date"]) + _CLOCK_MARGIN).timestamp()
        except (KeyError, TypeError, ValueError):
            at = None
        return data, at

    async def _file(self, file_id: str) -> _Item | None:
        try:
            data = await self._json(f"/files/{quote(file_id, safe='')}", {"fields": _FILE_FIELDS})
        except DeviceError as error:
            if error.kind == "not_found":
                return None
            raise
        return _Item.parse(data)

    # -- the account and its folders ------------------------------------------------------------------------

    async def account(self) -> str:
        user = (await self._json("/about", {"fields": "user"})).get("user") or {}
        who = user.get("emailAddress") or user.get("displayName") or user.get("permissionId")
        if not who:
            raise DeviceError(f"{self.where}: about.get named no user", "protocol")
        return str(who)

    async def refresh(self) -> None:
        await self.tokens.current()

    async def close(self) -> None:
        await self.http.close()

    async def _root(self) -> str:
        """The root folder's real id: parents name folders by id, never by the 'root' alias."""
        if self._root_id is None:
            item = await self._file(self.root or "root")
            if item is None:
                raise DeviceError(f"{self.where}: folder {self.root} does not exist", "not_found")
            if not item.folder or item.trashed:
                raise DeviceError(f"{self.where}: {self.root} is not a folder", "protocol")
            self._root_id = item.id
        return self._root_id

    async def _listing(self, folder_id: str, token: str, *, folders_only: bool = False) -> dict[str, Any]:
        query = f"{_literal(folder_id)} in parents and trashed = false"
        if folders_only:
            query += f" and mimeType = {_literal(FOLDER)}"
        params = {"q": query, "fields": f"nextPageToken,files({_FILE_FIELDS})", "pageSize": "1000"}
        if token:
            params["pageToken"] = token
        return await self._json("/files", params)

    async def list_folders(self, parent: str | None) -> list[Folder]:
        parent_id = parent or "root"
        base = "" if parent_id == "root" else await self._display_path(parent_id)
        found: list[Folder] = []
        token = ""
        while True:
            data = await self._listing(parent_id, token, folders_only=True)
            for raw in data.get("files") or []:
                item = _Item.parse(raw)
                self._folders[item.id] = item
                found.append(Folder(item.id, item.name, _join(base, item.name)))
            token = str(data.get("nextPageToken") or "")
            if not token:
                return sorted(found, key=lambda f: (f.name.lower(), f.id))

    async def _display_path(self, folder_id: str) -> str:
        """Where a folder is in My Drive: the names up to the parentless top, which is left out."""
        names: list[str] = []
        current = folder_id
        for _ in range(_MAX_DEPTH):
            folder = self._folders.get(current) or await self._file(current)
            if folder is None or not folder.parents:
                break
            self._folders[folder.id] = folder
            names.append(folder.name)
            current = folder.parents[0]
        return "/".join(reversed(names))

    async def _folder_path(self, folder_id: str, depth: int = 0) -> str | None:
        """A folder's path below root, by walking its parents up; None when it is not below root."""
        if folder_id == await self._root():
            return ""
        if folder_id in self._paths:
            return self._paths[folder_id]
        if depth > _MAX_DEPTH:
            return None
        folder = self._folders.get(folder_id) or await self._file(folder_id)
        path = None
        if folder is not None and folder.folder and not folder.trashed:
            self._folders[folder_id] = folder
            for parent in folder.parents:
                base = await self._folder_path(parent, depth + 1)
                if base is not None:
                    path = _join(base, folder.name)
                    break
        self._paths[folder_id] = path
        return path

    # -- changes -------------------------------------------------------------------------------------------

    async def changes(self, cursor: str | None, page_size: int = 1000) -> ChangePage:
        limit = max(1, min(page_size, 1000))
        if cursor:
            state = _State.decode(cursor)
        else:
            start, at = await self._dated("/changes/startPageToken", {})
            if not start.get("startPageToken"):
                raise DeviceError(f"{self.where}: no startPageToken in the answer", "protocol")
            state = _State(str(start["startPageToken"]), False, [_Frame(await self._root(), "")], at)
        found: dict[str, RemoteFile] = {}
        if state.stack:
            await self._walk(state, found, limit)
        else:
            await self._feed(state, found, limit)
        encoded = state.encode()
        if len(encoded) > MAX_CURSOR:
            if state.stack[0].path == "":  # already a walk from root: one chain of nested folders
                raise DeviceError(f"{self.where}: folders nested too deep to keep a sync cursor", "protocol")
            state.stack = [_Frame(await self._root(), "")]  # too much to remember: walk everything again
            encoded = state.encode()
        return ChangePage(list(found.values()), encoded, has_more=bool(state.stack) or state.more)

    def _remote(self, item: _Item, path: str) -> RemoteFile | None:
        # Google-native documents and shortcuts have no md5 or size: there are no bytes to download.
        if item.md5 is None or item.size is None or item.modified is None or item.folder:
            return None
        if not is_video(item.name, item.mime):
            return None
        return RemoteFile(item.id, path, item.size, item.modified, f"md5:{item.md5}", item.mime or None)

    async def _page(self, folder_id: str, token: str) -> tuple[list[_Item], str]:
        page = self._pages.get((folder_id, token))
        if page is None:
            data = await self._listing(folder_id, token)
            items = sorted((_Item.parse(raw) for raw in data.get("files") or []), key=lambda i: i.key)
            page = self._pages[(folder_id, token)] = (items, str(data.get("nextPageToken") or ""))
        return page

    async def _walk(self, state: _State, found: dict[str, RemoteFile], limit: int) -> None:
        while state.stack and len(found) < limit:
            frame = state.stack[-1]
            items, next_token = await self._page(frame.id, frame.token)
            at = bisect.bisect_right(items, frame.after, key=lambda i: i.key)
            if at == len(items):
                del self._pages[(frame.id, frame.token)]
                if next_token:
                    frame.token, frame.after = next_token, ""
                else:
                    state.stack.pop()
                continue
            item = items[at]
            frame.after = item.key
            path = _join(frame.path, item.name)
            if item.folder:
                self._folders[item.id] = item
                self._paths[item.id] = path
                state.stack.append(_Frame(item.id, path))
            elif (remote := self._remote(item, path)) is not None:
                found[item.id] = remote

    async def _feed(self, state: _State, found: dict[str, RemoteFile], limit: int) -> None:
        fields = f"nextPageToken,newStartPageToken,changes(fileId,removed,file({_FILE_FIELDS}))"
        params = {"pageToken": state.token, "pageSize": str(limit), "fields": fields}
        data, at = await self._dated("/changes", params)
        for change in data.get("changes") or []:
            await self._apply(change, state, found)
        state.at = at
        if data.get("nextPageToken"):
            state.token, state.more = str(data["nextPageToken"]), True
        elif data.get("newStartPageToken"):
            state.token, state.more = str(data["newStartPageToken"]), False
        else:
            raise DeviceError(f"{self.where}: a changes page without a next or new start token", "protocol")

    async def _apply(self, change: Mapping[str, Any], state: _State, found: dict[str, RemoteFile]) -> None:
        raw = change.get("file")
        if change.get("removed") or not isinstance(raw, dict):
            self._forget(str(change.get("fileId", "")))
            return
        item = _Item.parse(raw)
        if item.trashed:
            self._forget(item.id)
        elif item.folder:
            await self._folder_changed(item, state)
        elif (remote := self._remote(item, "")) is not None:
            for parent in item.parents:
                base = await self._folder_path(parent)
                if base is not None:
                    found[item.id] = replace(remote, path=_join(base, item.name))
                    return

    def _forget(self, item_id: str) -> None:
        if self._folders.pop(item_id, None) is not None:
            self._paths.clear()

    async def _folder_changed(self, item: _Item, state: _State) -> None:
        """A renamed or moved folder's files have new paths that Drive does not report: walk it again."""
        if item.id == await self._root():
            return
        known = self._folders.get(item.id)
        self._folders[item.id] = item
        if known is not None and (known.name, known.parents) == (item.name, item.parents):
            return  # e.g. its sharing or colour changed; what is below it stays where it was
        if known is None and state.new_since(item):
            return  # e.g. today's folder of a camera: its files are in the feed themselves
        self._paths.clear()
        path = await self._folder_path(item.id)
        if path is not None:
            state.stack.append(_Frame(item.id, path))

    # -- downloads ----------------------------------------------------------------------------------------

    async def open(self, file: RemoteFile, offset: int = 0) -> AsyncIterator[bytes]:
        if offset and offset >= file.size:
            return
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        url = f"/files/{quote(file.id, safe='')}"
        async with self._stream(
            "GET", url, params={"alt": "media"}, headers=headers, expect=(200, 206)
        ) as response:
            skip = offset if response.status_code == 200 else 0  # a server that ignored Range
            async for chunk in body_chunks(response, self.where):
                if skip >= len(chunk):
                    skip -= len(chunk)
                    continue
                yield chunk[skip:]
                skip = 0

"""Dropbox as a source, through its HTTP API v2 (https://www.dropbox.com/developers/documentation/http).

- Sign-in: OAuth 2 code flow with PKCE at {auth}/oauth2/authorize with `token_access_type=offline`, so the
  token answer at {api}/oauth2/token carries a refresh token; access tokens live four hours and are
  refreshed by `sources/oauth.py` (a 401 `expired_access_token` triggers one refresh, via `CloudHttp`).
- Changes: `files/list_folder` (recursive, below the source's root folder; "" is the whole Dropbox) lists
  everything once, a page of `limit` entries at a time; its cursor then goes to
  `files/list_folder/continue`, which answers only what changed since. A no-change re-sync is one request.
  Dropbox may reset a cursor (409 `reset`): the listing starts again from the beginning, which offers
  files already archived again; the sync engine knows them by id and content hash.
- Entries are tagged `file`, `folder` or `deleted`; only downloadable video files become `RemoteFile`s.
  A file's id ("id:...") survives moves and renames, and a move reaches the change feed as a `deleted`
  entry at the old path plus a `file` entry, with the same id, at the new one.
- Bytes: `files/download` on the content host, the argument as JSON in the `Dropbox-API-Arg` header
  (ASCII only: everything else is \\u-escaped), the file's metadata in the `Dropbox-API-Result` answer
  header, and `Range: bytes=N-` to resume. Its `content_hash` is compared with the listed one, so bytes of
  a newer version are never spliced onto an older one, and a whole download is checked against it
  (`sources/dropbox_hash.py`). RemoteFile.content_hash is "dropbox:<hex>", naming its algorithm.
- The root is a path ("" or "/" for the whole Dropbox, which list_folder wants as ""); RemoteFile.path
  and the folder picker's Folder.id are paths too, so a saved root reads as what the user picked.
- Errors: route errors are 409 with a JSON body whose `error_summary` is only good for prefix matching
  (Dropbox pads it with dots); lookups that fail (`path/not_found`, `path/not_folder`, ...) are
  `not_found`. 429 (`too_many_requests`, `too_many_write_operations`) always carries Retry-After, which
  `CloudHttp` waits out. Dropbox publishes no per-app request rate, so the declared one is conservative.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from vtrack.devices.errors import DeviceError
from vtrack.sources.base import ChangePage, Folder, RateLimit, RemoteFile, is_video
from vtrack.sources.dropbox_hash import DropboxContentHasher
from vtrack.sources.http import AccessTokens, CloudHttp, body_chunks
from vtrack.sources.oauth import OAuthEndpoints

log = logging.getLogger(__name__)

DEFAULT_URLS: dict[str, str] = {
    "auth": "https://www.dropbox.com",  # the authorize page the user's browser opens
    "api": "https://api.dropboxapi.com",  # RPC routes and /oauth2/token
    "content": "https://content.dropboxapi.com",  # downloads
}
# Read-only: list, download, and the account's name for the sources page.
SCOPES = ("account_info.read", "files.metadata.read", "files.content.read")
MAX_LIMIT = 2000  # ListFolderArg.limit is UInt32(min_value=1, max_value=2000)
WHERE = "Dropbox"
HASH_PREFIX = "dropbox:"  # RemoteFile.content_hash names its algorithm, so hashes of other kinds never match
# LookupError tags that say the path is not (or no longer) something that can be listed or downloaded.
_LOOKUP_GONE = frozenset(
    "not_found not_file not_folder malformed_path restricted_content unsupported_content_type".split()
)


def _urls(urls: Mapping[str, str] | None) -> dict[str, str]:
    merged = {**DEFAULT_URLS, **(urls or {})}
    return {key: value.rstrip("/") for key, value in merged.items()}


def oauth_endpoints(urls: Mapping[str, str] | None = None) -> OAuthEndpoints:
    """Authorize on the web host, tokens from the API host; `offline` is what brings a refresh token."""
    merged = _urls(urls)
    return OAuthEndpoints(
        authorize_url=f"{merged['auth']}/oauth2/authorize",
        token_url=f"{merged['api']}/oauth2/token",
        scopes=SCOPES,
        authorize_params={"token_access_type": "offline"},
    )


def api_arg(value: dict[str, Any]) -> str:
    """JSON for the Dropbox-API-Arg header: HTTP headers carry ASCII, so non-ASCII and 0x7F are escaped."""
    return json.dumps(value, ensure_ascii=True, separators=(",", ":")).replace("\x7f", "\\u007f")


def folder_path(path: str | None) -> str:
    """A path as list_folder wants it: "" for the root (Dropbox refuses "/"), else "/a/b", no trailing "/"."""
    path = (path or "").strip()
    parts = [part for part in path.split("/") if part]
    return "/" + "/".join(parts) if parts else ""


class DropboxError(DeviceError):
    """A route error Dropbox answered (409): `tags` is its error union's path, e.g. ["path", "not_found"]."""

    def __init__(self, message: str, kind: str, tags: list[str]) -> None:
        super().__init__(message, kind)
        self.tags = tags


def error_tags(body: Any) -> list[str]:
    """The chain of `.tag`s of an error body; from `error_summary` when the structured error is missing."""
    if not isinstance(body, dict):
        return []
    tags: list[str] = []
    node = body.get("error")
    while isinstance(node, dict) and isinstance(node.get(".tag"), str):
        tag = node[".tag"]
        tags.append(tag)
        node = node.get(tag)
    if tags:
        return tags
    summary = body.get("error_summary")
    if not isinstance(summary, str):
        return []
    # "path/not_found/.." : the trailing dots (any number of them) are padding, never a tag.
    return [part for part in summary.split("/") if part.strip(".")]


def route_error(response: httpx.Response, what: str) -> DropboxError:
    try:
        body = response.json()
    except ValueError:
        body = None
    tags = error_tags(body)
    summary = body.get("error_summary") if isinstance(body, dict) else None
    detail = summary if isinstance(summary, str) and summary else "/".join(tags) or response.text[:200]
    if len(tags) >= 2 and tags[0] in {"path", "path_lookup"} and tags[1] in _LOOKUP_GONE:
        return DropboxError(f"{WHERE}: {what}: {detail}", "not_found", tags)
    return DropboxError(f"{WHERE}: {what}: {detail}", "protocol", tags)


def _hex(content_hash: str | None) -> str | None:
    """The Dropbox hash inside a RemoteFile's content_hash; None when it holds none (or another kind)."""
    if content_hash and content_hash.startswith(HASH_PREFIX):
        return content_hash.removeprefix(HASH_PREFIX)
    return None


def _when(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"not a timestamp: {value!r}")
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


class DropboxConnector:
    # Dropbox publishes no per-app rate; its 429s come with Retry-After. Ten a second and four downloads at a
    # time stay clear of them for one account.
    rate_limit = RateLimit(requests_per_second=10.0, concurrent_downloads=4)

    def __init__(
        self,
        tokens: AccessTokens,
        *,
        root: str = "",
        urls: Mapping[str, str] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.tokens = tokens
        self.root = folder_path(root)
        self._root_parts = len([part for part in self.root.split("/") if part])
        self.urls = _urls(urls)
        self.download_url = f"{self.urls['content']}/2/files/download"
        # One client and one pacer for both hosts: Dropbox counts an account's requests together.
        self.http = CloudHttp(self.urls["api"], where=WHERE, rate=self.rate_limit, tokens=tokens, sleep=sleep)

    # -- the connector interface ---------------------------------------------------------------------

    async def changes(self, cursor: str | None, page_size: int = 1000) -> ChangePage:
        """A page of what changed since `cursor` (None: everything below the root).

        `page_size` applies to a fresh listing; a cursor keeps the limit of the listing it came from."""
        if not cursor:
            return self._page(await self._list(page_size))
        try:
            data = await self._rpc("files/list_folder/continue", {"cursor": cursor}, self._root_label)
        except DropboxError as error:
            if error.tags[:1] != ["reset"]:
                raise
            log.warning(
                "Dropbox reset the change cursor of %s; listing it again from the start", self._root_label
            )
            data = await self._list(page_size)
        return self._page(data)

    async def open(self, file: RemoteFile, offset: int = 0) -> AsyncIterator[bytes]:
        if offset >= file.size:
            return  # nothing left to read (an empty file, or a download that had finished)
        headers = {"Dropbox-API-Arg": api_arg({"path": file.id})}
        if offset:
            headers["Range"] = f"bytes={offset}-"
        what = f"file {file.path}"
        async with self.http.stream(
            "POST", self.download_url, expect=(200, 206, 409), headers=headers
        ) as response:
            if response.status_code == 409:
                await response.aread()
                raise route_error(response, what)
            self._check_version(response, file)
            skip = offset if response.status_code == 200 else self._check_range(response, offset, what)
            expected = _hex(file.content_hash)
            hasher = DropboxContentHasher() if offset == 0 and expected else None
            async for chunk in body_chunks(response, f"{WHERE}: {what}"):
                if skip:  # a 200 to a Range request: the whole file came, and its head is already here
                    if len(chunk) <= skip:
                        skip -= len(chunk)
                        continue
                    chunk, skip = chunk[skip:], 0
                if hasher is not None:
                    hasher.update(chunk)
                yield chunk
            if hasher is not None and hasher.hexdigest() != expected:
                raise DeviceError(f"{WHERE}: {what} arrived with a different content hash", "protocol")

    async def refresh(self) -> None:
        await self.tokens.current()  # renews the access token when it is about to expire

    async def close(self) -> None:
        await self.http.close()

    # -- beyond the interface: the folder picker, the account, "from now on" -------------------------

    async def list_folders(self, parent: str | None) -> list[Folder]:
        """The folders directly inside `parent` (None or "": the Dropbox's root), by name."""
        path = folder_path(parent)
        what = f"folder {path or '/'}"
        arg = {**self._list_arg(MAX_LIMIT), "path": path, "recursive": False}
        data = await self._rpc("files/list_folder", arg, what)
        folders: list[Folder] = []
        while True:
            for entry in self._entries(data):
                lower, name = entry.get("path_lower"), entry.get("name")
                if entry.get(".tag") == "folder" and isinstance(lower, str) and isinstance(name, str):
                    shown = entry.get("path_display")
                    folders.append(
                        Folder(id=lower, name=name, path=shown if isinstance(shown, str) else lower)
                    )
            if not data.get("has_more"):
                return sorted(folders, key=lambda f: f.name.casefold())
            data = await self._rpc("files/list_folder/continue", {"cursor": self._cursor(data)}, what)

    async def account(self) -> str:
        """The connection test: the account's e-mail (else its name, else its id)."""
        data = await self._rpc("users/get_current_account", None, "the account")
        name = data.get("name")
        display = name.get("display_name") if isinstance(name, dict) else None
        for label in (data.get("email"), display, data.get("account_id")):
            if isinstance(label, str) and label:
                return label
        raise DeviceError(f"{WHERE}: the account answer names no account", "protocol")

    async def latest_cursor(self, page_size: int = 1000) -> str:
        """A cursor that skips everything already below the root: a sync of only what arrives from now."""
        data = await self._rpc(
            "files/list_folder/get_latest_cursor", self._list_arg(page_size), self._root_label
        )
        return self._cursor(data)

    # -- internals -----------------------------------------------------------------------------------

    @property
    def _root_label(self) -> str:
        return f"folder {self.root or '/'}"

    def _list_arg(self, page_size: int) -> dict[str, Any]:
        return {
            "path": self.root,
            "recursive": True,
            "include_deleted": False,
            "include_non_downloadable_files": False,
            "limit": max(1, min(MAX_LIMIT, page_size)),
        }

    async def _list(self, page_size: int) -> dict[str, Any]:
        return await self._rpc("files/list_folder", self._list_arg(page_size), self._root_label)

    async def _rpc(self, route: str, arg: dict[str, Any] | None, what: str) -> dict[str, Any]:
        """POST JSON to an RPC route on the API host; a 409 becomes a DropboxError."""
        if arg is None:  # routes without an argument take the JSON `null`, as Dropbox's SDKs send
            kwargs: dict[str, Any] = {"content": b"null", "headers": {"Content-Type": "application/json"}}
        else:
            kwargs = {"json": arg}
        response = await self.http.request("POST", f"/2/{route}", expect=(200, 409), **kwargs)
        if response.status_code == 409:
            raise route_error(response, what)
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise DeviceError(f"{WHERE}: the answer to {route} is not a JSON object", "protocol")
        return data

    @staticmethod
    def _entries(data: dict[str, Any]) -> list[dict[str, Any]]:
        entries = data.get("entries")
        if not isinstance(entries, list):
            raise DeviceError(f"{WHERE}: a listing without entries", "protocol")
        return [entry for entry in entries if isinstance(entry, dict)]

    @staticmethod
    def _cursor(data: dict[str, Any]) -> str:
        cursor = data.get("cursor")
        if not isinstance(cursor, str) or not cursor:
            raise DeviceError(f"{WHERE}: a listing without a cursor", "protocol")
        return cursor

    def _page(self, data: dict[str, Any]) -> ChangePage:
        files = []
        for entry in self._entries(data):
            if entry.get(".tag") != "file" or entry.get("is_downloadable") is False:
                continue  # folders, deleted entries (the archive keeps its copies), Google Docs and such
            if not is_video(str(entry.get("name", ""))):
                continue
            try:
                files.append(self._remote_file(entry))
            except (KeyError, TypeError, ValueError) as exc:
                raise DeviceError(f"{WHERE}: a file entry it could not read ({exc})", "protocol") from None
        return ChangePage(files, self._cursor(data), has_more=bool(data.get("has_more")))

    def _remote_file(self, entry: dict[str, Any]) -> RemoteFile:
        shown = str(entry.get("path_display") or entry.get("path_lower") or entry["name"])
        # Below the root by components: path_display's casing of parent folders is not guaranteed to match
        # the root as the user typed it, and lower-casing can change a name's length.
        relative = "/".join([part for part in shown.split("/") if part][self._root_parts :])
        hash_ = entry.get("content_hash")
        return RemoteFile(
            id=str(entry["id"]),
            path=relative or str(entry["name"]),
            size=int(entry["size"]),
            modified=_when(entry["server_modified"]),
            content_hash=f"{HASH_PREFIX}{hash_}" if isinstance(hash_, str) and hash_ else None,
        )

    @staticmethod
    def _check_version(response: httpx.Response, file: RemoteFile) -> None:
        """Refuse bytes of a version other than the listed one (it changed since; the feed offers it anew)."""
        raw = response.headers.get("Dropbox-API-Result")
        try:
            result = json.loads(raw) if raw else None
        except ValueError:
            result = None
        if not isinstance(result, dict):
            raise DeviceError(f"{WHERE}: a download without its Dropbox-API-Result metadata", "protocol")
        listed, now = _hex(file.content_hash), result.get("content_hash")
        if listed and isinstance(now, str) and now != listed:
            raise DeviceError(
                f"{WHERE}: file {file.path} changed after it was listed; the next sync offers the new one",
                "not_found",
            )

    @staticmethod
    def _check_range(response: httpx.Response, offset: int, what: str) -> int:
        """A 206 must start where asked; returns the bytes to skip (none)."""
        content_range = response.headers.get("Content-Range", "")
        unit, _, spec = content_range.partition(" ")
        start = spec.split("-", 1)[0]
        if unit != "bytes" or not start.isdigit() or int(start) != offset:
            raise DeviceError(f"{WHERE}: {what}: asked from byte {offset}, got {content_range!r}", "protocol")
        return 0

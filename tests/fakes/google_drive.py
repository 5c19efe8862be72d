"""A loopback fake of Google Drive API v3 and Google's OAuth endpoints, with Google's paths and bodies.

- OAuth (the shared `AuthorizationServer`, on Google's paths): GET /o/oauth2/v2/auth, POST /token (a
  refresh answer carries no refresh_token: Google does not rotate them), POST /device/code (answering
  `verification_url`, Google's name for RFC 8628's verification_uri).
- Drive (/drive/v3, bearer token on every call): about (the `fields` parameter is required, as Google
  requires it), files.list with the query terms the connector uses (`'<id>' in parents`, `trashed = ..`,
  `mimeType = / != '..'`; anything else is 400 "Invalid Value"), files.get (metadata, or `alt=media` bytes
  with one Range answered 206 + Content-Range; Google-native documents are 403 `fileNotDownloadable`),
  changes.getStartPageToken and changes.list (numeric tokens; the latest state of each file changed since
  the token, `nextPageToken` while paging, `newStartPageToken` at the end).
- Partial responses: `fields` selects what comes back (`a,b(c,d)`); without it a file is only
  kind/id/name/mimeType, as Drive v3 answers, so a connector that forgets to ask for size fails.
- Errors with Google's JSON: 401 UNAUTHENTICATED/authError (+ WWW-Authenticate), 404 notFound, 400
  invalid, and throttling as 429 `rateLimitExceeded` or 403 `userRateLimitExceeded`/`rateLimitExceeded`
  (domain usageLimits), without Retry-After unless asked, as Google mostly sends none.
- `page_size` caps every page (Drive may return fewer than pageSize), so small values make tests page.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import re
import secrets
from base64 import urlsafe_b64decode, urlsafe_b64encode
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

from aiohttp import web

from tests.fakes.oauth import AuthorizationServer, serve

FOLDER = "application/vnd.google-apps.folder"
DOCUMENT = "application/vnd.google-apps.document"
FILE_KEYS = frozenset(
    {
        "kind",
        "id",
        "name",
        "mimeType",
        "parents",
        "size",
        "md5Checksum",
        "createdTime",
        "modifiedTime",
        "trashed",
    }
)
DEFAULT_FILE: dict[str, Any] = {"kind": {}, "id": {}, "name": {}, "mimeType": {}}
UNAUTHENTICATED = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other "
    "valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project."
)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def new_id() -> str:
    return "1" + secrets.token_urlsafe(24)[:32]


def google_error(
    status: int, message: str, reason: str, *, domain: str = "global", location: str | None = None
) -> web.Response:
    detail: dict[str, str] = {"domain": domain, "reason": reason, "message": message}
    if location:
        detail |= {"locationType": "header" if location == "Authorization" else "parameter"}
        detail["location"] = location
    body: dict[str, Any] = {"code": status, "message": message, "errors": [detail]}
    names = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED"}
    if status in names:
        body["status"] = names[status]
    return web.json_response({"error": body}, status=status)


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse_fields(spec: str) -> dict[str, Any]:
    """Google's partial-response selector, `a,b(c,d)`, as a tree of names (an empty node: all of it)."""
    tree: dict[str, Any] = {}
    stack, name = [tree], ""
    for char in spec + ",":
        if char == "(":
            stack.append(stack[-1].setdefault(name.strip(), {}))
            name = ""
        elif char in ",)":
            if name.strip():
                stack[-1].setdefault(name.strip(), {})
            name = ""
            if char == ")":
                stack.pop()
        else:
            name += char
    return tree


def select(value: Any, tree: dict[str, Any]) -> Any:
    if not tree or "*" in tree:
        return value
    if isinstance(value, list):
        return [select(v, tree) for v in value]
    if isinstance(value, dict):
        return {k: select(value[k], sub) for k, sub in tree.items() if k in value}
    return value


@dataclass
class Item:
    id: str
    name: str
    mime_type: str
    parents: list[str]
    data: bytes | None = None  # None: a folder or a Google-native document, nothing to download
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    modified: datetime = field(default_factory=lambda: datetime.now(UTC))
    trashed: bool = False

    def resource(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": "drive#file",
            "id": self.id,
            "name": self.name,
            "mimeType": self.mime_type,
            "parents": list(self.parents),
            "trashed": self.trashed,
            "createdTime": rfc3339(self.created),
            "modifiedTime": rfc3339(self.modified),
        }
        if self.data is not None:
            out["size"] = str(len(self.data))  # int64 travels as a string in Google's JSON
            out["md5Checksum"] = hashlib.md5(self.data, usedforsecurity=False).hexdigest()
        return out


class FakeGoogleDrive:
    def __init__(self, *, page_size: int = 100) -> None:
        self.page_size = page_size
        self.auth = AuthorizationServer()
        self.auth.account = "camera.owner@example.com"
        self.root_id = "0A" + secrets.token_urlsafe(16)[:18] + "Uk9PVA"
        self.items: dict[str, Item] = {self.root_id: Item(self.root_id, "My Drive", FOLDER, [])}
        self.log: list[tuple[int, str]] = []  # (change number, item id)
        self.requests: list[str] = []  # "GET /drive/v3/files?pageToken=..." for each API call
        self.ranges: list[str] = []  # Range headers of downloads
        self.authorize_queries: list[dict[str, str]] = []
        self._throttles: list[tuple[int, str, int | None]] = []
        self._runner: web.AppRunner | None = None
        self.urls: dict[str, str] = {}
        self.skew = timedelta(0)

    async def __aenter__(self) -> FakeGoogleDrive:
        app = web.Application(middlewares=[self._gate])
        app.add_routes(
            [
                web.get("/o/oauth2/v2/auth", self._authorize),
                web.post("/token", self.auth.token),
                web.post("/device/code", self._device_code),
                web.get("/drive/v3/about", self._about),
                web.get("/drive/v3/files", self._list),
                web.get("/drive/v3/files/{id}", self._get),
                web.get("/drive/v3/changes/startPageToken", self._start_token),
                web.get("/drive/v3/changes", self._changes),
            ]
        )
        self._runner, base = await serve(app)
        self.urls = {"accounts": base, "oauth2": base, "api": base}
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # -- what tests call -----------------------------------------------------------------------------------

    def now(self) -> datetime:
        """Google's clock: items' times and the Date header of Drive's answers; tests move it on."""
        return datetime.now(UTC) + self.skew

    def advance(self, seconds: float) -> None:
        self.skew += timedelta(seconds=seconds)

    def count(self, prefix: str) -> int:
        return sum(1 for r in self.requests if r.startswith(prefix))

    def throttle(
        self,
        n: int,
        *,
        status: int = 429,
        reason: str = "rateLimitExceeded",
        retry_after: int | None = None,
    ) -> None:
        """The next `n` API calls are refused as Google refuses a spent quota (403 or 429)."""
        self._throttles += [(status, reason, retry_after)] * n

    def _changed(self, item: Item) -> None:
        self.log.append((len(self.log) + 1, item.id))

    def folder(self, path: str) -> str:
        """The id of the folder at `path` ("": the root), created with its parents where missing."""
        current = self.root_id
        for name in [p for p in path.split("/") if p]:
            child = next(
                (i for i in self.children(current) if i.name == name and i.mime_type == FOLDER), None
            )
            if child is None:
                child = Item(new_id(), name, FOLDER, [current], created=self.now(), modified=self.now())
                self.items[child.id] = child
                self._changed(child)
            current = child.id
        return current

    def children(self, folder_id: str) -> list[Item]:
        return [i for i in self.items.values() if folder_id in i.parents]

    def add_file(
        self, path: str, data: bytes | None, *, modified: datetime | None = None, mime_type: str | None = None
    ) -> str:
        folder, _, name = path.rpartition("/")
        guessed = mimetypes.guess_type(name)[0] or "application/octet-stream"
        item = Item(new_id(), name, mime_type or guessed, [self.folder(folder)], data, self.now(), self.now())
        if modified is not None:
            item.modified = modified
        self.items[item.id] = item
        self._changed(item)
        return item.id

    def add_document(self, path: str) -> str:
        """A Google Doc: no size, no md5Checksum, not downloadable."""
        return self.add_file(path, None, mime_type=DOCUMENT)

    def modify(self, item_id: str, data: bytes) -> None:
        item = self.items[item_id]
        item.data, item.modified = data, self.now()
        self._changed(item)

    def move(self, item_id: str, path: str) -> None:
        """Move and/or rename a file or a folder; Drive reports only the item itself as changed."""
        folder, _, name = path.rpartition("/")
        item = self.items[item_id]
        item.parents, item.name = [self.folder(folder)], name
        self._changed(item)

    def trash(self, item_id: str) -> None:
        self.items[item_id].trashed = True
        self._changed(self.items[item_id])

    def delete(self, item_id: str) -> None:
        self.log.append((len(self.log) + 1, self.items.pop(item_id).id))

    # -- OAuth on Google's paths ---------------------------------------------------------------------------

    async def _authorize(self, request: web.Request) -> web.Response:
        self.authorize_queries.append(dict(request.query))
        return await self.auth.authorize(request)

    async def _device_code(self, request: web.Request) -> web.Response:
        answer = await self.auth.device_authorization(request)
        if answer.status != 200 or answer.text is None:
            return answer
        data = json.loads(answer.text)
        data["verification_url"] = data.pop("verification_uri")
        return web.json_response(data)

    # -- Drive ---------------------------------------------------------------------------------------------

    @web.middleware
    async def _gate(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith("/drive/v3/"):
            return await handler(request)
        self.requests.append(request.path_qs)
        if self.auth.bearer(request) is None:
            response = google_error(401, UNAUTHENTICATED, "authError", location="Authorization")
            response.headers["WWW-Authenticate"] = (
                'Bearer realm="https://accounts.google.com/", error="invalid_token"'
            )
            return response
        if self._throttles:
            status, reason, retry_after = self._throttles.pop(0)
            message = (
                "User Rate Limit Exceeded" if reason == "userRateLimitExceeded" else "Rate Limit Exceeded"
            )
            response = google_error(status, message, reason, domain="usageLimits")
            if retry_after is not None:
                response.headers["Retry-After"] = str(retry_after)
            return response
        answer = await handler(request)
        answer.headers["Date"] = format_datetime(self.now(), usegmt=True)
        return answer

    def _item(self, item_id: str) -> Item | None:
        return self.items.get(self.root_id if item_id == "root" else item_id)

    def _file_fields(self, request: web.Request, container: str | None) -> dict[str, Any] | web.Response:
        """The selector for the file resources inside `container`, checked against the fields files have."""
        spec = request.query.get("fields")
        if not spec:
            return DEFAULT_FILE
        tree = parse_fields(spec)
        for step in container.split(".") if container else []:
            tree = tree.get(step, {})
        unknown = set(tree) - FILE_KEYS - {"*"}
        if unknown:
            message = f"Invalid field selection {sorted(unknown)[0]}"
            return google_error(400, message, "invalidParameter", location="fields")
        return tree

    async def _about(self, request: web.Request) -> web.Response:
        if not request.query.get("fields"):
            message = "The 'fields' parameter is required for this method."
            return google_error(400, message, "required", location="fields")
        user = {
            "kind": "drive#user",
            "displayName": "Camera Owner",
            "me": True,
            "permissionId": "01234567890123456789",
            "emailAddress": self.auth.account,
        }
        return web.json_response(
            select({"kind": "drive#about", "user": user}, parse_fields(request.query["fields"]))
        )

    def _matcher(self, query: str) -> Callable[[Item], bool] | None:
        """The query terms the connector sends, joined by `and`; None for anything else (Drive: 400)."""
        parents: list[str | None] = []
        trashed: list[bool] = []
        mime_types: list[tuple[bool, str]] = []
        for term in re.split(r"\s+and\s+", query.strip(), flags=re.IGNORECASE):
            if m := re.fullmatch(r"'((?:[^'\\]|\\.)+)'\s+in\s+parents", term):
                parent = self._item(m[1].replace("\\'", "'"))
                parents.append(parent.id if parent else None)
            elif m := re.fullmatch(r"trashed\s*=\s*(true|false)", term):
                trashed.append(m[1] == "true")
            elif m := re.fullmatch(r"mimeType\s*(=|!=)\s*'([^']*)'", term):
                mime_types.append((m[1] == "=", m[2]))
            else:
                return None

        def matches(item: Item) -> bool:
            return (
                all(p is not None and p in item.parents for p in parents)
                and all(item.trashed == t for t in trashed)
                and all((item.mime_type == value) == equal for equal, value in mime_types)
            )

        return matches

    def _page_size(self, request: web.Request, default: int) -> int | None:
        try:
            asked = int(request.query.get("pageSize", default))
        except ValueError:
            return None
        return min(asked, self.page_size) if 1 <= asked <= 1000 else None

    async def _list(self, request: web.Request) -> web.Response:
        matches = self._matcher(request.query.get("q", ""))
        size = self._page_size(request, 100)
        wanted = self._file_fields(request, "files")
        if isinstance(wanted, web.Response):
            return wanted
        if matches is None or size is None:
            return google_error(
                400, "Invalid Value", "invalid", location="q" if matches is None else "pageSize"
            )
        start = 0
        if token := request.query.get("pageToken"):
            try:
                state = json.loads(urlsafe_b64decode(token))
                start = int(state["o"]) if state["q"] == request.query.get("q", "") else -1
            except (ValueError, KeyError, TypeError):
                start = -1
            if start < 0:
                return google_error(400, "Invalid Value", "invalid", location="pageToken")
        found = [i for i in self.items.values() if i.id != self.root_id and matches(i)]
        page = found[start : start + size]
        answer: dict[str, Any] = {"kind": "drive#fileList", "incompleteSearch": False}
        answer["files"] = [select(i.resource(), wanted) for i in page]
        if start + size < len(found):
            state = {"q": request.query.get("q", ""), "o": start + size}
            answer["nextPageToken"] = "~!!~" + urlsafe_b64encode(json.dumps(state).encode()).decode()
        return web.json_response(select(answer, parse_fields(request.query.get("fields", ""))))

    async def _get(self, request: web.Request) -> web.StreamResponse:
        item_id = request.match_info["id"]
        item = self._item(item_id)
        if item is None:
            message = f"File not found: {item_id}."
            return google_error(404, message, "notFound", location="fileId")
        if request.query.get("alt") == "media":
            return self._download(request, item)
        wanted = self._file_fields(request, None)
        if isinstance(wanted, web.Response):
            return wanted
        return web.json_response(select(item.resource(), wanted))

    def _download(self, request: web.Request, item: Item) -> web.Response:
        if item.data is None:
            message = "Only files with binary content can be downloaded. Use Export with Docs Editors files."
            return google_error(403, message, "fileNotDownloadable", location="alt")
        data, header = item.data, request.headers.get("Range")
        if header is None:
            return web.Response(body=data, content_type="application/octet-stream")
        self.ranges.append(header)
        m = re.fullmatch(r"bytes=(\d+)-(\d*)", header)
        if m is None or int(m[1]) >= len(data):
            return web.Response(status=416, headers={"Content-Range": f"bytes */{len(data)}"})
        first = int(m[1])
        last = min(int(m[2]), len(data) - 1) if m[2] else len(data) - 1
        headers = {"Content-Range": f"bytes {first}-{last}/{len(data)}"}
        return web.Response(status=206, body=data[first : last + 1], headers=headers)

    async def _start_token(self, request: web.Request) -> web.Response:
        answer = {"kind": "drive#startPageToken", "startPageToken": str(len(self.log) + 1)}
        return web.json_response(select(answer, parse_fields(request.query.get("fields", ""))))

    async def _changes(self, request: web.Request) -> web.Response:
        token, size = request.query.get("pageToken", ""), self._page_size(request, 100)
        wanted = self._file_fields(request, "changes.file")
        if isinstance(wanted, web.Response):
            return wanted
        if not token.isdigit() or not 1 <= int(token) <= len(self.log) + 1 or size is None:
            return google_error(400, "Invalid Value", "invalid", location="pageToken" if size else "pageSize")
        latest: dict[str, int] = {}
        for number, item_id in self.log[int(token) - 1 :]:
            latest[item_id] = number  # a file changed twice is reported once, at its latest change
        ordered = sorted(latest.items(), key=lambda pair: pair[1])
        changes = []
        for item_id, _number in ordered[:size]:
            item = self.items.get(item_id)
            change: dict[str, Any] = {"kind": "drive#change", "changeType": "file", "fileId": item_id}
            change |= {"removed": item is None, "time": rfc3339(self.now())}
            if item is not None:
                change["file"] = select(item.resource(), wanted)
            changes.append(change)
        answer: dict[str, Any] = {"kind": "drive#changeList", "changes": changes}
        if len(ordered) > size:
            answer["nextPageToken"] = str(ordered[size][1])
        else:
            answer["newStartPageToken"] = str(len(self.log) + 1)
        return web.json_response(select(answer, parse_fields(request.query.get("fields", ""))))

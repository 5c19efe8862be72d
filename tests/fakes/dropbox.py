"""A loopback fake of Dropbox's HTTP API v2: its three hosts, its cursors, its error bodies, its hash.

Three servers, as Dropbox has three hosts, so a request sent to the wrong one fails as it would:
- auth (www.dropbox.com): /oauth2/authorize (the shared `AuthorizationServer`); a code granted without
  `token_access_type=offline` exchanges for an access token only, no refresh token, as Dropbox does;
- api (api.dropboxapi.com): /oauth2/token and the RPC routes files/list_folder, list_folder/continue,
  list_folder/get_latest_cursor and users/get_current_account: POST, `Content-Type: application/json`,
  arguments checked field by field (an unknown field, "/" for the root or a limit outside 1..2000 is a 400);
- content (content.dropboxapi.com): files/download, argument in `Dropbox-API-Arg` (ASCII only), metadata in
  `Dropbox-API-Result`, one byte range answered with 206.

Listing: list_folder snapshots what is below the path now (recursive listings include the folder itself,
as Dropbox's do) and pages it `limit` entries at a time; from then on the cursor stands at a point of the
change log, and continue answers the latest state of each path changed since: `file`, `folder`, or
`deleted` (a move is a deletion at the old path and the same id at the new one). Cursors are opaque and
kept here; `reset_cursors()` makes every earlier one answer 409 `reset`.

Errors carry Dropbox's bodies: 401 `expired_access_token` / `invalid_access_token`, 409 `path/not_found`
and friends, 429 with Retry-After and a `too_many_requests` / `too_many_write_operations` reason. Each
`error_summary` is padded with a varying number of dots, as Dropbox's are, so only a prefix match works.

`content_hash` is computed here from the bytes, independently of vtrack's own implementation.

Tests drive it with `add_file` / `mkdir` / `move` / `delete`, `large_folder` (thousands of entries in a
blink), and one switch per failure: `throttle`, `reset_cursors`, `expire_tokens`, `cut_next_download`,
`corrupt_next_download`, `ignore_range`, `page_limit` (pages smaller than asked: `limit` is approximate).
`requests` and `page_sizes` count what the connector asked.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiohttp import web

from tests.fakes.oauth import AuthorizationServer, serve

BLOCK = 4 * 1024 * 1024
MAX_LIMIT = 2000
# ListFolderArg as files.stone declares it; Dropbox refuses a field it does not know.
LIST_FOLDER_FIELDS = frozenset(
    "path recursive include_media_info include_deleted include_has_explicit_shared_members limit"
    " include_mounted_folders shared_link include_property_groups include_non_downloadable_files".split()
)
# What a content-download route accepts as Content-Type (none at all is fine too).
DOWNLOAD_CONTENT_TYPES = frozenset(
    {"", "text/plain", "text/plain; charset=utf-8", "application/octet-stream"}
    | {"application/octet-stream; charset=utf-8"}
)


def dropbox_content_hash(data: bytes) -> str:
    """SHA-256 of the concatenated SHA-256 digests of each 4 MiB block (no blocks: SHA-256 of nothing)."""
    digests = b"".join(hashlib.sha256(data[at : at + BLOCK]).digest() for at in range(0, len(data), BLOCK))
    return hashlib.sha256(digests).hexdigest()


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Node:
    id: str
    path_display: str
    folder: bool
    data: bytes = b""
    modified: datetime = field(default_factory=lambda: datetime.now(UTC))
    rev: str = ""
    content_hash: str = ""
    downloadable: bool = True

    @property
    def path_lower(self) -> str:
        return self.path_display.lower()

    @property
    def name(self) -> str:
        return self.path_display.rsplit("/", 1)[-1]

    def metadata(self) -> dict[str, Any]:
        common = {
            "name": self.name,
            "id": self.id,
            "path_lower": self.path_lower,
            "path_display": self.path_display,
        }
        if self.folder:
            return {".tag": "folder", **common}
        return {
            ".tag": "file",
            **common,
            "client_modified": _stamp(self.modified),
            "server_modified": _stamp(self.modified),
            "rev": self.rev,
            "size": len(self.data),
            "is_downloadable": self.downloadable,
            "content_hash": self.content_hash,
        }


def _deleted(path_display: str) -> dict[str, Any]:
    return {
        ".tag": "deleted",
        "name": path_display.rsplit("/", 1)[-1],
        "path_lower": path_display.lower(),
        "path_display": path_display,
    }


@dataclass
class Cursor:
    epoch: int
    root: str  # path_lower of the listed folder, "" for the root
    recursive: bool
    limit: int
    seq: int  # the change log position this cursor has seen up to
    pending: list[dict[str, Any]]  # entries of the current listing or batch not sent yet


def _summary(*tags: str) -> str:
    return "/".join(tags) + "/" + "." * secrets.choice((2, 3, 4))


class FakeDropbox:
    def __init__(self, *, account_id: str = "dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc") -> None:
        self.auth = AuthorizationServer(
            client_id="vtrack-dropbox-app", client_secret=None, account=account_id
        )
        self.account_id = account_id
        self.email = "owner@example.com"
        self.display_name = "Shop Owner"
        self.nodes: dict[str, Node] = {}  # path_lower -> node
        self.log: list[tuple[int, str, dict[str, Any]]] = []  # (seq, path_lower, metadata then)
        self.seq = 0
        self.epoch = 0
        self.cursors: dict[str, Cursor] = {}
        self.requests: list[str] = []  # route of every API and content request, in order
        self.page_sizes: list[int] = []  # entries in each listing answer
        self.download_headers: list[dict[str, str]] = []
        self.authorize_queries: list[dict[str, str]] = []
        self._online_codes: set[str] = set()
        self._throttles: list[tuple[int, float, str]] = []  # (status, retry_after, reason), next requests
        self._cut_after: int | None = None
        self._corrupt_next = False
        self.ignore_range = False
        self.page_limit: int | None = None  # answer at most this many entries, whatever `limit` asked
        self._runners: list[web.AppRunner] = []
        self.urls: dict[str, str] = {}  # "auth", "api", "content": what the connector takes as `urls`

    # -- what tests call directly -------------------------------------------------------------------

    def token(self) -> str:
        """An access token, as if the user had just signed in."""
        return str(self.auth.issue()["access_token"])

    def add_file(
        self, path: str, data: bytes, *, modified: datetime | None = None, downloadable: bool = True
    ) -> str:
        """Write a file (parents made as needed); overwriting keeps its id. Returns the id.

        downloadable=False: a file Dropbox lists but will not serve (a Google Doc, a cloud-only shortcut)."""
        parent, _, _ = path.rpartition("/")
        self.mkdir(parent)
        lower = path.lower()
        node = self.nodes.get(lower)
        if node is None:
            shown = self._display_under(parent, path.rsplit("/", 1)[-1])
            node = self.nodes[lower] = Node(_new_id(), shown, folder=False)
        elif node.folder:
            raise ValueError(f"{path} is a folder")
        node.data, node.downloadable = data, downloadable
        node.modified = modified or datetime.now(UTC)
        node.rev = secrets.token_hex(7)
        node.content_hash = dropbox_content_hash(data)
        self._record(lower, node.metadata())
        return node.id

    def mkdir(self, path: str) -> None:
        parts = [part for part in path.split("/") if part]
        for depth in range(1, len(parts) + 1):
            lower = "/" + "/".join(parts[:depth]).lower()
            if lower in self.nodes:
                continue
            shown = self._display_under("/" + "/".join(parts[: depth - 1]), parts[depth - 1])
            node = self.nodes[lower] = Node(_new_id(), shown, folder=True)
            self._record(lower, node.metadata())

    def move(self, source: str, dest: str) -> None:
        """Move a file or a folder with what is inside; every id stays."""
        old = source.lower()
        moving = sorted(
            (lower for lower in self.nodes if lower == old or lower.startswith(old + "/")), key=len
        )
        if not moving:
            raise KeyError(source)
        self.mkdir(dest.rpartition("/")[0])
        for lower in moving:
            node = self.nodes.pop(lower)
            self._record(lower, _deleted(node.path_display))
            node.path_display = dest + node.path_display[len(source) :]
            self.nodes[node.path_lower] = node
            self._record(node.path_lower, node.metadata())

    def delete(self, path: str) -> None:
        old = path.lower()
        for lower in sorted((p for p in self.nodes if p == old or p.startswith(old + "/")), key=len):
            node = self.nodes.pop(lower)
            self._record(lower, _deleted(node.path_display))

    def large_folder(self, path: str, count: int, *, every: int = 0, size: int = 8) -> list[str]:
        """`count` small video files in `path` (every `every`-th one a .txt instead, when set); their ids."""
        self.mkdir(path)
        ids = []
        now = datetime.now(UTC)
        for n in range(count):
            name = f"{n:06d}.txt" if every and n % every == every - 1 else f"{n:06d}.mp4"
            ids.append(self.add_file(f"{path}/{name}", n.to_bytes(4, "big") * (size // 4 or 1), modified=now))
        return ids

    def throttle(
        self, times: int = 1, *, retry_after: float = 1, reason: str = "too_many_requests", status: int = 429
    ) -> None:
        """The next `times` API or content requests are refused with Retry-After: 429 with Dropbox's
        RateLimitError body (reason too_many_requests or too_many_write_operations), or a bare 503."""
        self._throttles += [(status, retry_after, reason)] * times

    def reset_cursors(self) -> None:
        """Every cursor given so far answers 409 `reset` from now on."""
        self.epoch += 1

    def cut_next_download(self, after: int) -> None:
        """The next download drops its connection after `after` bytes of the body."""
        self._cut_after = after

    def corrupt_next_download(self) -> None:
        """The next download flips one byte of the body (its metadata still says the true hash)."""
        self._corrupt_next = True

    def expire_tokens(self) -> None:
        self.auth.expire_all()

    # -- lifecycle ------------------------------------------------------------------------------------

    async def __aenter__(self) -> FakeDropbox:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> FakeDropbox:
        auth = web.Application()
        auth.router.add_get("/oauth2/authorize", self.authorize)
        api = web.Application(middlewares=[self._gate])
        api.router.add_post("/oauth2/token", self.token_endpoint)
        api.router.add_post("/2/files/list_folder", self.list_folder)
        api.router.add_post("/2/files/list_folder/continue", self.list_folder_continue)
        api.router.add_post("/2/files/list_folder/get_latest_cursor", self.get_latest_cursor)
        api.router.add_post("/2/users/get_current_account", self.get_current_account)
        content = web.Application(middlewares=[self._gate])
        content.router.add_post("/2/files/download", self.download)
        urls = []
        for app in (auth, api, content):
            runner, url = await serve(app)
            self._runners.append(runner)
            urls.append(url)
        self.urls = dict(zip(("auth", "api", "content"), urls, strict=True))
        return self

    async def close(self) -> None:
        for runner in self._runners:
            await runner.cleanup()
        self._runners.clear()

    # -- internals ------------------------------------------------------------------------------------

    def _display_under(self, parent: str, name: str) -> str:
        parent_node = self.nodes.get(parent.lower()) if parent.strip("/") else None
        return f"{parent_node.path_display if parent_node else ''}/{name}"

    def _record(self, path_lower: str, metadata: dict[str, Any]) -> None:
        self.seq += 1
        self.log.append((self.seq, path_lower, metadata))

    @staticmethod
    def _below(path_lower: str, root: str, recursive: bool) -> bool:
        if root and not path_lower.startswith(root + "/"):
            return False
        rest = path_lower[len(root) + 1 :]
        return recursive or "/" not in rest

    def _new_cursor(self, state: Cursor) -> str:
        token = "AAF" + secrets.token_urlsafe(48)
        self.cursors[token] = state
        return token

    def _answer(self, state: Cursor) -> web.Response:
        size = min(state.limit, self.page_limit or state.limit)  # Dropbox calls `limit` approximate
        page, state.pending = state.pending[:size], state.pending[size:]
        self.page_sizes.append(len(page))
        cursor = self._new_cursor(state)
        return web.json_response({"entries": page, "cursor": cursor, "has_more": bool(state.pending)})

    # -- middleware and errors ----------------------------------------------------------------------------

    @web.middleware
    async def _gate(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if request.path.startswith("/oauth2/"):
            return await handler(request)
        route = request.path.removeprefix("/2/")
        self.requests.append(route)
        header = request.headers.get("Authorization")
        if header is None:
            return _bad_input(
                route, 'Must provide HTTP header "Authorization" or URL parameter "authorization".'
            )
        if self.auth.bearer(request) is None:
            token = header.removeprefix("Bearer ")
            tag = "expired_access_token" if token in self.auth.access_tokens else "invalid_access_token"
            return web.json_response({"error_summary": _summary(tag), "error": {".tag": tag}}, status=401)
        if self._throttles:
            status, retry_after, reason = self._throttles.pop(0)
            wait = {"Retry-After": f"{retry_after:g}"}
            if status != 429:
                return web.Response(status=status, text="Service Unavailable", headers=wait)
            body = {
                "error_summary": _summary(reason),
                "error": {"reason": {".tag": reason}, "retry_after": retry_after},
            }
            return web.json_response(body, status=429, headers=wait)
        return await handler(request)

    async def _rpc_arg(self, request: web.Request, route: str) -> Any:
        if request.content_type != "application/json":
            raise _bad_input_error(
                route,
                f'Bad HTTP "Content-Type" header: "{request.content_type}". Expecting "application/json".',
            )
        try:
            return json.loads(await request.read() or b"null")
        except ValueError:
            raise _bad_input_error(route, "request body: could not decode input as JSON") from None

    # -- OAuth ------------------------------------------------------------------------------------------

    async def authorize(self, request: web.Request) -> web.StreamResponse:
        self.authorize_queries.append(dict(request.query))
        try:
            return await self.auth.authorize(request)
        except web.HTTPFound as redirect:
            code = parse_qs(urlsplit(redirect.location).query).get("code", [""])[0]
            if code and request.query.get("token_access_type") != "offline":
                self._online_codes.add(code)  # Dropbox's "online" access: no refresh token
            raise

    async def token_endpoint(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()  # aiohttp keeps it, so the shared server reads the same form
        response = await self.auth.token(request)
        code = str(form.get("code", ""))
        if form.get("grant_type") != "authorization_code" or code not in self._online_codes:
            return response
        assert isinstance(response, web.Response)
        answer = json.loads(response.text or "{}")
        if "refresh_token" in answer:
            self.auth.refresh_tokens.discard(answer.pop("refresh_token"))
        return web.json_response(answer, status=response.status)

    # -- RPC routes ---------------------------------------------------------------------------------------

    async def list_folder(self, request: web.Request) -> web.StreamResponse:
        arg = await self._rpc_arg(request, "files/list_folder")
        root, recursive, limit = self._list_arg(arg, "files/list_folder")
        missing = self._missing_folder(root)
        if missing is not None:
            return missing
        entries = sorted(
            (node for lower, node in self.nodes.items() if self._below(lower, root, recursive)),
            key=lambda node: node.path_lower,
        )
        everything = arg.get("include_non_downloadable_files", True)
        listed = [node.metadata() for node in entries if node.folder or node.downloadable or everything]
        if recursive and root:
            listed.insert(0, self.nodes[root].metadata())  # Dropbox lists the folder itself first
        return self._answer(Cursor(self.epoch, root, recursive, limit, self.seq, listed))

    async def get_latest_cursor(self, request: web.Request) -> web.StreamResponse:
        arg = await self._rpc_arg(request, "files/list_folder/get_latest_cursor")
        root, recursive, limit = self._list_arg(arg, "files/list_folder/get_latest_cursor")
        missing = self._missing_folder(root)
        if missing is not None:
            return missing
        return web.json_response(
            {"cursor": self._new_cursor(Cursor(self.epoch, root, recursive, limit, self.seq, []))}
        )

    async def list_folder_continue(self, request: web.Request) -> web.StreamResponse:
        route = "files/list_folder/continue"
        arg = await self._rpc_arg(request, route)
        if not isinstance(arg, dict) or set(arg) != {"cursor"} or not isinstance(arg["cursor"], str):
            return _bad_input(route, 'request body: missing required field "cursor"')
        state = self.cursors.get(arg["cursor"])
        if state is None:
            return _bad_input(route, 'Invalid "cursor" parameter: malformed cursor')
        if state.epoch != self.epoch:
            return web.json_response(
                {"error_summary": _summary("reset"), "error": {".tag": "reset"}}, status=409
            )
        missing = self._missing_folder(state.root)
        if missing is not None:
            return missing
        fresh = Cursor(state.epoch, state.root, state.recursive, state.limit, state.seq, list(state.pending))
        if not fresh.pending:
            latest: dict[str, tuple[int, dict[str, Any]]] = {}
            for seq, lower, metadata in self.log[state.seq :]:  # seq n is at index n - 1
                if self._below(lower, state.root, state.recursive):
                    latest[lower] = (seq, metadata)
            fresh.pending = [metadata for _, metadata in sorted(latest.values(), key=lambda item: item[0])]
            fresh.seq = self.seq
        return self._answer(fresh)

    async def get_current_account(self, request: web.Request) -> web.StreamResponse:
        arg = await self._rpc_arg(request, "users/get_current_account")
        if arg is not None:
            return _bad_input("users/get_current_account", "request body: expected null, got value")
        first, _, last = self.display_name.partition(" ")
        return web.json_response(
            {
                "account_id": self.account_id,
                "name": {
                    "given_name": first,
                    "surname": last,
                    "familiar_name": first,
                    "display_name": self.display_name,
                    "abbreviated_name": first[:1] + last[:1],
                },
                "email": self.email,
                "email_verified": True,
                "disabled": False,
                "country": "VN",
                "locale": "en",
                "is_paired": False,
                "account_type": {".tag": "basic"},
                "root_info": {".tag": "user", "root_namespace_id": "3235641", "home_namespace_id": "3235641"},
            }
        )

    def _list_arg(self, arg: Any, route: str) -> tuple[str, bool, int]:
        if not isinstance(arg, dict):
            raise _bad_input_error(route, "request body: expected object")
        unknown = set(arg) - LIST_FOLDER_FIELDS
        if unknown:
            raise _bad_input_error(route, f'request body: unknown field "{sorted(unknown)[0]}"')
        path = arg.get("path")
        if not isinstance(path, str):
            raise _bad_input_error(route, 'request body: missing required field "path"')
        if path == "/":
            raise _bad_input_error(
                route, 'request body: path: Specify the root folder as an empty string rather than as "/".'
            )
        if path and not path.startswith("/"):
            raise _bad_input_error(
                route, f"request body: path: '{path}' did not match pattern '(/(.|[\\r\\n])*)?'"
            )
        recursive = arg.get("recursive", False)
        limit = arg.get("limit", MAX_LIMIT)
        if not isinstance(recursive, bool) or type(limit) is not int or not 1 <= limit <= MAX_LIMIT:
            raise _bad_input_error(route, "request body: recursive must be a boolean, limit 1..2000")
        return path.lower().rstrip("/"), recursive, limit

    def _missing_folder(self, root: str) -> web.Response | None:
        if not root:
            return None
        node = self.nodes.get(root)
        if node is None:
            return _route_error("path", "not_found")
        if not node.folder:
            return _route_error("path", "not_folder")
        return None

    # -- content route ------------------------------------------------------------------------------------

    async def download(self, request: web.Request) -> web.StreamResponse:
        route = "files/download"
        self.download_headers.append(dict(request.headers))
        content_type = request.headers.get("Content-Type", "")
        if content_type not in DOWNLOAD_CONTENT_TYPES:
            return _bad_input(route, f'Bad HTTP "Content-Type" header: "{content_type}".')
        raw = request.headers.get("Dropbox-API-Arg", "")
        if not raw.isascii():
            return _bad_input(route, 'HTTP header "Dropbox-API-Arg": must be ASCII (escape other characters)')
        try:
            arg = json.loads(raw)
        except ValueError:
            return _bad_input(route, 'HTTP header "Dropbox-API-Arg": could not decode input as JSON')
        if not isinstance(arg, dict) or not isinstance(arg.get("path"), str):
            return _bad_input(route, 'HTTP header "Dropbox-API-Arg": missing required field "path"')
        node = self._lookup(arg["path"])
        if node is None:
            return _route_error("path", "not_found")
        if node.folder:
            return _route_error("path", "not_file")
        data = node.data
        headers = {
            "Content-Type": "application/octet-stream",
            "Dropbox-API-Result": json.dumps(node.metadata(), ensure_ascii=True).replace("\x7f", "\\u007f"),
        }
        status, first = 200, 0
        if "Range" in request.headers and not self.ignore_range:
            try:
                wanted = request.http_range
            except ValueError:
                wanted = slice(None)
            if wanted.start is not None and wanted.start >= len(data):
                return web.Response(status=416, headers={"Content-Range": f"bytes */{len(data)}"})
            if wanted.start is not None:
                first, stop, _ = wanted.indices(len(data))
                status = 206
                headers["Content-Range"] = f"bytes {first}-{stop - 1}/{len(data)}"
                data = data[first:stop]
        cut, self._cut_after = self._cut_after, None
        if self._corrupt_next and data:
            self._corrupt_next = False
            data = bytes([data[0] ^ 0xFF]) + data[1:]
        if cut is None or cut >= len(data):
            return web.Response(status=status, body=data, headers=headers)
        response = web.StreamResponse(status=status, headers=headers)
        response.content_length = len(data)
        await response.prepare(request)
        await response.write(data[:cut])
        assert request.transport is not None
        request.transport.abort()  # the connection drops mid-file
        return response

    def _lookup(self, path: str) -> Node | None:
        if path.startswith("id:"):
            return next((node for node in self.nodes.values() if node.id == path), None)
        if path.startswith("rev:"):
            return next((node for node in self.nodes.values() if node.rev == path[4:]), None)
        return self.nodes.get(path.lower())


def _new_id() -> str:
    return "id:" + secrets.token_urlsafe(16)[:22]


def _bad_input(route: str, detail: str) -> web.Response:
    return web.Response(status=400, text=f'Error in call to API function "{route}": {detail}')


def _bad_input_error(route: str, detail: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=f'Error in call to API function "{route}": {detail}')


def _route_error(tag: str, inner: str) -> web.Response:
    body = {"error_summary": _summary(tag, inner), "error": {".tag": tag, tag: {".tag": inner}}}
    return web.json_response(body, status=409)

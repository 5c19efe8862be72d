"""A OneDrive behind Microsoft Graph on loopback, with the Microsoft identity platform's OAuth routes.

What it reproduces, as Graph and the OneDrive API document it:
- /{tenant}/oauth2/v2.0/{authorize,token,devicecode} (the shared AuthorizationServer, PKCE), with
  refresh tokens rotating on every use (the fake also refuses a spent one, stricter than Microsoft);
- every /v1.0 call needs a live bearer, else 401 `InvalidAuthenticationToken`;
- `delta` on the drive root or, on personal drives, on a folder (`folder_delta=False` behaves like
  OneDrive for Business: delta on the root only), paged with `@odata.nextLink` and ending with
  `@odata.deltaLink`; items without `parentReference.path`, changed items preceded by their parents,
  deleted ones with the `deleted` facet; an outdated token answers 410 resyncRequired with a Location;
- `children` paged with `@odata.nextLink`, path addressing (`/root:/a/b:/children`);
- `/content` answers 302 to a pre-authenticated URL on a second port (no bearer, a signed query), which
  honours Range with 206 and Content-Range (or, when told to, ignores it as the docs allow);
- throttling: 429 `activityLimitReached` / 503 `serviceNotAvailable` with Retry-After in seconds.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import mimetypes
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from aiohttp import web

from tests.fakes.oauth import AuthorizationServer, serve

TENANT = "common"


def quick_xor_hash(data: bytes) -> str:
    """OneDrive's quickXorHash: bytes XORed into a 160-bit ring 11 bits apart, then the length."""
    ring, mask = 0, (1 << 160) - 1
    for index, byte in enumerate(data):
        shifted = byte << (index * 11) % 160
        ring ^= (shifted | shifted >> 160) & mask
    digest = bytearray(ring.to_bytes(20, "little"))
    for index, byte in enumerate(len(data).to_bytes(8, "little")):
        digest[12 + index] ^= byte
    return base64.b64encode(bytes(digest)).decode()


def graph_error(status: int, code: str, message: str, **headers: str) -> web.Response:
    body = {"error": {"code": code, "message": message, "innerError": {"request-id": secrets.token_hex(8)}}}
    return web.json_response(body, status=status, headers=headers)


@dataclass
class Item:
    id: str
    name: str
    parent: str | None  # None: the drive's root
    modified: datetime
    data: bytes | None = None  # None: a folder
    mime: str | None = None
    deleted: bool = False
    seq: int = 0  # when it last changed, in the drive's change order


class FakeOneDrive:
    def __init__(self, *, page_size: int = 200, folder_delta: bool = True, access_ttl: float = 3600.0):
        self.auth = AuthorizationServer(rotate_refresh_tokens=True, access_ttl=access_ttl)
        self.page_size = page_size
        self.folder_delta = folder_delta
        self.owner = "Ada Lovelace"
        self.drive_id = "b7c1e2d3f4a5"
        self.seq = 0
        self.generation = 0  # delta tokens of an older generation answer 410 resyncRequired
        self.items: dict[str, Item] = {}
        self.root = self._new(Item(self._new_id(), "root", None, datetime.now(UTC)))
        self.requests: list[str] = []  # "GET /v1.0/me/drive/root/delta", in order
        self.unauthorized = 0
        self.throttled = 0
        self.resyncs = 0
        self.ignore_range = 0  # how many ranged downloads answer 200 with the whole file
        self.download_bearers = 0  # downloads that carried an Authorization header (must stay 0)
        self._throttle: list[tuple[int, float]] = []
        self._secret = secrets.token_bytes(16)
        self.urls: dict[str, str] = {}
        self.content_base = ""

    # -- lifecycle ------------------------------------------------------------------------------------

    async def __aenter__(self) -> FakeOneDrive:
        app = web.Application(middlewares=[self._gate])
        api = "/v1.0/me/drive"
        app.add_routes(
            [
                *self.auth.routes(f"/{TENANT}/oauth2/v2.0"),
                web.get("/v1.0/me", self.me),
                web.get(api, self.drive),
                web.get(f"{api}/root", self.by_root),
                web.get(f"{api}/root/{{action}}", self.by_root),
                web.get(f"{api}/root:/{{rest:.+}}", self.by_path),
                web.get(f"{api}/items/{{id}}", self.by_id),
                web.get(f"{api}/items/{{id}}/{{action}}", self.by_id),
                web.get("/download/{id}", self.download),
            ]
        )
        self._runner, base = await serve(app)
        content = web.TCPSite(self._runner, "127.0.0.1", 0)  # the "other host" downloads come from
        await content.start()
        self.content_base = f"http://127.0.0.1:{self._runner.addresses[-1][1]}"
        self.urls = {"login": base, "graph": base}
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._runner.cleanup()

    # -- what tests call ------------------------------------------------------------------------------

    def _new_id(self) -> str:
        return f"{self.drive_id.upper()}!{secrets.randbelow(10**6)}{len(self.items)}"

    def _new(self, item: Item) -> Item:
        self.items[item.id] = item
        self._touch(item)
        return item

    def _touch(self, item: Item) -> None:
        self.seq += 1
        item.seq = self.seq

    def _find(self, path: str) -> Item | None:
        current = self.root
        for name in [part for part in path.strip("/").split("/") if part]:
            found = [
                i for i in self.items.values() if i.parent == current.id and i.name == name and not i.deleted
            ]
            if not found:
                return None
            current = found[0]
        return current

    def id_of(self, path: str) -> str:
        item = self._find(path)
        assert item is not None, path
        return item.id

    def add_folder(self, path: str) -> str:
        parent = self.root
        for name in [part for part in path.strip("/").split("/") if part]:
            existing = self._find(f"{self._path(parent)}/{name}")
            parent = existing or self._new(Item(self._new_id(), name, parent.id, datetime.now(UTC)))
        return parent.id

    def add_file(
        self, path: str, data: bytes, *, modified: datetime | None = None, mime: str | None = None
    ) -> str:
        folder, _, name = path.strip("/").rpartition("/")
        parent = self.add_folder(folder)
        guessed = mimetypes.guess_type(name)[0] or "application/octet-stream"
        when = modified or datetime.now(UTC)
        return self._new(Item(self._new_id(), name, parent, when, data, mime or guessed)).id

    def modify(self, path: str, data: bytes) -> None:
        item = self.items[self.id_of(path)]
        item.data, item.modified = data, datetime.now(UTC)
        self._touch(item)

    def move(self, path: str, new_path: str) -> None:
        item = self.items[self.id_of(path)]
        folder, _, item.name = new_path.strip("/").rpartition("/")
        item.parent = self.add_folder(folder)
        self._touch(item)

    def delete(self, path: str) -> None:
        item = self.items[self.id_of(path)]
        item.deleted = True
        self._touch(item)

    def throttle(self, n: int, *, retry_after: float = 0, status: int = 429) -> None:
        self._throttle += [(status, retry_after)] * n

    def invalidate_delta_tokens(self) -> None:
        self.generation += 1

    def count(self, fragment: str) -> int:
        return sum(fragment in line for line in self.requests)

    # -- shapes ---------------------------------------------------------------------------------------

    def _ancestors(self, item: Item) -> list[Item]:
        chain: list[Item] = []
        while item.parent is not None:
            item = self.items[item.parent]
            chain.append(item)
        return chain

    def _path(self, item: Item) -> str:
        return "/".join(i.name for i in [*reversed(self._ancestors(item)), item][1:])

    def _json(self, item: Item, *, with_path: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": item.id,
            "name": item.name,
            "eTag": f'"{{{item.id}}},{item.seq}"',
            "lastModifiedDateTime": item.modified.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "parentReference": {"driveId": self.drive_id, "driveType": "personal"},
        }
        if item.parent is not None:
            out["parentReference"]["id"] = item.parent
            if with_path:  # children and item GETs say where; delta never does
                parent_path = self._path(self.items[item.parent])
                out["parentReference"]["path"] = "/drive/root:" + (f"/{parent_path}" if parent_path else "")
        else:
            out["root"] = {}
        if item.data is None:
            children = [i for i in self.items.values() if i.parent == item.id and not i.deleted]
            out["folder"] = {"childCount": len(children)}
        else:
            hashes = {
                "quickXorHash": quick_xor_hash(item.data),
                "sha1Hash": hashlib.sha1(item.data, usedforsecurity=False).hexdigest().upper(),
            }
            out["file"] = {"mimeType": item.mime, "hashes": hashes}
            out["size"] = len(item.data)
        if item.deleted:
            out["deleted"] = {"state": "deleted"}
            out.pop("size", None)  # consumer OneDrive omits size on deletions
        return out

    # -- middleware: throttling, bearer ---------------------------------------------------------------

    @web.middleware
    async def _gate(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append(f"{request.method} {request.path}")
        if request.path.startswith(("/v1.0/", "/download/")) and self._throttle:
            status, after = self._throttle.pop(0)
            self.throttled += 1
            code, text = ("activityLimitReached", "The app or user has been throttled.")
            if status != 429:
                code, text = ("serviceNotAvailable", "The service is not available.")
            return graph_error(status, code, text, **{"Retry-After": f"{after:g}"})
        if request.path.startswith("/v1.0/") and self.auth.bearer(request) is None:
            self.unauthorized += 1
            message = "Access token has expired or is not yet valid."
            if "Authorization" not in request.headers:
                message = "Access token is empty."
            return graph_error(
                401, "InvalidAuthenticationToken", message, **{"WWW-Authenticate": 'Bearer realm=""'}
            )
        result: web.StreamResponse = await handler(request)
        return result

    # -- routes ---------------------------------------------------------------------------------------

    async def me(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"id": "u1", "displayName": self.owner, "userPrincipalName": "ada@example.com"}
        )

    async def drive(self, request: web.Request) -> web.Response:
        owner = {"user": {"id": "u1", "displayName": self.owner}}
        quota = {"total": 5 << 30, "used": 0, "remaining": 5 << 30, "deleted": 0, "state": "normal"}
        return web.json_response(
            {"id": self.drive_id, "driveType": "personal", "owner": owner, "quota": quota}
        )

    async def by_root(self, request: web.Request) -> web.StreamResponse:
        return await self._act(request, self.root, request.match_info.get("action", ""))

    async def by_path(self, request: web.Request) -> web.StreamResponse:
        rest = request.match_info["rest"]
        path, action = rest.rsplit(":/", 1) if ":/" in rest else (rest.removesuffix(":"), "")
        item = self._find(path)
        if item is None:
            return graph_error(404, "itemNotFound", "Item does not exist")
        return await self._act(request, item, action)

    async def by_id(self, request: web.Request) -> web.StreamResponse:
        item = self.items.get(request.match_info["id"])
        if item is None or item.deleted:
            return graph_error(404, "itemNotFound", "Item does not exist")
        return await self._act(request, item, request.match_info.get("action", ""))

    async def _act(self, request: web.Request, item: Item, action: str) -> web.StreamResponse:
        if action == "":
            return web.json_response(self._json(item, with_path=True))
        if action == "children" and item.data is None:
            return self._children(request, item)
        if action == "delta" and item.data is None:
            if item is not self.root and not self.folder_delta:
                return graph_error(400, "invalidRequest", "Delta is only supported on the root folder.")
            return self._delta(request, item)
        if action == "content" and item.data is not None:
            expires = int(time.time()) + 300
            location = (
                f"{self.content_base}/download/{item.id}?tempauth={self._sign(item.id, expires)}.{expires}"
            )
            raise web.HTTPFound(location)
        return graph_error(400, "invalidRequest", f"{action!r} is not supported on this item")

    def _next_url(self, request: web.Request, **query: str) -> str:
        return str(request.url.with_query(query))

    def _children(self, request: web.Request, folder: Item) -> web.Response:
        top = min(int(request.query.get("$top", self.page_size)), self.page_size)
        start = int(request.query.get("$skiptoken", 0))
        kids = sorted(
            (i for i in self.items.values() if i.parent == folder.id and not i.deleted), key=lambda i: i.name
        )
        body: dict[str, Any] = {"value": [self._json(i, with_path=True) for i in kids[start : start + top]]}
        if start + top < len(kids):
            body["@odata.nextLink"] = self._next_url(
                request, **{"$top": str(top), "$skiptoken": str(start + top)}
            )
        return web.json_response(body)

    # -- delta ----------------------------------------------------------------------------------------

    def _token(self, state: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(state).encode()).decode().rstrip("=")

    def _in_scope(self, item: Item, scope: Item) -> bool:
        return item is scope or scope in self._ancestors(item)

    def _delta(self, request: web.Request, scope: Item) -> web.Response:
        if "token" in request.query:
            raw = request.query["token"]
            state = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
            if state["g"] != self.generation:
                self.resyncs += 1
                fresh = {**state, "g": self.generation, "since": None, "upto": self.seq, "offset": 0}
                return graph_error(
                    410,
                    "resyncRequired",
                    "Resync required. Replace any local items with the server's version (including deletes).",
                    Location=self._next_url(request, token=self._token(fresh)),
                )
        else:
            top = min(int(request.query.get("$top", self.page_size)), self.page_size)
            state = {"g": self.generation, "since": None, "upto": self.seq, "offset": 0, "top": top}
        upto = self.seq if state["upto"] is None else state["upto"]
        since = state["since"]
        if since is None:  # a full enumeration: what is there, parents before their children
            listed = sorted(
                (
                    i
                    for i in self.items.values()
                    if not i.deleted and i.seq <= upto and self._in_scope(i, scope)
                ),
                key=lambda i: [a.name for a in reversed(self._ancestors(i))] + [i.name] if i.parent else [],
            )
        else:  # changes since the token, each preceded by the folders above it (unless already listed)
            listed, seen = [], set()
            changed = sorted((i for i in self.items.values() if since < i.seq <= upto), key=lambda i: i.seq)
            for item in changed:
                if not self._in_scope(item, scope):
                    continue
                chain = [a for a in reversed(self._ancestors(item)) if self._in_scope(a, scope)]
                for entry in [*chain, item]:
                    if entry.id not in seen:
                        seen.add(entry.id)
                        listed.append(entry)
        start, top = state["offset"], state["top"]
        body: dict[str, Any] = {
            "value": [self._json(i, with_path=False) for i in listed[start : start + top]]
        }
        if start + top < len(listed):
            after = {**state, "upto": upto, "offset": start + top}
            body["@odata.nextLink"] = self._next_url(request, token=self._token(after))
        else:
            caught_up = {"g": self.generation, "since": upto, "upto": None, "offset": 0, "top": top}
            body["@odata.deltaLink"] = self._next_url(request, token=self._token(caught_up))
        return web.json_response(body)

    # -- downloads ------------------------------------------------------------------------------------

    def _sign(self, item_id: str, expires: int) -> str:
        return hmac.new(self._secret, f"{item_id}.{expires}".encode(), hashlib.sha256).hexdigest()

    async def download(self, request: web.Request) -> web.StreamResponse:
        item_id = request.match_info["id"]
        signature, _, expires = request.query.get("tempauth", "").partition(".")
        valid = expires.isdigit() and hmac.compare_digest(signature, self._sign(item_id, int(expires)))
        item = self.items.get(item_id)
        if not valid or int(expires) < time.time() or item is None or item.data is None:
            return web.Response(status=401, text="The pre-authenticated URL is not valid.")
        if "Authorization" in request.headers:
            self.download_bearers += 1
        data, ranged = item.data, request.headers.get("Range", "")
        headers = {"Content-Type": "application/octet-stream", "Accept-Ranges": "bytes"}
        if not ranged.startswith("bytes=") or self.ignore_range > 0:
            self.ignore_range = max(0, self.ignore_range - 1) if ranged else self.ignore_range
            return web.Response(body=data, headers=headers)
        first_text, _, last_text = ranged.removeprefix("bytes=").partition("-")
        first = int(first_text)
        last = min(int(last_text), len(data) - 1) if last_text else len(data) - 1
        if first >= len(data):
            return web.Response(status=416, headers={"Content-Range": f"bytes */{len(data)}"})
        headers["Content-Range"] = f"bytes {first}-{last}/{len(data)}"
        return web.Response(status=206, body=data[first : last + 1], headers=headers)

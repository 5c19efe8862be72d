"""The dashboard page: health summary, snapshot grid and today's people counts, as each role sees them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import av
from httpx import AsyncClient, Response
from sqlalchemy import update

from tests.api.test_cameras import data, make_camera
from tests.web.conftest import WebClients
from vtrack.db.models import AnalyticsCount, AnalyticsRun, Camera, CameraSnapshot, Role
from vtrack.db.types import new_id, utcnow
from vtrack.media.frames import encode_jpeg, jpeg_dimensions
from vtrack.services import Services

DEGRADED_VI = "suy giảm"  # status.degraded in the lead's Vietnamese catalog
VOID = {"img", "input", "br", "hr", "meta", "link", "source", "area", "col", "embed", "wbr"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    text: str = ""
    children: list[Element] = field(default_factory=list)

    def get(self, name: str) -> str:
        return self.attrs.get(name) or ""


class TaggedElements(HTMLParser):
    """Every element carrying data-testid, with its attributes and its text, in document order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[Element] = []
        self.stack: list[Element] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs})
        if "data-testid" in element.attrs:
            self.found.append(element)
            for parent in self.stack:
                parent.children.append(element)
        if tag not in VOID:
            self.stack.append(element)

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index].tag == tag:
                del self.stack[index:]
                return

    def handle_data(self, text: str) -> None:
        for element in self.stack:
            element.text += text


def by_testid(html: str, testid: str) -> list[Element]:
    parser = TaggedElements()
    parser.feed(html)
    return [e for e in parser.found if e.get("data-testid") == testid]


def one(html: str, testid: str) -> Element:
    found = by_testid(html, testid)
    assert len(found) == 1, (testid, found)
    return found[0]


def text(element: Element) -> str:
    return " ".join(element.text.split())


def page(response: Response, status: int = 200) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    return response.text


async def add_snapshot(services: Services, camera_id: str) -> bytes:
    """A picture stored as SnapshotService.capture leaves one: JPEG and thumbnail as blobs, and a row."""
    frame = av.VideoFrame(64, 36, "yuv420p")
    jpeg, thumb = encode_jpeg(frame), encode_jpeg(frame, max_width=32)
    snapshot_id, captured = new_id(), utcnow()
    base = f"snapshots/{camera_id}/{captured:%Y%m%dT%H%M%S}-{snapshot_id}"
    await services.blobs.put(f"{base}.jpg", jpeg, "image/jpeg")
    await services.blobs.put(f"{base}-thumb.jpg", thumb, "image/jpeg")
    async with services.database.transaction() as session:
        session.add(
            CameraSnapshot(
                id=snapshot_id,
                camera_id=camera_id,
                captured_at=captured,
                filename=f"{captured:%Y%m%dT%H%M%S}.jpg",
                storage_path=f"{base}.jpg",
                file_size=len(jpeg),
                width=64,
                height=36,
                expires_at=captured + timedelta(days=1),
                thumbnail_path=f"{base}-thumb.jpg",
                thumbnail_size=len(thumb),
                method="rtsp",
            )
        )
    return thumb


async def set_checked(services: Services, camera_id: str, at: datetime) -> None:
    async with services.database.transaction() as session:
        await session.execute(update(Camera).where(Camera.id == camera_id).values(last_checked_at=at))


async def add_counts(services: Services, client: AsyncClient) -> None:
    """Counts as the live sink writes them: today's (lines and a zone) and two days ago's."""
    body = {"name": "Door", "url": "rtsp://127.0.0.1:9/door", "enabled": False}
    channel = data(await client.post("/api/v1/analytics/channels", json=body), 201)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    async with services.database.transaction() as session:
        session.add(
            AnalyticsRun(
                id="dash-run",
                channel_id=channel["id"],
                kind="live",
                source="x",
                status="running",
                started_at=now,
            )
        )
        await session.flush()
        for at, kind, name, entered, exited in (
            (now, "line", "door", 7, 3),
            (now, "line", "side", 2, 1),
            (now, "zone", "till", 5, 4),
            (now - timedelta(days=2), "line", "door", 50, 40),
        ):
            session.add(
                AnalyticsCount(
                    run_id="dash-run",
                    channel_id=channel["id"],
                    minute=at,
                    kind=kind,
                    name=name,
                    in_count=entered,
                    out_count=exited,
                )
            )


async def test_sign_in_required_and_the_empty_state(web: WebClients) -> None:
    for path in ("/dashboard", "/dashboard/grid", "/dashboard/counts"):
        response = await web.api.anonymous.get(path)
        assert response.status_code == 303 and response.headers["location"] == f"/?next={path}"
    response = await web.api.anonymous.get("/dashboard/grid", headers={"HX-Request": "true"})
    assert response.headers["HX-Redirect"] == "/?next=/dashboard/grid"

    # No cameras yet: the way to add some, for those who may.
    html = page(await web.admin.get("/dashboard"))
    empty = one(html, "cameras-empty")
    assert 'href="/sources/add"' in html and 'href="/cameras/new"' in html
    assert "No cameras yet" in text(empty)
    assert [text(one(html, f"summary-{s}")) for s in ("online", "degraded", "offline")] == ["0", "0", "0"]
    viewer = page(await web.viewer.get("/dashboard"))
    assert 'href="/cameras/new"' not in viewer and 'href="/sources/add"' not in viewer
    assert "An operator or administrator can add cameras." in text(one(viewer, "cameras-empty"))


async def test_grid_summary_thumbnails_and_languages(web: WebClients, services: Services) -> None:
    operator = web.api.operator
    ids = {}
    for name, location in (
        ("Front Door", "Entrance"),
        ("Back Yard", "Garden"),
        ("Till", None),
        ("Hall", None),
    ):
        extra = {"location": location} if location else {}
        ids[name] = (await make_camera(operator, name, **extra))["id"]
    for name, status in (("Front Door", "online"), ("Back Yard", "online"), ("Till", "degraded")):
        data(await operator.patch(f"/api/v1/cameras/{ids[name]}/state", json={"status": status}))
    data(
        await operator.patch(
            f"/api/v1/cameras/{ids['Hall']}/state", json={"status": "offline", "is_active": False}
        )
    )
    thumb = await add_snapshot(services, ids["Front Door"])
    # 17:30 UTC is half past midnight the next day in Ho Chi Minh City (UTC+7).
    await set_checked(services, ids["Till"], datetime(2026, 3, 1, 17, 30, tzinfo=UTC))

    html = page(await web.admin.get("/dashboard"))
    summary = data(await web.api.viewer.get("/api/v1/cameras/summary"))
    shown = {s: int(text(one(html, f"summary-{s}"))) for s in ("online", "degraded", "offline", "inactive")}
    assert shown == {"online": 2, "degraded": 1, "offline": 1, "inactive": 1}
    assert shown["online"] == summary["byStatus"]["online"] and shown["inactive"] == summary["inactive"]

    tiles = {t.get("data-camera-name"): t for t in by_testid(html, "camera-tile")}
    assert list(tiles) == ["Back Yard", "Front Door", "Hall", "Till"]
    assert tiles["Front Door"].get("data-camera-id") == ids["Front Door"]
    assert "Entrance" in text(tiles["Front Door"]) and "Garden" in text(tiles["Back Yard"])
    statuses = {
        name: next(c for c in t.children if c.get("data-testid") == "camera-status")
        for name, t in tiles.items()
    }
    assert {n: s.get("data-status") for n, s in statuses.items()} == {
        "Back Yard": "online",
        "Front Door": "online",
        "Hall": "offline",
        "Till": "degraded",
    }
    assert text(statuses["Till"]) == "degraded" and "badge degraded" in statuses["Till"].get("class")
    checked = next(c for c in tiles["Till"].children if c.get("data-testid") == "camera-checked")
    assert text(checked) == "2026-03-02 00:30"

    images = by_testid(html, "camera-thumb")
    assert len(images) == 1 and images[0].tag == "img"
    link = images[0].get("src")
    assert link.startswith("/api/v1/snapshots/") and "sig=" in link
    served = await web.api.anonymous.get(link)  # a signed link needs no session, as an <img> needs
    assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
    assert served.content == thumb and jpeg_dimensions(served.content) == (32, 18)
    # The same link the API's snapshot listing gives.
    listed = data(await web.api.viewer.get(f"/api/v1/cameras/{ids['Front Door']}/snapshots"))
    assert listed[0]["thumbnailUrl"].split("?")[0] == link.split("?")[0]

    # Cameras without a picture offer to take one, to those who may.
    assert len(by_testid(html, "take-snapshot")) == 3
    button = by_testid(html, "take-snapshot")[0]
    assert (
        button.get("data-api-action").endswith("/snapshot") and button.get("data-refresh") == "#camera-grid"
    )

    grid = page(await web.viewer.get("/dashboard/grid"))
    assert "<html" not in grid and len(by_testid(grid, "camera-tile")) == 4
    # Refreshing the grid keeps the link (and so the browser's cached image) unless the quarter hour turned.
    assert one(grid, "camera-thumb").get("src") == link or datetime.now(UTC).minute % 15 == 0
    assert by_testid(grid, "take-snapshot") == [] and by_testid(grid, "dashboard-camera-new") == []
    assert text(one(grid, "summary-online")) == "2"
    full = page(await web.viewer.get("/dashboard"))
    live = 'hx-get="/dashboard/grid" hx-trigger="vt-camera from:body throttle:2s, every 30s, refresh"'
    assert live in full

    # In Vietnamese.
    data(await operator.put(f"/api/v1/cameras/{ids['Till']}", json={"name": "Cổng chính"}))
    web.viewer.cookies.set("vtrack_lang", "vi")
    html = page(await web.viewer.get("/dashboard"))
    assert '<html lang="vi">' in html
    for label in ("Tổng quan", "Lượt người hôm nay", "Vào", "Ra", "Chưa có ảnh chụp", "Kiểm tra lần cuối"):
        assert label in html, label
    tiles = {t.get("data-camera-name"): t for t in by_testid(html, "camera-tile")}
    badge = next(c for c in tiles["Cổng chính"].children if c.get("data-testid") == "camera-status")
    assert text(badge) == DEGRADED_VI and "2026-03-02 00:30" in text(tiles["Cổng chính"])


async def test_people_today_match_the_analytics_api(web: WebClients, services: Services) -> None:
    await add_counts(services, web.api.operator)
    api = data(await web.api.viewer.get("/api/v1/analytics/counts"))
    lines = [row for row in api["totals"] if row["kind"] == "line"]
    entered, exited = sum(r["in"] for r in lines), sum(r["out"] for r in lines)
    assert (entered, exited) == (9, 4)

    for client in (web.admin, web.viewer):
        html = page(await client.get("/dashboard"))
        assert (text(one(html, "people-in-today")), text(one(html, "people-out-today"))) == ("9", "4")
        assert text(one(html, "zone-entries-today")) == "5"
        assert 'hx-trigger="vt-counts from:body throttle:2s' in html
    fragment = page(await web.viewer.get("/dashboard/counts"))
    assert text(one(fragment, "people-in-today")) == "9"
    today = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%Y-%m-%d")
    assert f"Since {today} 00:00" in text(one(fragment, "people-since"))

    # No built-in role reads cameras but not analytics: narrow the viewer's role for this app's database.
    async with services.database.transaction() as session:
        await session.execute(update(Role).where(Role.name == "viewer").values(permissions=["cameras:read"]))
    html = page(await web.viewer.get("/dashboard"))
    assert by_testid(html, "people-in-today") == [] and 'hx-get="/dashboard/counts"' not in html
    forbidden = await web.viewer.get("/dashboard/counts")
    assert forbidden.status_code == 403 and "analytics:read" in forbidden.text

"""Source pages: each visible source with its archive folder and a sync bar that starts where the latest
run is, what a viewer is not offered, a cloud source's folder picker, Vietnamese and local times."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser

from httpx import AsyncClient

from tests.api.test_recordings_api import Seeded, local, seed_archive, user_id
from tests.web.conftest import WebClients
from vtrack.db.models import JobRun, SyncStatus, VideoSource
from vtrack.services import Services
from vtrack.sync.service import SYNC_JOB


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    text: str = ""
    children: list[Element] = field(default_factory=list)


class Marked(HTMLParser):
    """Every element carrying a data-testid, with its attributes and its text (nested ones included)."""

    VOID = {"input", "img", "br", "hr", "meta", "link", "source", "area", "col", "embed", "wbr"}

    def __init__(self, html: str) -> None:
        super().__init__()
        self.found: list[Element] = []
        self._open: list[tuple[str, Element | None]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        keep = Element(tag, values) if "data-testid" in values else None
        if keep is not None:
            for _, parent in self._open:
                if parent is not None:
                    parent.children.append(keep)
            self.found.append(keep)
        if tag not in self.VOID:
            self._open.append((tag, keep))

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            open_tag, _ = self._open.pop()
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        for _, element in self._open:
            if element is not None:
                element.text += data

    def all(self, testid: str) -> list[Element]:
        return [e for e in self.found if e.attrs.get("data-testid") == testid]

    def one(self, testid: str) -> Element:
        (element,) = self.all(testid)
        return element


def within(element: Element, testid: str) -> Element:
    (child,) = [c for c in element.children if c.attrs.get("data-testid") == testid]
    return child


async def in_vietnamese(client: AsyncClient, url: str) -> str:
    """The page as a reader who switched to Vietnamese sees it."""
    client.cookies.set("vtrack_lang", "vi")
    try:
        response = await client.get(url)
    finally:
        client.cookies.delete("vtrack_lang")
    assert response.status_code == 200, response.text[:2000]
    return response.text


def squash(text: str) -> str:
    return " ".join(text.split())


async def page(client: AsyncClient, url: str, status: int = 200, **kwargs: object) -> Marked:
    response = await client.get(url, **kwargs)  # type: ignore[arg-type]
    assert response.status_code == status, response.text[:2000]
    return Marked(response.text)


async def add_run(
    services: Services, source_id: str, status: str, progress: float, error: str | None = None
) -> str:
    """A sync run of the source as the runner leaves it, named by the source's sync status."""
    last_run = local(2026, 11, 20, 23, 30)
    async with services.database.transaction() as session:
        run = JobRun(
            name=SYNC_JOB,
            status=status,
            params={"source_id": source_id},
            progress=progress,
            error=error,
            message="2 of 5 files" if status == "running" else None,
            result={"segments_total": 5, "segments_done": 2, "bytes_done": 2048},
            created_at=last_run,
            started_at=last_run,
        )
        session.add(run)
        await session.flush()
        session.add(
            SyncStatus(
                source_id=source_id,
                enabled=True,
                interval_seconds=900,
                state="running" if status == "running" else "error",
                last_run_at=last_run,
                last_job_id=run.id,
                error=error,
            )
        )
        return run.id


async def seed(web: WebClients, services: Services) -> tuple[Seeded, Seeded, Seeded]:
    start = datetime(2026, 11, 20, 3, tzinfo=UTC)
    nvr = await seed_archive(services, "Kho NVR", [("Cổng", start), ("Sân", start)])
    await add_run(services, nvr.source_id, "running", 0.42)
    broken = await seed_archive(services, "Chi nhánh", [("Cửa", start)], source_type="hikvision")
    await add_run(services, broken.source_id, "failed", 0.1, error="unreachable: connection refused")
    drive = await seed_archive(
        services,
        "Op Dropbox",
        [("Box", start)],
        source_type="dropbox",
        owner_id=await user_id(web.api.operator),
    )
    async with services.database.transaction() as session:
        source = await session.get(VideoSource, drive.source_id)
        assert source is not None
        source.config = {"root": "/camera/front", "account": "op@example.com"}
    return nvr, broken, drive


async def test_the_list_shows_each_source_its_folder_and_its_live_sync_bar(
    web: WebClients, services: Services
) -> None:
    nvr, broken, drive = await seed(web, services)
    html = await page(web.viewer, "/sources")
    rows = {row.attrs["data-source-name"]: row for row in html.all("source-row")}
    assert set(rows) == {"Kho NVR", "Chi nhánh"}  # the operator's Dropbox is not the viewer's to see
    row = rows["Kho NVR"]
    assert row.attrs["data-source-id"] == nvr.source_id
    assert squash(within(row, "source-type").text) == "NVR"
    assert within(row, "working-directory").text == str(services.archive_layout.source_dir("Kho NVR"))
    bar = within(row, "sync-progress")
    assert bar.attrs["data-sync-progress"] == nvr.source_id and bar.attrs["aria-valuenow"] == "42"
    assert bar.attrs["role"] == "progressbar" and "progress" in bar.attrs["class"].split()
    percent = within(row, "sync-percent")
    assert percent.attrs["data-sync-percent"] == nvr.source_id and percent.text == "42%"
    state = within(row, "sync-state")
    assert state.attrs["data-sync-state"] == nvr.source_id and state.text == "syncing"
    assert state.attrs["class"] == "badge running"
    assert within(row, "last-sync").text == "2026-11-20 23:30"  # 16:30 UTC in Asia/Ho_Chi_Minh
    assert '<span style="width: 42%"></span>' in (await web.viewer.get("/sources")).text

    failed = rows["Chi nhánh"]
    assert (
        within(failed, "sync-state").text == "failed"
        and "failed" in within(failed, "sync-progress").attrs["class"]
    )
    error = within(failed, "sync-error")
    assert (
        error.attrs["data-sync-error"] == broken.source_id and error.text == "unreachable: connection refused"
    )
    assert not html.all("sync-now") and not html.all("add-source")  # a viewer only looks

    mine = await page(web.operator, "/sources")
    assert {row.attrs["data-source-name"] for row in mine.all("source-row")} == {
        "Kho NVR",
        "Chi nhánh",
        "Op Dropbox",
    }
    buttons = {b.attrs["data-api-action"] for b in mine.all("sync-now")}
    assert buttons == {f"/api/v1/sources/{s.source_id}/sync" for s in (nvr, broken, drive)}
    assert all(
        b.attrs["data-method"] == "POST" and b.attrs["data-body"] == "{}" for b in mine.all("sync-now")
    )
    assert mine.one("add-source").attrs["href"] == "/sources/add"
    dropbox = next(r for r in mine.all("source-row") if r.attrs["data-source-name"] == "Op Dropbox")
    assert (
        within(dropbox, "sync-state").text == "never synced" and within(dropbox, "sync-percent").text == "0%"
    )

    vietnamese = await in_vietnamese(web.viewer, "/sources")
    for text in ("Nguồn video", "Thư mục làm việc", "Đồng bộ gần nhất", "đang đồng bộ", "Đầu ghi (NVR)"):
        assert text in vietnamese, text


async def test_a_source_page_has_its_cameras_schedule_runs_and_a_cloud_folder_tree(
    web: WebClients, services: Services
) -> None:
    nvr, _broken, drive = await seed(web, services)
    html = await page(web.viewer, f"/sources/{nvr.source_id}")
    cameras = [squash(c.text) for c in html.all("source-camera")]
    assert [c.split(" ")[:3] for c in cameras] == [["Kho", "NVR", "Cổng"], ["Kho", "NVR", "Sân"]]
    (job,) = html.all("sync-job")
    assert "2026-11-20 23:30" in job.text and "42%" in job.text and "2/5" in job.text and "2.0 KB" in job.text
    assert html.one("sync-progress").attrs["aria-valuenow"] == "42"
    assert html.one("schedule-interval").attrs["value"] == "900"
    assert "checked" in html.one("schedule-enabled").attrs
    assert not html.all("schedule-save") and not html.all("delete-source") and not html.all("sync-now")
    assert not html.all("folder-tree")  # an NVR has cameras, not folders

    operator = await page(web.operator, f"/sources/{nvr.source_id}")
    delete = operator.one("delete-source")
    assert (
        delete.attrs["data-api-action"] == f"/api/v1/sources/{nvr.source_id}"
        and delete.attrs["data-method"] == "DELETE"
    )
    assert delete.attrs["data-confirm"] and delete.attrs["data-redirect"] == "/sources"
    form = operator.one("schedule-form")
    assert (
        form.attrs["data-api"] == f"/api/v1/sources/{nvr.source_id}/sync-status"
        and form.attrs["data-method"] == "PATCH"
    )
    assert operator.all("schedule-save")

    cloud = await page(web.operator, f"/sources/{drive.source_id}")
    tree = cloud.one("folder-tree")
    assert tree.attrs["data-provider"] == "dropbox" and tree.attrs["data-source-id"] == drive.source_id
    assert tree.attrs["data-root"] == "/camera/front" and tree.attrs["data-editable"] == "1"
    (top,) = cloud.all("folder-node")
    assert top.attrs["data-path"] == ""  # the drive's top; folders below load as nodes open
    assert cloud.all("save-folders") and cloud.one("source-root").text == "/camera/front"
    assert "/static/js/folder_tree.js" in (await web.operator.get(f"/sources/{drive.source_id}")).text
    await page(web.viewer, f"/sources/{drive.source_id}", status=404)  # not the viewer's cloud source
    await page(web.viewer, "/sources/no-such-id", status=404)

    vietnamese = await in_vietnamese(web.operator, f"/sources/{drive.source_id}")
    for text in ("Thư mục cần đồng bộ", "Lưu lựa chọn thư mục", "Đồng bộ tự động", "Các lần đồng bộ gần đây"):
        assert text in vietnamese, text

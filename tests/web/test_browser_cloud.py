"""A cloud drive through the dashboard in Debian's Chromium: connect a Dropbox account with the OAuth popup
(PKCE, against the loopback fake that checks it as Dropbox does), save the source, choose another folder in
the lazy folder tree, and sync it to 100 %."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.fakes.dropbox import FakeDropbox
from tests.web.browser import LiveServer, shot, sign_in, start_server

HOLIDAY = b"\x00\x00\x00\x18ftypmp42" + b"h" * 3000


@pytest.fixture(scope="module")
async def dropbox() -> AsyncIterator[FakeDropbox]:
    async with FakeDropbox() as fake:
        fake.add_file("/Cameras/gate/0800.mp4", b"\x00\x00\x00\x18ftypmp42" + b"d" * 4000)
        fake.add_file("/Personal/holiday.mp4", HOLIDAY)
        fake.add_file("/Personal/notes.txt", b"not a video")
        yield fake


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, dropbox: FakeDropbox) -> Iterator[LiveServer]:
    env = {
        "VTRACK_CLOUD_CLIENTS": json.dumps({"dropbox": {"client_id": dropbox.auth.client_id}}),
        "VTRACK_CLOUD_URLS": json.dumps({"dropbox": dropbox.urls}),
        "VTRACK_ARCHIVE_RESERVE_GB": "0",
    }
    with start_server(tmp_path_factory.mktemp("cloud") / "data", **env) as running:
        yield running


async def test_connect_dropbox_choose_a_folder_and_sync_it(
    page: Page, server: LiveServer, dropbox: FakeDropbox
) -> None:
    url = server.url
    await sign_in(page, url, "admin", server.admin_password)
    await page.goto(f"{url}/sources/add?protocol=dropbox")
    await shot(page, "01-dropbox")
    async with page.expect_popup() as opened:
        await page.locator("[data-testid=connect-account]").click()
    popup = await opened.value
    await popup.wait_for_event(
        "close"
    )  # the provider sent it back to vtrack, which told this page and closed
    account = page.locator("[data-testid=field-account]")
    await expect(account).not_to_have_value("")
    assert dropbox.auth.token_requests == ["authorization_code"]

    await page.locator("[data-testid=field-name]").fill("Shop Dropbox")
    await page.locator("[data-testid=field-root]").fill("/Cameras")
    await page.locator("[data-testid=test-connection]").click()
    await expect(page.locator("[data-testid=connection-result][data-state=ok]")).to_be_visible()
    await page.locator("[data-testid=save-source]").click()
    await page.wait_for_url(re.compile(r"/sources(\?|$)"))

    # The folder tree: open the drive, tick "Personal" instead of "Cameras", save.
    await page.locator("[data-testid=source-row][data-source-name='Shop Dropbox'] a").first.click()
    await page.wait_for_url(re.compile(r"/sources/[0-9a-f-]{36}$"))
    tree = page.locator("[data-testid=folder-tree]")
    cameras = tree.get_by_role("checkbox", name="Cameras", exact=True)
    personal = tree.get_by_role("checkbox", name="Personal", exact=True)
    await expect(cameras).to_be_checked()  # the folder typed when the source was added
    await personal.check()
    await expect(cameras).not_to_be_checked()
    await page.locator("[data-testid=save-folders]").click()
    await expect(page.locator("#toast .msg").last).to_have_text(re.compile("."))
    await shot(page, "02-folder-chosen")
    source_id = page.url.rsplit("/", 1)[1]
    async with httpx.AsyncClient(base_url=url, cookies=await _cookies(page)) as api:
        saved = (await api.get(f"/api/v1/sources/{source_id}")).json()["data"]
    assert saved["config"]["root"] == "/personal"  # Dropbox's id for a folder: its lower-case path

    # Sync now: the bar reaches 100 % and the chosen folder's video is in the archive.
    await page.locator("[data-testid=sync-now]").click()
    archive = server.data_dir / "archive" / "Shop Dropbox"
    async with asyncio.timeout(60):
        while not (archive / "holiday.mp4").is_file():  # noqa: ASYNC110  (the server's process writes it)
            await asyncio.sleep(0.2)
    await expect(page.locator("[data-testid=sync-percent]")).to_have_text("100%")
    await expect(page.locator("[data-testid=sync-state]")).to_have_text("done")
    assert (archive / "holiday.mp4").read_bytes() == HOLIDAY

    # The recordings browser lists the drive's video with where it came from (below the synced folder).
    await page.goto(f"{url}/recordings?source_id={source_id}&date=")
    # (gate/0800.mp4 too when the first sync of /Cameras finished before the folder changed: both are kept.)
    listed = page.locator("[data-testid=recording-remote-path]")
    await expect(listed.filter(has_text=re.compile(r"^holiday\.mp4$"))).to_have_count(1)
    await shot(page, "04-recordings")
    await shot(page, "03-synced")


async def _cookies(page: Page) -> dict[str, str]:
    return {c["name"]: c["value"] for c in await page.context.cookies()}

"""The dashboard end to end, as a person uses it: Debian's Chromium (Playwright) against the real `vtrack
serve` and a simulated NVR with three cameras, each in its own process.

Sign in; add the NVR through "Add source" (test the connection, discover its three cameras, keep them all);
see their snapshots on the dashboard; sync the source and watch the bar reach 100 %; play a recording in the
browser; draw nothing but watch the live people counts of a channel change. Screenshots of every step are kept
in artifacts/screenshots/.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from tests.peers.ports import free_port
from tests.shared_data import PEOPLE_VIDEO, YOLOX_NANO
from tests.test_cli import cli_env, vtrack_command
from tests.web.browser import LiveServer, new_page, shot, sign_in, start_server

SIM_HOST = "127.0.0.51"  # the NVR's own loopback address, as if it were another box on the LAN
CAMERAS = ["Front Door Camera", "Parking Lot Camera", "Warehouse Camera"]
WITH_PEOPLE = PEOPLE_VIDEO.is_file() and YOLOX_NANO.is_file()


@dataclass(frozen=True)
class Nvr:
    host: str
    port: int
    process: subprocess.Popen[str]


@contextlib.contextmanager
def simulated_nvr(workdir: Path) -> Iterator[Nvr]:
    """`vtrack simulate --nvr`: three channels with Profile G recordings, looping the people clip when the
    checkout has it beside it."""
    onvif, rtsp, control, sdk = free_port(), free_port(), free_port(), free_port()
    args = ["simulate", "--nvr", "--cameras", "3", "--host", SIM_HOST, "--onvif-port-base", str(onvif)]
    args += ["--rtsp-port", str(rtsp), "--control-port", str(control), "--sdk-port-base", str(sdk)]
    args += ["--no-discovery", *(["--video", str(PEOPLE_VIDEO)] if WITH_PEOPLE else [])]
    workdir.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(  # noqa: S603  (our own CLI)
        [*vtrack_command(), *args],
        env=cli_env(workdir / "sim-data"),
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    try:
        deadline, seen = time.monotonic() + 60, []
        while not any("simulated cameras" in line for line in seen):
            line = process.stdout.readline()
            assert line and time.monotonic() < deadline, "".join(seen)
            seen.append(line)
        yield Nvr(SIM_HOST, onvif, process)
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="module")
def nvr(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nvr]:
    with simulated_nvr(tmp_path_factory.mktemp("nvr")) as running:
        yield running


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, nvr: Nvr) -> Iterator[LiveServer]:
    env = {
        "VTRACK_HEALTH_INTERVAL_SECONDS": "10",
        "VTRACK_SYNC_LOOKBACK_HOURS": "0.2",  # 12 minutes: at least 2 of them in a closed NVR file
        "VTRACK_ARCHIVE_RESERVE_GB": "0",
        "VTRACK_SNAPSHOT_REFRESH_MINUTES": "0",  # the person takes the pictures here
    }
    if WITH_PEOPLE:
        env["VTRACK_ANALYTICS_MODEL"] = str(YOLOX_NANO)
    with start_server(tmp_path_factory.mktemp("journey") / "data", **env) as running:
        yield running


@pytest.fixture
async def person(browser: Browser, server: LiveServer) -> AsyncIterator[Page]:
    async with new_page(browser, width=1280, height=900) as page:
        await sign_in(page, server.url, "admin", server.admin_password)
        yield page


async def test_add_an_nvr_sync_it_play_a_recording_and_watch_counts(
    person: Page, server: LiveServer, nvr: Nvr
) -> None:
    page, url = person, server.url

    # Add source: the NVR, its connection tested, its cameras discovered and all three kept.
    await page.goto(f"{url}/sources/add")
    await shot(page, "01-protocols")
    await page.locator("[data-testid=protocol-nvr]").click()
    await page.locator("[data-testid=field-name]").fill("Simulated NVR")
    await page.locator("[data-testid=field-hosts]").fill(nvr.host)
    await page.locator("[data-testid=field-ports]").fill(str(nvr.port))
    await page.locator("[data-testid=field-username]").fill("admin")
    await page.locator("[data-testid=field-password]").fill("admin123")
    await page.locator("[data-testid=test-connection]").click()
    await expect(page.locator("[data-testid=connection-result][data-state=ok]")).to_be_visible()
    await page.locator("[data-testid=discover]").click()
    found = page.locator("[data-testid=discovered-camera]")
    await expect(found).to_have_count(3)
    assert sorted(await found.evaluate_all("tiles => tiles.map(t => t.dataset.name)")) == CAMERAS
    await shot(page, "02-discovered")
    await page.locator("[data-testid=save-source]").click()
    await page.wait_for_url(re.compile(r"/sources(\?|$)"))
    await shot(page, "03-sources")

    # Dashboard: the three cameras, each pictured once asked, with a health badge.
    await page.goto(f"{url}/dashboard")
    tiles = page.locator("[data-testid=camera-tile]")
    await expect(tiles).to_have_count(3)
    buttons = page.locator("[data-testid=take-snapshot]")
    for remaining in (3, 2, 1):  # each click captures a frame from the camera's stream, then the grid reloads
        await expect(buttons).to_have_count(remaining, timeout=30_000)
        await buttons.first.click()
    await expect(buttons).to_have_count(0, timeout=30_000)
    await expect(page.locator("img[data-testid=camera-thumb]")).to_have_count(3)
    await page.wait_for_function(
        "() => [...document.querySelectorAll('img[data-testid=camera-thumb]')]"
        ".filter(i => i.complete && i.naturalWidth > 0).length === 3"
    )
    await expect(page.locator("[data-testid=camera-status]")).to_have_count(3)
    await shot(page, "04-dashboard")

    # Sources: sync now, and the bar follows the run to 100 % without a reload.
    await page.goto(f"{url}/sources")
    row = page.locator("[data-testid=source-row][data-source-name='Simulated NVR']")
    state = row.locator("[data-testid=sync-state]")
    await expect(state).not_to_have_text(re.compile("queued|syncing"), timeout=60_000)  # the run saving began
    await row.locator("[data-testid=sync-now]").click()
    await expect(row.locator("[data-testid=sync-percent]")).to_have_text("100%", timeout=90_000)
    await expect(state).to_have_text("done")
    await expect(row.locator("[data-testid=sync-progress]")).to_have_attribute("aria-valuenow", "100")
    await shot(page, "05-synced")

    # Recordings: today's files of the source, one played in the browser.
    await page.goto(f"{url}/recordings")
    rows = page.locator("[data-testid=recording-row]")
    await expect(rows.first).to_be_visible()
    await shot(page, "06-recordings")
    await rows.first.locator("[data-testid=play-recording]").click()
    player = page.locator("video[data-testid=player]")
    await expect(player).to_be_visible()
    await player.evaluate("video => { video.muted = true; return video.play() }")
    await page.wait_for_function(
        "() => { const v = document.querySelector('video[data-testid=player]');"
        " return v.videoWidth > 0 && v.currentTime > 0.5 }"
    )
    await shot(page, "07-playing")

    # Analytics: a channel on the front door camera, a counting line drawn across its picture, live counts.
    if not WITH_PEOPLE:
        pytest.skip(f"live counts need the people clip and YOLOX-Nano beside the checkout ({PEOPLE_VIDEO})")
    await page.goto(f"{url}/analytics")
    form = page.locator("[data-testid=add-channel-form]")
    await form.locator("[data-testid=channel-name]").fill("Front door people")
    await form.locator("[data-testid=channel-camera]").select_option(label=CAMERAS[0])
    await form.locator("[data-testid=add-channel-submit]").click()
    await page.wait_for_url(re.compile(r"/analytics/[0-9a-f-]{36}$"))
    await page.locator("[data-testid=shape-name]").fill("door")
    await page.locator("[data-testid=draw-line]").click()
    canvas = await page.locator("[data-testid=editor-canvas]").bounding_box()
    assert canvas is not None
    y = canvas["y"] + canvas["height"] * 0.6  # the line the demo counts at, left edge to right edge
    await page.mouse.click(canvas["x"] + 1, y)
    await page.mouse.click(canvas["x"] + canvas["width"] - 1, y)
    await expect(page.locator("[data-testid=line-item][data-name=door]")).to_have_count(1)
    await page.locator("[data-testid=save-lines]").click()
    await expect(page.locator("[data-testid=editor-error]")).to_be_hidden()
    await shot(page, "08-line-drawn")

    await page.goto(f"{url}/analytics")
    card = page.locator("[data-testid=channel-card]")
    await expect(card).to_have_count(1)
    crossings = (  # in + out at the line "door", as the card shows them
        "() => ['count-in', 'count-out']"
        ".map(id => document.querySelector(`[data-testid=${id}][data-line=door]`))"
        ".reduce((sum, el) => sum + (el ? parseInt(el.textContent.replace(/\\D/g, '') || '0', 10) : 0), 0)"
    )
    before = await page.evaluate(crossings)
    await page.wait_for_function(f"() => ({crossings})() >= {before + 2}", timeout=90_000)
    await page.wait_for_function(  # the annotated live preview is showing frames
        "() => { const img = document.querySelector('[data-testid=preview]');"
        " return img && img.naturalWidth > 0 }"
    )
    await shot(page, "09-live-counts")


async def test_every_page_fits_a_phone_in_vietnamese(person: Page, server: LiveServer) -> None:
    """After the journey above (same server, its data): each page at 390 px, in Vietnamese, scrolls only
    down, never sideways."""
    page, url = person, server.url
    await page.set_viewport_size({"width": 390, "height": 844})
    await page.goto(f"{url}/dashboard")
    await page.locator("a[data-lang=vi]").click()
    await expect(page.locator("[data-nav=dashboard]")).to_have_text("Tổng quan")
    for path in (
        "/dashboard",
        "/cameras",
        "/sources",
        "/sources/add?protocol=nvr",
        "/recordings",
        "/analytics",
        "/users",
    ):
        await page.goto(f"{url}{path}")
        width = await page.evaluate("() => document.documentElement.scrollWidth")
        await shot(page, f"phone-vi{path.replace('/', '-').split('?')[0]}")
        assert width <= 391, f"{path} is {width}px wide at 390px"

"""Real-browser harness: Debian's Chromium driven by Playwright for Python against the real `vtrack` command.

Async API, on purpose. The suite runs under pytest-asyncio with one session-wide event loop. Playwright's sync
API refuses to start inside a running loop, and while a sync Playwright is alive it marks its own private loop
as the thread's running loop between calls, so every async test or async fixture that pytest-asyncio runs in
that window fails ("Runner.run() cannot be called from a running event loop": seen). The async API runs on
the session loop, next to everything else, so browser tests may be async tests that also use async fixtures.

Use it from a test module by importing the fixtures (pytest finds them among the module's names; the
`_fixture` suffix keeps them from clashing with the test's parameters):

    from tests.web.browser import browser_fixture, live_server_fixture, page_fixture  # noqa: F401

    async def test_x(page: Page, live_server: LiveServer) -> None:
        await sign_in(page, live_server.url, "admin", live_server.admin_password)
        await shot(page, "dashboard")      # artifacts/screenshots/test_x-dashboard.png

Fixtures: `live_server` (module: `vtrack serve` on a free loopback port, own data dir, known admin
password), `browser` (module: one headless Chromium), `page` (function: a fresh context, 1280x900, English,
20 s timeouts). For other sizes or languages: `async with new_page(browser, width=390, height=844) as page`.
For another server command (e.g. `demo --cameras 3`): `with start_server(tmp_dir, "demo", "--cameras", "3")`.

Timeouts are generous (20 s per wait): Chromium and the server share two busy cores in CI.
Never run `playwright install`: the browser is Debian's (`make setup` installs the `chromium` package).
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from weakref import WeakKeyDictionary

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from tests.test_cli import Server, serving

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Without these Chromium keeps calling Google's update and sync services, which cannot answer here.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Containers often have a tiny /dev/shm; Chromium then crashes tabs under load.
    "--disable-dev-shm-usage",
]
WAIT_MS = 20_000
ADMIN_PASSWORD = "browser-admin-pass-1"
REPO_ROOT = Path(__file__).resolve().parents[2]

expect.set_options(timeout=WAIT_MS)
_JS_ERRORS: WeakKeyDictionary[Page, list[str]] = WeakKeyDictionary()


@dataclass(frozen=True)
class LiveServer:
    url: str
    admin_password: str
    data_dir: Path
    process: Server  # .output has the server's log so far, for assertion messages


def chromium_path() -> Path:
    """CI installs Debian's chromium; a missing browser is a broken setup, not a reason to skip."""
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: `make setup` installs Debian's chromium package", pytrace=False)
    return CHROMIUM


def artifacts_dir() -> Path:
    """`artifacts/` at the checkout's root, or $VTRACK_ARTIFACTS; screenshots go in its `screenshots/`."""
    override = os.environ.get("VTRACK_ARTIFACTS")
    return Path(override) if override else REPO_ROOT / "artifacts"


def _current_test_name() -> str:
    # "tests/web/test_x.py::test_y[param] (call)" -> "test_y-param"
    current = os.environ.get("PYTEST_CURRENT_TEST", "unknown").split("::")[-1].split(" ")[0]
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", current).strip("-")


async def shot(page: Page, name: str) -> Path:
    """A full-page PNG named after the running test, kept for people to look at (CI uploads artifacts/)."""
    folder = artifacts_dir() / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{_current_test_name()}-{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


async def sign_in(page: Page, base_url: str, username: str, password: str) -> None:
    """Through the login form at `/`, as a person does; returns once the dashboard's top bar is there."""
    await page.goto(f"{base_url}/")
    await page.locator("input[name=username]").fill(username)
    await page.locator("input[name=password]").fill(password)
    async with page.expect_navigation():
        await page.locator("form[action='/login'] button[type=submit]").click()
    await expect(page.locator("[data-testid=logout]")).to_be_visible()


def js_errors(page: Page) -> list[str]:
    """Uncaught script errors on this page so far (collected from the moment `new_page` opened it)."""
    return _JS_ERRORS.get(page, [])


@contextmanager
def start_server(data_dir: Path, command: str = "serve", *args: str, **env: str) -> Iterator[LiveServer]:
    """The real CLI as a subprocess on 127.0.0.1 and a free port; waits until /healthz answers."""
    env.setdefault("VTRACK_ADMIN_PASSWORD", ADMIN_PASSWORD)
    with serving(data_dir, command, *args, **env) as server:
        yield LiveServer(server.url, env["VTRACK_ADMIN_PASSWORD"], data_dir, server)


@asynccontextmanager
async def new_page(
    browser: Browser, *, width: int = 1280, height: int = 900, locale: str = "en-US"
) -> AsyncIterator[Page]:
    """A page in a fresh context (no cookies shared with other tests); `locale` sets Accept-Language."""
    context = await browser.new_context(viewport={"width": width, "height": height}, locale=locale)
    context.set_default_timeout(WAIT_MS)
    context.set_default_navigation_timeout(WAIT_MS)
    try:
        page = await context.new_page()
        errors = _JS_ERRORS.setdefault(page, [])
        page.on("pageerror", lambda error: errors.append(str(error)))
        yield page
    finally:
        await context.close()


@pytest.fixture(name="live_server", scope="module")
def live_server_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with start_server(tmp_path_factory.mktemp("browser") / "data") as server:
        yield server


@pytest.fixture(name="browser", scope="module")
async def browser_fixture() -> AsyncIterator[Browser]:
    executable = chromium_path()
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(executable), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture(name="page")
async def page_fixture(browser: Browser) -> AsyncIterator[Page]:
    async with new_page(browser) as opened:
        yield opened

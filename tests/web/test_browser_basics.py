"""The dashboard in a real browser against the real server: sign in and out, language, phone width, and the
users page's forms. Other pages are covered by their own tests; here the dashboard is only its top bar."""

from __future__ import annotations

import re

from playwright.async_api import Browser, Dialog, Page, expect

from tests.web.browser import (  # the *_fixture names are the fixtures browser, live_server, page
    LiveServer,
    browser_fixture,  # noqa: F401
    js_errors,
    live_server_fixture,  # noqa: F401
    new_page,
    page_fixture,  # noqa: F401
    shot,
    sign_in,
)


async def test_sign_in_refuses_a_wrong_password_then_lands_on_the_dashboard(
    page: Page, live_server: LiveServer
) -> None:
    await page.goto(f"{live_server.url}/")
    await expect(page.locator("input[name=username]")).to_be_visible()
    await expect(page.locator("input[name=password]")).to_have_attribute("type", "password")
    await shot(page, "login")

    await page.locator("input[name=username]").fill("admin")
    await page.locator("input[name=password]").fill("not-the-password")
    await page.locator("form[action='/login'] button[type=submit]").click()
    await expect(page.locator("[data-testid=login-error]")).to_have_text("Wrong username or password.")
    await expect(page.locator("input[name=username]")).to_have_value("admin")  # kept; the password is not
    await expect(page.locator("input[name=password]")).to_have_value("")
    await shot(page, "wrong-password")

    await sign_in(page, live_server.url, "admin", live_server.admin_password)
    await expect(page).to_have_url(f"{live_server.url}/dashboard")
    await expect(page.locator(".topbar .who")).to_contain_text("admin")
    await shot(page, "dashboard")
    assert not js_errors(page)


async def test_vietnamese_from_the_top_bar_survives_a_reload(page: Page, live_server: LiveServer) -> None:
    await sign_in(page, live_server.url, "admin", live_server.admin_password)
    await page.locator(".topbar a[data-lang=vi]").click()
    users_link = page.locator("nav a[data-nav=users]")
    await expect(users_link).to_have_text("Người dùng")
    await expect(page.locator("html")).to_have_attribute("lang", "vi")
    await expect(page.locator("[data-testid=logout]")).to_have_text("Đăng xuất")
    await expect(page).to_have_url(f"{live_server.url}/dashboard")  # the switch comes back to the same page
    await shot(page, "vietnamese")

    await page.reload()
    await expect(users_link).to_have_text("Người dùng")
    await expect(page.locator("nav a[data-nav=dashboard]")).to_have_text("Tổng quan")
    await page.locator(".topbar a[data-lang=en]").click()
    await expect(users_link).to_have_text("Users")


async def no_sideways_scroll(page: Page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 391, f"{page.url} is {width}px wide at a 390px viewport"


async def test_phone_width_has_no_sideways_scroll_and_the_nav_is_reachable(
    browser: Browser, live_server: LiveServer
) -> None:
    async with new_page(browser, width=390, height=844) as page:
        await page.goto(f"{live_server.url}/")
        await no_sideways_scroll(page)
        await sign_in(page, live_server.url, "admin", live_server.admin_password)
        await no_sideways_scroll(page)
        await shot(page, "dashboard")

        # The nav scrolls inside itself; its last entry can be brought into view and used.
        users_link = page.locator("nav a[data-nav=users]")
        await users_link.scroll_into_view_if_needed()
        await expect(users_link).to_be_in_viewport()
        await users_link.click()
        await expect(page).to_have_url(f"{live_server.url}/users")
        await expect(page.locator("[data-testid=user-row][data-username=admin]")).to_be_visible()
        await no_sideways_scroll(page)
        await shot(page, "users")


async def test_sign_out_returns_to_the_login_page_and_closes_the_dashboard(
    page: Page, live_server: LiveServer
) -> None:
    await sign_in(page, live_server.url, "admin", live_server.admin_password)
    await page.locator("[data-testid=logout]").click()
    await expect(page).to_have_url(f"{live_server.url}/")
    await expect(page.locator("input[name=password]")).to_be_visible()
    await shot(page, "signed-out")

    await page.goto(f"{live_server.url}/dashboard")
    await expect(page).to_have_url(re.compile(re.escape(live_server.url) + r"/\?next=(/|%2F)dashboard$"))
    await expect(page.locator("[data-testid=logout]")).to_have_count(0)
    await shot(page, "dashboard-refused")


async def test_admin_manages_a_user_through_the_forms(page: Page, live_server: LiveServer) -> None:
    await sign_in(page, live_server.url, "admin", live_server.admin_password)
    await page.goto(f"{live_server.url}/users")
    await page.locator("[data-testid=user-new]").click()
    form = page.locator("form[data-testid=user-form]")
    await form.locator("[name=username]").fill("erin")
    await form.locator("[name=password]").fill("erin-pass-123")
    await form.locator("select[name=role]").select_option("operator")
    await shot(page, "create-filled")
    await form.locator("[data-testid=user-save]").click()
    row = page.locator("[data-testid=user-row][data-username=erin]")
    await expect(row.locator("[data-role]")).to_have_attribute("data-role", "operator")
    await shot(page, "created")

    # The API's refusal shows in the form, next to the field it names.
    await form.locator("[name=username]").fill("ERIN")
    await form.locator("[name=password]").fill("erin-pass-123")
    await form.locator("[data-testid=user-save]").click()
    await expect(form.locator("[data-form-error]")).to_contain_text("already exists")
    await expect(form.locator("[name=username]")).to_have_class(re.compile(r"\binvalid\b"))
    await shot(page, "duplicate-refused")

    # Edit: the form starts from the stored role; saving goes back to the list.
    await row.locator("[data-testid=user-edit]").click()
    edit = page.locator("form[data-testid=user-form]")
    await expect(edit.locator("select[name=role]")).to_have_value("operator")
    await expect(edit.locator("[name=password]")).to_have_value("")
    await edit.locator("select[name=role]").select_option("viewer")
    await edit.locator("[name=is_active]").uncheck()
    await edit.locator("[data-testid=user-save]").click()
    await expect(page).to_have_url(f"{live_server.url}/users")
    await expect(row.locator("[data-role]")).to_have_attribute("data-role", "viewer")
    await expect(row.locator("[data-active]")).to_have_attribute("data-active", "false")

    # The last admin cannot demote themself: the API's message shows on the form.
    await page.locator("[data-testid=user-row][data-username=admin] [data-testid=user-edit]").click()
    await page.locator("select[name=role]").select_option("viewer")
    await page.locator("[data-testid=user-save]").click()
    await expect(page.locator("[data-form-error]")).to_contain_text("last active admin")
    await shot(page, "last-admin-refused")

    # Delete after the confirm dialog.
    await page.goto(f"{live_server.url}/users")
    messages: list[str] = []

    async def accept(dialog: Dialog) -> None:
        messages.append(dialog.message)
        await dialog.accept()

    page.on("dialog", accept)
    await row.locator("[data-testid=user-delete]").click()
    await expect(row).to_have_count(0)
    assert messages == ["Delete user erin? This cannot be undone."]
    await shot(page, "deleted")
    assert not js_errors(page)

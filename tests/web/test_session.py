"""Signing in to the dashboard, the session cookie on the API, CSRF, the language switch and error pages."""

from __future__ import annotations

import re

from fastapi import FastAPI
from httpx import AsyncClient

from tests.conftest import ADMIN_PASSWORD, Clients, client_for
from tests.web.conftest import WebClients, signed_in
from vtrack.security.web_session import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE
from vtrack.services import Services

HTML = {"Accept": "text/html"}


async def _login_form(client: AsyncClient) -> str:
    page = await client.get("/")
    assert page.status_code == 200
    return client.cookies[CSRF_COOKIE]


async def test_login_page_has_the_form_fields(app: FastAPI) -> None:
    async with client_for(app) as browser:
        page = await browser.get("/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert re.search(r'<input name="username"', page.text)
        assert re.search(r'<input name="password" type="password"', page.text)
        assert f'name="csrf_token" value="{browser.cookies[CSRF_COOKIE]}"' in page.text
        assert "vtrack_session" not in page.headers.get("set-cookie", "")


async def test_sign_in_sets_an_http_only_session_and_goes_where_asked(app: FastAPI) -> None:
    async with client_for(app) as browser:
        csrf = await _login_form(browser)
        answer = await browser.post(
            "/login",
            data={
                "username": "admin",
                "password": ADMIN_PASSWORD,
                "csrf_token": csrf,
                "next": "/cameras?q=x",
            },
        )
        assert answer.status_code == 303 and answer.headers["location"] == "/cameras?q=x"
        cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE))
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie
        assert browser.cookies[CSRF_COOKIE] != csrf  # a new CSRF token per sign-in
        again = await browser.get("/")
        assert again.status_code == 303 and again.headers["location"] == "/dashboard"


async def test_next_never_leaves_the_site(app: FastAPI) -> None:
    async with client_for(app) as browser:
        csrf = await _login_form(browser)
        for target in ("//evil.example/x", "https://evil.example", "/\\evil.example"):
            answer = await browser.post(
                "/login",
                data={"username": "admin", "password": ADMIN_PASSWORD, "csrf_token": csrf, "next": target},
            )
            assert answer.headers["location"] == "/dashboard", target
            csrf = browser.cookies[CSRF_COOKIE]


async def test_wrong_password_shows_the_error_and_is_audited(app: FastAPI, clients: Clients) -> None:
    async with client_for(app) as browser:
        csrf = await _login_form(browser)
        answer = await browser.post(
            "/login", data={"username": "admin", "password": "nope", "csrf_token": csrf}
        )
        assert answer.status_code == 401
        assert 'data-testid="login-error"' in answer.text and "Wrong username or password" in answer.text
        assert 'value="admin"' in answer.text  # the username is kept, the password is not
        assert SESSION_COOKIE not in browser.cookies
    audit = (await clients.admin.get("/api/v1/audit", params={"action": "auth.login"})).json()["data"]
    assert any(row["outcome"] == "failure" for row in audit)


async def test_a_form_without_its_csrf_token_is_refused(app: FastAPI) -> None:
    async with client_for(app) as browser:
        await _login_form(browser)
        answer = await browser.post(
            "/login", data={"username": "admin", "password": ADMIN_PASSWORD, "csrf_token": "forged"}
        )
        assert answer.status_code == 403 and "expired" in answer.text
        assert SESSION_COOKIE not in browser.cookies


async def test_repeated_failures_are_throttled(app: FastAPI) -> None:
    async with client_for(app) as browser:
        csrf = await _login_form(browser)
        statuses = []
        for _ in range(6):
            answer = await browser.post(
                "/login", data={"username": "admin", "password": "bad", "csrf_token": csrf}
            )
            statuses.append(answer.status_code)
        assert statuses[-1] == 429 and "Too many failed attempts" in answer.text


async def test_pages_send_strangers_to_the_sign_in_page(app: FastAPI) -> None:
    async with client_for(app) as browser:
        answer = await browser.get("/cameras?status=offline")
        assert (
            answer.status_code == 303 and answer.headers["location"] == "/?next=/cameras%3Fstatus%3Doffline"
        )
        fragment = await browser.get("/cameras", headers={"HX-Request": "true"})
        assert fragment.status_code == 204 and fragment.headers["HX-Redirect"].startswith("/?next=/cameras")
        browser.cookies.set(SESSION_COOKIE, "not-a-token")
        answer = await browser.get("/dashboard")
        assert answer.status_code == 303 and answer.headers["location"] == "/?next=/dashboard"


async def test_the_session_cookie_works_on_the_api_with_csrf_on_writes(web: WebClients) -> None:
    assert (await web.admin.get("/api/v1/auth/me")).json()["data"]["username"] == "admin"
    without = await web.admin.post(
        "/api/v1/cameras/groups", json={"name": "Lobby"}, headers={CSRF_HEADER: ""}
    )
    assert without.status_code == 403 and CSRF_HEADER in without.json()["error"]["message"]
    wrong = await web.admin.post("/api/v1/cameras/groups", json={"name": "Lobby"}, headers={CSRF_HEADER: "x"})
    assert wrong.status_code == 403
    created = await web.admin.post("/api/v1/cameras/groups", json={"name": "Lobby"})
    assert created.status_code == 201
    # the viewer's cookie carries the viewer's rights, not more
    denied = await web.viewer.post("/api/v1/cameras/groups", json={"name": "Hall"})
    assert denied.status_code == 403


async def test_tokens_are_not_interchangeable(app: FastAPI, web: WebClients) -> None:
    session_token = web.admin.cookies[SESSION_COOKIE]
    async with client_for(app, session_token) as bearer:
        assert (await bearer.get("/api/v1/auth/me")).status_code == 401
    access = web.api.admin.headers["Authorization"].removeprefix("Bearer ")
    async with client_for(app) as browser:
        browser.cookies.set(SESSION_COOKIE, access)
        assert (await browser.get("/api/v1/auth/me")).status_code == 401
        assert (await browser.get("/dashboard")).status_code == 303


async def test_a_password_change_ends_the_users_sessions(app: FastAPI, web: WebClients) -> None:
    viewer = (await web.api.admin.get("/api/v1/users")).json()["data"]
    viewer_id = next(u["id"] for u in viewer if u["username"] == "viewer")
    assert (await web.viewer.get("/api/v1/auth/me")).status_code == 200
    changed = await web.api.admin.put(f"/api/v1/users/{viewer_id}", json={"password": "another-pass-123"})
    assert changed.status_code == 200, changed.text
    assert (await web.viewer.get("/api/v1/auth/me")).status_code == 401
    assert (await web.viewer.get("/dashboard")).headers["location"] == "/?next=/dashboard"
    async with signed_in(app, "viewer", "another-pass-123") as again:
        assert (await again.get("/api/v1/auth/me")).status_code == 200


async def test_logout_needs_its_token_clears_the_session_and_is_audited(
    app: FastAPI, web: WebClients
) -> None:
    copied = web.operator.cookies[SESSION_COOKIE]
    forged = await web.operator.post("/logout", data={"csrf_token": "forged"})
    assert forged.headers["location"] == "/dashboard" and SESSION_COOKIE in web.operator.cookies
    answer = await web.operator.post("/logout", data={"csrf_token": web.operator.cookies[CSRF_COOKIE]})
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    assert SESSION_COOKIE not in web.operator.cookies
    assert (await web.operator.get("/dashboard")).status_code == 303
    async with client_for(app) as thief:  # a copy of the cookie from before: ended on the server too
        thief.cookies.set(SESSION_COOKIE, copied)
        assert (await thief.get("/api/v1/auth/me")).status_code == 401
        assert (await thief.get("/dashboard")).headers["location"] == "/?next=/dashboard"
    assert (await web.admin.get("/api/v1/auth/me")).status_code == 200  # other people's sessions go on
    audit = (await web.api.admin.get("/api/v1/audit", params={"action": "auth.logout"})).json()["data"]
    assert [row["actorName"] for row in audit] == ["operator"]


async def test_the_language_switch_and_the_browsers_language(app: FastAPI) -> None:
    async with client_for(app) as browser:
        assert "Đăng nhập" in (await browser.get("/", headers={"Accept-Language": "vi-VN,vi;q=0.9"})).text
        assert "Sign in" in (await browser.get("/", headers={"Accept-Language": "fr, en;q=0.5"})).text
        switched = await browser.get("/lang/vi", params={"next": "/?next=/cameras"})
        assert switched.status_code == 303 and switched.headers["location"] == "/?next=/cameras"
        page = await browser.get("/", headers={"Accept-Language": "en"})
        assert '<html lang="vi">' in page.text and "Mật khẩu" in page.text
        await browser.get("/lang/xx")
        assert browser.cookies["vtrack_lang"] == "vi"
        assert (await browser.get("/lang/en", params={"next": "//evil.example"})).headers[
            "location"
        ] == "/dashboard"


async def test_unknown_pages_get_a_page_and_unknown_api_paths_json(web: WebClients) -> None:
    page = await web.admin.get("/no-such-page", headers=HTML)
    assert page.status_code == 404 and "Not found" in page.text and "<html" in page.text
    api = await web.admin.get("/api/v1/no-such-thing", headers=HTML)
    assert api.status_code == 404 and api.json()["success"] is False


async def test_scripts_are_served(web: WebClients) -> None:
    htmx = await web.admin.get("/static/vendor/htmx.min.js")
    assert htmx.status_code == 200 and b"htmx" in htmx.content[:2000]
    assert (await web.admin.get("/static/vendor/other.js")).status_code == 404
    app_js = await web.admin.get("/static/js/app.js")
    assert app_js.status_code == 200 and "window.vt" in app_js.text
    assert (await web.admin.get("/static/css/app.css")).status_code == 200


async def test_the_session_lasts_as_configured(services: Services, web: WebClients) -> None:
    claims = services.tokens.verify(web.admin.cookies[SESSION_COOKIE], "session")
    hours = (claims.expires_at - claims.expires_at.now(claims.expires_at.tzinfo)).total_seconds() / 3600
    assert services.settings.web_session_hours - 0.1 < hours <= services.settings.web_session_hours

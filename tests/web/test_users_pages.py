"""Users and roles pages: what an admin sees and is offered, that other roles get the 403 page, and that the
forms post exactly what the users API accepts."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

from httpx import AsyncClient, Response
from lxml import html
from lxml.html import HtmlElement

from tests.web.conftest import WebClients
from vtrack.security.permissions import BUILTIN_ROLES, Permission

USERS = "/api/v1/users"


def page(response: Response, status: int = 200) -> HtmlElement:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    return html.fromstring(response.text)


def by_testid(doc: HtmlElement, name: str) -> list[HtmlElement]:
    found: list[HtmlElement] = doc.xpath(f'//*[@data-testid="{name}"]')
    return found


def rows(doc: HtmlElement) -> dict[str, HtmlElement]:
    return {row.get("data-username"): row for row in by_testid(doc, "user-row")}


async def create(web: WebClients, username: str, role: str = "viewer") -> dict[str, object]:
    response = await web.api.admin.post(
        USERS, json={"username": username, "password": f"{username}-pass-123", "role": role}
    )
    assert response.status_code == 201, response.text
    data: dict[str, object] = response.json()["data"]
    return data


def form_fields(form: HtmlElement) -> set[str]:
    return {el.get("name") for el in form.xpath(".//input | .//select | .//textarea") if el.get("name")}


async def test_admin_sees_every_user_with_role_and_state(web: WebClients) -> None:
    await create(web, "erin", "operator")
    frank = await create(web, "frank")
    assert (await web.api.admin.put(f"{USERS}/{frank['id']}", json={"is_active": False})).status_code == 200

    doc = page(await web.admin.get("/users"))
    found = rows(doc)
    assert set(found) == {"admin", "erin", "frank", "operator", "viewer"}
    assert list(found) == sorted(found)  # the API's order: by name
    for name, role in {"admin": "admin", "erin": "operator", "frank": "viewer", "viewer": "viewer"}.items():
        assert found[name].xpath(".//*[@data-role]")[0].get("data-role") == role
    assert found["frank"].xpath(".//*[@data-active]")[0].get("data-active") == "false"
    assert found["erin"].xpath(".//*[@data-active]")[0].get("data-active") == "true"
    # The admin signed in through the form just now; the others (but the fixture's API logins) never did.
    admin_cells = [c.text_content().strip() for c in found["admin"].xpath("./td")]
    assert admin_cells[4] != "never" and found["frank"].xpath("./td")[4].text_content().strip() == "never"
    # Nobody may delete their own account: no button on the admin's own row, one on the others.
    assert not found["admin"].xpath('.//*[@data-testid="user-delete"]')
    delete = found["erin"].xpath('.//*[@data-testid="user-delete"]')[0]
    assert delete.get("data-api-action") == f"{USERS}/{found['erin'].get('data-user-id')}"
    assert delete.get("data-method") == "DELETE" and "erin" in delete.get("data-confirm")
    assert found["erin"].xpath('.//a[@data-testid="user-edit"]')[0].get("href").endswith("/edit")

    # The roles panel: each built-in role with its permissions, from the code's table.
    panel = by_testid(doc, "roles")[0]
    for role, (_, permissions) in BUILTIN_ROLES.items():
        card = panel.xpath(f'.//*[@data-role="{role.value}"]')[0]
        codes = {c.text_content() for c in card.xpath(".//code")}
        assert codes == {p.value for p in permissions}, role
    assert "manage users and roles" in panel.text_content()


async def test_created_times_follow_the_configured_zone(web: WebClients) -> None:
    erin = await create(web, "erin")
    shown = rows(page(await web.admin.get("/users")))["erin"].xpath("./td")[3].text_content().strip()
    created = datetime.fromisoformat(str(erin["createdAt"]).replace("Z", "+00:00"))
    assert shown == created.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%Y-%m-%d %H:%M")


async def test_operator_and_viewer_get_the_403_page(web: WebClients) -> None:
    for client in (web.operator, web.viewer):
        for path in ("/users", "/users/whatever/edit"):
            doc = page(await client.get(path), 403)
            assert Permission.USERS_ADMIN.value in doc.text_content()
            assert not by_testid(doc, "user-row") and not by_testid(doc, "user-form")
            # Their nav does not offer the page either.
            assert not doc.xpath('//nav//a[@href="/users"]')


async def test_signed_out_visitors_are_sent_to_sign_in(web: WebClients) -> None:
    response = await web.api.anonymous.get("/users")
    assert response.status_code == 303 and response.headers["location"] == "/?next=/users"


async def test_create_form_posts_what_the_api_takes(web: WebClients) -> None:
    doc = page(await web.admin.get("/users"))
    assert by_testid(doc, "user-new")[0].get("href") == "#new-user"
    form = by_testid(doc, "user-form")[0]
    assert (form.get("data-api"), form.get("data-method")) == (USERS, "POST")
    assert form_fields(form) == {"username", "password", "role"}
    assert form.xpath('.//input[@name="password"]')[0].get("type") == "password"
    options = [o.get("value") for o in form.xpath('.//select[@name="role"]/option')]
    assert options == ["admin", "operator", "viewer"]
    assert form.xpath(".//option[@selected]")[0].get("value") == "viewer"
    assert by_testid(form, "user-save") and form.xpath(".//*[@data-form-error]")

    # What app.js sends for this form (cookie session + CSRF header, as the browser does), then the list.
    sent = {"username": "gina", "password": "gina-pass-123", "role": "operator"}
    assert (await web.admin.post(USERS, json=sent)).status_code == 201
    found = rows(page(await web.admin.get("/users")))
    assert found["gina"].xpath(".//*[@data-role]")[0].get("data-role") == "operator"

    # A refusal comes back as the envelope the form shows: message plus the field to mark.
    refused = await web.admin.post(USERS, json={**sent, "username": "GINA"})
    assert refused.status_code == 409
    assert refused.json()["error"]["details"][0]["field"] == "username"


async def test_edit_page_prefills_role_and_state_never_a_password(web: WebClients) -> None:
    erin = await create(web, "erin", "operator")
    await web.api.admin.put(f"{USERS}/{erin['id']}", json={"is_active": False})
    response = await web.admin.get(f"/users/{erin['id']}/edit")
    doc = page(response)
    assert "erin-pass-123" not in response.text and "argon2" not in response.text
    form = by_testid(doc, "user-form")[0]
    assert (form.get("data-api"), form.get("data-method")) == (f"{USERS}/{erin['id']}", "PUT")
    # Exactly UserUpdate's fields, so the API's extra="forbid" never trips.
    assert form_fields(form) == {"role", "is_active", "password"}
    assert form.xpath(".//option[@selected]")[0].get("value") == "operator"
    active = form.xpath('.//input[@name="is_active"]')[0]
    assert active.get("type") == "checkbox" and active.get("checked") is None
    password = form.xpath('.//input[@name="password"]')[0]
    assert (
        password.get("type") == "password" and not password.get("value") and password.get("required") is None
    )
    assert by_testid(doc, "user-username")[0].text_content() == "erin"
    delete = by_testid(doc, "user-delete")[0]
    assert delete.get("data-redirect") == "/users" and delete.get("data-method") == "DELETE"

    # What the form sends after ticking "active" and choosing viewer, leaving the password empty.
    change = await web.admin.put(f"{USERS}/{erin['id']}", json={"role": "viewer", "is_active": True})
    assert change.status_code == 200, change.text
    form = by_testid(page(await web.admin.get(f"/users/{erin['id']}/edit")), "user-form")[0]
    assert form.xpath(".//option[@selected]")[0].get("value") == "viewer"
    assert form.xpath('.//input[@name="is_active"]')[0].get("checked") is not None


async def test_own_account_offers_no_delete_and_the_api_explains_refusals(web: WebClients) -> None:
    me = (await web.admin.get("/api/v1/auth/me")).json()["data"]
    doc = page(await web.admin.get(f"/users/{me['id']}/edit"))
    assert not by_testid(doc, "user-delete")
    assert "cannot delete your own account" in doc.text_content()
    # Demoting the last admin from the form: the 409's message is what the form's error box shows.
    refused = await web.admin.put(f"{USERS}/{me['id']}", json={"role": "viewer", "is_active": True})
    assert refused.status_code == 409 and "last active admin" in refused.json()["error"]["message"]
    assert (await web.admin.delete(f"{USERS}/{me['id']}")).status_code == 409


async def test_unknown_user_is_a_404_page(web: WebClients) -> None:
    doc = page(await web.admin.get("/users/no-such-user/edit"), 404)
    assert not by_testid(doc, "user-form")


async def test_vietnamese_labels(web: WebClients) -> None:
    await create(web, "erin", "operator")
    client: AsyncClient = web.admin
    client.cookies.set("vtrack_lang", "vi")
    response = await client.get("/users")
    doc = page(response)
    assert doc.get("lang") == "vi"
    text = doc.text_content()
    for label in ("Người dùng", "Tên đăng nhập", "Vai trò", "Tạo người dùng", "vận hành", "quản trị"):
        assert label in text, label
    assert "quản lý người dùng và vai trò" in text
    confirm = rows(doc)["erin"].xpath('.//*[@data-testid="user-delete"]')[0].get("data-confirm")
    assert confirm == "Xóa người dùng erin? Không thể hoàn tác."
    edit = page(await client.get(f"/users/{rows(doc)['erin'].get('data-user-id')}/edit"))
    assert "Mật khẩu mới" in edit.text_content() and "Sửa người dùng erin" in edit.text_content()
    # The browser-side strings for this page come from the same catalogs.
    shipped = json.loads(edit.xpath('//script[@id="i18n"]')[0].text)
    assert shipped["js.deleted"] == "Đã xóa"

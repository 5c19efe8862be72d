"""Users and roles for admins: the pages read through the API's repository and schema; every change goes
from the browser to /api/v1/users, so the rules (last admin, own account, password policy) live there only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from vtrack.api.deps import SessionDep
from vtrack.api.schemas.users import UserOut
from vtrack.db.repositories.users import RoleRepository, UserRepository
from vtrack.security.passwords import MIN_PASSWORD_LENGTH
from vtrack.security.permissions import Permission, RoleName
from vtrack.web.session import TemplatesDep, UsersAdmin

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
KNOWN_PERMISSIONS = frozenset(p.value for p in Permission)
ROLE_CHOICES = tuple(role.value for role in RoleName)


@dataclass(frozen=True)
class RoleView:
    name: str
    description: str  # the table's (English) text; built-in roles are shown through the catalogs instead
    builtin: bool
    permissions: list[str]


async def _roles(session: SessionDep) -> list[RoleView]:
    """The roles table (kept in step with the code on every start): built-in roles first, in the code's
    order, then any role an admin added."""
    rank = {name: index for index, name in enumerate(ROLE_CHOICES)}
    stored = sorted(await RoleRepository(session).all(), key=lambda r: (rank.get(r.name, len(rank)), r.name))
    return [
        RoleView(role.name, role.description, role.name in rank, sorted(role.permissions or []))
        for role in stored
    ]


@router.get("/users")
async def users_page(
    request: Request,
    user: UsersAdmin,
    session: SessionDep,
    templates: TemplatesDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    result = await UserRepository(session).search(page, PAGE_SIZE)
    context = {
        "users": [UserOut.of(u) for u in result.items],
        "page": result.page,
        "pages": max(result.total_pages, 1),
        "total": result.total,
        "roles": await _roles(session),
        "known_permissions": KNOWN_PERMISSIONS,
        "role_choices": ROLE_CHOICES,
        "min_password": MIN_PASSWORD_LENGTH,
    }
    return templates.render(request, "users/list.html", context, user=user)


@router.get("/users/{user_id}/edit")
async def edit_user_page(
    request: Request, user_id: str, user: UsersAdmin, session: SessionDep, templates: TemplatesDep
) -> Response:
    target = await UserRepository(session).get(user_id)
    if target is None:
        return templates.render(request, "error.html", {"status": 404}, user=user, status_code=404)
    context = {
        "target": UserOut.of(target),
        "is_self": target.id == user.id,
        "role_choices": ROLE_CHOICES,
        "min_password": MIN_PASSWORD_LENGTH,
    }
    return templates.render(request, "users/edit.html", context, user=user)

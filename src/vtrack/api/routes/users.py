"""User administration (users:admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from vtrack.api.deps import AuditorDep, SessionDep, UsersAdmin
from vtrack.api.envelope import Envelope, PagedEnvelope, error_responses, ok, paged
from vtrack.api.schemas.users import UserOut
from vtrack.db.repositories.users import UserRepository
from vtrack.security.accounts import AccountService, UserCreate, UserUpdate

router = APIRouter(prefix="/users", tags=["users"], responses=error_responses(401, 403, 422))


@router.get("")
async def list_users(
    _: UsersAdmin,
    session: SessionDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> PagedEnvelope[UserOut]:
    result = await UserRepository(session).search(page, page_size)
    return paged(result, [UserOut.of(u) for u in result.items])


@router.post("", status_code=status.HTTP_201_CREATED, responses=error_responses(409))
async def create_user(
    body: UserCreate, _: UsersAdmin, session: SessionDep, audit: AuditorDep
) -> Envelope[UserOut]:
    return ok(UserOut.of(await AccountService(session, audit).create(body)))


@router.get("/{user_id}", responses=error_responses(404))
async def get_user(user_id: str, _: UsersAdmin, session: SessionDep, audit: AuditorDep) -> Envelope[UserOut]:
    return ok(UserOut.of(await AccountService(session, audit).get(user_id)))


@router.put("/{user_id}", responses=error_responses(404, 409))
async def update_user(
    user_id: str, body: UserUpdate, _: UsersAdmin, session: SessionDep, audit: AuditorDep
) -> Envelope[UserOut]:
    accounts = AccountService(session, audit)
    return ok(UserOut.of(await accounts.update(await accounts.get(user_id), body)))


@router.delete("/{user_id}", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(404, 409))
async def delete_user(user_id: str, admin: UsersAdmin, session: SessionDep, audit: AuditorDep) -> None:
    accounts = AccountService(session, audit)
    await accounts.delete(await accounts.get(user_id), admin.id)

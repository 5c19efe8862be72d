"""Request dependencies as Annotated aliases: the services, a transaction, the caller and their rights."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from vtrack.db.models import User
from vtrack.db.repositories.users import UserRepository
from vtrack.db.repositories.web_sessions import WebSessionRepository
from vtrack.db.types import utcnow
from vtrack.errors import PermissionDeniedError
from vtrack.security.accounts import AuthenticationError
from vtrack.security.audit import Actor, Auditor
from vtrack.security.permissions import Permission
from vtrack.security.tokens import TokenError, TokenKind
from vtrack.security.web_session import CSRF_COOKIE, CSRF_HEADER, SAFE_METHODS, SESSION_COOKIE, csrf_matches
from vtrack.services import Services


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_session(services: ServicesDep) -> AsyncIterator[AsyncSession]:
    # scope="function" below: the commit happens before the response leaves, so a 2xx means it is saved.
    async with services.database.transaction() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
_bearer = HTTPBearer(auto_error=False, description="Access token from POST /api/v1/auth/login")


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


async def user_for_token(services: Services, session: AsyncSession, token: str, kind: TokenKind) -> User:
    try:
        claims = services.tokens.verify(token, kind)
    except TokenError as exc:
        raise AuthenticationError(str(exc)) from None
    if kind == "session" and not await WebSessionRepository(session).is_open(claims.token_id, utcnow()):
        raise AuthenticationError("signed out")
    user = await UserRepository(session).get(claims.user_id)
    if user is None or not user.is_active or user.token_version != claims.version:
        raise AuthenticationError("token no longer valid")
    return user


async def get_current_user(
    request: Request,
    services: ServicesDep,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    """A bearer access token, or the dashboard's session cookie with its CSRF header on writes."""
    if credentials is not None:
        return await user_for_token(services, session, credentials.credentials, "access")
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise AuthenticationError("missing bearer token")
    if request.method not in SAFE_METHODS and not csrf_matches(
        request.cookies.get(CSRF_COOKIE), request.headers.get(CSRF_HEADER)
    ):
        raise PermissionDeniedError(
            f"a request signed in by the session cookie needs the {CSRF_HEADER} header"
        )
    return await user_for_token(services, session, cookie, "session")


CurrentUser = Annotated[User, Depends(get_current_user)]


def has_permission(user: User, permission: Permission) -> bool:
    return permission.value in (user.role.permissions or [])


def require(permission: Permission) -> Callable[[User], Awaitable[User]]:
    async def check(user: CurrentUser) -> User:
        if not has_permission(user, permission):
            raise PermissionDeniedError(f"this needs the {permission.value} permission")
        return user

    return check


def get_auditor(request: Request, session: SessionDep, user: CurrentUser) -> Auditor:
    return Auditor(session, Actor(user.id, user.username, client_ip(request)))


AuditorDep = Annotated[Auditor, Depends(get_auditor)]
CamerasRead = Annotated[User, Depends(require(Permission.CAMERAS_READ))]
CamerasWrite = Annotated[User, Depends(require(Permission.CAMERAS_WRITE))]
JobsRead = Annotated[User, Depends(require(Permission.JOBS_READ))]
JobsWrite = Annotated[User, Depends(require(Permission.JOBS_WRITE))]
UsersAdmin = Annotated[User, Depends(require(Permission.USERS_ADMIN))]
AuditRead = Annotated[User, Depends(require(Permission.AUDIT_READ))]
SourcesRead = Annotated[User, Depends(require(Permission.SOURCES_READ))]
SourcesWrite = Annotated[User, Depends(require(Permission.SOURCES_WRITE))]
AnalyticsRead = Annotated[User, Depends(require(Permission.ANALYTICS_READ))]
AnalyticsWrite = Annotated[User, Depends(require(Permission.ANALYTICS_WRITE))]

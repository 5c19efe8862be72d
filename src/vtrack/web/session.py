"""Who is looking at a page: the session cookie's user, or a redirect to the sign-in page."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import RedirectResponse, Response

from vtrack.api.deps import ServicesDep, SessionDep, has_permission, user_for_token
from vtrack.db.models import User
from vtrack.errors import DomainError, NotFoundError, PermissionDeniedError
from vtrack.security.accounts import AuthenticationError
from vtrack.security.permissions import Permission
from vtrack.security.web_session import SESSION_COOKIE
from vtrack.web.templating import Templates


class LoginRequired(Exception):
    """No valid session: the page answers with the sign-in page instead."""


class PageForbidden(Exception):
    def __init__(self, permission: Permission) -> None:
        super().__init__(permission.value)
        self.permission = permission


def get_templates(request: Request) -> Templates:
    templates: Templates = request.app.state.templates
    return templates


TemplatesDep = Annotated[Templates, Depends(get_templates)]


async def page_user(request: Request, services: ServicesDep, session: SessionDep) -> User:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise LoginRequired
    try:
        return await user_for_token(services, session, token, "session")
    except AuthenticationError:
        raise LoginRequired from None


PageUser = Annotated[User, Depends(page_user)]


def page_permission(permission: Permission) -> Callable[[User], Awaitable[User]]:
    async def check(user: PageUser) -> User:
        if not has_permission(user, permission):
            raise PageForbidden(permission)
        return user

    return check


# A page's reader or writer, by the same permissions as the API's (viewers read, operators write).
CamerasReader = Annotated[User, Depends(page_permission(Permission.CAMERAS_READ))]
CamerasWriter = Annotated[User, Depends(page_permission(Permission.CAMERAS_WRITE))]
SourcesReader = Annotated[User, Depends(page_permission(Permission.SOURCES_READ))]
SourcesWriter = Annotated[User, Depends(page_permission(Permission.SOURCES_WRITE))]
AnalyticsReader = Annotated[User, Depends(page_permission(Permission.ANALYTICS_READ))]
UsersAdmin = Annotated[User, Depends(page_permission(Permission.USERS_ADMIN))]


def safe_next(target: str | None) -> str:
    """Only a path on this site: never `//evil.example` or a full URL."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/dashboard"
    return target


def wants_page(request: Request) -> bool:
    """A person's browser asking for a page, not a script or a client of the API."""
    path = request.url.path
    if path.startswith(("/api/", "/static/", "/ui/", "/metrics", "/healthz")):
        return False
    return "text/html" in request.headers.get("accept", "")


def install_page_errors(app: FastAPI) -> None:
    """Pages answer 403/404 with a page in the reader's language; the API keeps its JSON envelope. Runs
    after the API's handlers are installed and wraps them."""
    api_http_error = app.exception_handlers[StarletteHTTPException]
    api_domain_error = app.exception_handlers[DomainError]

    def error_page(request: Request, status: int) -> Response:
        return get_templates(request).render(request, "error.html", {"status": status}, status_code=status)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if wants_page(request) and exc.status_code in (403, 404):
            return error_page(request, exc.status_code)
        response: Response = await api_http_error(request, exc)  # type: ignore[misc]
        return response

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> Response:
        if wants_page(request) and isinstance(exc, NotFoundError | PermissionDeniedError):
            return error_page(request, 404 if isinstance(exc, NotFoundError) else 403)
        response: Response = await api_domain_error(request, exc)  # type: ignore[misc]
        return response

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, _exc: LoginRequired) -> Response:
        target = "/?next=" + quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
        if request.headers.get("HX-Request"):
            response: Response = Response(status_code=204, headers={"HX-Redirect": target})
        else:
            response = RedirectResponse(target, status_code=303)
        if request.cookies.get(SESSION_COOKIE):
            response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @app.exception_handler(PageForbidden)
    async def forbidden(request: Request, exc: PageForbidden) -> Response:
        templates = get_templates(request)
        return templates.render(
            request, "error.html", {"status": 403, "permission": exc.permission.value}, status_code=403
        )

"""Sign in at `/`, sign out, and the language switch."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from vtrack.api.deps import ServicesDep, SessionDep, client_ip, user_for_token
from vtrack.db.repositories.web_sessions import WebSessionRepository
from vtrack.db.types import utcnow
from vtrack.errors import DomainError
from vtrack.security.accounts import AuthenticationError, ThrottledError
from vtrack.security.audit import Actor, Auditor
from vtrack.security.web_session import CSRF_COOKIE, SESSION_COOKIE, csrf_matches, new_csrf_token
from vtrack.web.i18n import LANGUAGES
from vtrack.web.session import TemplatesDep, safe_next
from vtrack.web.templating import CSRF_MAX_AGE, language_cookie

router = APIRouter(include_in_schema=False)


@router.get("/")
async def home(
    request: Request, services: ServicesDep, session: SessionDep, templates: TemplatesDep, next: str = ""
) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        try:
            await user_for_token(services, session, token, "session")
        except AuthenticationError:
            pass
        else:
            return RedirectResponse(safe_next(next), status_code=303)
    return templates.render(request, "login.html", {"next": next})


@router.post("/login")
async def login(
    request: Request,
    services: ServicesDep,
    session: SessionDep,
    templates: TemplatesDep,
    username: Annotated[str, Form(max_length=255)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    next: Annotated[str, Form(max_length=2048)] = "",
) -> Response:
    def again(error: str, status: int) -> Response:
        context = {"next": next, "username": username, "error": error}
        return templates.render(request, "login.html", context, status_code=status)

    if not csrf_matches(request.cookies.get(CSRF_COOKIE), csrf_token):
        return again("login.error.expired", 403)
    if not username or not password:
        return again("login.error.missing", 422)
    try:
        result = await services.authenticator.login(session, username, password, client_ip(request))
    except ThrottledError:
        await session.commit()  # the failure's audit row survives the error page
        return again("login.error.throttled", 429)
    except (AuthenticationError, DomainError):
        await session.commit()
        return again("login.error.invalid", 401)
    token, claims = services.tokens.issue_session(result.user.id, result.user.token_version)
    now = utcnow()
    await WebSessionRepository(session).start(
        claims.token_id, result.user.id, claims.expires_at, now, client_ip(request)
    )
    response = RedirectResponse(safe_next(next), status_code=303)
    templates.set_cookie(response, SESSION_COOKIE, token, int((claims.expires_at - now).total_seconds()))
    # A fresh CSRF token per sign-in, so one planted before the sign-in is worthless after it.
    templates.set_cookie(response, CSRF_COOKIE, new_csrf_token(), CSRF_MAX_AGE, http_only=False)
    return response


@router.post("/logout")
async def logout(
    request: Request,
    services: ServicesDep,
    session: SessionDep,
    csrf_token: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    if not csrf_matches(request.cookies.get(CSRF_COOKIE), csrf_token):
        return RedirectResponse("/dashboard", status_code=303)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        try:
            user = await user_for_token(services, session, token, "session")
        except AuthenticationError:
            pass
        else:
            await WebSessionRepository(session).end(
                services.tokens.verify(token, "session").token_id, utcnow()
            )
            auditor = Auditor(session, Actor(user.id, user.username, client_ip(request)))
            auditor.record("auth.logout", "user", user.id)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/lang/{language}")
async def switch_language(templates: TemplatesDep, language: str, next: str = "") -> Response:
    response = RedirectResponse(safe_next(next), status_code=303)
    if language in LANGUAGES:
        language_cookie(templates, response, language)
    return response

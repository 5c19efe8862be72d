"""Jinja2 set up once per app: the configured timezone, the request's language, and the CSRF cookie that
every page hands to its scripts."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from vtrack import __version__
from vtrack.db.models import User
from vtrack.security.web_session import CSRF_COOKIE, new_csrf_token
from vtrack.settings import Settings
from vtrack.web.i18n import LANGUAGE_COOKIE, LANGUAGES, Translator, pick_language

CSRF_MAX_AGE = 30 * 24 * 3600


def filesize(value: int | float | None) -> str:
    if value is None:
        return "—"
    size = float(value)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(size) < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"  # pragma: no cover - the loop always returns


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Templates:
    def __init__(self, settings: Settings) -> None:
        self.zone = ZoneInfo(settings.timezone)
        self.secure_cookies = settings.web_secure_cookies
        self.env = Environment(
            loader=PackageLoader("vtrack.web", "templates"),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters.update(localtime=self.localtime, filesize=filesize, duration=duration)
        self.env.globals.update(version=__version__, timezone=settings.timezone, languages=LANGUAGES)

    def localtime(self, value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        """Stored times are UTC; people read them in the configured zone."""
        if value is None:
            return "—"
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(self.zone).strftime(fmt)

    def now(self) -> datetime:
        return datetime.now(self.zone)

    def render(
        self,
        request: Request,
        name: str,
        context: Mapping[str, Any] | None = None,
        *,
        user: User | None = None,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> HTMLResponse:
        language = pick_language(request)
        csrf = request.cookies.get(CSRF_COOKIE) or new_csrf_token()
        permissions = frozenset(user.role.permissions or []) if user is not None else frozenset()
        values: dict[str, Any] = {
            "request": request,
            "user": user,
            "can": permissions.__contains__,
            "t": Translator(language),
            "lang": language,
            "csrf_token": csrf,
            "path": request.url.path,
            "now": self.now(),
        }
        values.update(context or {})
        html = self.env.get_template(name).render(values)
        response = HTMLResponse(html, status_code=status_code, headers=dict(headers or {}))
        if request.cookies.get(CSRF_COOKIE) != csrf:
            self.set_cookie(response, CSRF_COOKIE, csrf, CSRF_MAX_AGE, http_only=False)
        return response

    def set_cookie(
        self, response: HTMLResponse | Any, name: str, value: str, max_age: int, *, http_only: bool = True
    ) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path="/",
            httponly=http_only,
            secure=self.secure_cookies,
            samesite="lax",
        )


def language_cookie(templates: Templates, response: Any, language: str) -> None:
    templates.set_cookie(response, LANGUAGE_COOKIE, language, 365 * 24 * 3600, http_only=False)

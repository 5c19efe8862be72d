"""The dashboard: camera health summary, a grid of the latest snapshots, and today's people counts."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from vtrack.api.deps import ServicesDep, SessionDep, has_permission
from vtrack.security.permissions import Permission
from vtrack.web import camera_views
from vtrack.web.session import AnalyticsReader, CamerasReader, TemplatesDep

router = APIRouter(include_in_schema=False)


@router.get("/dashboard")
async def dashboard(
    request: Request, user: CamerasReader, services: ServicesDep, session: SessionDep, templates: TemplatesDep
) -> Response:
    context = {
        "summary": await camera_views.summary(session),
        "tiles": await camera_views.camera_tiles(services, session),
        "people": None,
    }
    if has_permission(user, Permission.ANALYTICS_READ):
        context["people"] = await camera_views.people_today(session, templates.zone, templates.now())
    return templates.render(request, "dashboard.html", context, user=user)


@router.get("/dashboard/grid")
async def dashboard_grid(
    request: Request, user: CamerasReader, services: ServicesDep, session: SessionDep, templates: TemplatesDep
) -> Response:
    context = {
        "summary": await camera_views.summary(session),
        "tiles": await camera_views.camera_tiles(services, session),
    }
    return templates.render(request, "dashboard/_grid.html", context, user=user)


@router.get("/dashboard/counts")
async def dashboard_counts(
    request: Request, user: AnalyticsReader, session: SessionDep, templates: TemplatesDep
) -> Response:
    people = await camera_views.people_today(session, templates.zone, templates.now())
    return templates.render(request, "dashboard/_counts.html", {"people": people}, user=user)

"""Page routers in mount order: fixed paths (/sources/add) before parameters (/sources/{id})."""

from __future__ import annotations

from fastapi import APIRouter

from vtrack.web.routes import (
    add_source,
    analytics,
    auth,
    cameras,
    dashboard,
    recordings,
    sources,
    stream,
    users,
)

PAGE_ROUTERS: tuple[APIRouter, ...] = (
    auth.router,
    stream.router,
    dashboard.router,
    cameras.router,
    add_source.router,
    sources.router,
    recordings.router,
    analytics.router,
    users.router,
)

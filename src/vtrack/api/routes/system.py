"""Unauthenticated liveness and metrics, for load balancers and Prometheus."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy import text

from vtrack import __version__
from vtrack.api.deps import ServicesDep
from vtrack.api.envelope import error_responses
from vtrack.api.errors import error_response

log = logging.getLogger(__name__)
router = APIRouter(tags=["system"])


class Health(BaseModel):
    status: str
    version: str
    database: str


@router.get("/healthz", response_model=Health, responses=error_responses(503))
async def healthz(services: ServicesDep) -> Health | JSONResponse:
    try:
        async with services.database.session() as session:
            await session.execute(text("SELECT 1"))
    except Exception as exc:  # the point of this endpoint is to report, not to raise
        log.warning("health check: database unavailable: %s", exc)
        return error_response(503, "database_unavailable", f"database check failed: {type(exc).__name__}")
    return Health(status="ok", version=__version__, database="ok")


@router.get("/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
async def metrics(services: ServicesDep) -> Response:
    return Response(generate_latest(services.metrics), media_type=CONTENT_TYPE_LATEST)

"""Unauthenticated liveness and metrics, for load balancers and Prometheus."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from vtrack import __version__
from vtrack.api.deps import ServicesDep
from vtrack.api.errors import error_response

router = APIRouter(tags=["system"])


@router.get("/healthz", response_model=None)
async def healthz(services: ServicesDep) -> dict[str, object] | Response:
    try:
        async with services.database.session() as session:
            await session.execute(text("SELECT 1"))
    except Exception as exc:  # the point of this endpoint is to report, not to raise
        return error_response(503, "database_unavailable", f"database check failed: {type(exc).__name__}")
    return {"status": "ok", "version": __version__, "database": "ok"}


@router.get("/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
async def metrics(services: ServicesDep) -> Response:
    return Response(generate_latest(services.metrics), media_type=CONTENT_TYPE_LATEST)

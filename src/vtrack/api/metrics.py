"""Prometheus request metrics, labelled by route template so cardinality stays bounded."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from typing import Any

from fastapi.routing import iter_route_contexts
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

UNMATCHED = "unmatched"


class RequestMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "vtrack_http_requests_total", "HTTP requests", ["method", "route", "status"], registry=registry
        )
        self.latency = Histogram(
            "vtrack_http_request_duration_seconds",
            "HTTP request latency",
            ["method", "route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=registry,
        )


class RouteTemplates:
    """The full path template ("/api/v1/cameras/{camera_id}") of the route that served a request.

    Since FastAPI 0.137 an included router stays a lazy node in app.routes, and scope["route"] is the
    router's own APIRoute, whose path lacks the include prefixes ("/cameras/{camera_id}"). FastAPI's
    `iter_route_contexts` walks the tree and gives each route with its full, prefixed template.
    """

    def __init__(self) -> None:
        self._by_route: dict[int, list[tuple[re.Pattern[str], str]]] = {}

    def _index(self, routes: Sequence[BaseRoute]) -> None:
        table: dict[int, list[tuple[re.Pattern[str], str]]] = {}
        for context in iter_route_contexts(routes):
            template = context.path_format or context.path
            regex = getattr(context, "path_regex", None)
            if template and isinstance(regex, re.Pattern):
                table.setdefault(id(context.original_route), []).append((regex, template))
        self._by_route = table

    def resolve(self, scope: Scope) -> str:
        route: Any = scope.get("route")
        if route is None:
            return UNMATCHED
        candidates = self._by_route.get(id(route))
        if candidates is None and "app" in scope:
            self._index(scope["app"].routes)  # first request, or routes added since
            # Remembered even when not found (a mount, say), so it is not indexed again per request.
            candidates = self._by_route.setdefault(id(route), [])
        if not candidates:
            return str(getattr(route, "path", None) or UNMATCHED)
        if len(candidates) == 1:
            return candidates[0][1]
        # One router included under several prefixes: the template whose pattern fits this path.
        path = scope.get("path", "")
        return next((template for regex, template in candidates if regex.match(path)), candidates[0][1])


class MetricsMiddleware:
    """Plain ASGI (not BaseHTTPMiddleware) so it adds microseconds, not a task per request."""

    def __init__(self, app: ASGIApp, metrics: RequestMetrics) -> None:
        self.app = app
        self.metrics = metrics
        self.templates = RouteTemplates()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status_code = 500

        async def record_status(message: Message) -> None:
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            template = self.templates.resolve(scope)
            method = scope.get("method", "GET")
            self.metrics.requests.labels(method, template, str(status_code)).inc()
            self.metrics.latency.labels(method, template).observe(time.perf_counter() - start)

"""Builds everything from Settings, in one visible order; nothing happens at import time."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
from fastapi import APIRouter, FastAPI
from prometheus_client import CollectorRegistry

from vtrack import __version__
from vtrack.analytics.wiring import register_analytics
from vtrack.api.errors import install_error_handlers
from vtrack.api.metrics import MetricsMiddleware, RequestMetrics
from vtrack.api.request_guard import RejectNulInUrl
from vtrack.api.routes import (
    analytics,
    analytics_live,
    archive,
    audit,
    auth,
    camera_ops,
    camera_transfer,
    cameras,
    cloud,
    discovery,
    events,
    groups,
    health,
    jobs,
    recordings,
    snapshots,
    sources,
    sync,
    system,
    users,
)
from vtrack.blobstore.factory import build_blob_store
from vtrack.db.migrate import upgrade
from vtrack.db.session import Database
from vtrack.events.relay import RedisRelay, node_bridge
from vtrack.health.jobs import register_health
from vtrack.jobs.builtin import register_builtin_jobs
from vtrack.jobs.discovery import register_discovery_job
from vtrack.jobs.embedded import EmbeddedRunner
from vtrack.jobs.registry import JobRegistry
from vtrack.jobs.runner import JobRunner
from vtrack.jobs.snapshots import register_snapshot_cleanup, register_snapshot_refresh
from vtrack.registry.analytics_channels import import_site_file
from vtrack.security.accounts import AccountService, Authenticator, sync_builtin_roles
from vtrack.security.audit import Actor, Auditor
from vtrack.security.encryption import KeyFile, Keyring, parse_key
from vtrack.security.ratelimit import LoginThrottle
from vtrack.security.signed_urls import UrlSigner
from vtrack.security.tokens import TokenService
from vtrack.services import Services
from vtrack.settings import Settings
from vtrack.sync.wiring import register_sync
from vtrack.web.wiring import install_web

log = logging.getLogger(__name__)

AdminPasswordCallback = Callable[[str], None]


def load_keyring(settings: Settings) -> Keyring:
    if settings.secret_key is not None:
        return Keyring(current=parse_key(settings.secret_key.get_secret_value()))
    return KeyFile(settings.key_file).load_or_create()


def build_runner(settings: Settings, database: Database, registry: JobRegistry) -> JobRunner:
    """Celery workers when a broker is configured (step 8), else the in-process runner."""
    if settings.broker_url:
        from vtrack.jobs.celery_app import make_celery  # Celery loads only where it is used
        from vtrack.jobs.celery_runner import CeleryRunner

        return CeleryRunner(database, registry, settings, make_celery(settings))
    return EmbeddedRunner(database, registry)


def build_services(settings: Settings) -> Services:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    database = Database(settings.resolved_database_url)
    keyring = load_keyring(settings)
    token_key = (
        settings.jwt_secret.get_secret_value().encode() if settings.jwt_secret else keyring.derive("jwt")
    )
    tokens = TokenService(
        token_key,
        access_ttl=timedelta(minutes=settings.access_token_minutes),
        refresh_ttl=timedelta(days=settings.refresh_token_days),
        session_ttl=timedelta(hours=settings.web_session_hours),
    )
    throttle = LoginThrottle(settings.login_max_failures, settings.login_window_seconds)
    job_registry = JobRegistry()
    register_builtin_jobs(job_registry, database)
    register_discovery_job(job_registry, settings, keyring)
    services = Services(
        settings=settings,
        database=database,
        keyring=keyring,
        tokens=tokens,
        authenticator=Authenticator(tokens, throttle),
        job_registry=job_registry,
        jobs=build_runner(settings, database, job_registry),
        metrics=CollectorRegistry(),
        blobs=build_blob_store(settings),
        signer=UrlSigner(keyring.derive("signed-urls")),
        http=httpx.AsyncClient(follow_redirects=False),
    )
    services.jobs.services = services
    services.jobs.schedule("audit.prune", every_seconds=24 * 3600)
    services.jobs.schedule("jobs.prune", every_seconds=24 * 3600)
    register_health(services)
    register_snapshot_cleanup(services)
    register_snapshot_refresh(services)
    register_sync(services)
    register_analytics(services)
    return services


async def prepare_database(services: Services, on_admin_password: AdminPasswordCallback | None) -> None:
    """Migrate, keep built-in roles in step with the code, and make sure an admin exists."""
    await upgrade(services.database)
    async with services.database.transaction() as session:
        await sync_builtin_roles(session)
        admin_password = services.settings.admin_password
        try:
            generated = await AccountService(session, Auditor(session, Actor.system())).ensure_admin(
                admin_password.get_secret_value() if admin_password else None
            )
        except ValueError as exc:
            raise RuntimeError(f"VTRACK_ADMIN_PASSWORD: {exc}") from None
    if generated is not None:
        if on_admin_password is not None:
            on_admin_password(generated)
        else:
            log.warning(
                "created user 'admin' with a random password; set it with `vtrack users passwd admin`"
            )


def create_app(settings: Settings, on_admin_password: AdminPasswordCallback | None = None) -> FastAPI:
    services = build_services(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await prepare_database(services, on_admin_password)
        await services.jobs.start()
        services.sync.start()
        if settings.analytics_site_file is not None:
            await import_site_file(services.database, services.keyring, settings.analytics_site_file)
        await services.analytics.start()
        # Events out to Redis, and other nodes' events in: live pages see what workers do (step 8).
        bridge = node_bridge(settings, services.events)
        relay = RedisRelay(settings.redis_url, services.events, settings.node) if settings.redis_url else None
        for part in (bridge, relay):
            if part is not None:
                await part.start()
        log.info("vtrack %s started on %s", __version__, services.database.engine.url.get_backend_name())
        try:
            yield
        finally:
            await services.analytics.stop()  # flushes every run; its last counts still reach Redis
            for part in (relay, bridge):
                if part is not None:
                    await part.stop()
            await services.sync.stop()
            await services.jobs.stop()
            await services.http.aclose()
            await services.blobs.close()
            await services.database.dispose()

    app = FastAPI(
        title="vtrack",
        version=__version__,
        description="Self-hosted hub for CCTV video: cameras, recordings and people analytics.",
        lifespan=lifespan,
    )
    app.state.services = services
    install_error_handlers(app)
    app.add_middleware(RejectNulInUrl)
    app.add_middleware(MetricsMiddleware, metrics=RequestMetrics(services.metrics))
    api = APIRouter(prefix="/api/v1")
    # Order matters: fixed paths under /cameras come before /cameras/{camera_id}.
    for router in (
        auth.router,
        users.router,
        groups.router,
        camera_transfer.router,
        camera_ops.router,
        cameras.router,
        snapshots.router,
        discovery.router,
        sources.router,
        cloud.router,
        sync.router,
        archive.router,
        recordings.router,
        jobs.router,
        audit.router,
        health.router,
        events.router,
        analytics.router,
        analytics_live.router,
    ):
        api.include_router(router)
    app.include_router(api)
    app.include_router(system.router)
    install_web(app, settings)
    return app

"""Health jobs and their schedules, registered once app.build_services has the services together.

`health.check` runs one round every `health_interval_seconds`; the runner never starts a round while the
previous one still runs, so a slow round stretches the interval instead of piling rounds up.
`health.cleanup` runs weekly (and once at start, as every schedule does).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, model_validator

from vtrack.events.recorder import EventRecorder
from vtrack.health.checker import SAMPLE_SECONDS, HealthChecker, Prober, ProbeResult
from vtrack.health.metrics import HealthMetrics
from vtrack.health.monitor import HealthMonitor
from vtrack.health.retention import DEFAULT_EVENT_DAYS, prune_health
from vtrack.jobs.registry import JobContext, JobResult

if TYPE_CHECKING:
    from vtrack.services import Services

CLEANUP_EVERY_SECONDS = 7 * 24 * 3600


class HealthCheckParams(BaseModel):
    """A round over every camera, or one shard of it: `shards` jobs together make one round."""

    model_config = ConfigDict(extra="forbid")

    shard: int = Field(default=0, ge=0, le=255, strict=True)
    shards: int = Field(default=1, ge=1, le=256, strict=True)

    @model_validator(mode="after")
    def _shard_in_range(self) -> HealthCheckParams:
        if self.shard >= self.shards:
            raise ValueError("shard must be below shards")
        return self


class HealthCleanupParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    days: int | None = Field(default=None, ge=1, le=36_500, strict=True)
    event_days: int | None = Field(default=DEFAULT_EVENT_DAYS, ge=1, le=36_500, strict=True)


async def _probe_stream(
    url: str,
    *,
    username: str | None,
    password: str | None,
    timeout: float,  # noqa: ASYNC109  (probe_stream's contract)
    sample_seconds: float = SAMPLE_SECONDS,
    decode: bool = True,
) -> ProbeResult:
    # Imported on first use: PyAV loads only when a camera is checked, not when the app is built.
    from vtrack.devices.rtsp.probe import probe_stream

    return await probe_stream(
        url,
        username=username,
        password=password,
        timeout=timeout,
        sample_seconds=sample_seconds,
        decode=decode,
    )


def default_prober() -> Prober:
    return _probe_stream


def build_monitor(services: Services, prober: Prober | None = None) -> HealthMonitor:
    settings = services.settings
    checker = HealthChecker(prober or default_prober(), timeout=settings.health_timeout_seconds)
    return HealthMonitor(
        services.database,
        services.keyring,
        checker,
        EventRecorder(services.events),
        metrics=HealthMetrics(services.metrics),
        concurrency=settings.health_concurrency,
    )


def register_health(services: Services, prober: Prober | None = None) -> HealthMonitor:
    """Build the monitor onto `services`, register the health jobs and schedule them."""
    services.health = build_monitor(services, prober)
    registry = services.job_registry
    history_days = services.settings.health_history_days

    @registry.register("health.check", "Check every active camera's stream once", HealthCheckParams)
    async def check(ctx: JobContext) -> JobResult:
        monitor: HealthMonitor = ctx.services.health

        async def progress(done: int, total: int) -> None:
            await ctx.report(done / total if total else 1.0, f"{done} of {total} cameras checked")

        shard, shards = int(ctx.params.get("shard", 0)), int(ctx.params.get("shards", 1))
        return (await monitor.run_round(progress, shard, shards)).as_dict()

    @registry.register(
        "health.cleanup",
        f"Delete health samples older than `days` (default {history_days}) and events older than "
        f"`event_days` (default {DEFAULT_EVENT_DAYS})",
        HealthCleanupParams,
    )
    async def cleanup(ctx: JobContext) -> JobResult:
        days = ctx.params.get("days") or history_days
        await ctx.report(0.1, f"deleting health samples older than {days} days")
        result = await prune_health(
            ctx.services.database, history_days=days, event_days=ctx.params.get("event_days")
        )
        return {"samples": result.samples, "events": result.events}

    shards = services.settings.health_shards
    for shard in range(shards):
        # One schedule per shard, so Celery workers check a large site's shards side by side.
        params = {"shard": shard, "shards": shards} if shards > 1 else None
        services.jobs.schedule("health.check", services.settings.health_interval_seconds, params)
    services.jobs.schedule("health.cleanup", every_seconds=CLEANUP_EVERY_SECONDS)
    return services.health

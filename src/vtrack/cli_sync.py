"""`vtrack sync SOURCE [--from --to]`: pull a source's recordings into the archive now, with a progress bar.

It runs in this process against the same database and archive as the server (the source's sync status
is kept the same way), so it works with the server stopped, e.g. for a first bulk download.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from sqlalchemy import func, or_, select

from vtrack.app import build_services, prepare_database
from vtrack.archive.errors import ArchiveError
from vtrack.db.models import VideoSource
from vtrack.devices.errors import DeviceError
from vtrack.errors import DomainError
from vtrack.settings import Settings
from vtrack.sync.progress import SyncProgress

console = Console()
err = Console(stderr=True)


def _when(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not an ISO 8601 time", param_hint=option) from None
    if when.tzinfo is None:
        raise typer.BadParameter("give a time zone, e.g. 2026-11-20T08:00:00+07:00", param_hint=option)
    return when


def sync_command(
    source: Annotated[str, typer.Argument(help="Source name or id")],
    since: Annotated[
        str | None, typer.Option("--from", help="ISO 8601 start (default: the lookback)")
    ] = None,
    until: Annotated[str | None, typer.Option("--to", help="ISO 8601 end (default: now)")] = None,
    data_dir: Annotated[
        Path | None, typer.Option(help="Data directory (default $VTRACK_DATA_DIR or ./data)")
    ] = None,
) -> None:
    """Download a source's recordings into the archive now."""
    start, end = _when(since, "--from"), _when(until, "--to")
    if start and end and end <= start:
        raise typer.BadParameter("--to must be after --from", param_hint="--to")
    settings = Settings(data_dir=data_dir) if data_dir else Settings()
    raise typer.Exit(asyncio.run(_run(settings, source, start, end)))


async def _run(settings: Settings, name: str, start: datetime | None, end: datetime | None) -> int:
    services = build_services(settings)
    try:
        await prepare_database(services, None)
        async with services.database.session() as session:
            query = select(VideoSource).where(
                or_(VideoSource.id == name, func.lower(VideoSource.name) == name.strip().lower())
            )
            source = (await session.execute(query)).scalar_one_or_none()
        if source is None:
            err.print(f"[red]error:[/] no source named {escape(name)!r}", soft_wrap=True)
            return 1
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[segments]}"),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=err, transient=True) as bar:
            task = bar.add_task(escape(source.name), total=None, segments="")

            async def report(progress: SyncProgress) -> None:
                # The bar counts bytes; its total is estimated from the media share done so far.
                fraction = progress.fraction
                total = progress.bytes_done / fraction if fraction > 0 else None
                segments = f"{progress.segments_done}/{progress.segments_total} segments"
                bar.update(task, completed=progress.bytes_done, total=total, segments=segments)

            outcome = await services.sync.run_now(source.id, start, end, report=report)
    except (DeviceError, ArchiveError, DomainError) as error:
        err.print(f"[red]error:[/] {escape(error.message)}", soft_wrap=True)
        return 1
    finally:
        await services.http.aclose()
        await services.blobs.close()
        await services.database.dispose()
    console.print(
        f"{outcome.chunks_done} segment(s) archived ({outcome.bytes_done / 1e6:.1f} MB, "
        f"{outcome.media_seconds / 60:.1f} min of video), {outcome.chunks_failed} failed, "
        f"{outcome.recordings_found} recording(s) listed; archive {settings.resolved_archive_dir}",
        soft_wrap=True,
    )
    for problem in outcome.errors:
        console.print(f"[yellow]failed[/] {escape(problem)}", soft_wrap=True)
    return 0 if outcome.chunks_failed == 0 else 1

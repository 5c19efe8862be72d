"""`vtrack sync` against a simulated NVR in a child process: a range lands in the archive, with exit codes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.peers.simulator_process import simulator_process
from vtrack.app import build_services, prepare_database
from vtrack.cli import app
from vtrack.devices.probe import probe_source
from vtrack.registry.source_schemas import SourceCreate
from vtrack.registry.sources import SourceService
from vtrack.security.audit import Actor, Auditor
from vtrack.settings import Settings

ENV = {
    "VTRACK_ARCHIVE_RESERVE_GB": "0",
    "VTRACK_ARCHIVE_RESERVE_INODES": "0",
    "VTRACK_ADMIN_PASSWORD": "x" * 12,
}


@pytest.fixture(scope="module")
def nvr() -> Iterator[dict[str, list[Any]]]:
    with simulator_process(nvr=True) as site:
        yield site


def save_source(data_dir: Path, port: int) -> None:
    async def run() -> None:
        services = build_services(Settings(data_dir=data_dir, admin_password="x" * 12))  # type: ignore[arg-type]
        try:
            await prepare_database(services, None)
            async with services.database.transaction() as session:
                service = SourceService(
                    session, services.keyring, Auditor(session, Actor.system()), probe_source
                )
                body = {"name": "Cửa hàng", "type": "nvr", "host": "127.0.0.1", "port": port}
                await service.create(SourceCreate(**body, username="admin", password="admin123"))
        finally:
            await services.http.aclose()
            await services.database.dispose()

    asyncio.run(run())


def test_sync_downloads_a_range_and_says_what_it_did(tmp_path: Path, nvr: dict[str, list[Any]]) -> None:
    data_dir = tmp_path / "data"
    save_source(data_dir, int(nvr["onvif"][0]))
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=3)
    start -= timedelta(minutes=start.minute % 10)
    args = [
        "sync",
        "cửa hàng",
        "--from",
        start.isoformat(),
        "--to",
        (start + timedelta(minutes=1)).isoformat(),
    ]
    result = CliRunner().invoke(app, [*args, "--data-dir", str(data_dir)], env=ENV)
    assert result.exit_code == 0, result.output
    assert "2 segment(s) archived" in result.output and "0 failed" in result.output
    assert len(list((data_dir / "archive" / "Cửa hàng").rglob("*.mp4"))) == 2

    again = CliRunner().invoke(app, [*args, "--data-dir", str(data_dir)], env=ENV)
    assert again.exit_code == 0 and "0 segment(s) archived" in again.output


def test_bad_input_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["sync", "x", "--from", "yesterday", "--data-dir", str(tmp_path)], env=ENV
    )
    assert result.exit_code == 2 and "ISO 8601" in result.output
    result = CliRunner().invoke(app, ["sync", "nowhere", "--data-dir", str(tmp_path)], env=ENV)
    assert result.exit_code == 1 and "no source named" in result.output

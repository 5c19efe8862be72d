"""The site file a server imports on start: channels appear (password sealed), a bad file changes nothing."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from sqlalchemy import select

from vtrack.db.models import AnalyticsChannel
from vtrack.db.session import Database
from vtrack.registry.analytics_channels import CHANNEL_PASSWORD, import_site_file
from vtrack.security.encryption import Keyring

SITE = {
    "site": "kidsplaza_thanhxuan",
    "host": "127.0.0.1",
    "port": 8554,
    "credentials": {"username": "user1", "password": "cam12345"},
    "channels": [
        {
            "id": "channel_1",
            "name": "ben_ngoai_cam_phai",
            "rtsp_path": "/cam/realmonitor?channel=1&subtype=0",
        },
        {
            "id": "channel_2",
            "name": "ben_ngoai_cam_giua",
            "rtsp_path": "/cam/realmonitor?channel=2&subtype=0",
        },
    ],
}


async def channels(database: Database) -> list[AnalyticsChannel]:
    async with database.session() as session:
        return list(await session.scalars(select(AnalyticsChannel).order_by(AnalyticsChannel.external_id)))


async def test_site_file_is_imported_and_reimported(database: Database, tmp_path: Path) -> None:
    keyring = Keyring(current=b"k" * 32)
    path = tmp_path / "site.json"
    path.write_text(json.dumps(SITE))
    assert await import_site_file(database, keyring, path) == 2
    first = await channels(database)
    assert [c.name for c in first] == ["ben_ngoai_cam_phai", "ben_ngoai_cam_giua"]
    assert first[0].url == "rtsp://127.0.0.1:8554/cam/realmonitor?channel=1&subtype=0"
    assert first[0].username == "user1" and first[0].password_encrypted is not None
    assert "cam12345" not in first[0].password_encrypted
    assert keyring.decrypt(first[0].password_encrypted, CHANNEL_PASSWORD) == "cam12345"
    # A restart imports the same file again: the same rows, updated, not duplicated.
    assert await import_site_file(database, keyring, path) == 2
    assert [c.id for c in await channels(database)] == [c.id for c in first]


async def test_bad_site_file_changes_nothing(
    database: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bad = {**SITE, "channels": [SITE["channels"][0], {"id": "channel_2"}, {"name": "x", "rtsp_path": 5}]}
    path = tmp_path / "site.json"
    path.write_text(json.dumps(bad))
    with caplog.at_level(logging.ERROR):
        assert await import_site_file(database, Keyring(current=b"k" * 32), path) == 0
    assert await channels(database) == []
    assert "channels[2]" in caplog.text
    missing = tmp_path / "missing.json"
    assert await import_site_file(database, Keyring(current=b"k" * 32), missing) == 0
    assert "cannot read" in caplog.text

"""A camera cloud end to end through the API: app keys, a source, recordings by time range, HLS to MP4.

The loopback fakes of the Imou and Ezviz Open APIs (tests/fakes/) check what the real services check:
Imou's signed envelope and nonces, Ezviz's app key and secret, token expiry, paging; each recording
is served as an HLS playlist of MPEG-TS segments, which the sync remuxes into an MP4 in the archive.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import pytest

from tests.api.test_cloud_sources_api import create, sync
from tests.conftest import Clients, archive_settings
from tests.fakes.ezviz import FakeEzviz
from tests.fakes.imou import FakeImou
from vtrack.services import Services
from vtrack.settings import Settings

SERIAL = "SN0001"
CHANNEL = {"imou": "0", "ezviz": "1"}  # each cloud numbers a device's channels its own way


@pytest.fixture
def backend() -> str:
    """SQLite only: the engine's index is tested on both databases elsewhere; these clouds pace their
    calls as the real ones ask (Imou two a second), so each run costs seconds."""
    return "sqlite"


@pytest.fixture(params=["imou", "ezviz"])
async def cloud(request: pytest.FixtureRequest) -> AsyncIterator[FakeImou | FakeEzviz]:
    fake = FakeImou() if request.param == "imou" else FakeEzviz()
    async with fake:
        fake.add_device(SERIAL, "Front door", {CHANNEL[request.param]: "Door"})
        yield fake


def provider(cloud: FakeImou | FakeEzviz) -> str:
    return "imou" if isinstance(cloud, FakeImou) else "ezviz"


@pytest.fixture
def settings(tmp_path: Path, database_url: str, cloud: FakeImou | FakeEzviz) -> Settings:
    return archive_settings(tmp_path, database_url, cloud_urls={provider(cloud): cloud.urls})


def mp4_seconds(path: Path) -> float:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.duration is not None and stream.time_base is not None
        return float(stream.duration * stream.time_base)


async def test_recordings_arrive_as_mp4s_once_and_new_ones_follow(
    clients: Clients, services: Services, cloud: FakeImou | FakeEzviz
) -> None:
    name = provider(cloud)
    now = datetime.now(UTC).replace(microsecond=0)
    for hours in (3, 2):
        cloud.add_record(SERIAL, CHANNEL[name], now - timedelta(hours=hours), seconds=3)
    key = cloud.app_id if isinstance(cloud, FakeImou) else cloud.app_key
    wrong = await clients.operator.post(
        f"/api/v1/cloud/{name}/accounts", json={"app_key": key, "app_secret": "not-the-secret"}
    )
    assert wrong.status_code == 422, wrong.text  # checked against the cloud before it is saved
    assert wrong.json()["error"]["details"] == [{"field": "app_secret", "message": "refused by the provider"}]
    response = await clients.operator.post(
        f"/api/v1/cloud/{name}/accounts", json={"app_key": key, "app_secret": cloud.app_secret}
    )
    assert response.status_code == 201, response.text
    account = response.json()["data"]
    source = await create(clients.operator, {"name": "Shop cloud", "type": name, "account_id": account["id"]})

    first = await sync(clients.operator, source["id"])
    assert (first["chunks_done"], first["chunks_failed"]) == (2, 0), first
    root = services.archive_layout.source_dir("Shop cloud")
    archived = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    assert len(archived) == 2 and all(p.startswith("Front door/ch") and p.endswith(".mp4") for p in archived)
    for path in archived:  # remuxed whole: the 3 s the cloud recorded, as H.264 in MP4
        assert mp4_seconds(root / path) == pytest.approx(3.0, abs=0.5)

    again = await sync(clients.operator, source["id"])
    assert again["chunks_planned"] == 0, again

    cloud.add_record(SERIAL, CHANNEL[name], now - timedelta(minutes=30), seconds=3)
    later = await sync(clients.operator, source["id"])
    assert (later["chunks_done"], later["chunks_failed"]) == (1, 0), later
    assert len([p for p in root.rglob("*") if p.is_file()]) == 3

"""The analytics API on SQLite and PostgreSQL: channel CRUD and site import, counts, events, runs, tracks.

Runs, events and counts are inserted through the models, as the live sink writes them. Channels point
at a closed loopback port, so an enabled one's worker only ever gets "connection refused".
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests.api.test_cameras import data, error, fields
from tests.conftest import BACKENDS
from tests.health.shared_app import AppEnv, running_app
from vtrack.db.models import (
    AnalyticsChannel,
    AnalyticsCount,
    AnalyticsEvent,
    AnalyticsRun,
    AnalyticsTrack,
    AuditEntry,
)
from vtrack.registry.analytics_channels import CHANNEL_PASSWORD

API = "/api/v1/analytics"
CHANNELS = f"{API}/channels"
SECRET = "s3cr3t-P4ss"
CLOSED = "127.0.0.1:9"  # nothing listens: a started worker fails fast and retries
LINE = {"name": "door", "points": [[0.1, 0.6], [0.9, 0.6]]}
ZONE = {"name": "till", "points": [[0.2, 0.2], [0.6, 0.2], [0.6, 0.7]], "min_frames": 2}


@pytest.fixture(scope="module", params=BACKENDS)
async def env(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[AppEnv]:
    async with running_app(request, tmp_path_factory.mktemp("analytics-api")) as running:
        yield running


async def make_channel(env: AppEnv, name: str, **extra: Any) -> dict[str, Any]:
    body = {"name": name, "url": f"rtsp://{CLOSED}/{name.replace(' ', '_')}", "enabled": False, **extra}
    result: dict[str, Any] = data(await env.clients.operator.post(CHANNELS, json=body), 201)
    return result


async def stored(env: AppEnv, channel_id: str) -> AnalyticsChannel | None:
    async with env.services.database.session() as session:
        return await session.get(AnalyticsChannel, channel_id)


async def test_channel_crud_keeps_the_password_secret(env: AppEnv) -> None:
    operator = env.clients.operator
    response = await operator.post(
        CHANNELS,
        json={
            "name": "Entrance",
            "url": f"rtsp://cam:{SECRET}@{CLOSED}/Streaming/Channels/101",
            "site": "crud-shop",
            "external_id": "channel_1",
            "detector": "motion",
            "lines": [LINE, {"points": [[0, 0.2], [1, 0.2]], "hysteresis": 8}],
            "zones": [ZONE],
            "enabled": False,
        },
    )
    assert SECRET not in response.text
    created = data(response, 201)
    assert created["url"] == f"rtsp://{CLOSED}/Streaming/Channels/101"
    assert (created["username"], created["hasPassword"], created["cameraId"]) == ("cam", True, None)
    assert (created["site"], created["externalId"], created["detector"]) == (
        "crud-shop",
        "channel_1",
        "motion",
    )
    assert created["lines"] == [
        {"name": "door", "points": [[0.1, 0.6], [0.9, 0.6]], "hysteresis": 0.02},
        {"name": "line2", "points": [[0.0, 0.2], [1.0, 0.2]], "hysteresis": 8.0},
    ]
    assert created["zones"] == [ZONE] and created["health"] is None and "password" not in created
    row = await stored(env, created["id"])
    assert row is not None and row.password_encrypted and SECRET not in row.password_encrypted
    assert env.services.keyring.decrypt(row.password_encrypted, CHANNEL_PASSWORD) == SECRET

    listed = await env.clients.viewer.get(CHANNELS, params={"q": "entr"})
    assert [c["id"] for c in data(listed)] == [created["id"]] and SECRET not in listed.text
    assert listed.json()["meta"]["total"] == 1
    assert data(await env.clients.viewer.get(f"{CHANNELS}/{created['id']}"))["name"] == "Entrance"

    path = f"{CHANNELS}/{created['id']}"
    patched = data(await operator.patch(path, json={"name": "Entrance 2", "lines": [], "password": None}))
    assert (patched["name"], patched["lines"], patched["hasPassword"]) == ("Entrance 2", [], False)
    assert patched["zones"] == [ZONE] and patched["username"] == "cam"  # left out: unchanged

    # Switching to a registered camera drops the URL and the channel's own credentials.
    camera = data(
        await operator.post("/api/v1/cameras", json={"name": "Till cam", "rtsp_url": f"rtsp://{CLOSED}/"}),
        201,
    )
    switched = data(await operator.patch(path, json={"camera_id": camera["id"]}))
    assert (switched["cameraId"], switched["url"], switched["username"]) == (camera["id"], None, None)
    back = data(await operator.patch(path, json={"url": f"rtsp://u2:{SECRET}@{CLOSED}/sub"}))
    assert (back["cameraId"], back["url"], back["username"], back["hasPassword"]) == (
        None,
        f"rtsp://{CLOSED}/sub",
        "u2",
        True,
    )

    assert (await operator.delete(path)).status_code == 204
    error(await env.clients.viewer.get(path), 404, "not_found")
    error(await operator.delete(path), 404)
    error(await operator.patch(path, json={"name": "x"}), 404)
    async with env.services.database.session() as session:
        actions = (
            await session.scalars(select(AuditEntry.action).where(AuditEntry.target_id == created["id"]))
        ).all()
    assert sorted(actions) == sorted(
        ["analytics.channel.create"] + ["analytics.channel.update"] * 3 + ["analytics.channel.delete"]
    )


async def test_invalid_channels_get_422_naming_the_field(env: AppEnv) -> None:
    operator = env.clients.operator

    async def bad(body: dict[str, Any], status: int = 422) -> set[str | None]:
        return fields(error(await operator.post(CHANNELS, json=body), status))

    base = {"name": "Invalid", "url": f"rtsp://{CLOSED}/x", "enabled": False}
    assert await bad({**base, "lines": [{"points": [[0.5, 0.5], [0.5, 0.5]]}]}) == {"lines[0].points"}
    assert await bad({**base, "lines": [LINE, {"name": "door", "points": [[0, 0], [1, 1]]}]}) == {
        "lines[1].name"
    }
    assert await bad({**base, "lines": [{"points": [[0, 0], [1, 1]], "hysteresis": "wide"}]}) == {
        "lines[0].hysteresis"
    }
    assert await bad(
        {**base, "zones": [{"points": [[0, 0], [1, 0], [0, 1]], "min_frames": 0}], "lines": [{}]}
    ) == {
        "lines[0].points",
        "zones[0].min_frames",
    }
    assert await bad({**base, "detector": "yolo9000"}) == {"detector"}
    assert await bad({**base, "url": "http://10.0.0.1/"}) == {"url"}
    assert await bad({"name": "Invalid"}) == {"url"}
    assert await bad({**base, "camera_id": "no-such-camera"}) == {"url"}  # both given
    assert await bad({"name": "Invalid", "camera_id": "no-such-camera"}) == {"camera_id"}
    camera = data(
        await operator.post("/api/v1/cameras", json={"name": "Cam 422", "rtsp_url": f"rtsp://{CLOSED}/"}), 201
    )
    assert await bad({"name": "Invalid", "camera_id": camera["id"], "password": "x"}) == {"password"}

    await make_channel(env, "Taken")
    assert await bad({**base, "name": "TAKEN"}, 409) == {"name"}
    other = await make_channel(env, "Other")
    path = f"{CHANNELS}/{other['id']}"
    assert fields(error(await operator.patch(path, json={"name": "taken"}), 409)) == {"name"}
    assert fields(error(await operator.patch(path, json={"name": None}), 422)) == {"name"}
    assert fields(error(await operator.patch(path, json={"url": None}), 422)) == {"url"}
    assert fields(error(await operator.patch(path, json={"zones": [{"points": [[0, 0]]}]}), 422)) == {
        "zones[0].points"
    }
    assert data(await env.clients.viewer.get(path))["name"] == "Other"  # nothing of the failures stuck


async def test_permissions(env: AppEnv) -> None:
    channel = await make_channel(env, "Perm")
    path = f"{CHANNELS}/{channel['id']}"
    viewer, anonymous = env.clients.viewer, env.clients.anonymous
    for url in (CHANNELS, path, f"{API}/counts", f"{API}/events", f"{API}/runs"):
        data(await viewer.get(url))
        error(await anonymous.get(url), 401, "unauthorized")
    error(await viewer.post(CHANNELS, json={"name": "V", "url": f"rtsp://{CLOSED}/"}), 403, "forbidden")
    error(await viewer.patch(path, json={"enabled": True}), 403)
    error(await viewer.delete(path), 403)
    error(await viewer.post(f"{CHANNELS}/import", json={"site": "s", "channels": []}), 403)


async def test_an_enabled_channel_runs_and_stops_after_the_response(env: AppEnv) -> None:
    channel = await make_channel(env, "Live one", enabled=True)
    path = f"{CHANNELS}/{channel['id']}"
    # The manager applied the change once the response (and its commit) was done.
    health = data(await env.clients.viewer.get(path))["health"]
    assert health is not None and "state" in health
    # The response still shows the running worker: the manager applies the change after it.
    data(await env.clients.operator.patch(path, json={"enabled": False}))
    assert data(await env.clients.viewer.get(path))["health"] is None


def site_file(site: str, **channel_overrides: Any) -> dict[str, Any]:
    return {
        "site": site,
        "host": "127.0.0.1",
        "port": 9,
        "credentials": f"admin:{SECRET}",
        "channels": [
            {
                "id": "channel_1",
                "name": f"{site}_cam_phai",
                "rtsp_path": "/cam/realmonitor?channel=1&subtype=0",
                "lines": [LINE],
                "enabled": False,
            },
            {"id": "channel_2", "name": f"{site}_cam_giua", "enabled": False},
            {
                "id": "channel_3",
                "rtsp_url": f"rtsp://me:{SECRET}@{CLOSED}/three",
                "enabled": False,
                **channel_overrides,
            },
        ],
    }


async def site_channels(env: AppEnv, site: str) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = data(await env.clients.viewer.get(CHANNELS, params={"site": site}))
    return result


async def test_site_import_dry_run_then_upsert(env: AppEnv) -> None:
    url = f"{CHANNELS}/import"
    operator = env.clients.operator
    dry = data(await operator.post(url, params={"dry_run": "true"}, json=site_file("dryshop")))
    assert (dry["dryRun"], dry["created"], dry["updated"]) == (True, 3, 0)
    assert [(c["externalId"], c["action"], c["id"]) for c in dry["channels"]] == [
        ("channel_1", "create", None),
        ("channel_2", "create", None),
        ("channel_3", "create", None),
    ]
    assert await site_channels(env, "dryshop") == []

    response = await operator.post(url, json=site_file("dryshop"))
    assert SECRET not in response.text
    done = data(response)
    assert (done["dryRun"], done["created"], done["updated"]) == (False, 3, 0)
    channels = {c["externalId"]: c for c in await site_channels(env, "dryshop")}
    assert channels["channel_1"]["url"] == "rtsp://127.0.0.1:9/cam/realmonitor?channel=1&subtype=0"
    assert channels["channel_2"]["url"] == "rtsp://127.0.0.1:9/cam/realmonitor?channel=2&subtype=0"
    assert (channels["channel_3"]["url"], channels["channel_3"]["username"]) == (
        f"rtsp://{CLOSED}/three",
        "me",
    )
    assert all(c["hasPassword"] and c["username"] in ("admin", "me") for c in channels.values())
    assert channels["channel_1"]["lines"][0]["name"] == "door"

    # Re-import: matched by (site, id), renamed, lines kept where the file says nothing about them.
    second = site_file("dryshop")
    second["channels"][0].pop("lines")
    second["channels"][1]["name"] = "renamed"
    again = data(await operator.post(url, json=second))
    assert (again["created"], again["updated"]) == (0, 3)
    assert {c["id"] for c in again["channels"]} == {c["id"] for c in channels.values()}
    after = {c["externalId"]: c for c in await site_channels(env, "dryshop")}
    assert (
        after["channel_2"]["name"] == "renamed"
        and after["channel_1"]["lines"] == channels["channel_1"]["lines"]
    )


async def test_site_import_is_all_or_nothing(env: AppEnv) -> None:
    url = f"{CHANNELS}/import"
    operator = env.clients.operator
    bad = site_file("badshop", rtsp_path="three")  # both rtsp_url and rtsp_path
    bad["channels"][0]["lines"] = [{"points": [[0, 0], [0, 0]]}]
    bad["channels"].append({"id": "channel_4", "rtsp_path": "cam/4"})
    err = error(await operator.post(url, json=bad), 422, "validation_error")
    assert fields(err) == {"channels[0].lines[0].points", "channels[2].rtsp_path", "channels[3].rtsp_path"}
    assert SECRET not in str(err)
    assert await site_channels(env, "badshop") == []
    error(await operator.post(url, params={"dry_run": "true"}, json=bad), 422)
    assert fields(error(await operator.post(url, json=[1]), 422)) == {None}  # not an object

    await make_channel(env, "badshop_cam_giua")  # a channel outside the site holds a name in the file
    err = error(await operator.post(url, json=site_file("badshop")), 409, "conflict")
    assert fields(err) == {"channels[1].name"}
    assert await site_channels(env, "badshop") == []


def _minute(hour: int, minute: int = 0, day: int = 1) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


async def seed_runs(env: AppEnv, channel_id: str, run_ids: tuple[str, str]) -> None:
    first, second = run_ids
    async with env.services.database.transaction() as session:
        for run_id, started in ((first, _minute(15)), (second, _minute(16))):
            session.add(
                AnalyticsRun(
                    id=run_id,
                    channel_id=channel_id,
                    kind="live",
                    source=f"rtsp://{CLOSED}/x",
                    status="finished",
                    started_at=started,
                    config={"detector": "motion"},
                    summary={"people": 3},
                )
            )
        await session.flush()

        def count(run: str, at: datetime, kind: str, name: str, *n: float) -> AnalyticsCount:
            i, o, dwell, male, female = n
            return AnalyticsCount(
                run_id=run,
                channel_id=channel_id,
                minute=at,
                kind=kind,
                name=name,
                in_count=int(i),
                out_count=int(o),
                dwell_total=dwell,
                male_in=int(male),
                female_in=int(female),
            )

        session.add_all(
            [
                # 16:59 UTC is 23:59 on March 1st in Ho Chi Minh City; 17:00 UTC is midnight of the 2nd.
                count(first, _minute(16, 59), "line", "door", 3, 1, 0, 1, 1),
                count(second, _minute(16, 59), "line", "door", 2, 0, 0, 1, 0),
                count(second, _minute(17, 0), "line", "door", 4, 2, 0, 0, 3),
                count(second, _minute(17, 30), "zone", "till", 2, 3, 45.0, 2, 0),
            ]
        )
        for n, (minute, kind, name) in enumerate(
            [(59, "line", "door"), (0, "zone_enter", "till"), (1, "line", "door")]
        ):
            hour = 16 if minute == 59 else 17
            session.add(
                AnalyticsEvent(
                    run_id=second,
                    channel_id=channel_id,
                    at=_minute(hour, minute),
                    kind=kind,
                    name=name,
                    direction="in" if kind == "line" else None,
                    track_id=n + 1,
                    gender="male",
                )
            )
            session.add(
                AnalyticsTrack(
                    run_id=second,
                    track_id=n + 1,
                    first_seen=_minute(16),
                    last_seen=_minute(17),
                    frames=10,
                    path=[[0.0, 1.0, 2.0]],
                    gender="female",
                    gender_confidence=0.9,
                )
            )


async def test_counts_are_bucketed_in_the_server_timezone(env: AppEnv) -> None:
    channel = await make_channel(env, "Counted")
    await seed_runs(env, channel["id"], ("count-r1", "count-r2"))
    viewer = env.clients.viewer
    params = {"channel": channel["id"], "from": "2026-03-01T16:00:00Z", "to": "2026-03-01T19:00:00Z"}

    days = data(await viewer.get(f"{API}/counts", params={**params, "bucket": "day"}))
    assert days["timezone"] == "Asia/Ho_Chi_Minh" and days["from"] == "2026-03-01T23:00:00+07:00"
    rows = [
        (r["bucket"], r["kind"], r["name"], r["in"], r["out"], r["dwellAvg"], r["gender"])
        for r in days["rows"]
    ]
    assert rows == [
        ("2026-03-01T00:00:00+07:00", "line", "door", 5, 1, None, {"male": 2, "female": 1, "unknown": 2}),
        ("2026-03-02T00:00:00+07:00", "line", "door", 4, 2, None, {"male": 0, "female": 3, "unknown": 1}),
        ("2026-03-02T00:00:00+07:00", "zone", "till", 2, 3, 15.0, {"male": 2, "female": 0, "unknown": 0}),
    ]
    totals = {
        (t["kind"], t["name"]): (t["in"], t["out"], t["gender"]["unknown"], t["bucket"])
        for t in days["totals"]
    }
    assert totals == {("line", "door"): (9, 3, 3, None), ("zone", "till"): (2, 3, 0, None)}
    assert all(r["channelId"] == channel["id"] for r in days["rows"] + days["totals"])

    hours = data(await viewer.get(f"{API}/counts", params={**params, "bucket": "hour"}))
    assert [(r["bucket"], r["name"], r["in"]) for r in hours["rows"]] == [
        ("2026-03-01T23:00:00+07:00", "door", 5),
        ("2026-03-02T00:00:00+07:00", "door", 4),
        ("2026-03-02T00:00:00+07:00", "till", 2),
    ]
    minutes = data(await viewer.get(f"{API}/counts", params={**params, "bucket": "minute"}))
    assert [r["bucket"] for r in minutes["rows"]] == [
        "2026-03-01T23:59:00+07:00",
        "2026-03-02T00:00:00+07:00",
        "2026-03-02T00:30:00+07:00",
    ]
    narrow = data(await viewer.get(f"{API}/counts", params={**params, "from": "2026-03-01T17:00:00Z"}))
    assert [r["in"] for r in narrow["rows"]] == [4, 2]

    too_long = {**params, "bucket": "minute", "to": "2026-03-20T00:00:00Z"}
    assert fields(error(await viewer.get(f"{API}/counts", params=too_long), 422)) == {"to"}
    backwards = {**params, "to": "2026-03-01T15:00:00Z"}
    assert fields(error(await viewer.get(f"{API}/counts", params=backwards), 422)) == {"from"}
    error(await viewer.get(f"{API}/counts", params={"bucket": "week"}), 422)
    # A day after the last representable time cannot be computed: a named 422, not a crash.
    end_of_time = {"from": "9999-12-31T23:00:00Z"}
    assert fields(error(await viewer.get(f"{API}/counts", params=end_of_time), 422)) == {"from"}


async def test_counts_default_to_today(env: AppEnv) -> None:
    channel = await make_channel(env, "Today")
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    async with env.services.database.transaction() as session:
        session.add(
            AnalyticsRun(
                id="today-run",
                channel_id=channel["id"],
                kind="live",
                source="x",
                status="running",
                started_at=now,
            )
        )
        await session.flush()
        for at, n in ((now, 2), (now - timedelta(days=2), 50)):
            session.add(
                AnalyticsCount(
                    run_id="today-run",
                    channel_id=channel["id"],
                    minute=at,
                    kind="line",
                    name="door",
                    in_count=n,
                )
            )
    result = data(await env.clients.viewer.get(f"{API}/counts", params={"channel": channel["id"]}))
    assert [t["in"] for t in result["totals"]] == [2]
    start = datetime.fromisoformat(result["from"])
    assert (start.hour, start.minute, start.utcoffset()) == (0, 0, timedelta(hours=7))


async def test_events_runs_and_tracks(env: AppEnv) -> None:
    channel = await make_channel(env, "Eventful")
    await seed_runs(env, channel["id"], ("ev-r1", "ev-r2"))
    viewer = env.clients.viewer

    async def track_ids(**params: str) -> list[int]:
        return [
            e["trackId"]
            for e in data(await viewer.get(f"{API}/events", params={"channel": channel["id"], **params}))
        ]

    assert await track_ids() == [3, 2, 1]  # newest first
    assert await track_ids(kind="line") == [3, 1]
    assert await track_ids(name="till") == [2]
    assert await track_ids(run="ev-r1") == []
    assert await track_ids(**{"from": "2026-03-01T17:00:00Z", "to": "2026-03-01T17:01:00Z"}) == [2]
    page = await viewer.get(f"{API}/events", params={"channel": channel["id"], "page": 2, "page_size": 2})
    assert [e["trackId"] for e in data(page)] == [1]
    assert page.json()["meta"] == {"page": 2, "pageSize": 2, "total": 3, "totalPages": 2}
    event = data(page)[0]
    assert (event["runId"], event["direction"], event["gender"], event["at"]) == (
        "ev-r2",
        "in",
        "male",
        "2026-03-01T16:59:00Z",
    )
    error(await viewer.get(f"{API}/events", params={"kind": "teleport"}), 422)

    runs = data(await viewer.get(f"{API}/runs", params={"channel": channel["id"]}))
    assert [(r["id"], r["tracks"], r["events"]) for r in runs] == [("ev-r2", 3, 3), ("ev-r1", 0, 0)]
    run = data(await viewer.get(f"{API}/runs/ev-r2"))
    assert (run["status"], run["config"], run["summary"], run["channelId"]) == (
        "finished",
        {"detector": "motion"},
        {"people": 3},
        channel["id"],
    )
    tracks = await viewer.get(f"{API}/runs/ev-r2/tracks", params={"page_size": 2})
    assert [t["trackId"] for t in data(tracks)] == [1, 2] and tracks.json()["meta"]["total"] == 3
    assert data(tracks)[0]["path"] == [[0.0, 1.0, 2.0]] and data(tracks)[0]["genderConfidence"] == 0.9
    error(await viewer.get(f"{API}/runs/missing"), 404, "not_found")
    error(await viewer.get(f"{API}/runs/missing/tracks"), 404, "not_found")

    # Deleting the channel keeps its history.
    assert (await env.clients.operator.delete(f"{CHANNELS}/{channel['id']}")).status_code == 204
    assert data(await viewer.get(f"{API}/runs/ev-r2"))["channelId"] is None

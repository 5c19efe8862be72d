"""The analytics pages: channel cards with preview, health and today's counts (local day, same figures as
the API), the chart, the line/zone editor and what a viewer may not do, in English and Vietnamese.

Counts are inserted through the models, as the live sink writes them (and as tests/api/test_analytics_api.py
does). Channels are disabled and point at a closed loopback port, so no worker opens anything.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import lxml.html
from httpx import AsyncClient

from tests.api.test_cameras import data, error, fields
from tests.web.conftest import WebClients
from vtrack.db.models import AnalyticsCount, AnalyticsRun, CameraSnapshot
from vtrack.services import Services
from vtrack.web.charts import PLOT_HEIGHT

CHANNELS = "/api/v1/analytics/channels"
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
CLOSED = "127.0.0.1:9"
DOOR = {"name": "door", "points": [[0.1, 0.6], [0.9, 0.6]]}
EXIT = {"name": "exit", "points": [[0.5, 0.1], [0.5, 0.9]], "hysteresis": 0.05}
TILL = {"name": "till", "points": [[0.2, 0.2], [0.6, 0.2], [0.6, 0.7]], "min_frames": 2}


def page(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"].startswith("text/html")
    return lxml.html.fromstring(response.text)


def by_testid(root: Any, testid: str) -> list[Any]:
    return list(root.xpath(f'descendant-or-self::*[@data-testid="{testid}"]'))


def one(root: Any, testid: str, **attrs: str) -> Any:
    """The one element with this data-testid and these data-* attributes (line="door" is data-line)."""
    wanted = {(k if k.startswith("data-") else f"data-{k}"): v for k, v in attrs.items()}
    found = [el for el in by_testid(root, testid) if all(el.get(k) == v for k, v in wanted.items())]
    assert len(found) == 1, (testid, attrs, len(found))
    return found[0]


def number(root: Any, testid: str, **attrs: str) -> int:
    return int(one(root, testid, **attrs).text_content().strip())


async def make_channel(client: AsyncClient, name: str, **extra: Any) -> dict[str, Any]:
    body = {"name": name, "url": f"rtsp://{CLOSED}/{name.replace(' ', '_')}", "enabled": False, **extra}
    result: dict[str, Any] = data(await client.post(CHANNELS, json=body), 201)
    return result


async def add_counts(
    services: Services, channel_id: str, rows: Sequence[tuple[datetime, str, str, int, int, int, int]]
) -> None:
    """(minute, kind, name, in, out, male, female) rows of one run."""
    run_id = f"run-{channel_id[:8]}"
    async with services.database.transaction() as session:
        session.add(
            AnalyticsRun(
                id=run_id,
                channel_id=channel_id,
                kind="live",
                source="x",
                status="running",
                started_at=rows[0][0],
            )
        )
        await session.flush()
        for at, kind, name, i, o, male, female in rows:
            session.add(
                AnalyticsCount(
                    run_id=run_id,
                    channel_id=channel_id,
                    minute=at,
                    kind=kind,
                    name=name,
                    in_count=i,
                    out_count=o,
                    male_in=male,
                    female_in=female,
                )
            )


async def test_without_channels_writers_get_the_add_form_and_viewers_an_explanation(
    web: WebClients, services: Services
) -> None:
    camera = data(
        await web.api.operator.post(
            "/api/v1/cameras", json={"name": "Lobby", "rtsp_url": f"rtsp://{CLOSED}/"}
        ),
        201,
    )
    root = page(await web.operator.get("/analytics"))
    one(root, "analytics-empty")
    form = one(root, "add-channel-form")
    assert form.get("data-api") == CHANNELS and form.get("data-method") == "POST"
    options = {o.get("value"): o.text_content() for o in one(root, "channel-camera").xpath(".//option")}
    assert options[camera["id"]] == "Lobby"
    assert {o.get("value") for o in one(root, "channel-detector").xpath(".//option")} == {
        "",
        "motion",
        "yolox",
        "yolo",
    }
    assert not by_testid(root, "channel-card")
    one(root, "counts-chart")  # still drawn, flat

    viewer = page(await web.viewer.get("/analytics"))
    one(viewer, "analytics-empty")
    assert not by_testid(viewer, "add-channel-form")

    # What the form posts (a camera, a name, a detector) is what the API takes.
    body = {"name": "Lobby people", "camera_id": camera["id"], "detector": "motion", "enabled": False}
    created = data(await web.operator.post(CHANNELS, json=body), 201)
    assert created["cameraId"] == camera["id"]
    # Not running: the editor draws on the camera's latest snapshot, through a signed link.
    async with services.database.transaction() as session:
        snapshot = CameraSnapshot(camera_id=camera["id"], filename="a.jpg", storage_path="snapshots/a.jpg")
        session.add(snapshot)
        await session.flush()
        snapshot_id = snapshot.id
    editor = page(await web.viewer.get(f"/analytics/{created['id']}"))
    src = one(editor, "editor-picture").get("src")
    assert src.startswith(f"/api/v1/snapshots/{snapshot_id}/image?") and "sig=" in src
    anonymous = await web.api.anonymous.get("/analytics")
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/?next=/analytics"


async def test_cards_show_the_preview_and_todays_counts_as_the_api_does(
    web: WebClients, services: Services
) -> None:
    channel = await make_channel(web.api.operator, "Entrance", lines=[DOOR, EXIT], zones=[TILL])
    other = await make_channel(web.api.operator, "Back door")
    midnight = datetime.combine(datetime.now(ZONE).date(), time(0), tzinfo=ZONE).astimezone(UTC)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    await add_counts(
        services,
        channel["id"],
        [
            (midnight - timedelta(minutes=1), "line", "door", 50, 40, 20, 20),  # 23:59 yesterday, local
            (midnight, "line", "door", 3, 1, 1, 1),
            (now, "line", "door", 4, 2, 2, 1),
            (now, "line", "exit", 1, 5, 0, 0),
            (now, "zone", "till", 6, 2, 1, 3),
        ],
    )
    root = page(await web.viewer.get("/analytics"))
    cards = {c.get("data-channel-name"): c for c in by_testid(root, "channel-card")}
    assert set(cards) == {"Entrance", "Back door"}
    card = cards["Entrance"]
    assert card.get("data-channel-id") == channel["id"]
    preview = one(card, "preview")
    assert preview.tag == "img"
    assert preview.get("src") == f"{CHANNELS}/{channel['id']}/preview.mjpeg?fps=5&width=640"
    assert preview.get("data-frame") == f"{CHANNELS}/{channel['id']}/frame.jpg"
    assert one(card, "channel-state").text_content().strip() == "disabled"

    # Yesterday's 23:59 is not today's: door 3+4 in, 1+2 out.
    assert (number(card, "count-in", line="door"), number(card, "count-out", line="door")) == (7, 3)
    assert (number(card, "count-in", line="exit"), number(card, "count-out", line="exit")) == (1, 5)
    assert (number(card, "total-in"), number(card, "total-out"), number(card, "zone-entries")) == (8, 8, 6)
    gender = {k: number(card, f"gender-{k}") for k in ("male", "female", "unknown")}
    assert gender == {"male": 3, "female": 2, "unknown": 3}  # over the lines' people in
    assert number(cards["Back door"], "total-in") == 0 and not by_testid(cards["Back door"], "count-in")

    api = data(await web.viewer.get("/api/v1/analytics/counts", params={"channel": channel["id"]}))
    totals = {t["name"]: t for t in api["totals"]}
    for name in ("door", "exit"):
        assert totals[name]["in"] == number(card, "count-in", line=name)
        assert totals[name]["out"] == number(card, "count-out", line=name)
    assert sum(totals[n]["gender"]["male"] for n in ("door", "exit")) == gender["male"]
    assert totals["till"]["in"] == number(card, "zone-entries")

    # The live fragment the card swaps in on counts events shows the same figures.
    live = one(card, "channel-live", state="inactive")
    assert live.get("hx-get") == f"/analytics/channels/{channel['id']}/live"
    assert "vt-counts from:body throttle:1s" in live.get("hx-trigger")
    fragment = page(await web.viewer.get(f"/analytics/channels/{channel['id']}/live"))
    assert number(fragment, "count-in", line="door") == 7 and number(fragment, "gender-female") == 2
    assert (await web.viewer.get("/analytics/channels/nope/live")).status_code == 404

    # The chart: today by local hour, all channels; the midnight bar holds the 00:00 count.
    chart = one(root, "counts-chart")
    assert chart.get("data-range") == "today"
    svg = chart.xpath(".//*[local-name()='svg']")[0]
    entered = [r for r in svg.xpath(".//*[local-name()='rect']") if r.get("class") == "in"]
    assert len(entered) == 24 and svg.get("data-max") == "10"
    local_now = now.astimezone(ZONE)
    expected = [0] * 24
    expected[0] += 3
    expected[local_now.hour] += 4 + 1
    assert [int(r.get("data-value")) for r in entered] == expected
    assert [float(r.get("height")) for r in entered][0] == round(3 / 10 * PLOT_HEIGHT, 2)
    labels = [t.text for t in svg.xpath(".//*[local-name()='text']") if t.get("class") == "x-label"]
    assert labels[0] == "00" and labels[1] == "02"

    week = page(await web.viewer.get("/analytics/chart", params={"chart": "week", "channel": channel["id"]}))
    svg = one(week, "counts-chart").xpath(".//*[local-name()='svg']")[0]
    days = [r for r in svg.xpath(".//*[local-name()='rect']") if r.get("class") == "in"]
    assert [int(r.get("data-value")) for r in days][-2:] == [50, 8]  # yesterday, today
    assert one(week, "chart-range-week").get("aria-pressed") == "true"
    titles = [r.xpath("./*[local-name()='title']")[0].text for r in days]
    assert titles[-1].startswith(local_now.strftime("%Y-%m-%d"))
    other_only = page(await web.viewer.get("/analytics/chart", params={"channel": other["id"]}))
    assert one(other_only, "counts-chart").xpath(".//*[local-name()='svg']")[0].get("data-max") == "1"


async def test_the_editor_shows_lines_as_fractions_and_saves_what_the_api_takes(web: WebClients) -> None:
    channel = await make_channel(web.api.operator, "Shop floor", lines=[DOOR], zones=[TILL])
    path = f"/analytics/{channel['id']}"
    root = page(await web.operator.get(path))
    for testid in ("editor-canvas", "draw-line", "draw-zone", "save-lines"):
        one(root, testid)
    line = one(root, "line-item", **{"data-name": "door"})
    assert (
        json.loads(line.get("data-points")) == [[0.1, 0.6], [0.9, 0.6]]
        and line.get("data-fractions") == "true"
    )
    assert json.loads(one(root, "zone-item").get("data-points")) == TILL["points"]
    editor = json.loads(root.xpath('//script[@id="editor-data"]')[0].text)
    assert editor["api"] == f"{CHANNELS}/{channel['id']}" and editor["canWrite"] is True
    assert editor["lines"] == [{**DOOR, "hysteresis": 0.02}] and editor["zones"] == [TILL]
    assert not root.xpath('//img[@data-testid="editor-picture"]')  # not running, no camera snapshot

    # The body the editor sends on Save: every line and zone, in fractions of the frame.
    queue = {"name": "queue", "points": [[0.1, 0.1], [0.4, 0.1], [0.4, 0.5], [0.1, 0.5]]}
    body: dict[str, Any] = {
        "lines": [
            {"name": "door", "points": [[0.9, 0.6], [0.1, 0.6]], "hysteresis": 0.02},  # flipped
            {"name": "stairs", "points": [[0.0, 0.25], [1.0, 0.3125]]},
        ],
        "zones": [queue],
    }
    saved = data(await web.operator.patch(editor["api"], json=body))
    assert [spec["name"] for spec in saved["lines"]] == ["door", "stairs"]
    assert saved["lines"][1] == {"name": "stairs", "points": [[0.0, 0.25], [1.0, 0.3125]], "hysteresis": 0.02}
    assert saved["zones"] == [{**queue, "min_frames": 3}]
    reread = data(await web.viewer.get(editor["api"]))
    assert reread["lines"] == saved["lines"] and reread["zones"] == saved["zones"]
    again = page(await web.operator.get(path))
    items = by_testid(again, "line-item")
    assert [i.get("data-name") for i in items] == ["door", "stairs"]
    assert json.loads(items[0].get("data-points")) == [[0.9, 0.6], [0.1, 0.6]]

    # A bad drawing comes back as field errors the editor shows next to the item.
    bad = {
        "lines": [{"name": "dot", "points": [[0.5, 0.5], [0.5, 0.5]]}],
        "zones": [{"name": "x y!", "points": [[0, 0], [1, 0], [0, 1]]}],
    }
    problem = error(await web.operator.patch(editor["api"], json=bad), 422)
    assert fields(problem) == {"lines[0].points", "zones[0].name"}

    # A viewer sees the drawing, read only, and cannot save.
    viewer = page(await web.viewer.get(path))
    one(viewer, "editor-canvas")
    one(viewer, "read-only")
    assert len(by_testid(viewer, "line-item")) == 2
    for testid in ("save-lines", "draw-line", "draw-zone"):
        assert not by_testid(viewer, testid)
    assert json.loads(viewer.xpath('//script[@id="editor-data"]')[0].text)["canWrite"] is False
    error(await web.viewer.patch(editor["api"], json=body), 403)
    assert (await web.viewer.get("/analytics/no-such-channel")).status_code == 404


async def test_vietnamese_labels(web: WebClients) -> None:
    channel = await make_channel(web.api.operator, "Cua chinh", lines=[DOOR])
    web.operator.cookies.set("vtrack_lang", "vi")  # what the language switch sets
    root = page(await web.operator.get("/analytics"))
    assert root.xpath("//html")[0].get("lang") == "vi"
    text = root.text_content()
    assert "Phân tích" in text and "Số người theo giờ hôm nay" in text and "Thêm kênh" in text
    card = one(root, "channel-card")
    assert one(card, "channel-state").text_content().strip() == "đã tắt"
    assert "nữ" in one(card, "gender").text_content()
    editor = page(await web.operator.get(f"/analytics/{channel['id']}"))
    assert one(editor, "draw-line").text_content().strip() == "Vẽ vạch"
    assert one(editor, "draw-zone").text_content().strip() == "Vẽ vùng"
    assert "bên phải" in editor.text_content()
    messages = json.loads(editor.xpath('//script[@id="i18n"]')[0].text)
    assert messages["js.analytics.flip"] == "Đảo chiều"

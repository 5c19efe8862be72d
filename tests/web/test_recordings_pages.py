"""Recording pages: filters by source, camera and local day, the htmx table and its pages, the player
(video from the API, previous/next of the same camera), cloud isolation, Vietnamese and local times,
and cloud files (videos synced from a drive) listed by their remote path and played the same way."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.api.test_recordings_api import Remote, local, seed_archive, seed_cloud, user_id
from tests.web.conftest import WebClients
from tests.web.test_sources_pages import Element, Marked, in_vietnamese, page, squash, within
from vtrack.services import Services


async def test_filters_and_the_fragment_table_list_a_local_day_newest_first(
    web: WebClients, services: Services
) -> None:
    late, early = local(2026, 11, 20, 23, 30), local(2026, 11, 20, 8)
    kho = await seed_archive(
        services,
        "Kho",
        [
            ("Cổng", late),
            ("Cổng", early),
            ("Sân", early + timedelta(minutes=5)),
            ("Cổng", local(2026, 11, 21, 0, 10)),
        ],
    )
    late_id, early_id, yard_id, next_day_id = kho.file_ids
    private = await seed_archive(
        services, "Op Drive", [("Box", late)], source_type="dropbox", owner_id=await user_id(web.api.operator)
    )

    html = await page(web.viewer, f"/recordings?date=2026-11-20&source_id={kho.source_id}")
    sources = html.one("filter-source")
    assert kho.source_id in (await web.viewer.get("/recordings")).text
    assert sources.tag == "select" and "Op Drive" not in sources.text  # not the viewer's source
    assert (
        html.one("filter-date").attrs["value"] == "2026-11-20"
        and html.one("filter-date").attrs["type"] == "date"
    )
    cameras = html.one("filter-camera")
    assert "Kho Cổng" in cameras.text and "Kho Sân" in cameras.text
    rows = html.all("recording-row")
    assert [r.attrs["data-recording-id"] for r in rows] == [late_id, yard_id, early_id]  # 23:30 is the 20th's
    first = rows[0]
    assert squash(within(first, "recording-time").text) == "23:30:00–23:40:00"  # Asia/Ho_Chi_Minh
    assert "10:00" in squash(first.text) and "Kho Cổng" in first.text and "Kho" in first.text
    assert within(first, "play-recording").attrs["href"] == f"/recordings/{late_id}"
    assert within(first, "download-recording").attrs["href"] == f"/api/v1/recordings/{late_id}/video"

    fragment = await web.viewer.get(
        f"/recordings/table?source_id={kho.source_id}&camera_id={kho.camera_ids['Cổng']}&date=2026-11-21",
        headers={"HX-Request": "true"},
    )
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert [r.attrs["data-recording-id"] for r in page_rows(fragment.text)] == [next_day_id]

    everything = await web.operator.get("/recordings/table?date=")  # the date cleared: every day
    assert {r.attrs["data-recording-id"] for r in page_rows(everything.text)} == {
        *kho.file_ids,
        *private.file_ids,
    }
    viewer_all = await web.viewer.get("/recordings/table?date=")
    assert {r.attrs["data-recording-id"] for r in page_rows(viewer_all.text)} == set(kho.file_ids)

    options = await web.viewer.get(
        f"/recordings/cameras?source_id={kho.source_id}", headers={"HX-Request": "true"}
    )
    assert "Kho Cổng" in options.text and 'name="camera_id"' in options.text and "load" in options.text
    hidden = await web.viewer.get(f"/recordings/cameras?source_id={private.source_id}")
    assert "Op Drive" not in hidden.text

    for odd in ("0001-01-01", "not-a-date"):  # a hand-typed URL falls back to today, never a 500
        assert (await page(web.viewer, f"/recordings?date={odd}")).one("filter-date").attrs["value"]
    empty = await page(web.viewer, "/recordings?date=2019-01-01")
    assert not empty.all("recording-row") and empty.all("recordings-empty")
    today = (await page(web.viewer, "/recordings")).one("filter-date").attrs["value"]
    assert today == datetime.now(services.archive_layout.zone).date().isoformat()  # today there, not in UTC

    vietnamese = await in_vietnamese(web.viewer, "/recordings?date=2026-11-20")
    for text in ("Bản ghi", "Nguồn", "Ngày", "Thời lượng", "Dung lượng", "Phát", "Tải xuống"):
        assert text in vietnamese, text


def page_rows(html: str) -> list[Element]:
    return Marked(html).all("recording-row")


async def test_pages_of_the_table_and_the_player_with_neighbours(web: WebClients, services: Services) -> None:
    start = local(2026, 11, 20, 9)
    files = [("Cổng", start + timedelta(minutes=10 * i)) for i in range(30)]
    kho = await seed_archive(services, "Kho", files)
    ids = kho.file_ids

    first = await page(web.viewer, "/recordings?date=2026-11-20")
    assert len(first.all("recording-row")) == 25 and first.all("next-page")
    assert first.all("recording-row")[0].attrs["data-recording-id"] == ids[-1]
    second = await web.viewer.get(first.one("next-page").attrs["hx-get"])
    assert [r.attrs["data-recording-id"] for r in page_rows(second.text)] == ids[4::-1]

    player = await page(web.viewer, f"/recordings/{ids[10]}")
    video = player.one("player")
    assert video.tag == "video" and video.attrs["src"] == f"/api/v1/recordings/{ids[10]}/video"
    assert "controls" in video.attrs and video.attrs["preload"] == "metadata"
    assert player.one("previous-recording").attrs["href"] == f"/recordings/{ids[9]}"
    assert player.one("next-recording").attrs["href"] == f"/recordings/{ids[11]}"
    assert player.one("download").attrs["href"] == f"/api/v1/recordings/{ids[10]}/video"
    assert player.one("recording-start").text == "2026-11-20 10:40:00"  # local, not 03:40 UTC
    assert player.one("recording-end").text == "2026-11-20 10:50:00"
    assert not player.all("recording-missing")
    assert not (await page(web.viewer, f"/recordings/{ids[0]}")).all("previous-recording")

    (services.settings.resolved_archive_dir / "Kho" / "Cổng" / "2026-11-20" / "094000-095000.mp4").unlink()
    gone = await page(web.viewer, f"/recordings/{ids[4]}")
    assert gone.all("recording-missing") and gone.one("player")

    private = await seed_archive(
        services,
        "Op Drive",
        [("Box", start)],
        source_type="dropbox",
        owner_id=await user_id(web.api.operator),
    )
    await page(web.viewer, f"/recordings/{private.file_ids[0]}", status=404)
    await page(web.operator, f"/recordings/{private.file_ids[0]}")
    await page(web.viewer, "/recordings/no-such-id", status=404)

    vietnamese = await in_vietnamese(web.viewer, f"/recordings/{ids[10]}")
    for text in ("Bản ghi trước", "Bản ghi sau", "Tải xuống", "Bắt đầu", "Kết thúc"):
        assert text in vietnamese, text


async def test_a_cloud_file_is_listed_by_its_remote_path_and_plays(
    web: WebClients, services: Services
) -> None:
    kho = await seed_archive(services, "Kho", [("Cổng", local(2026, 11, 20, 8))])
    drive = await seed_cloud(
        services,
        "Op Drive",
        [
            Remote("/Camera Uploads/Cửa trước.mp4", local(2026, 11, 20, 23, 30)),
            Remote("/Camera Uploads/sáng.mp4", local(2026, 11, 20, 7)),
        ],
        owner_id=await user_id(web.api.operator),
    )
    late_id, early_id = drive.file_ids
    (device_id,) = kho.file_ids

    html = await page(web.operator, "/recordings?date=2026-11-20")
    rows = html.all("recording-row")
    assert [r.attrs["data-recording-id"] for r in rows] == [late_id, device_id, early_id]
    cloud = rows[0]
    assert cloud.attrs["data-kind"] == "cloud"
    assert within(cloud, "recording-remote-path").text == "/Camera Uploads/Cửa trước.mp4"
    assert within(cloud, "recording-cloud").text == "Cloud"
    assert squash(within(cloud, "recording-time").text) == "23:30:00"  # local; a cloud file has no end
    assert within(cloud, "play-recording").attrs["href"] == f"/recordings/{late_id}"
    assert within(cloud, "download-recording").attrs["href"] == f"/api/v1/recordings/{late_id}/video"
    device = rows[1]
    assert device.attrs["data-kind"] == "device" and "Kho Cổng" in device.text
    assert not [c for c in device.children if c.attrs.get("data-testid") == "recording-cloud"]

    by_camera = await web.operator.get(
        f"/recordings/table?date=2026-11-20&camera_id={kho.camera_ids['Cổng']}"
    )
    assert [r.attrs["data-recording-id"] for r in page_rows(by_camera.text)] == [device_id]
    by_source = await web.operator.get(f"/recordings/table?date=&source_id={drive.source_id}")
    assert [r.attrs["data-recording-id"] for r in page_rows(by_source.text)] == [late_id, early_id]
    viewer = await page(web.viewer, "/recordings?date=2026-11-20")
    assert [r.attrs["data-recording-id"] for r in viewer.all("recording-row")] == [device_id]

    player = await page(web.operator, f"/recordings/{late_id}")
    assert squash(player.one("recording-title").text) == "Cửa trước.mp4 · 2026-11-20 23:30:00"
    assert player.one("recording-cloud") and player.one("recording-remote-path").text == (
        "/Camera Uploads/Cửa trước.mp4"
    )
    video = player.one("player")
    assert video.tag == "video" and video.attrs["src"] == f"/api/v1/recordings/{late_id}/video"
    assert player.one("recording-start").text == "2026-11-20 23:30:00" and not player.all("recording-end")
    assert player.one("previous-recording").attrs["href"] == f"/recordings/{early_id}"  # same source, by time
    assert not player.all("next-recording") and not player.all("recording-missing")
    back = player.one("back-to-list").attrs["href"]
    assert f"source_id={drive.source_id}" in back and "camera_id=&" in back and "None" not in back
    played = await web.operator.get(video.attrs["src"], headers={"Range": "bytes=0-99"})
    assert (
        played.status_code == 206
        and played.headers["content-type"] == "video/mp4"
        and len(played.content) == 100
    )

    await page(web.viewer, f"/recordings/{late_id}", status=404)
    vietnamese = await in_vietnamese(web.operator, f"/recordings/{late_id}")
    for text in ("Đám mây", "Đường dẫn trên đám mây", "Thời điểm sửa đổi", "Tải xuống"):
        assert text in vietnamese, text
    assert "Camera hoặc tệp" in await in_vietnamese(web.operator, "/recordings?date=2026-11-20")

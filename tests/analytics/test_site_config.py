"""Seed 002's site file: URLs built from host, port and path, credentials split out, every problem named."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from vtrack.analytics.errors import AnalyticsConfigError
from vtrack.analytics.site_config import (
    SiteConfigError,
    load_site,
    parse_lines,
    parse_site,
    parse_zones,
)

SITE: dict[str, Any] = {
    "site": "kidsplaza_thanhxuan",
    "host": "192.168.1.100",
    "port": 554,
    "credentials": {"username": "user1", "password": " p@ss:w0rd "},
    "channels": [
        {
            "id": "channel_1",
            "name": "ben_ngoai_cam_phai",
            "rtsp_path": "/cam/realmonitor?channel=1&subtype=0",
        },
        {"id": "channel_2", "name": "ben_ngoai_cam_giua"},
        {
            "id": "channel_3",
            "rtsp_url": "rtsp://cam3:s%40cret@10.0.0.3:8554/live",
            "lines": [{"name": "door", "points": [[0.1, 0.6], [0.9, 0.6]]}],
            "zones": [{"points": [[0.2, 0.2], [0.6, 0.2], [0.6, 0.7]], "min_frames": 5}],
            "enabled": False,
        },
    ],
}


def problems(data: Any) -> dict[str, str]:
    with pytest.raises(SiteConfigError) as caught:
        parse_site(data)
    return {p.field: p.message for p in caught.value.problems}


def test_a_site_file_becomes_channels_with_urls_and_credentials_apart() -> None:
    site = parse_site(SITE)
    assert site.site == "kidsplaza_thanhxuan"
    first, second, third = site.channels
    assert (first.external_id, first.name) == ("channel_1", "ben_ngoai_cam_phai")
    assert first.url == "rtsp://192.168.1.100:554/cam/realmonitor?channel=1&subtype=0"
    assert (first.username, first.password) == ("user1", " p@ss:w0rd ")  # a password is kept as typed
    assert (first.lines, first.zones, first.enabled) == (None, None, None)  # not given: an import keeps them
    # No path: the Dahua main stream of the channel number in its id, as the camera importer builds it.
    assert second.url == "rtsp://192.168.1.100:554/cam/realmonitor?channel=2&subtype=0"
    assert second.name == "ben_ngoai_cam_giua"
    # Credentials inside a URL are moved out of it (percent-decoded) and beat the site's.
    assert third.url == "rtsp://10.0.0.3:8554/live"
    assert (third.username, third.password) == ("cam3", "s@cret")
    assert third.name == "kidsplaza_thanhxuan/channel_3"  # no name: the site's and the id
    assert third.lines is not None and third.lines[0].name == "door"
    assert third.zones is not None and third.zones[0].min_frames == 5 and third.zones[0].name == "zone1"
    assert third.enabled is False
    assert "s@cret" not in repr(third) and "p@ss" not in repr(first)


def test_server_block_credential_string_and_default_port() -> None:
    site = parse_site(
        {
            "name": "shop",
            "server": {"host": "cam.local", "credentials": "admin:a:b"},
            "channels": [{"id": 7, "rtsp_path": "/live"}],
        }
    )
    (channel,) = site.channels
    assert (site.site, channel.external_id, channel.name) == ("shop", "7", "shop/7")
    assert channel.url == "rtsp://cam.local:554/live"
    assert (channel.username, channel.password) == ("admin", "a:b")


def test_every_problem_is_collected_and_named_by_its_place() -> None:
    found = problems(
        {
            "host": "169.254.169.254",
            "port": 70000,
            "credentials": "no-colon",
            "channels": [
                {"id": "c1", "rtsp_path": "cam/realmonitor"},
                "not an object",
                {"id": "c3", "rtsp_url": "http://10.0.0.1/x"},
                {"id": "c1", "name": "C3", "rtsp_path": "/a", "rtsp_url": "rtsp://10.0.0.9/"},
                {"id": "c5", "lines": [{"points": [[0, 0], [0, 0]]}, {"points": [5]}], "enabled": "yes"},
                {"id": "c6", "zones": [{"points": [[0, 0], [1, 0], [0, 1]], "min_frames": 0}, {"color": 1}]},
                {"id": "", "name": "bad\x00name"},
            ],
        }
    )
    assert set(found) == {
        "site",
        "host",
        "port",
        "credentials",
        "channels[0].rtsp_path",
        "channels[1]",
        "channels[2].rtsp_url",
        "channels[3].id",
        "channels[3].name",  # no site, so channels[2] is named after its id, c3
        "channels[3].rtsp_path",
        "channels[4].lines[0].points",
        "channels[4].lines[1].points",
        "channels[4].enabled",
        "channels[5].zones[0].min_frames",
        "channels[5].zones[1]",
        "channels[6].id",
        "channels[6].name",
    }, found
    assert "link-local" in found["host"]
    assert found["channels[0].rtsp_path"].startswith("must be a path starting with '/'")
    assert "scheme" in found["channels[2].rtsp_url"]
    assert "channels[0]" in found["channels[3].id"]  # the duplicate names the first one
    assert "same point" in found["channels[4].lines[0].points"]
    assert "color" in found["channels[5].zones[1]"]


def test_a_missing_host_is_reported_once_and_names_the_channel_needing_it() -> None:
    found = problems({"site": "s", "channels": [{"id": "a"}, {"id": "b", "rtsp_path": "/x"}]})
    assert found == {"host": "missing, and channels[0] has no rtsp_url to use instead"}
    # With a URL per channel no host is needed.
    site = parse_site({"site": "s", "channels": [{"id": "a", "rtsp_url": "rtsp://10.1.1.1/a"}]})
    assert site.channels[0].url == "rtsp://10.1.1.1/a"


def test_duplicate_names_are_case_insensitive_and_lists_must_be_lists() -> None:
    found = problems(
        {
            "site": "s",
            "host": "10.0.0.1",
            "channels": [{"id": "a", "name": "Door"}, {"id": "b", "name": "door"}],
        }
    )
    assert set(found) == {"channels[1].name"}
    assert problems({"site": "s", "channels": []}) == {
        "channels": "must be a non-empty list of channel objects"
    }
    assert set(problems([1, 2])) == {"site"}


def test_line_and_zone_lists_name_the_bad_key() -> None:
    lines, found = parse_lines(
        [
            {"points": [[0, 0.5], [1, 0.5]]},
            {"name": "line1", "points": [[0, 0.2], [1, 0.2]]},
            {"name": "bad!", "points": [[0, 0], [1, 1]]},
            {"points": [[0, 0], [1, 1]], "hysteresis": -1},
            {"points": [[0, 0], [1, 1], [2, 2]]},
            {"points": [{"x": 1, "y": 2}, [1, 1]]},
            "line",
        ]
    )
    assert [line.name for line in lines] == ["line1"]
    assert {p.field for p in found} == {
        "lines[1].name",  # the first line took the default name line1
        "lines[2].name",
        "lines[3].hysteresis",
        "lines[4].points",
        "lines[5].points",
        "lines[6]",
    }
    zones, found = parse_zones({"points": []}, "channels[0].zones")
    assert zones == [] and [p.field for p in found] == ["channels[0].zones"]
    zones, found = parse_zones([{"points": [[0, 0], [1, 1], [2, 2]]}, {"points": [[0, 0], [1, 0], [0, 1]]}])
    assert [p.field for p in found] == ["zones[0].points"] and [z.name for z in zones] == ["zone2"]


def test_load_site_reads_a_file_and_explains_bad_ones(tmp_path: Path) -> None:
    path = tmp_path / "site.json"
    path.write_text(json.dumps(SITE), encoding="utf-8")
    assert len(load_site(path).channels) == 3
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(AnalyticsConfigError, match=r"site: .*site.json is not valid JSON: .* line 1"):
        load_site(path)
    with pytest.raises(AnalyticsConfigError, match="cannot read"):
        load_site(tmp_path / "missing.json")
    path.write_text(json.dumps({"site": "s", "host": "10.0.0.1", "channels": [{"rtsp_path": "/a"}]}))
    with pytest.raises(SiteConfigError) as caught:
        load_site(path)
    assert caught.value.field == "channels[0].id" and str(caught.value).startswith("channels[0].id: missing")

"""Unit tests of the import parsers (CSV, JSON, seed-002 channel lists) and the CSV cell guard."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.registry.samples import SITE
from vtrack.errors import InvalidInputError
from vtrack.registry.import_formats import parse_csv, parse_json
from vtrack.registry.schemas import CameraCreate
from vtrack.registry.transfer_format import protect_cell, unprotect_cell


def details(exc: pytest.ExceptionInfo[InvalidInputError]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = exc.value.details
    return result


# --- CSV -------------------------------------------------------------------------------------------


def test_parse_csv_rows_numbers_lines_and_groups() -> None:
    text = (
        "\ufeff name , rtsp_url ,group,location,fps,is_active\n"
        "Cam A,rtsp://10.0.0.1/a,Shop 1, Floor 1 ,25,true\n"
        ",,,,,\n"
        'Cam B,rtsp://10.0.0.2/b,,"two\nlines",,false\n'
        "Cam C,rtsp://10.0.0.3/c,,,,\n"
    )
    rows = parse_csv(text)
    assert [r.number for r in rows] == [1, 3, 4]
    assert [r.line for r in rows] == [2, 5, 6]  # the line where the record ends
    assert rows[0].data == {
        "name": "Cam A",
        "rtsp_url": "rtsp://10.0.0.1/a",
        "location": "Floor 1",
        "fps": "25",
        "is_active": "true",
    }
    assert rows[0].group_name == "Shop 1"
    assert rows[1].group_name is None and rows[1].data["location"] == "two\nlines"
    assert rows[2].data == {"name": "Cam C", "rtsp_url": "rtsp://10.0.0.3/c"}
    # Strings from CSV validate through the same schema as the API (lax bool/int parsing).
    camera = CameraCreate.model_validate(rows[0].data)
    assert (camera.fps, camera.is_active) == (25, True)


def test_parse_csv_header_only_gives_no_rows() -> None:
    assert parse_csv("name,rtsp_url\n") == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("\n\n", "empty"),
        ("name,rtsp_url,secret_key\nA,rtsp://10.0.0.1/\n", "unknown CSV column"),
        ("name,location\nA,here\n", "name and rtsp_url"),
        ("rtsp_url\nrtsp://10.0.0.1/\n", "name and rtsp_url"),
    ],
)
def test_parse_csv_refuses_bad_headers(text: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message) as exc:
        parse_csv(text)
    assert details(exc)[0]["field"] == "data"


def test_parse_csv_accepts_group_id_column() -> None:
    rows = parse_csv("name,rtsp_url,group_id\nA,rtsp://10.0.0.1/,abc\n")
    assert rows[0].data["group_id"] == "abc"


def test_parse_csv_too_many_cells_names_the_row() -> None:
    with pytest.raises(InvalidInputError, match="row 2") as exc:
        parse_csv("name,rtsp_url\nA,rtsp://10.0.0.1/\nB,rtsp://10.0.0.2/,extra\n")
    assert details(exc)[0]["row"] == 2
    assert details(exc)[0]["line"] == 3


def test_parse_csv_takes_the_formula_guard_off() -> None:
    rows = parse_csv("name,rtsp_url,description\n'=cmd,rtsp://10.0.0.1/,'+1\n'plain,rtsp://10.0.0.2/,'\n")
    assert rows[0].data["name"] == "=cmd"
    assert rows[0].data["description"] == "+1"
    assert rows[1].data["name"] == "'plain"
    assert rows[1].data["description"] == "'"


# --- CSV cell guard --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "exported"),
    [
        ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("plain", "plain"),
        ("'quoted", "'quoted"),
        ("", ""),
    ],
)
def test_protect_cell(value: str, exported: str) -> None:
    assert protect_cell(value) == exported


@pytest.mark.parametrize("value", ["=x", "'=x", "''=x", "'", "''", "'abc", "abc", "-", "'-", "@", "=", "'\r"])
def test_protect_then_unprotect_round_trips(value: str) -> None:
    assert unprotect_cell(protect_cell(value)) == value
    # And a protected cell never starts with a formula character.
    assert not protect_cell(value).startswith(("=", "+", "-", "@", "\t", "\r"))


# --- JSON ------------------------------------------------------------------------------------------


def test_parse_json_list_and_cameras_object() -> None:
    items = [
        {"name": "A", "rtsp_url": "rtsp://10.0.0.1/", "group": "G1"},
        {"name": "B", "rtsp_url": "rtsp://10.0.0.2/", "fps": 10},
    ]
    for doc in (items, {"cameras": items}):
        rows = parse_json(json.dumps(doc))
        assert [r.number for r in rows] == [1, 2]
        assert rows[0].group_name == "G1" and "group" not in rows[0].data
        assert rows[1].group_name is None and rows[1].data == items[1]
        assert rows[0].line is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        ('"a string"', "must be a list"),
        ("42", "must be a list"),
        ('{"other": []}', "must be a list"),
        ('{"cameras": {"name": "A"}}', "must be a list"),
    ],
)
def test_parse_json_refuses_bad_documents(text: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message) as exc:
        parse_json(text)
    assert details(exc)[0]["field"] == "data"


def test_parse_json_non_object_item_names_the_row() -> None:
    with pytest.raises(InvalidInputError, match="camera 2") as exc:
        parse_json(json.dumps([{"name": "A", "rtsp_url": "rtsp://10.0.0.1/"}, "B"]))
    assert details(exc)[0]["row"] == 2


def test_parse_json_empty_list_gives_no_rows() -> None:
    assert parse_json("[]") == []


# --- seed-002 channel lists ------------------------------------------------------------------------


def test_parse_channel_list_builds_one_camera_per_channel() -> None:
    rows = parse_json(json.dumps(SITE))
    assert [r.number for r in rows] == [1, 2, 3, 4]
    assert {r.group_name for r in rows} == {"kidsplaza_thanhxuan"}
    assert rows[0].data == {
        "name": "ben_ngoai_cam_phai",
        "rtsp_url": "rtsp://127.0.0.2:554/cam/realmonitor?channel=1&subtype=0",
        "protocol": "rtsp",
        "username": "user1",
        "password": "cam12345",
    }
    assert rows[3].data["rtsp_url"] == "rtsp://127.0.0.2:554/cam/realmonitor?channel=4&subtype=0"
    for row in rows:
        CameraCreate.model_validate(row.data)


def test_parse_channel_list_variants() -> None:
    doc = {
        "site": "Store 9",
        "host": "192.168.5.20",
        "username": "admin",
        "password": "pw",
        "protocol": "dahua",
        "channels": [
            {"id": "cam"},
            {"channel": 7, "name": "seven", "subtype": 1, "location": "gate", "fps": 15},
            {"id": "x", "rtsp_url": "rtsp://192.168.5.21/live", "password": "other", "group": "Elsewhere"},
        ],
    }
    rows = parse_json(json.dumps(doc))
    assert rows[0].data["name"] == "cam"
    assert rows[0].data["rtsp_url"] == "rtsp://192.168.5.20:554/cam/realmonitor?channel=1&subtype=0"
    assert rows[0].data["protocol"] == "dahua" and rows[0].group_name == "Store 9"
    assert rows[1].data["rtsp_url"] == "rtsp://192.168.5.20:554/cam/realmonitor?channel=7&subtype=1"
    assert (rows[1].data["location"], rows[1].data["fps"]) == ("gate", 15)
    assert rows[2].data["rtsp_url"] == "rtsp://192.168.5.21/live"
    assert (rows[2].data["username"], rows[2].data["password"]) == ("admin", "other")
    assert rows[2].group_name == "Elsewhere"


def test_parse_channel_list_with_ipv6_server_builds_a_valid_url() -> None:
    doc = {"name": "v6", "server": {"host": "fd00::20", "port": 8554}, "channels": [{"id": "channel_2"}]}
    rows = parse_json(json.dumps(doc))
    assert rows[0].data["rtsp_url"] == "rtsp://[fd00::20]:8554/cam/realmonitor?channel=2&subtype=0"
    CameraCreate.model_validate(rows[0].data)


def test_parse_channel_list_errors_name_the_channel() -> None:
    with pytest.raises(InvalidInputError, match="channel 2") as exc:
        parse_json(json.dumps({"server": {}, "channels": [{"rtsp_url": "rtsp://10.0.0.1/"}, {"id": "c"}]}))
    assert details(exc)[0] == {
        "row": 2,
        "field": "rtsp_url",
        "message": "missing, and no server host to build it",
    }
    with pytest.raises(InvalidInputError, match="channel 1 is not an object"):
        parse_json(json.dumps({"server": {"host": "10.0.0.1"}, "channels": ["c1"]}))
    with pytest.raises(InvalidInputError) as exc:
        parse_json(json.dumps({"server": {"host": "10.0.0.1"}, "channels": {"id": "c1"}}))
    assert details(exc)[0]["field"] == "channels"


def test_parse_channel_list_with_a_metadata_host_fails_validation() -> None:
    doc = {"name": "x", "server": {"host": "169.254.169.254"}, "channels": [{"id": "channel_1"}]}
    rows = parse_json(json.dumps(doc))
    with pytest.raises(ValueError, match="link-local"):
        CameraCreate.model_validate(rows[0].data)

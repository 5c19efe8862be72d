"""--config files: a full site loads; every mistake is reported with the field (and camera index) it is in."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vtrack.simulator.config_file import ConfigError, load_config


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "site.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_a_full_file_loads(tmp_path: Path) -> None:
    (tmp_path / "clips").mkdir()
    (tmp_path / "clips" / "loop.mp4").write_bytes(b"\x00")
    config = load_config(
        write(
            tmp_path,
            {
                "host": "127.0.0.2",
                "onvif_port_base": 2000,
                "rtsp_port": 9554,
                "persona": "dahua",
                "nvr": True,
                "username": "root",
                "password": "pw-123",
                "video": "clips/loop.mp4",
                "cameras": [
                    {"name": "Gate", "width": 1280, "height": 720, "codec": "h265", "fps": 15},
                    {"faults": {"offline": True, "slow_seconds": 1.5, "clock_skew_seconds": -30}},
                ],
            },
        )
    )
    assert (config.host, config.onvif_port_base, config.rtsp_port) == ("127.0.0.2", 2000, 9554)
    assert (config.persona, config.nvr, config.username, config.password) == ("dahua", True, "root", "pw-123")
    assert config.video == tmp_path / "clips" / "loop.mp4"
    gate, second = config.cameras
    assert (gate.index, gate.name, gate.width, gate.height, gate.codec, gate.fps) == (
        0,
        "Gate",
        1280,
        720,
        "h265",
        15,
    )
    assert not gate.faults.offline
    # Missing fields take the default camera for that position.
    assert (second.index, second.channel, second.name, second.codec) == (1, 2, "Parking Lot Camera", "h265")
    assert second.serial == "SIM000002"
    assert (
        second.faults.offline
        and second.faults.slow_seconds == 1.5
        and second.faults.clock_skew_seconds == -30
    )
    assert gate.faults is not second.faults


def test_an_empty_object_gives_the_three_default_cameras(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, {}))
    assert [camera.name for camera in config.cameras] == [
        "Front Door Camera",
        "Parking Lot Camera",
        "Warehouse Camera",
    ]
    assert config.persona == "onvif" and config.host == "127.0.0.1"


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"hots": "127.0.0.1"}, "hots", "unknown key"),
        ({"host": "camera.local"}, "host", "IP address"),
        ({"persona": "axis"}, "persona", "onvif, hikvision, dahua"),
        ({"nvr": "yes"}, "nvr", "true or false"),
        ({"rtsp_port": 70000}, "rtsp_port", "from 1 to 65535"),
        ({"onvif_port_base": 65535, "cameras": [{}, {}]}, "onvif_port_base", "port 65536"),
        ({"password": ""}, "password", "non-empty"),
        ({"video": "missing.mp4"}, "video", "no such file"),
        ({"cameras": []}, "cameras", "non-empty list"),
        ({"cameras": [{}, "Gate"]}, "cameras[1]", "JSON object"),
        ({"cameras": [{}, {"width": 641}]}, "cameras[1].width", "even integer"),
        ({"cameras": [{"height": 720.0}]}, "cameras[0].height", "even integer"),
        ({"cameras": [{"codec": "mjpeg"}]}, "cameras[0].codec", "h264, h265, mpeg4"),
        ({"cameras": [{"fps": True}]}, "cameras[0].fps", "integer"),
        ({"cameras": [{"colour": "red"}]}, "cameras[0].colour", "unknown key"),
        ({"cameras": [{}, {}, {"faults": {"ofline": True}}]}, "cameras[2].faults.ofline", "unknown fault"),
        ({"cameras": [{"faults": {"slow_seconds": "2"}}]}, "cameras[0].faults.slow_seconds", "number"),
        ({"cameras": [{"faults": {"offline": 1}}]}, "cameras[0].faults.offline", "true or false"),
        ({"cameras": [{"faults": [1]}]}, "cameras[0].faults", "JSON object"),
        ([1, 2], "(top level)", "JSON object"),
    ],
)
def test_mistakes_name_their_field(tmp_path: Path, data: object, field: str, words: str) -> None:
    path = write(tmp_path, data)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.field == field
    message = str(caught.value)
    assert message.startswith(f"{path}: {field}: ") and words in message


def test_unreadable_and_invalid_json_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.json")
    broken = tmp_path / "broken.json"
    broken.write_text('{\n  "host": "127.0.0.1",\n  "nvr": tru\n}', encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid JSON: .* at line 3 column"):
        load_config(broken)

"""`vtrack discover` through Typer's CliRunner, against the simulator on loopback.

The command runs its own event loop (asyncio.run), so it is invoked in a worker thread while the simulator
keeps serving on the test's loop. WS-Discovery is either off or aimed at the simulator's own UDP port.
"""

from __future__ import annotations

import asyncio
import json
import re

import pytest
from click.testing import Result
from typer.testing import CliRunner

from tests.devices.onvif import HOST, PASSWORD, USERNAME, closed_port, device_ports, discovery_port, site
from vtrack.cli import app

SEED_MESSAGE = re.compile(r"^ONVIF Multi-Camera Discovery - Found (\d+) camera\(s\) on ports: \[([\d, ]*)\]")


async def discover(*args: str) -> Result:
    runner = CliRunner()
    return await asyncio.to_thread(
        runner.invoke,
        app,
        ["discover", *args],
        env={"VTRACK_DEVICE_PASSWORD": None, "NO_COLOR": "1", "COLUMNS": "200"},
    )


async def test_json_has_the_seed_shape_and_exit_0() -> None:
    async with site(3) as sim:
        ports = device_ports(sim)
        result = await discover(
            "--hosts", HOST, "--ports", ",".join(map(str, ports)),
            "--username", USERNAME, "--password", PASSWORD,
            "--no-ws-discovery", "--timeout", "3", "--json",
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)  # nothing but the JSON on stdout
    assert data["success"] is True
    match = SEED_MESSAGE.match(data["message"])
    assert match and match.group(1) == "3"
    assert data["message"] == f"ONVIF Multi-Camera Discovery - Found 3 camera(s) on ports: {sorted(ports)}"
    assert len(data["cameras"]) == 3
    for number, camera in enumerate(data["cameras"], 1):
        assert {"name", "resolution", "codec", "rtsp_url", "onvif_port"} <= camera.keys()
        assert camera["id"] == f"onvif_{HOST}_channel_{number}"
        assert camera["rtsp_url"].startswith(f"rtsp://{HOST}:")
    assert {(c["name"], c["resolution"], c["codec"]) for c in data["cameras"]} == {
        ("Front Door Camera", "1920x1080", "H264"),
        ("Parking Lot Camera", "1280x720", "H265"),
        ("Warehouse Camera", "800x600", "MPEG4"),
    }
    assert [c["onvif_port"] for c in data["cameras"]] == sorted(ports)
    assert data["stats"]["scanned"] == 3


async def test_text_output_lists_cameras_like_the_seed() -> None:
    async with site(1, nvr=True) as sim:
        [port] = device_ports(sim)
        result = await discover(
            "--hosts", HOST, "--ports", f"{port}-{port}", "--username", USERNAME, "--password", PASSWORD,
            "--no-ws-discovery",
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"Found 1 camera(s) on ports: [{port}]" in result.stdout
    assert f"Camera 1: Front Door Camera (onvif_{HOST}_channel_1)" in result.stdout
    assert f"Resolution: 1920x1080, Codec: H264, FPS: 25, ONVIF Port: {port}" in result.stdout
    assert "Capabilities: recording" in result.stdout


async def test_ws_discovery_unicast_to_the_given_host() -> None:
    """--ports names a closed port only: the camera comes from the simulator's WS-Discovery answer."""
    async with site(1, discovery=True) as sim:
        result = await discover(
            "--hosts", HOST, "--ports", str(closed_port()), "--username", USERNAME, "--password", PASSWORD,
            "--ws-port", str(discovery_port(sim)), "--json",
        )  # fmt: skip
        [port] = device_ports(sim)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [c["onvif_port"] for c in data["cameras"]] == [port]
    assert data["stats"]["ws_discovery_matches"] == 1


async def test_nothing_found_exits_1() -> None:
    result = await discover(
        "--hosts", "127.0.77.70/31", "--ports", str(closed_port("127.0.77.70")), "--no-ws-discovery", "--json"
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert data["success"] is False and data["cameras"] == []
    assert data["message"].startswith("ONVIF Multi-Camera Discovery - Found 0 camera(s) on ports: []")
    assert data["stats"]["closed"] == 2


async def test_wrong_password_is_explained_and_never_printed() -> None:
    secret = "Wr0ng-Secret-51c2"
    async with site(1) as sim:
        [port] = device_ports(sim)
        as_json = await discover(
            "--hosts", HOST, "--ports", str(port), "--username", USERNAME, "--password", secret,
            "--no-ws-discovery", "--json",
        )  # fmt: skip
        as_text = await discover(
            "--hosts", HOST, "--ports", str(port), "--username", USERNAME, "--password", secret,
            "--no-ws-discovery",
        )  # fmt: skip
    assert as_json.exit_code == as_text.exit_code == 1
    [problem] = json.loads(as_json.stdout)["problems"]
    assert problem["kind"] == "auth" and "refused the credentials" in problem["message"]
    assert "auth" in as_text.stdout and "refused the credentials" in as_text.stdout
    for result in (as_json, as_text):
        assert secret not in result.output and secret not in result.stderr
        assert "Traceback" not in result.output


async def test_sdk_port_is_a_clear_problem_not_a_traceback() -> None:
    async with site(1, sdk=True) as sim:
        result = await discover(
            "--hosts", HOST, "--ports", str(sim.sdk_ports[0].port), "--no-ws-discovery", "--timeout", "2"
        )  # fmt: skip
    assert result.exit_code == 1
    assert "does not speak HTTP" in result.stdout and "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--ports", "80,abc"], "'abc'"),
        (["--ports", "70000"], "'70000'"),
        (["--hosts", "127.0.0.1:80"], "'127.0.0.1:80'"),
        (["--hosts", "10.0.0.0/8"], "'10.0.0.0/8'"),
    ],
)
async def test_bad_targets_exit_2_naming_the_item(args: list[str], named: str) -> None:
    result = await discover(*args, "--no-ws-discovery", "--json")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert named in result.stderr and "error:" in result.stderr

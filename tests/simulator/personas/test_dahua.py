"""The Dahua persona through httpx with Digest, as a CGI client sees it."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import av
import httpx
from aiohttp import web

from tests.simulator.loopback import serve
from tests.simulator.personas.conftest import PASSWORD, USER, fixed_clock
from tests.simulator.personas.media_checks import clock_agreement, decode_jpeg
from vtrack.simulator.config import CameraSpec, SimulatorConfig
from vtrack.simulator.onvif.device import Device
from vtrack.simulator.personas import dahua

BAD_REQUEST = "Error\r\nBad Request!\r\n"
FIND = "/cgi-bin/mediaFileFind.cgi"


@asynccontextmanager
async def device(config: SimulatorConfig, cameras: list[CameraSpec]) -> AsyncIterator[httpx.AsyncClient]:
    app = web.Application()
    dahua.register(app, config, cameras, clock=fixed_clock)
    async with serve(app) as base:
        async with httpx.AsyncClient(base_url=base, auth=httpx.DigestAuth(USER, PASSWORD)) as client:
            yield client


def key_values(text: str) -> dict[str, str]:
    assert text.endswith("\r\n")
    return dict(line.split("=", 1) for line in text.split("\r\n") if line)


def parse_items(text: str) -> tuple[int, list[dict[str, str]]]:
    """findNextFile's answer as (found, items), parsed the way Dahua clients parse it."""
    values = key_values(text)
    items: dict[int, dict[str, str]] = {}
    for key, value in values.items():
        match = re.fullmatch(r"items\[(\d+)\]\.(.+)", key)
        if match:
            items.setdefault(int(match.group(1)), {})[match.group(2)] = value
    return int(values["found"]), [items[index] for index in sorted(items)]


async def test_magic_box_answers_in_key_value_lines(config: SimulatorConfig) -> None:
    dahua.brand(config.cameras)
    async with device(config, config.cameras[:1]) as client:
        device_type = await client.get("/cgi-bin/magicBox.cgi", params={"action": "getDeviceType"})
        assert device_type.status_code == 200
        assert key_values(device_type.text) == {"type": "IPC-HFW2431S-S-S2"}
        serial = key_values((await client.get("/cgi-bin/magicBox.cgi?action=getSerialNo")).text)["sn"]
        assert serial == Device(config, config.cameras[:1], port=0).serial  # as ONVIF reports it
        info = key_values((await client.get("/cgi-bin/magicBox.cgi?action=getSystemInfo")).text)
        assert info["serialNumber"] == serial and info["deviceType"] == "IPC-HFW2431S-S-S2"
        vendor = await client.get("/cgi-bin/magicBox.cgi?action=getVendor")
        assert key_values(vendor.text) == {"vendor": "Dahua"}
        unknown = await client.get("/cgi-bin/magicBox.cgi?action=selfDestruct")
        assert (unknown.status_code, unknown.text) == (400, BAD_REQUEST)
        anonymous = await client.get("/cgi-bin/magicBox.cgi?action=getDeviceType", auth=None)
        assert anonymous.status_code == 401
        assert f'realm="Login to {serial}"' in anonymous.headers["WWW-Authenticate"]


async def test_snapshot_per_channel(config: SimulatorConfig) -> None:
    config.nvr = True
    async with device(config, config.cameras) as client:
        default = await client.get("/cgi-bin/snapshot.cgi")
        assert default.headers["content-type"] == "image/jpeg"
        assert decode_jpeg(default.content) == (1920, 1080)
        assert decode_jpeg((await client.get("/cgi-bin/snapshot.cgi?channel=2")).content) == (1280, 720)
        sub = await client.get("/cgi-bin/snapshot.cgi?channel=2&subtype=1")
        assert decode_jpeg(sub.content) == (640, 360)
        for bad in ("channel=3", "channel=x", "channel=1&subtype=7"):
            response = await client.get(f"/cgi-bin/snapshot.cgi?{bad}")
            assert (response.status_code, response.text) == (400, BAD_REQUEST)


async def test_find_files_end_to_end_and_load_one(config: SimulatorConfig) -> None:
    config.nvr = True
    async with device(config, config.cameras) as client:
        created = key_values((await client.get(f"{FIND}?action=factory.create")).text)
        object_id = created["result"]
        find = await client.get(
            f"{FIND}?action=findFile&object={object_id}&condition.Channel=2"
            "&condition.StartTime=2026-1-6%2000:00:00&condition.EndTime=2026-01-07%2000:00:00"
            "&condition.Types[0]=dav&condition.Flags[0]=Timing&condition.VideoStream=Main"
        )
        assert (find.status_code, find.text) == (200, "OK\r\n")

        pages, items = [], []
        while True:
            found, page = parse_items(
                (await client.get(f"{FIND}?action=findNextFile&object={object_id}&count=100")).text
            )
            assert found == len(page)
            pages.append(found)
            items += page
            if found == 0:
                break
        assert pages == [100, 44, 0]
        assert items[0]["StartTime"] == "2026-01-06 00:00:00" and items[0]["EndTime"] == "2026-01-06 00:10:00"
        assert items[-1]["StartTime"] == "2026-01-06 23:50:00"
        assert {item["Channel"] for item in items} == {"1"}  # 0-based in answers, as Dahua firmware does
        assert {item["Type"] for item in items} == {"dav"}
        assert items[0]["FilePath"] == "/mnt/dvr/2026-01-06/1/dav/00/00.00.00-00.10.00[R][0@0][0].dav"

        assert (await client.get(f"{FIND}?action=close&object={object_id}")).text == "OK\r\n"
        after_close = await client.get(f"{FIND}?action=findNextFile&object={object_id}&count=100")
        assert (after_close.status_code, after_close.text) == (400, BAD_REQUEST)
        assert (await client.get(f"{FIND}?action=destroy&object={object_id}")).text == "OK\r\n"
        gone = await client.get(f"{FIND}?action=destroy&object={object_id}")
        assert (gone.status_code, gone.text) == (400, BAD_REQUEST)

        item = items[57]
        loaded = await client.get(f"/cgi-bin/RPC_Loadfile{item['FilePath']}")
        assert loaded.status_code == 200
        assert int(loaded.headers["content-length"]) == int(item["Length"]) == len(loaded.content)
        start = datetime.strptime(item["StartTime"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
        with av.open(io.BytesIO(loaded.content), "r") as container:
            assert container.duration is not None
            assert abs(container.duration / av.time_base - int(item["Duration"])) < 0.5
            first = next(container.decode(video=0))
        assert clock_agreement(first.to_ndarray(format="gray"), start) > 0.995
        # amcrest joins "RPC_Loadfile/" and the path: the doubled slash must work too.
        doubled = await client.get(f"/cgi-bin/RPC_Loadfile/{item['FilePath']}")
        assert doubled.content == loaded.content


async def test_finder_misuse_is_refused_as_dahua_does(config: SimulatorConfig) -> None:
    async with device(config, config.cameras[:1]) as client:
        object_id = key_values((await client.get(f"{FIND}?action=factory.create")).text)["result"]
        refused = [
            f"{FIND}?action=findNextFile&object={object_id}&count=10",  # before findFile
            f"{FIND}?action=findFile&object=999&condition.Channel=1"
            "&condition.StartTime=2026-01-06%2000:00:00&condition.EndTime=2026-01-07%2000:00:00",
            f"{FIND}?action=findFile&object={object_id}&condition.Channel=2"  # this camera has one channel
            "&condition.StartTime=2026-01-06%2000:00:00&condition.EndTime=2026-01-07%2000:00:00",
            f"{FIND}?action=findFile&object={object_id}&condition.Channel=1&condition.StartTime=yesterday"
            "&condition.EndTime=2026-01-07%2000:00:00",
            f"{FIND}?action=findNextFile&object=abc&count=10",
            f"{FIND}?action=explode&object={object_id}",
        ]
        for url in refused:
            response = await client.get(url)
            assert (response.status_code, response.text) == (400, BAD_REQUEST), url
        # Only event recordings asked for: a continuously recording camera has none.
        events = await client.get(
            f"{FIND}?action=findFile&object={object_id}&condition.Channel=1"
            "&condition.StartTime=2026-01-06%2000:00:00&condition.EndTime=2026-01-07%2000:00:00"
            "&condition.Events[0]=VideoMotion"
        )
        assert events.text == "OK\r\n"
        zero = await client.get(f"{FIND}?action=findNextFile&object={object_id}&count=0")
        assert (zero.status_code, zero.text) == (400, BAD_REQUEST)
        assert parse_items(
            (await client.get(f"{FIND}?action=findNextFile&object={object_id}&count=10")).text
        ) == (
            0,
            [],
        )
        missing = await client.get(
            "/cgi-bin/RPC_Loadfile/mnt/dvr/2025-01-01/0/dav/00/00.00.00-00.10.00[R][0@0][0].dav"
        )
        assert missing.status_code == 404
        assert (await client.get("/cgi-bin/RPC_Loadfile/etc/passwd")).status_code == 404


async def test_channels_their_titles_encoders_and_the_rtsp_port(config: SimulatorConfig) -> None:
    config.rtsp_port = 8654
    async with device(config, config.cameras[:1]) as client:
        device_class = await client.get("/cgi-bin/magicBox.cgi?action=getDeviceClass")
        assert key_values(device_class.text) == {"class": "IPC"}
        remote = await client.get(
            "/cgi-bin/magicBox.cgi",
            params={"action": "getProductDefinition", "name": "MaxRemoteInputChannels"},
        )
        assert key_values(remote.text) == {"table.MaxRemoteInputChannels": "0"}
        local = await client.get("/cgi-bin/devVideoInput.cgi?action=getCollect")
        assert key_values(local.text) == {"result": "1"}
        unknown = await client.get("/cgi-bin/magicBox.cgi?action=getProductDefinition&name=Nope")
        assert (unknown.status_code, unknown.text) == (400, BAD_REQUEST)

    config.nvr = True
    async with device(config, config.cameras) as client:
        device_class = await client.get("/cgi-bin/magicBox.cgi?action=getDeviceClass")
        assert key_values(device_class.text) == {"class": "NVR"}
        remote = await client.get(
            "/cgi-bin/magicBox.cgi?action=getProductDefinition&name=MaxRemoteInputChannels"
        )
        assert key_values(remote.text) == {"table.MaxRemoteInputChannels": "2"}
        assert key_values((await client.get("/cgi-bin/devVideoInput.cgi?action=getCollect")).text) == {
            "result": "0"
        }
        titles = key_values(
            (await client.get("/cgi-bin/configManager.cgi?action=getConfig&name=ChannelTitle")).text
        )
        assert titles == {
            "table.ChannelTitle[0].Name": "Front Door Camera",
            "table.ChannelTitle[1].Name": "Parking Lot Camera",
        }
        encode = key_values(
            (await client.get("/cgi-bin/configManager.cgi?action=getConfig&name=Encode")).text
        )
        main = "table.Encode[1].MainFormat[0].Video"
        sub = "table.Encode[1].ExtraFormat[0].Video"
        assert [encode[f"{main}.{key}"] for key in ("Compression", "Width", "Height", "FPS")] == [
            "H.265",
            "1280",
            "720",
            "25",
        ]
        assert [encode[f"{sub}.{key}"] for key in ("Compression", "Width", "Height")] == [
            "H.264",
            "640",
            "360",
        ]
        rtsp = key_values((await client.get("/cgi-bin/configManager.cgi?action=getConfig&name=RTSP")).text)
        assert rtsp["table.RTSP.Port"] == "8654" and rtsp["table.RTSP.Enable"] == "true"
        for query in ("action=getConfig&name=Nope", "action=setConfig&name=RTSP", "name=RTSP"):
            refused = await client.get(f"/cgi-bin/configManager.cgi?{query}")
            assert (refused.status_code, refused.text) == (400, BAD_REQUEST)
        anonymous = await client.get("/cgi-bin/configManager.cgi?action=getConfig&name=RTSP", auth=None)
        assert anonymous.status_code == 401

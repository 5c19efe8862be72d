"""The Hikvision persona through httpx with Digest, as an ISAPI client sees it."""

from __future__ import annotations

import io
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from xml.etree import ElementTree as ET

import av
import httpx
import numpy as np
from aiohttp import web

from tests.simulator.loopback import serve
from tests.simulator.personas.conftest import NOW, PASSWORD, USER, fixed_clock
from tests.simulator.personas.media_checks import clock_agreement, decode_jpeg
from vtrack.simulator.config import CameraSpec, SimulatorConfig
from vtrack.simulator.onvif.device import Device
from vtrack.simulator.personas import hikvision

NS = {"h": "http://www.hikvision.com/ver20/XMLSchema"}


@asynccontextmanager
async def device(config: SimulatorConfig, cameras: list[CameraSpec]) -> AsyncIterator[httpx.AsyncClient]:
    app = web.Application()
    hikvision.register(app, config, cameras, clock=fixed_clock)
    async with serve(app) as base:
        async with httpx.AsyncClient(base_url=base, auth=httpx.DigestAuth(USER, PASSWORD)) as client:
            yield client


def xml(response: httpx.Response) -> ET.Element:
    assert response.headers["content-type"].startswith("application/xml")
    return ET.fromstring(response.content)  # noqa: S314  (our own server's answer)


def search_body(tracks: list[int], start: str, end: str, max_results: int, position: int) -> str:
    track_xml = "".join(f"<trackID>{track}</trackID>" for track in tracks)
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<CMSearchDescription version="1.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">'
        "<searchID>C77384AD-66A0-0001-E7C2-1151F04F90B0</searchID>"
        f"<trackIDList>{track_xml}</trackIDList>"
        f"<timeSpanList><timeSpan><startTime>{start}</startTime><endTime>{end}</endTime></timeSpan>"
        f"</timeSpanList><maxResults>{max_results}</maxResults>"
        f"<searchResultPostion>{position}</searchResultPostion>"
        "<metadataList><metadataDescriptor>//recordType.meta.std-cgi.com</metadataDescriptor></metadataList>"
        "</CMSearchDescription>"
    )


async def test_device_info_of_a_camera_and_of_an_nvr(config: SimulatorConfig) -> None:
    hikvision.brand(config.cameras)
    onvif = Device(config, config.cameras[:1], port=0)
    async with device(config, config.cameras[:1]) as client:
        info = xml(await client.get("/ISAPI/System/deviceInfo"))
        assert info.tag == "{http://www.hikvision.com/ver20/XMLSchema}DeviceInfo"
        assert info.findtext("h:deviceName", namespaces=NS) == "Front Door Camera"
        assert info.findtext("h:deviceType", namespaces=NS) == "IPCamera"
        assert info.findtext("h:model", namespaces=NS) == "DS-2CD2143G2-I"
        # The same box as ONVIF describes it: clients match devices across protocols by serial and MAC.
        assert info.findtext("h:serialNumber", namespaces=NS) == onvif.serial == "SIM000001"
        assert info.findtext("h:macAddress", namespaces=NS) == onvif.mac
        assert info.findtext("h:deviceID", namespaces=NS) == onvif.uuid
        assert info.findtext("h:firmwareVersion", namespaces=NS)
        anonymous = await client.get("/ISAPI/System/deviceInfo", auth=None)
        assert anonymous.status_code == 401
        assert anonymous.headers["WWW-Authenticate"].startswith('Digest realm="IP Camera(')

    config.nvr = True
    async with device(config, config.cameras) as client:
        info = xml(await client.get("/ISAPI/System/deviceInfo"))
        assert info.findtext("h:deviceType", namespaces=NS) == "NVR"
        assert info.findtext("h:digitalChannelNum", namespaces=NS) == "2"
        unknown = await client.get("/ISAPI/Nope/thing")
        assert unknown.status_code == 404
        assert xml(unknown).findtext("h:subStatusCode", namespaces=NS) == "notSupport"


async def test_pictures_are_jpegs_at_the_stream_resolution(config: SimulatorConfig) -> None:
    config.nvr = True
    async with device(config, config.cameras) as client:
        main = await client.get("/ISAPI/Streaming/channels/101/picture")
        assert main.headers["content-type"] == "image/jpeg"
        assert decode_jpeg(main.content) == (1920, 1080)
        second = await client.get("/ISAPI/Streaming/channels/201/picture")
        assert decode_jpeg(second.content) == (1280, 720)
        sub = await client.get("/ISAPI/ContentMgmt/StreamingProxy/channels/102/picture")
        assert decode_jpeg(sub.content) == (640, 360)
        missing = await client.get("/ISAPI/Streaming/channels/901/picture")
        assert missing.status_code == 404
        assert xml(missing).findtext("h:statusString", namespaces=NS) == "Invalid Operation"


async def search_all(
    client: httpx.AsyncClient, tracks: list[int], start: str, end: str, page: int
) -> tuple[list[str | None], list[ET.Element]]:
    """Page through a search the way ISAPI clients do; returns (statuses, items)."""
    statuses: list[str | None] = []
    items: list[ET.Element] = []
    position = 0
    while True:
        response = await client.post(
            "/ISAPI/ContentMgmt/search", content=search_body(tracks, start, end, page, position)
        )
        assert response.status_code == 200
        result = xml(response)
        assert result.tag.endswith("CMSearchResult")
        status = result.findtext("h:responseStatusStrg", namespaces=NS)
        count = int(result.findtext("h:numOfMatches", namespaces=NS) or "-1")
        found = result.findall("h:matchList/h:searchMatchItem", namespaces=NS)
        assert count == len(found)
        statuses.append(status)
        items += found
        position += count
        if status != "MORE":
            return statuses, items


async def test_search_pages_through_a_day_with_more_ok_and_no_matches(config: SimulatorConfig) -> None:
    async with device(config, config.cameras[:1]) as client:
        statuses, items = await search_all(client, [101], "2026-01-05T00:00:00Z", "2026-01-06T00:00:00Z", 50)
        assert statuses == ["MORE", "MORE", "OK"]
        assert len(items) == 144  # a day of 10-minute files
        starts = [item.findtext("h:timeSpan/h:startTime", namespaces=NS) or "" for item in items]
        assert starts[0] == "2026-01-05T00:00:00Z" and starts[-1] == "2026-01-05T23:50:00Z"
        assert len(set(starts)) == 144 and starts == sorted(starts)
        first = items[0]
        assert first.findtext("h:trackID", namespaces=NS) == "101"
        assert first.findtext("h:timeSpan/h:endTime", namespaces=NS) == "2026-01-05T00:10:00Z"
        uri = first.findtext("h:mediaSegmentDescriptor/h:playbackURI", namespaces=NS) or ""
        parts = urlsplit(uri)
        assert (parts.scheme, parts.hostname, parts.port, parts.path) == (
            "rtsp",
            "127.0.0.1",
            8554,
            "/Streaming/tracks/101/",
        )
        query = parse_qs(parts.query)
        assert query["starttime"] == ["20260105T000000Z"] and query["endtime"] == ["20260105T001000Z"]
        assert query["name"][0] and int(query["size"][0]) > 0

        # Asking past the end, or outside the 7 days kept, matches nothing.
        past_end = await client.post(
            "/ISAPI/ContentMgmt/search",
            content=search_body([101], "2026-01-05T00:00:00Z", "2026-01-06T00:00:00Z", 50, 144),
        )
        assert xml(past_end).findtext("h:responseStatusStrg", namespaces=NS) == "NO MATCHES"
        statuses, items = await search_all(client, [101], "2025-12-01T00:00:00Z", "2025-12-02T00:00:00Z", 50)
        assert (statuses, items) == (["NO MATCHES"], [])

        # The archive ends with the last closed file before now (12:05:30): 11:50-12:00.
        statuses, items = await search_all(client, [101], "2026-01-08T11:00:00Z", "2026-01-08T13:00:00Z", 50)
        assert statuses == ["OK"]
        assert items[-1].findtext("h:timeSpan/h:endTime", namespaces=NS) == "2026-01-08T12:00:00Z"


async def test_search_over_two_tracks_interleaves_and_caps_pages(config: SimulatorConfig) -> None:
    config.nvr = True
    async with device(config, config.cameras) as client:
        statuses, items = await search_all(
            client, [101, 201, 102], "2026-01-05T00:00:00+07:00", "2026-01-05T12:00:00+07:00", 500
        )
        assert statuses == ["MORE", "OK"]  # a page holds 100 whatever maxResults asks
        assert len(items) == 144
        tracks = [item.findtext("h:trackID", namespaces=NS) for item in items[:4]]
        assert tracks == ["101", "201", "101", "201"]
        assert items[0].findtext("h:timeSpan/h:startTime", namespaces=NS) == "2026-01-04T17:00:00Z"


async def test_bad_search_requests_get_isapi_errors(config: SimulatorConfig) -> None:
    async with device(config, config.cameras[:1]) as client:
        broken = await client.post("/ISAPI/ContentMgmt/search", content="<CMSearchDescription>")
        assert broken.status_code == 400
        assert xml(broken).findtext("h:subStatusCode", namespaces=NS) == "badXmlFormat"
        no_tracks = await client.post(
            "/ISAPI/ContentMgmt/search",
            content="<CMSearchDescription><searchID>x</searchID></CMSearchDescription>",
        )
        assert no_tracks.status_code == 400
        assert xml(no_tracks).findtext("h:subStatusCode", namespaces=NS) == "badXmlContent"
        entity = '<!DOCTYPE d [<!ENTITY e "x">]><CMSearchDescription>&e;</CMSearchDescription>'
        assert (await client.post("/ISAPI/ContentMgmt/search", content=entity)).status_code == 400


async def test_download_returns_the_segment_as_a_decodable_mp4(config: SimulatorConfig) -> None:
    async with device(config, config.cameras[:1]) as client:
        _, items = await search_all(client, [101], "2026-01-07T08:00:00Z", "2026-01-07T08:20:00Z", 10)
        assert len(items) == 2
        uri = items[1].findtext("h:mediaSegmentDescriptor/h:playbackURI", namespaces=NS) or ""
        size = int(parse_qs(urlsplit(uri).query)["size"][0])
        body = (
            '<?xml version="1.0"?><downloadRequest version="1.0" xmlns="http://www.isapi.org/ver20/XMLSchema">'
            f"<playbackURI>{uri.replace('&', '&amp;')}</playbackURI></downloadRequest>"
        )
        started = time.perf_counter()
        response = await client.post("/ISAPI/ContentMgmt/download", content=body)
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "video/mp4"
        assert int(response.headers["content-length"]) == size == len(response.content)

        start = datetime(2026, 1, 7, 8, 10, tzinfo=UTC)
        with av.open(io.BytesIO(response.content), "r") as container:
            assert container.duration is not None
            assert abs(container.duration / av.time_base - 600) < 0.5
            assert container.metadata["creation_time"].startswith("2026-01-07T08:10:00")
            frames = list(container.decode(video=0))
        assert frames[0].time == 0 and 580 <= (frames[-1].time or 0) < 600
        for frame in (frames[0], frames[-1]):
            luma = frame.to_ndarray(format="gray")
            shown = start + timedelta(seconds=round(frame.time or 0))
            assert clock_agreement(luma, shown) > 0.995
            assert clock_agreement(luma, shown + timedelta(seconds=10)) < 0.99

        # Same file again (cached), and through the GET form some clients use: the same bytes.
        again = await client.get("/ISAPI/ContentMgmt/download", params={"playbackURI": uri})
        assert again.content == response.content
        assert elapsed < 5


async def test_download_of_a_file_the_device_does_not_hold(config: SimulatorConfig) -> None:
    async with device(config, config.cameras[:1]) as client:
        old = (
            "rtsp://127.0.0.1:8554/Streaming/tracks/101/?starttime=20251201T000000Z&endtime=20251201T001000Z"
        )
        missing = await client.get("/ISAPI/ContentMgmt/download", params={"playbackURI": old})
        assert missing.status_code == 404
        garbage = await client.get("/ISAPI/ContentMgmt/download", params={"playbackURI": "rtsp://x/other"})
        assert garbage.status_code == 400
        wrong_size = (
            "rtsp://127.0.0.1:8554/Streaming/tracks/101/?starttime=20260107T081000Z&endtime=20260107T082000Z"
            "&size=1"
        )
        assert (
            await client.get("/ISAPI/ContentMgmt/download", params={"playbackURI": wrong_size})
        ).status_code == 404


async def test_faults_reach_the_isapi(config: SimulatorConfig) -> None:
    camera = config.cameras[0]
    async with device(config, [camera]) as client:
        camera.faults.wrong_password = True
        assert (await client.get("/ISAPI/System/deviceInfo")).status_code == 401
        camera.faults.wrong_password = False

        camera.faults.malformed_xml = True
        cut = await client.get("/ISAPI/System/deviceInfo")
        try:
            ET.fromstring(cut.content)  # noqa: S314
        except ET.ParseError:
            pass
        else:
            raise AssertionError("malformed_xml fault sent well-formed XML")
        camera.faults.malformed_xml = False

        camera.faults.clock_skew_seconds = -3600
        shown = xml(await client.get("/ISAPI/System/time")).findtext("h:localTime", namespaces=NS)
        assert shown == (NOW - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
        picture = await client.get("/ISAPI/Streaming/channels/101/picture")
        with av.open(io.BytesIO(picture.content), "r") as container:
            luma = next(container.decode(video=0)).to_ndarray(format="gray")
        assert clock_agreement(np.asarray(luma), NOW - timedelta(hours=1)) > 0.995
        assert clock_agreement(np.asarray(luma), NOW) < 0.99


async def test_streaming_channels_describe_both_streams_of_every_channel(config: SimulatorConfig) -> None:
    config.nvr = True
    config.rtsp_port = 8654
    async with device(config, config.cameras) as client:
        listing = xml(await client.get("/ISAPI/Streaming/channels"))
        assert listing.tag.endswith("StreamingChannelList")
        streams = {
            channel.findtext("h:id", namespaces=NS): (
                channel.findtext("h:channelName", namespaces=NS),
                channel.findtext("h:Video/h:videoCodecType", namespaces=NS),
                channel.findtext("h:Video/h:videoResolutionWidth", namespaces=NS),
                channel.findtext("h:Video/h:videoResolutionHeight", namespaces=NS),
                channel.findtext("h:Video/h:maxFrameRate", namespaces=NS),
            )
            for channel in listing.findall("h:StreamingChannel", namespaces=NS)
        }
        assert streams == {
            "101": ("Front Door Camera", "H.264", "1920", "1080", "2500"),
            "102": ("Front Door Camera", "H.264", "640", "360", "2500"),
            "201": ("Parking Lot Camera", "H.265", "1280", "720", "2500"),
            "202": ("Parking Lot Camera", "H.264", "640", "360", "2500"),
        }
        one = xml(await client.get("/ISAPI/Streaming/channels/202"))
        assert one.tag.endswith("}StreamingChannel") and one.findtext("h:id", namespaces=NS) == "202"
        assert (await client.get("/ISAPI/Streaming/channels/203")).status_code == 404
        assert (await client.get("/ISAPI/Streaming/channels/abc")).status_code == 400

        accesses = xml(await client.get("/ISAPI/Security/adminAccesses"))
        ports = {
            entry.findtext("h:protocol", namespaces=NS): entry.findtext("h:portNo", namespaces=NS)
            for entry in accesses.findall("h:AdminAccessProtocol", namespaces=NS)
        }
        assert ports == {"HTTP": str(client.base_url.port), "RTSP": "8654"}
        assert (await client.get("/ISAPI/Streaming/channels", auth=None)).status_code == 401

"""The Dahua persona: the CGI API of Dahua (and Amcrest, Intelbras, ...) devices, behind Digest auth.

Routes: /cgi-bin/magicBox.cgi (getDeviceType, getDeviceClass, getSerialNo, getSystemInfo, getMachineName,
getSoftwareVersion, getHardwareVersion, getVendor, getProductDefinition&name=MaxRemoteInputChannels |
VideoInputChannels | MaxExtraStream), /cgi-bin/devVideoInput.cgi?action=getCollect (local video inputs),
/cgi-bin/configManager.cgi?action=getConfig&name=ChannelTitle | Encode | RTSP (dahua_config),
/cgi-bin/global.cgi?action=getCurrentTime, /cgi-bin/snapshot.cgi?channel=N [&subtype=0|1],
/cgi-bin/mediaFileFind.cgi (factory.create, findFile, findNextFile, close, destroy) and
/cgi-bin/RPC_Loadfile/<FilePath> (whole, or a Range of it: see ranges.py). A camera has one local input
and no remote channels; an NVR the reverse, so a client counts channels as VideoInputChannels +
MaxRemoteInputChannels, as Dahua's own SDK does.

Answers are `key=value` lines ending in CRLF. Anything the firmware does not understand (an unknown
action, a missing or bad parameter, an unknown finder object) gets HTTP 400 with "Error\\r\\nBad Request!".
Quirks kept because clients depend on them: condition.Channel counts from 1 but items[i].Channel from 0;
findNextFile returns at most 100 files whatever count asks; times are the device's local time, UTC here.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from aiohttp import web

from vtrack.simulator.config import CameraSpec, SimulatorConfig
from vtrack.simulator.personas.archive import Clock, Segment, utc_now
from vtrack.simulator.personas.dahua_config import TABLES
from vtrack.simulator.personas.dahua_find import FinderStore, end_matches, file_path, parse_file_path
from vtrack.simulator.personas.device import PersonaDevice, rebrand
from vtrack.simulator.personas.digest import DigestAuthenticator
from vtrack.simulator.personas.guard import DeviceGuard, Refusal
from vtrack.simulator.personas.ranges import file_response
from vtrack.simulator.streams import sub_stream_size

logger = logging.getLogger(__name__)

TEXT_CONTENT_TYPE = "text/plain;charset=utf-8"
MAX_FILES_PER_PAGE = 100
_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
CAMERA_MODEL = "IPC-HFW2431S-S-S2"
_TEXT_HEADERS = {"Content-Type": TEXT_CONTENT_TYPE}


def text_response(lines: list[str]) -> web.Response:
    return web.Response(body="".join(f"{line}\r\n" for line in lines).encode(), headers=_TEXT_HEADERS)


def bad_request() -> web.Response:
    return web.Response(status=400, body=b"Error\r\nBad Request!\r\n", headers=_TEXT_HEADERS)


def parse_device_time(text: str | None) -> datetime | None:
    """Dahua's "2024-1-1 00:00:00" (zero padding optional) in device time, which is UTC here."""
    if text is None:
        return None
    try:
        return datetime.strptime(text.strip(), _TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


def _indexed(request: web.Request, prefix: str) -> list[str]:
    """Values of `prefix[0]`, `prefix[1]`, ... (Dahua's array parameters), in index order."""
    values = []
    for index in range(64):
        value = request.query.get(f"{prefix}[{index}]")
        if value is None:
            break
        values.append(value)
    return values


def brand(cameras: list[CameraSpec]) -> None:
    """Dahua's maker and model for cameras still carrying the simulator's (see device.rebrand)."""
    rebrand(cameras, "Dahua", CAMERA_MODEL)


class DahuaDevice:
    def __init__(self, device: PersonaDevice) -> None:
        self._device = device
        self._finders = FinderStore()

    @property
    def model(self) -> str:
        return self._device.identity.model

    @property
    def serial(self) -> str:
        return self._device.identity.serial

    @property
    def realm(self) -> str:
        return f"Login to {self.serial}"

    async def magic_box(self, request: web.Request) -> web.StreamResponse:
        answers = {
            "getDeviceType": [f"type={self.model}"],
            "getSerialNo": [f"sn={self.serial}"],
            "getMachineName": [f"name={self._device.identity.name}"],
            "getSoftwareVersion": ["version=2.800.0000000.25.R,build:2022-08-26"],
            "getHardwareVersion": ["version=1.00"],
            "getVendor": [f"vendor={self._device.identity.manufacturer}"],
            "getSystemInfo": [
                "appAutoStart=true",
                f"deviceType={self.model}",
                "hardwareVersion=1.00",
                "processor=SSC337DE",
                f"serialNumber={self.serial}",
                f"updateSerial={self.model}",
            ],
        }
        action = request.query.get("action", "")
        if action == "getDeviceClass":
            return text_response([f"class={'NVR' if self._device.is_nvr else 'IPC'}"])
        if action == "getProductDefinition":
            return self._product_definition(request.query.get("name", ""))
        lines = answers.get(action)
        return text_response(lines) if lines is not None else bad_request()

    def _product_definition(self, name: str) -> web.Response:
        definitions = {
            "MaxRemoteInputChannels": len(self._device.cameras) if self._device.is_nvr else 0,
            "VideoInputChannels": self._local_inputs,
            "MaxExtraStream": 1,
        }
        value = definitions.get(name)
        return text_response([f"table.{name}={value}"]) if value is not None else bad_request()

    @property
    def _local_inputs(self) -> int:
        return 0 if self._device.is_nvr else len(self._device.cameras)

    async def video_input(self, request: web.Request) -> web.StreamResponse:
        if request.query.get("action") != "getCollect":
            return bad_request()
        return text_response([f"result={self._local_inputs}"])

    async def config_manager(self, request: web.Request) -> web.StreamResponse:
        table = TABLES.get(request.query.get("name", ""))
        if request.query.get("action") != "getConfig" or table is None:
            return bad_request()
        return text_response(table(self._device.config, self._device.cameras))

    async def global_cgi(self, request: web.Request) -> web.StreamResponse:
        if request.query.get("action") != "getCurrentTime":
            return bad_request()
        now = self._device.now()
        return text_response([f"result={now:{_TIME_FORMAT}}"])

    async def snapshot(self, request: web.Request) -> web.StreamResponse:
        try:
            channel = int(request.query.get("channel", "1"))
            subtype = int(request.query.get("subtype", "0"))
        except ValueError:
            return bad_request()
        camera = self._device.camera(channel)
        if camera is None or subtype not in (0, 1):
            return bad_request()
        size = (camera.width, camera.height) if subtype == 0 else sub_stream_size(camera)
        jpeg = await self._device.snapshot(camera, *size)
        return web.Response(body=jpeg, content_type="image/jpeg")

    async def media_file_find(self, request: web.Request) -> web.StreamResponse:
        action = request.query.get("action")
        if action == "factory.create":
            return text_response([f"result={self._finders.create()}"])
        object_id = request.query.get("object")
        if action == "destroy":
            return text_response(["OK"]) if self._finders.destroy(object_id) else bad_request()
        finder = self._finders.get(object_id)
        if finder is None:
            return bad_request()
        if action == "findFile":
            results = self._find(request)
            if results is None:
                return bad_request()
            finder.start(results)
            return text_response(["OK"])
        if action == "findNextFile":
            try:
                count = int(request.query.get("count", str(MAX_FILES_PER_PAGE)))
                if count < 1:
                    return bad_request()
                page = finder.next_page(min(count, MAX_FILES_PER_PAGE))
            except (ValueError, LookupError):
                return bad_request()
            return text_response(self._items(page))
        if action == "close":
            finder.close()
            return text_response(["OK"])
        return bad_request()

    def _find(self, request: web.Request) -> list[Segment] | None:
        """The files findFile's conditions select; None when the conditions are missing or malformed."""
        query = request.query
        start = parse_device_time(query.get("condition.StartTime"))
        end = parse_device_time(query.get("condition.EndTime"))
        try:
            channel = int(query.get("condition.Channel", ""))
        except ValueError:
            return None
        if start is None or end is None or self._device.camera(channel) is None or end < start:
            return None
        types = _indexed(request, "condition.Types")
        flags = _indexed(request, "condition.Flags") + _indexed(request, "condition.Flag")
        events = _indexed(request, "condition.Events")
        stream = query.get("condition.VideoStream", "Main")
        # Every file is a timed (continuous) main-stream .dav recording with no event attached.
        if (types and "dav" not in types) or (flags and "Timing" not in flags) or events or stream != "Main":
            return []
        return self._device.archive.find(channel, start, end)

    def _items(self, page: list[Segment]) -> list[str]:
        lines = [f"found={len(page)}"]
        for index, segment in enumerate(page):
            item = f"items[{index}]"
            lines += [
                f"{item}.Channel={segment.channel - 1}",
                f"{item}.Cluster={int(segment.start.timestamp()) // segment.duration_seconds % 100_000}",
                f"{item}.CutLength={segment.size}",
                f"{item}.Disk=0",
                f"{item}.Duration={segment.duration_seconds}",
                f"{item}.EndTime={segment.end:{_TIME_FORMAT}}",
                f"{item}.FilePath={file_path(segment)}",
                f"{item}.Flags[0]=Timing",
                f"{item}.Length={segment.size}",
                f"{item}.Partition=0",
                f"{item}.StartTime={segment.start:{_TIME_FORMAT}}",
                f"{item}.Type=dav",
                f"{item}.VideoStream=Main",
            ]
        return lines

    async def load_file(self, request: web.Request) -> web.StreamResponse:
        # Clients join "RPC_Loadfile/" and a path that already starts with "/" (amcrest does), so accept both.
        path = "/" + request.match_info["path"].lstrip("/")
        parsed = parse_file_path(path)
        segment = self._device.archive.segment(parsed[0], parsed[1]) if parsed else None
        if parsed is None or segment is None or not end_matches(segment, parsed[2]):
            logger.info("RPC_Loadfile: no such file %s", path)
            return web.Response(status=404, body=b"Error\r\nNot Found!\r\n", headers=_TEXT_HEADERS)
        data = await self._device.recording(segment)
        return file_response(request, data, {"Content-Type": "Application/octet-stream"})


def register(
    app: web.Application,
    config: SimulatorConfig,
    cameras: list[CameraSpec],
    *,
    clock: Clock = utc_now,
    port_faults: bool = True,
) -> None:
    """Add the Dahua CGI routes for the device serving `cameras` (one camera, or every channel of an NVR).

    `port_faults` and `clock` as for hikvision.register.
    """
    device = PersonaDevice(config, cameras, clock)
    dahua = DahuaDevice(device)
    guard = DeviceGuard(
        DigestAuthenticator(dahua.realm),
        config.username,
        config.password,
        device.faults,
        Refusal(b"Error\r\nUnauthorized!\r\n", b"Error\r\nBad Request!\r\n", TEXT_CONTENT_TYPE),
        port_faults=port_faults,
    )
    router = app.router
    router.add_get("/cgi-bin/magicBox.cgi", guard.protect(dahua.magic_box))
    router.add_get("/cgi-bin/devVideoInput.cgi", guard.protect(dahua.video_input))
    router.add_get("/cgi-bin/configManager.cgi", guard.protect(dahua.config_manager))
    router.add_get("/cgi-bin/global.cgi", guard.protect(dahua.global_cgi))
    router.add_get("/cgi-bin/snapshot.cgi", guard.protect(dahua.snapshot))
    router.add_get("/cgi-bin/mediaFileFind.cgi", guard.protect(dahua.media_file_find))
    router.add_get("/cgi-bin/RPC_Loadfile/{path:.*}", guard.protect(dahua.load_file))

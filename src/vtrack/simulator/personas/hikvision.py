"""The Hikvision persona: ISAPI on the device's HTTP port, behind Digest auth, as cameras and NVRs answer it.

Routes: GET /ISAPI/System/deviceInfo, GET /ISAPI/System/time, GET /ISAPI/Security/adminAccesses (the ports of
the device's services, RTSP among them), GET /ISAPI/Streaming/channels and /ISAPI/Streaming/channels/{id}
(each stream's name, codec, resolution and frame rate), GET /ISAPI/Streaming/channels/{id}/picture (id =
channel * 100 + stream: 101 is channel 1's main stream, 102 its sub-stream), and on NVRs the same under
/ISAPI/ContentMgmt/StreamingProxy/channels/{id}/picture; recording search and download (hikvision_recordings).
Any other /ISAPI path answers a ResponseStatus "notSupport", as firmware does for features it lacks.
"""

from __future__ import annotations

from aiohttp import web

from vtrack.simulator.config import CameraSpec, SimulatorConfig
from vtrack.simulator.onvif.device import Device
from vtrack.simulator.personas import hikvision_xml as hx
from vtrack.simulator.personas.archive import Clock, utc_now
from vtrack.simulator.personas.device import PersonaDevice, rebrand
from vtrack.simulator.personas.digest import DigestAuthenticator
from vtrack.simulator.personas.guard import DeviceGuard, Refusal
from vtrack.simulator.personas.hikvision_recordings import HikvisionRecordings
from vtrack.simulator.personas.hikvision_streaming import (
    admin_accesses,
    streaming_channel,
    streaming_channels,
)
from vtrack.simulator.streams import sub_stream_size

CAMERA_MODEL = "DS-2CD2143G2-I"


def brand(cameras: list[CameraSpec]) -> None:
    """Hikvision's maker and model for cameras still carrying the simulator's (see device.rebrand)."""
    rebrand(cameras, "Hikvision", CAMERA_MODEL)


def digest_realm(identity: Device) -> str:
    """The realm of the device's Digest challenges, e.g. "IP Camera(00001)": clients spot Hikvision by it."""
    kind = "NVR" if identity.nvr else "IP Camera"
    return f"{kind}({identity.serial[-5:]})"


class HikvisionDevice:
    def __init__(self, device: PersonaDevice) -> None:
        self._device = device

    @property
    def realm(self) -> str:
        return digest_realm(self._device.identity)

    async def device_info(self, request: web.Request) -> web.StreamResponse:
        device = self._device
        identity = device.identity
        root = hx.document("DeviceInfo")
        hx.add(root, "deviceName", identity.name)
        hx.add(root, "deviceID", identity.uuid)
        hx.add(root, "deviceDescription", "NVR" if device.is_nvr else "IPCamera")
        hx.add(root, "deviceLocation", identity.primary.location)
        hx.add(root, "systemContact", identity.manufacturer)
        hx.add(root, "model", identity.model)
        hx.add(root, "serialNumber", identity.serial)
        hx.add(root, "macAddress", identity.mac)
        hx.add(root, "firmwareVersion", "V4.62.210" if device.is_nvr else "V5.7.3")
        hx.add(root, "firmwareReleasedDate", "build 220112")
        hx.add(root, "encoderVersion", "V7.3")
        hx.add(root, "encoderReleasedDate", "build 220101")
        hx.add(root, "hardwareVersion", "0x0")
        hx.add(root, "deviceType", "NVR" if device.is_nvr else "IPCamera")
        hx.add(root, "telecontrolID", "88")
        if device.is_nvr:
            hx.add(root, "analogChannelNum", "0")
            hx.add(root, "digitalChannelNum", str(len(device.cameras)))
        return hx.xml_response(root, malformed=device.faults().malformed_xml)

    async def time(self, request: web.Request) -> web.StreamResponse:
        now = self._device.now()
        root = hx.document("Time")
        hx.add(root, "timeMode", "NTP")
        hx.add(root, "localTime", now.strftime("%Y-%m-%dT%H:%M:%S+00:00"))
        hx.add(root, "timeZone", "CST+0:00:00")
        return hx.xml_response(root, malformed=self._device.faults().malformed_xml)

    async def picture(self, request: web.Request) -> web.StreamResponse:
        try:
            stream_id = int(request.match_info["id"])
        except ValueError:
            return hx.error_response(request, 400, 4, "badParameters")
        camera = self._device.camera(stream_id // 100)
        if camera is None or stream_id % 100 not in (1, 2):
            return hx.error_response(request, 404, 4, "notSupport")
        size = (camera.width, camera.height) if stream_id % 100 == 1 else sub_stream_size(camera)
        jpeg = await self._device.snapshot(camera, *size)
        return web.Response(body=jpeg, content_type="image/jpeg")

    async def channels(self, request: web.Request) -> web.StreamResponse:
        root = streaming_channels(self._device.cameras)
        return hx.xml_response(root, malformed=self._device.faults().malformed_xml)

    async def channel(self, request: web.Request) -> web.StreamResponse:
        try:
            stream_id = int(request.match_info["id"])
        except ValueError:
            return hx.error_response(request, 400, 4, "badParameters")
        camera = self._device.camera(stream_id // 100)
        if camera is None or stream_id % 100 not in (1, 2):
            return hx.error_response(request, 404, 4, "notSupport")
        root = streaming_channel(None, camera, "main" if stream_id % 100 == 1 else "sub")
        return hx.xml_response(root, malformed=self._device.faults().malformed_xml)

    async def admin_accesses(self, request: web.Request) -> web.StreamResponse:
        sockname = request.transport.get_extra_info("sockname") if request.transport else None
        http_port = int(sockname[1]) if sockname else (request.url.port or 80)
        root = admin_accesses(http_port, self._device.config.rtsp_port)
        return hx.xml_response(root, malformed=self._device.faults().malformed_xml)

    async def not_supported(self, request: web.Request) -> web.StreamResponse:
        return hx.error_response(request, 404, 4, "notSupport")


def register(
    app: web.Application,
    config: SimulatorConfig,
    cameras: list[CameraSpec],
    *,
    clock: Clock = utc_now,
    port_faults: bool = True,
) -> None:
    """Add the ISAPI routes for the device serving `cameras` (one camera, or every channel of an NVR).

    `port_faults=False` when the app already applies offline and slow to every route (the device server's
    middleware); `clock` is the wall clock the archive window and pictures follow.
    """
    device = PersonaDevice(config, cameras, clock)
    hik = HikvisionDevice(device)
    recordings = HikvisionRecordings(device)
    guard = DeviceGuard(
        DigestAuthenticator(hik.realm),
        config.username,
        config.password,
        device.faults,
        Refusal(hx.unauthorized_body(), hx.bad_request_body(), hx.XML_CONTENT_TYPE),
        port_faults=port_faults,
    )
    router = app.router
    router.add_get("/ISAPI/System/deviceInfo", guard.protect(hik.device_info))
    router.add_get("/ISAPI/System/time", guard.protect(hik.time))
    router.add_get("/ISAPI/Security/adminAccesses", guard.protect(hik.admin_accesses))
    router.add_get("/ISAPI/Streaming/channels", guard.protect(hik.channels))
    router.add_get("/ISAPI/Streaming/channels/{id}", guard.protect(hik.channel))
    router.add_get("/ISAPI/Streaming/channels/{id}/picture", guard.protect(hik.picture))
    if config.nvr:
        router.add_get("/ISAPI/ContentMgmt/StreamingProxy/channels/{id}/picture", guard.protect(hik.picture))
    router.add_post("/ISAPI/ContentMgmt/search", guard.protect(recordings.search))
    router.add_post("/ISAPI/ContentMgmt/download", guard.protect(recordings.download))
    router.add_get("/ISAPI/ContentMgmt/download", guard.protect(recordings.download))
    router.add_route("*", "/ISAPI/{tail:.*}", guard.protect(hik.not_supported))

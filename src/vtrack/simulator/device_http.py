"""The HTTP side of each simulated device: one aiohttp app per ONVIF port, and the server that runs them all.

A device port carries the ONVIF SOAP services, the JPEG snapshot URL (HTTP Digest, with the personas'
authenticator and JPEG encoder, so a port has one Digest behaviour) and, through `extra_routes`, whatever a
vendor persona adds (/ISAPI, /cgi-bin) — on the same port, as real cameras serve them. Port-wide faults
live here so they hit every route alike: `offline` drops connections as they are accepted (and any request
on a connection that was already open), `slow_seconds` delays every response.

Personas read the device a route belongs to with `request.app[DEVICE]`.

The onvif_disabled fault plays a device whose ONVIF switch is off in its settings (Hikvision ships that way
on many firmwares; Dahua has the switch too): its vendor API, snapshot URL and RTSP keep working, and every
SOAP path refuses. A Hikvision answers 401 forever: a Digest challenge in its ISAPI realm and its web
server's HTML error page, and the right password gets the same answer. That is the case installers trip
over ("the password is right but ONVIF says unauthorized"), so a client must tell it from a wrong password
by the non-SOAP body. Other personas answer HTTP 404 with an HTML page: the web server has no handler
for the path while the service is off. Neither answer is SOAP, so nothing on the port looks like ONVIF.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
from collections.abc import Awaitable, Callable
from datetime import datetime
from types import TracebackType
from typing import cast

from aiohttp import web

from vtrack.simulator.config import CameraSpec, SimulatorConfig
from vtrack.simulator.onvif import dispatch
from vtrack.simulator.onvif.device import SERVICE_PATHS, Device, device_password, utc_now
from vtrack.simulator.onvif.discovery import DISCOVERY_PORT, DiscoveryResponder
from vtrack.simulator.personas import hikvision
from vtrack.simulator.personas.digest import DigestAuthenticator, Verdict
from vtrack.simulator.personas.snapshot import encode_jpeg

log = logging.getLogger(__name__)

DEVICE = web.AppKey("vtrack.simulator.device", Device)
DIGEST = web.AppKey("vtrack.simulator.digest", DigestAuthenticator)
ONVIF_OFF_DIGEST = web.AppKey("vtrack.simulator.onvif_off_digest", DigestAuthenticator)
DIGEST_REALM = "vtrack-sim"
_HTML = "text/html"
_UNAUTHORIZED_PAGE = (
    "<!DOCTYPE html>\n<html><head><title>Document Error: Unauthorized</title></head>\n"
    "<body><h2>Access Error: 401 -- Unauthorized</h2>\n<p>Authentication Error</p>\n</body>\n</html>\n"
)
_NOT_FOUND_PAGE = (
    "<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head>\n"
    "<body><h1>Not Found</h1>\n<p>The requested URL was not found on this server.</p>\n</body>\n</html>\n"
)

ExtraRoutes = Callable[[web.Application], None]
_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _reset(transport: asyncio.BaseTransport | None) -> None:
    """Close a connection with a TCP reset, the way a device that has just died (or a firewall) does."""
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    cast(asyncio.Transport, transport).abort()


@web.middleware
async def _port_faults(request: web.Request, handler: _Handler) -> web.StreamResponse:
    faults = request.app[DEVICE].faults
    if faults.offline:
        _reset(request.transport)
        # Nothing reaches the client; aiohttp drops this response on the closed transport.
        raise web.HTTPServiceUnavailable()
    if faults.slow_seconds > 0:
        await asyncio.sleep(faults.slow_seconds)
    return await handler(request)


def _onvif_switched_off(request: web.Request) -> web.Response:
    """What a SOAP path answers under the onvif_disabled fault (see the module docstring)."""
    digest = request.app.get(ONVIF_OFF_DIGEST)
    if digest is None:
        return web.Response(status=404, text=_NOT_FOUND_PAGE, content_type=_HTML)
    return web.Response(
        status=401,
        text=_UNAUTHORIZED_PAGE,
        content_type=_HTML,
        headers={"WWW-Authenticate": digest.challenge()},
    )


def _soap_endpoint(service: str) -> _Handler:
    async def endpoint(request: web.Request) -> web.StreamResponse:
        device = request.app[DEVICE]
        if device.faults.onvif_disabled:
            return _onvif_switched_off(request)
        http = dispatch.HttpContext(request.method, request.path_qs, request.headers.get("Authorization"))
        reply = dispatch.handle(device, service, await request.read(), http, request.app[DIGEST])
        response = web.Response(status=reply.status, body=reply.body, headers=reply.headers)
        response.headers["Content-Type"] = reply.content_type
        return response

    return endpoint


async def _snapshot(request: web.Request) -> web.StreamResponse:
    """GET /snapshot.jpg?channel=N behind HTTP Digest, as camera snapshot URLs are."""
    device = request.app[DEVICE]
    digest = request.app[DIGEST]
    password = device_password(device.config, device.faults)
    verdict = digest.verify(
        request.method,
        request.path_qs,
        request.headers.get("Authorization"),
        device.config.username,
        password,
    )
    if verdict is Verdict.BAD_REQUEST:
        return web.Response(status=400, text="digest uri does not match the request")
    if verdict is not Verdict.OK:
        challenge = digest.challenge(stale=verdict is Verdict.STALE)
        return web.Response(status=401, text="Unauthorized", headers={"WWW-Authenticate": challenge})
    try:
        channel = int(request.query.get("channel", str(device.primary.channel)))
    except ValueError:
        return web.Response(status=400, text="channel must be a number")
    camera = device.camera_by_channel(channel)
    if camera is None:
        return web.Response(status=404, text=f"no channel {channel}")
    when = device.camera_now(camera)
    jpeg = await asyncio.to_thread(encode_jpeg, camera.width, camera.height, when, camera.index)
    return web.Response(body=jpeg, content_type="image/jpeg")


def build_device_app(device: Device, extra_routes: ExtraRoutes | None = None) -> web.Application:
    """The aiohttp application for one device port."""
    app = web.Application(middlewares=[_port_faults])
    app[DEVICE] = device
    app[DIGEST] = DigestAuthenticator(DIGEST_REALM)
    if device.config.persona == "hikvision":
        app[ONVIF_OFF_DIGEST] = DigestAuthenticator(hikvision.digest_realm(device))
    for service, path in SERVICE_PATHS.items():
        app.router.add_post(path, _soap_endpoint(service))
    app.router.add_get("/snapshot.jpg", _snapshot)
    if extra_routes is not None:
        extra_routes(app)
    return app


class _Dropped(asyncio.Protocol):
    """Stands in for the HTTP protocol while a device is offline: resets each connection on accept."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        _reset(transport)


def device_groups(config: SimulatorConfig) -> list[list[CameraSpec]]:
    """Cameras per device: all channels on one NVR, else one camera per device."""
    return [list(config.cameras)] if config.nvr else [[camera] for camera in config.cameras]


class DeviceServer:
    """Serves every device of a SimulatorConfig on config.host, and (unless discovery_port is None) answers
    WS-Discovery for them. onvif_port_base 0 gives each device an ephemeral port; read them from `devices`.
    """

    def __init__(
        self,
        config: SimulatorConfig,
        *,
        extra_routes: ExtraRoutes | None = None,
        discovery_port: int | None = DISCOVERY_PORT,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.config = config
        self.extra_routes = extra_routes
        self.discovery_port = discovery_port
        self.clock = clock
        self.devices: list[Device] = []
        self.discovery: DiscoveryResponder | None = None
        self._runners: list[web.AppRunner] = []
        self._servers: list[asyncio.Server] = []

    async def __aenter__(self) -> DeviceServer:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    def device_for(self, camera: CameraSpec) -> Device:
        return next(device for device in self.devices if camera in device.cameras)

    async def start(self) -> None:
        try:
            for cameras in device_groups(self.config):
                port = 0 if self.config.onvif_port_base == 0 else self.config.onvif_port(cameras[0])
                await self._start_device(Device(self.config, cameras, port, clock=self.clock))
            if self.discovery_port is not None:
                self.discovery = DiscoveryResponder(self.devices, self.config.host, self.discovery_port)
                await self.discovery.start()
        except BaseException:
            await self.stop()
            raise

    async def _start_device(self, device: Device) -> None:
        runner = web.AppRunner(
            build_device_app(device, self.extra_routes), access_log=None, shutdown_timeout=2.0
        )
        await runner.setup()
        self._runners.append(runner)
        web_server = runner.server
        if web_server is None:
            raise RuntimeError("aiohttp runner did not set up its server")

        def protocol() -> asyncio.BaseProtocol:
            return _Dropped() if device.faults.offline else web_server()

        loop = asyncio.get_running_loop()
        server = await loop.create_server(protocol, self.config.host, device.port, reuse_address=True)
        self._servers.append(server)
        device.port = server.sockets[0].getsockname()[1]
        self.devices.append(device)
        log.info(
            "simulated %s %r on http://%s:%s (%d channel(s))",
            "NVR" if device.nvr else "camera",
            device.name,
            self.config.host,
            device.port,
            len(device.cameras),
        )

    async def stop(self) -> None:
        if self.discovery is not None:
            await self.discovery.stop()
            self.discovery = None
        for server in self._servers:
            server.close()
        for runner in self._runners:
            await runner.cleanup()
        for server in self._servers:
            await server.wait_closed()
        self._servers.clear()
        self._runners.clear()
        self.devices.clear()

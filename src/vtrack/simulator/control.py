"""The simulator's control endpoint: read and flip each camera's fault switches while it runs.

    GET   /cameras                     every camera with its faults
    GET   /cameras/{channel}/faults    one camera's faults
    PATCH /cameras/{channel}/faults    {"offline": true, "slow_seconds": 2} -> the faults after the change

Tests and people use it to make a running simulated camera misbehave (go offline, refuse the password, answer
slowly) and check how vtrack copes. It changes the very Faults objects the ONVIF, RTSP and persona services
read on each request, so a switch takes effect on the next request. It has no authentication, so it only ever
listens on a loopback address. Answers use vtrack's API envelope ({"success": ..., "data" | "error": ...}).
"""

from __future__ import annotations

import ipaddress
import json
import logging
from typing import Any

from aiohttp import web

from vtrack.simulator.config import CameraSpec
from vtrack.simulator.fault_fields import FieldError, apply_fault_updates, faults_as_dict, parse_fault_updates

logger = logging.getLogger(__name__)

_CAMERAS_KEY = web.AppKey("cameras", list[CameraSpec])


def _ok(data: Any) -> web.Response:
    return web.json_response({"success": True, "data": data})


def _error(status: int, code: str, message: str, details: dict[str, Any] | None = None) -> web.Response:
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return web.json_response({"success": False, "error": error}, status=status)


def camera_json(camera: CameraSpec) -> dict[str, Any]:
    return {
        "channel": camera.channel,
        "name": camera.name,
        "width": camera.width,
        "height": camera.height,
        "codec": camera.codec,
        "fps": camera.fps,
        "faults": faults_as_dict(camera.faults),
    }


def _camera(request: web.Request) -> CameraSpec | None:
    try:
        channel = int(request.match_info["channel"])
    except ValueError:
        return None
    return next((camera for camera in request.app[_CAMERAS_KEY] if camera.channel == channel), None)


async def list_cameras(request: web.Request) -> web.Response:
    return _ok([camera_json(camera) for camera in request.app[_CAMERAS_KEY]])


async def get_faults(request: web.Request) -> web.Response:
    camera = _camera(request)
    if camera is None:
        return _error(404, "not_found", f"no camera on channel {request.match_info['channel']}")
    return _ok(faults_as_dict(camera.faults))


async def patch_faults(request: web.Request) -> web.Response:
    camera = _camera(request)
    if camera is None:
        return _error(404, "not_found", f"no camera on channel {request.match_info['channel']}")
    try:
        body = json.loads(await request.read())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        return _error(400, "invalid_json", f"the body is not valid JSON: {error}")
    try:
        updates = parse_fault_updates(body)
    except FieldError as error:
        return _error(422, "validation_error", str(error), {"field": error.field})
    apply_fault_updates(camera.faults, updates)
    logger.info("camera %s (%s) faults changed: %s", camera.channel, camera.name, updates)
    return _ok(faults_as_dict(camera.faults))


def create_control_app(cameras: list[CameraSpec]) -> web.Application:
    app = web.Application()
    app[_CAMERAS_KEY] = cameras
    app.router.add_get("/cameras", list_cameras)
    app.router.add_get("/cameras/{channel}/faults", get_faults)
    app.router.add_patch("/cameras/{channel}/faults", patch_faults)
    return app


class ControlServer:
    """The control app listening on a loopback address; port 0 picks a free port (see `port` after start)."""

    def __init__(self, cameras: list[CameraSpec], host: str = "127.0.0.1", port: int = 0) -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"the control endpoint has no authentication; refusing to listen on {host}")
        self._cameras = cameras
        self._host = host
        self._requested_port = port
        self._runner: web.AppRunner | None = None
        self.port = port

    async def start(self) -> None:
        runner = web.AppRunner(create_control_app(self._cameras), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._requested_port)
        await site.start()
        self._runner = runner
        for address in runner.addresses:
            self.port = int(address[1])
        logger.info("simulator control endpoint on http://%s:%s/cameras", self._host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

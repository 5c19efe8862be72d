"""Starts a whole simulated site in one visible order: media and RTSP, device ports, discovery, extras."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from vtrack.simulator.config import CameraSpec, Faults, SimulatorConfig
from vtrack.simulator.control import ControlServer
from vtrack.simulator.device_http import DEVICE, DeviceServer
from vtrack.simulator.onvif.device import Device
from vtrack.simulator.onvif.discovery import DISCOVERY_PORT
from vtrack.simulator.personas import dahua, hikvision
from vtrack.simulator.rtsp.server import RtspServer
from vtrack.simulator.sdk_port import SdkPortServer


@dataclass(frozen=True)
class SimulatedCamera:
    """Where a client finds one simulated camera; the demo registers these in the registry."""

    name: str
    channel: int
    onvif_url: str
    rtsp_url: str
    codec: str
    resolution: str
    fps: int
    sub_rtsp_url: str = ""  # the smaller second stream (ONVIF profile "{name} sub")


def _persona_routes(config: SimulatorConfig) -> Callable[[web.Application], None] | None:
    persona = {"hikvision": hikvision, "dahua": dahua}.get(config.persona)
    if persona is None:
        return None

    def add(app: web.Application) -> None:
        # The device server's middleware already applies offline and slow to every route on the port.
        persona.register(app, config, app[DEVICE].cameras, port_faults=False)

    return add


def _faults_of(device: Device) -> Callable[[], Faults]:
    """Read at each connection, so the control endpoint's changes apply to the SDK port too."""
    return lambda: device.faults


class Simulator:
    def __init__(
        self,
        config: SimulatorConfig,
        *,
        discovery_port: int | None = DISCOVERY_PORT,
        control_port: int | None = None,
        sdk_port_base: int | None = None,
    ) -> None:
        self.config = config
        if config.persona == "hikvision":
            hikvision.brand(config.cameras)
        elif config.persona == "dahua":
            dahua.brand(config.cameras)
        self.rtsp = RtspServer(config)
        self.devices = DeviceServer(
            config, extra_routes=_persona_routes(config), discovery_port=discovery_port
        )
        self.control = (
            ControlServer(config.cameras, config.host, control_port) if control_port is not None else None
        )
        self.sdk_port_base = sdk_port_base
        self.sdk_ports: list[SdkPortServer] = []

    async def start(self) -> None:
        try:
            # RTSP first: ONVIF answers GetStreamUri with its port, which must be bound by then.
            await self.rtsp.start()
            self.config.rtsp_port = self.rtsp.port
            await self._describe_video_file()
            await self.devices.start()
            if self.control is not None:
                await self.control.start()
            if self.sdk_port_base is not None:
                for index, device in enumerate(self.devices.devices):
                    port = 0 if self.sdk_port_base == 0 else self.sdk_port_base + index
                    sdk = SdkPortServer(self.config.host, port, faults=_faults_of(device))
                    await sdk.start()
                    self.sdk_ports.append(sdk)
        except BaseException:
            await self.stop()
            raise

    async def _describe_video_file(self) -> None:
        """With --video every camera streams the file as it is, so ONVIF must report its real format."""
        if self.config.video is None or not self.rtsp.sources:
            return
        info = (await next(iter(self.rtsp.sources.values())).clip.get()).info
        for camera in self.config.cameras:
            camera.codec, camera.width, camera.height = info.codec, info.width, info.height
            camera.fps = round(info.fps)

    async def stop(self) -> None:
        for sdk in self.sdk_ports:
            await sdk.stop()
        self.sdk_ports.clear()
        if self.control is not None:
            await self.control.stop()
        await self.devices.stop()
        await self.rtsp.stop()

    def _onvif_url(self, camera: CameraSpec) -> str:
        device = self.devices.device_for(camera)
        return f"http://{self.config.host}:{device.port}/onvif/device_service"

    def cameras(self) -> list[SimulatedCamera]:
        return [
            SimulatedCamera(
                name=camera.name,
                channel=camera.channel,
                onvif_url=self._onvif_url(camera),
                rtsp_url=self.rtsp.url(camera),
                codec=camera.codec,
                resolution=f"{camera.width}x{camera.height}",
                fps=camera.fps,
                sub_rtsp_url=self.rtsp.url(camera, stream="sub"),
            )
            for camera in self.config.cameras
        ]

"""One simulated device as a persona sees it: its channels, identity, faults, archive and media.

A single camera is a device with one channel; with --nvr one device carries every camera as a channel. The
identity (name, model, serial, MAC, UUID) and the device-wide fault switches are the ONVIF device's own
(vtrack.simulator.onvif.device.Device), so ISAPI or CGI and ONVIF describe the same box the same way, as on
a real device, and a client that matches devices by serial or MAC across protocols finds one device. As
there, an NVR's device-wide switches are those of channel 1; clock skew on pictures is per channel, as on the
live streams.
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from vtrack.simulator.config import CameraSpec, Faults, SimulatorConfig
from vtrack.simulator.onvif.device import Device
from vtrack.simulator.personas.archive import Clock, Segment, SyntheticArchive, utc_now
from vtrack.simulator.personas.clips import ClipCache
from vtrack.simulator.personas.snapshot import encode_jpeg


@dataclass
class PersonaDevice:
    config: SimulatorConfig
    cameras: list[CameraSpec]
    clock: Clock = utc_now
    clips: ClipCache = field(default_factory=ClipCache)
    archive: SyntheticArchive = field(init=False)
    identity: Device = field(init=False)

    def __post_init__(self) -> None:
        # The port only shapes ONVIF URLs, which personas never write; identity does not depend on it.
        self.identity = Device(self.config, self.cameras, port=0, clock=self.clock)
        self.archive = SyntheticArchive((camera.channel for camera in self.cameras), self.clock)

    @property
    def is_nvr(self) -> bool:
        return self.config.nvr

    def camera(self, channel: int) -> CameraSpec | None:
        return next((camera for camera in self.cameras if camera.channel == channel), None)

    def faults(self) -> Faults:
        return self.identity.faults

    def now(self) -> datetime:
        """The device's clock (channel 1's on an NVR), skew included."""
        return self.identity.now()

    def camera_time(self, camera: CameraSpec) -> datetime:
        """What the channel's clock shows now, skew included."""
        return self.clock() + timedelta(seconds=camera.faults.clock_skew_seconds)

    async def snapshot(
        self, camera: CameraSpec, width: int | None = None, height: int | None = None
    ) -> bytes:
        """A JPEG from the channel, at its resolution unless a (sub-stream) size is given."""
        return await asyncio.to_thread(
            encode_jpeg,
            width or camera.width,
            height or camera.height,
            self.camera_time(camera),
            camera.index,
        )

    async def recording(self, segment: Segment) -> bytes:
        camera = self.camera(segment.channel)
        if camera is None:
            raise KeyError(segment.channel)
        return await self.clips.get(segment, camera.width, camera.height, camera.index)


_GENERIC = {f.name: f.default for f in dataclasses.fields(CameraSpec)}  # the simulator's own maker, model


def rebrand(cameras: list[CameraSpec], manufacturer: str, model: str) -> None:
    """Give cameras that still carry the simulator's generic maker and model a vendor's, before the devices
    are built, so ONVIF's GetDeviceInformation and the vendor API name the same product."""
    for camera in cameras:
        if camera.manufacturer == _GENERIC["manufacturer"]:
            camera.manufacturer = manufacturer
        if camera.model == _GENERIC["model"]:
            camera.model = model

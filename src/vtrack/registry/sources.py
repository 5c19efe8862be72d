"""Saving a source: probe the device, remember what it has, and keep one camera row per selected camera.

Seed 000's flow: the user names an NVR (or an ONVIF camera, or a host with cameras on ports 1000-1002),
vtrack asks it what cameras it has (detected_cameras), the user picks some (selected_cameras, all by
default), and those appear in the registry with their stream URIs and encrypted credentials, in a group
named after the source so "Camera 01" of two NVRs never collide. Saving again updates those rows in
place (matched by device address and channel), and cameras no longer selected are deactivated rather
than deleted, so their health and recording history stays.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from vtrack.db.models import Camera, CameraGroup, VideoSource
from vtrack.db.repositories.cameras import GroupRepository
from vtrack.db.repositories.sources import SourceRepository
from vtrack.db.types import utcnow
from vtrack.devices.errors import DeviceError
from vtrack.devices.onvif.models import DetectedCamera, DeviceProbe
from vtrack.devices.probe import DEFAULT_PORTS, SourceSpec
from vtrack.errors import ConflictError, InvalidInputError, UpstreamError
from vtrack.registry.cameras import PASSWORD_PURPOSE
from vtrack.registry.source_schemas import SourceCreate, SourceUpdate
from vtrack.registry.urls import RTSP_SCHEMES, parse_camera_url
from vtrack.security.audit import Auditor
from vtrack.security.encryption import Keyring

SOURCE_PASSWORD = "source.password"  # noqa: S105  (an AEAD label, not a password)
Prober = Callable[[SourceSpec], Awaitable[list[DeviceProbe]]]


def _device_error(error: DeviceError) -> Exception:
    if error.kind == "auth":
        return InvalidInputError(
            f"the device refused the credentials: {error.message}",
            [{"field": "password", "message": "the device refused this username or password"}],
        )
    return UpstreamError(error.message, error.kind)


def _codec(value: str | None) -> str | None:
    return value.lower() if value else None


class SourceService:
    def __init__(self, session: AsyncSession, keyring: Keyring, auditor: Auditor, prober: Prober) -> None:
        self.session = session
        self.keyring = keyring
        self.audit = auditor
        self.prober = prober
        self.sources = SourceRepository(session)

    def password(self, source: VideoSource) -> str | None:
        return (
            self.keyring.decrypt(source.secret_encrypted, SOURCE_PASSWORD)
            if source.secret_encrypted
            else None
        )

    async def _check_name(self, name: str, except_id: str | None = None) -> None:
        if await self.sources.name_taken(name, except_id):
            raise ConflictError(
                f"a source named {name!r} already exists", [{"field": "name", "message": "already taken"}]
            )

    async def _probe(self, spec: SourceSpec) -> list[DeviceProbe]:
        try:
            return await self.prober(spec)
        except DeviceError as error:
            raise _device_error(error) from None

    async def create(self, data: SourceCreate) -> VideoSource:
        await self._check_name(data.name)
        username, password, host, rtsp_url = data.username, data.password, data.host, data.rtsp_url
        if rtsp_url:
            parsed = parse_camera_url(rtsp_url, RTSP_SCHEMES)
            rtsp_url, host = parsed.url, host or parsed.host
            username = username if username is not None else parsed.username
            password = password if password is not None else parsed.password
        ports = data.all_ports(DEFAULT_PORTS[data.type])
        spec = SourceSpec(
            data.type,
            host,
            ports,
            username,
            password,
            data.timeout_seconds,
            rtsp_url,
            data.name,
            data.stream_port,
        )
        probes = await self._probe(spec)
        detected = [camera for probe in probes for camera in probe.cameras]
        names = [camera.name for camera in detected]
        selected = names if data.selected_cameras is None else data.selected_cameras
        self._check_selection(selected, names)
        source = VideoSource(
            name=data.name,
            source_type=data.type,
            protocol=data.protocol or probes[0].protocol,
            host=host,
            port=ports[0],
            username=username,
            secret_encrypted=self.keyring.encrypt(password, SOURCE_PASSWORD) if password else None,
            config=self._config(ports, probes, rtsp_url, data.stream_port),
            detected_cameras=[camera.as_json() for camera in detected],
            selected_cameras=selected,
            probed_at=utcnow(),
            status="ok",
        )
        self.sources.add(source)
        await self.session.flush()
        created = await self._sync_cameras(source, detected, username, password)
        self.audit.record(
            "source.create", "source", source.id, name=source.name, type=data.type, cameras=len(created)
        )
        return source

    @staticmethod
    def _config(
        ports: list[int], probes: list[DeviceProbe], rtsp_url: str | None, stream_port: int | None
    ) -> dict[str, Any]:
        config: dict[str, Any] = {"ports": ports, "devices": [probe.as_json() for probe in probes]}
        if rtsp_url:
            config["rtsp_url"] = rtsp_url
        if stream_port:
            config["stream_port"] = stream_port
        return config

    @staticmethod
    def _check_selection(selected: list[str], names: list[str]) -> None:
        unknown = [name for name in selected if name not in names]
        if unknown:
            raise InvalidInputError(
                f"selected_cameras names cameras the device does not have: {', '.join(unknown)}",
                [
                    {
                        "field": f"selected_cameras.{i}",
                        "message": f"not detected; detected: {', '.join(names)}",
                    }
                    for i, name in enumerate(selected)
                    if name in unknown
                ],
            )

    async def _group(self, source: VideoSource) -> CameraGroup:
        groups = GroupRepository(self.session)
        group = await groups.by_name(source.name)
        if group is None:
            group = CameraGroup(name=source.name, description=f"cameras of source {source.name}")
            groups.add(group)
            await self.session.flush()
        return group

    async def _sync_cameras(
        self, source: VideoSource, detected: list[DetectedCamera], username: str | None, password: str | None
    ) -> list[Camera]:
        """Create or update the rows of selected cameras; deactivate the rest. Returns the selected rows."""
        existing = {(c.onvif_url, c.channel): c for c in await self.sources.cameras(source.id)}
        group = await self._group(source)
        encrypted = self.keyring.encrypt(password, PASSWORD_PURPOSE) if password else None
        selected_rows: list[Camera] = []
        for camera in detected:
            onvif_url = (
                f"http://{camera.host}:{camera.onvif_port}/onvif/device_service"
                if camera.protocol == "onvif"
                else None
            )
            row = existing.pop((onvif_url, camera.channel), None)
            if camera.name not in source.selected_cameras:
                if row is not None:
                    row.is_active = False
                continue
            if row is None:
                row = Camera(source_id=source.id, group=group, name=camera.name, status="idle")
                self.session.add(row)
            row.protocol = camera.protocol
            row.rtsp_url = camera.rtsp_url or ""
            row.onvif_url = onvif_url
            row.channel = camera.channel
            row.sub_stream_url = camera.sub_stream_url
            row.snapshot_url = camera.snapshot_url
            row.username = username
            row.password_encrypted = encrypted
            row.manufacturer = camera.manufacturer
            row.model = camera.model
            row.serial_number = camera.serial
            row.firmware = camera.firmware
            row.resolution = camera.resolution
            row.fps = camera.fps
            row.codec = _codec(camera.codec)
            row.capabilities = list(camera.capabilities)
            row.is_active = source.is_active
            selected_rows.append(row)
        for gone in existing.values():
            gone.is_active = False  # the device no longer reports it
        await self.session.flush()
        return selected_rows

    async def update(self, source: VideoSource, data: SourceUpdate) -> VideoSource:
        if data.root is not None:
            raise InvalidInputError(
                "root is the folder of a cloud drive source",
                [{"field": "root", "message": "not for devices"}],
            )
        changes = data.model_dump(exclude_unset=True, exclude={"timeout_seconds"})
        if changes.get("name") is not None and changes["name"] != source.name:
            await self._check_name(changes["name"], source.id)
            group = await GroupRepository(self.session).by_name(source.name)
            if group is not None:
                group.name = changes["name"]
            source.name = changes["name"]
        if data.is_active is not None:
            source.is_active = data.is_active
        reprobe = "username" in changes or "password" in changes
        if "username" in changes:
            source.username = changes["username"]
        if "password" in changes:
            password = changes["password"]
            source.secret_encrypted = self.keyring.encrypt(password, SOURCE_PASSWORD) if password else None
        if reprobe:
            await self.reprobe(source, data.timeout_seconds, record=False)
        if data.selected_cameras is not None:
            names = [camera["name"] for camera in source.detected_cameras]
            self._check_selection(data.selected_cameras, names)
            source.selected_cameras = list(data.selected_cameras)
        await self._sync_cameras(source, self._detected(source), source.username, self.password(source))
        self.audit.record("source.update", "source", source.id, fields=sorted(data.model_fields_set))
        return source

    @staticmethod
    def _detected(source: VideoSource) -> list[DetectedCamera]:
        return [DetectedCamera(**camera) for camera in source.detected_cameras]

    async def reprobe(
        self, source: VideoSource, request_timeout: float, *, record: bool = True
    ) -> VideoSource:
        """Ask the device again (new cameras, changed URIs); the selection keeps the names still there."""
        ports = list(source.config.get("ports") or [source.port or DEFAULT_PORTS.get(source.source_type, 80)])
        spec = SourceSpec(
            source.source_type,
            source.host,
            ports,
            source.username,
            self.password(source),
            request_timeout,
            source.config.get("rtsp_url"),
            source.name,
            source.config.get("stream_port"),
        )
        try:
            probes = await self.prober(spec)
        except DeviceError as error:
            raise _device_error(error) from None
        detected = [camera for probe in probes for camera in probe.cameras]
        names = [camera.name for camera in detected]
        source.detected_cameras = [camera.as_json() for camera in detected]
        source.selected_cameras = [name for name in source.selected_cameras if name in names]
        source.config = self._config(ports, probes, spec.rtsp_url, spec.stream_port)
        source.probed_at, source.status, source.last_error = utcnow(), "ok", None
        if record:
            await self._sync_cameras(source, detected, source.username, self.password(source))
            self.audit.record("source.probe", "source", source.id, cameras=len(detected))
        return source

    async def delete(self, source: VideoSource, *, delete_cameras: bool) -> int:
        cameras = list(await self.sources.cameras(source.id))
        if delete_cameras:
            for camera in cameras:
                await self.session.delete(camera)
        await self.sources.delete(source)
        self.audit.record(
            "source.delete",
            "source",
            source.id,
            name=source.name,
            cameras_deleted=len(cameras) * delete_cameras,
        )
        return len(cameras) if delete_cameras else 0

"""Camera and group changes: credential splitting, encryption, uniqueness and audit in one place."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from vtrack.db.models import Camera, CameraGroup
from vtrack.db.repositories.cameras import CameraRepository, GroupRepository
from vtrack.errors import ConflictError, InvalidInputError, NotFoundError
from vtrack.registry.schemas import CameraCreate, CameraStateUpdate, CameraUpdate, GroupCreate, GroupUpdate
from vtrack.registry.urls import RTSP_SCHEMES, parse_camera_url
from vtrack.security.audit import Auditor
from vtrack.security.encryption import Keyring

PASSWORD_PURPOSE = "camera.password"  # noqa: S105  (an AEAD label, not a password)


def split_credentials(
    rtsp_url: str, username: str | None, password: str | None
) -> tuple[str, str | None, str | None]:
    """Take credentials out of the URL; explicit username/password fields win over embedded ones."""
    parsed = parse_camera_url(rtsp_url, RTSP_SCHEMES)
    return (
        parsed.url,
        username if username is not None else parsed.username,
        password if password is not None else parsed.password,
    )


class CameraService:
    def __init__(self, session: AsyncSession, keyring: Keyring, auditor: Auditor) -> None:
        self.cameras = CameraRepository(session)
        self.groups = GroupRepository(session)
        self.session = session
        self.keyring = keyring
        self.audit = auditor

    async def get(self, camera_id: str) -> Camera:
        camera = await self.cameras.get(camera_id)
        if camera is None:
            raise NotFoundError(f"camera {camera_id} not found")
        return camera

    async def _check_group(self, group_id: str | None) -> CameraGroup | None:
        if group_id is None:
            return None
        group = await self.groups.get(group_id)
        if group is None:
            raise InvalidInputError(
                "unknown group", [{"field": "group_id", "message": f"no group with id {group_id}"}]
            )
        return group

    async def _check_name(self, group_id: str | None, name: str, except_id: str | None = None) -> None:
        if await self.cameras.name_taken(group_id, name, except_id):
            raise ConflictError(
                f"a camera named {name!r} already exists in this group",
                [{"field": "name", "message": "already taken in this group"}],
            )

    def encrypt_password(self, password: str | None) -> str | None:
        return self.keyring.encrypt(password, PASSWORD_PURPOSE) if password else None

    def decrypt_password(self, camera: Camera) -> str | None:
        if not camera.password_encrypted:
            return None
        return self.keyring.decrypt(camera.password_encrypted, PASSWORD_PURPOSE)

    async def create(self, data: CameraCreate) -> Camera:
        group = await self._check_group(data.group_id)
        await self._check_name(data.group_id, data.name)
        url, username, password = split_credentials(data.rtsp_url, data.username, data.password)
        fields = data.model_dump(exclude={"rtsp_url", "username", "password"})
        camera = Camera(
            **fields,
            rtsp_url=url,
            username=username,
            password_encrypted=self.encrypt_password(password),
            group=group,
        )
        self.session.add(camera)
        await self.session.flush()
        self.audit.record("camera.create", "camera", camera.id, name=camera.name)
        return camera

    async def update(self, camera: Camera, data: CameraUpdate) -> Camera:
        changes: dict[str, Any] = data.model_dump(exclude_unset=True)
        for required in (
            "name",
            "rtsp_url",
            "protocol",
            "is_active",
            "enable_detection",
            "detection_sensitivity",
        ):
            if required in changes and changes[required] is None:
                raise InvalidInputError(
                    f"{required} cannot be null", [{"field": required, "message": "cannot be null"}]
                )
        # Every check runs before the camera is touched: a query autoflushes pending changes, and a
        # half-applied move would hit the unique index as a bare IntegrityError instead of a named 409.
        new_group = await self._check_group(changes["group_id"]) if "group_id" in changes else None
        if "name" in changes or "group_id" in changes:
            await self._check_name(
                changes.get("group_id", camera.group_id), changes.get("name", camera.name), camera.id
            )
        if "group_id" in changes:
            camera.group = new_group
        if "rtsp_url" in changes:
            url, username, password = split_credentials(
                changes.pop("rtsp_url"), changes.get("username"), changes.get("password")
            )
            camera.rtsp_url = url
            if username is not None:
                changes["username"] = username
            if password is not None:
                changes["password"] = password
        if "password" in changes:
            camera.password_encrypted = self.encrypt_password(changes.pop("password"))
        changes.pop("group_id", None)
        for key, value in changes.items():
            setattr(camera, key, value)
        await self.session.flush()
        self.audit.record("camera.update", "camera", camera.id, fields=sorted(data.model_fields_set))
        return camera

    async def set_state(self, camera: Camera, data: CameraStateUpdate) -> Camera:
        if data.is_active is not None:
            camera.is_active = data.is_active
        if data.status is not None:
            camera.status = data.status
        await self.session.flush()
        self.audit.record(
            "camera.state", "camera", camera.id, is_active=camera.is_active, status=camera.status
        )
        return camera

    async def delete(self, camera: Camera) -> None:
        await self.cameras.delete(camera)
        self.audit.record("camera.delete", "camera", camera.id, name=camera.name)


class GroupService:
    def __init__(self, session: AsyncSession, auditor: Auditor) -> None:
        self.groups = GroupRepository(session)
        self.session = session
        self.audit = auditor

    async def get(self, group_id: str) -> CameraGroup:
        group = await self.groups.get(group_id)
        if group is None:
            raise NotFoundError(f"group {group_id} not found")
        return group

    async def _check_name(self, name: str, except_id: str | None = None) -> None:
        existing = await self.groups.by_name(name)
        if existing is not None and existing.id != except_id:
            raise ConflictError(
                f"a group named {name!r} already exists", [{"field": "name", "message": "already taken"}]
            )

    async def create(self, data: GroupCreate) -> CameraGroup:
        await self._check_name(data.name)
        group = CameraGroup(**data.model_dump())
        self.groups.add(group)
        await self.session.flush()
        self.audit.record("group.create", "camera_group", group.id, name=group.name)
        return group

    async def update(self, group: CameraGroup, data: GroupUpdate) -> CameraGroup:
        changes = data.model_dump(exclude_unset=True)
        if "name" in changes:
            if changes["name"] is None:
                raise InvalidInputError(
                    "name cannot be null", [{"field": "name", "message": "cannot be null"}]
                )
            await self._check_name(changes["name"], group.id)
        for key, value in changes.items():
            setattr(group, key, value)
        await self.session.flush()
        self.audit.record("group.update", "camera_group", group.id, fields=sorted(changes))
        return group

    async def delete(self, group: CameraGroup) -> None:
        clashes = await self.groups.names_colliding_when_ungrouped(group.id)
        if clashes:
            raise ConflictError(
                "ungrouping these cameras would clash with existing names; rename or move them first",
                {"names": sorted(clashes)},
            )
        await self.groups.delete(group)
        await self.session.flush()
        self.audit.record("group.delete", "camera_group", group.id, name=group.name)

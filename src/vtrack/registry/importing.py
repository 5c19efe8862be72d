"""Bulk camera import from CSV, JSON, or a seed-002 channel list: validated whole, then written at once.

Everything is checked before anything is written: one bad row gives a 422 naming the row and field and
imports nothing; duplicates give a 409 unless the caller asked to skip them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from vtrack.db.models import CameraGroup
from vtrack.db.repositories.cameras import CameraRepository, GroupRepository, name_key
from vtrack.db.types import new_id, utcnow
from vtrack.errors import ConflictError, InvalidInputError
from vtrack.registry.cameras import CameraService, split_credentials
from vtrack.registry.import_formats import ImportRow, invalid_input
from vtrack.registry.schemas import CameraCreate, Name
from vtrack.security.audit import Auditor
from vtrack.security.encryption import Keyring

MAX_REPORTED_ERRORS = 100
_GROUP_NAME: TypeAdapter[str] = TypeAdapter(Name)


@dataclass
class ImportResult:
    created: int = 0
    skipped: list[dict[str, Any]] = field(default_factory=list)
    groups_created: list[str] = field(default_factory=list)
    camera_ids: list[str] = field(default_factory=list)


def _row_errors(row: ImportRow, exc: ValidationError) -> list[dict[str, Any]]:
    return [
        {
            "row": row.number,
            "line": row.line,
            "field": ".".join(str(p) for p in err["loc"]) or None,
            "message": err["msg"],
        }
        for err in exc.errors(include_input=False, include_url=False)
    ]


class CameraImporter:
    def __init__(self, session: AsyncSession, keyring: Keyring, auditor: Auditor) -> None:
        self.session = session
        self.cameras = CameraRepository(session)
        self.groups = GroupRepository(session)
        self.service = CameraService(session, keyring, auditor)
        self.audit = auditor

    async def run(
        self, rows: list[ImportRow], *, group_id: str | None, skip_duplicates: bool, fmt: str
    ) -> ImportResult:
        if not rows:
            raise invalid_input("nothing to import: no rows")
        if group_id is not None and await self.groups.get(group_id) is None:
            raise invalid_input(f"no group with id {group_id}", "group_id")
        validated, errors = self._validate(rows)
        known_groups = await self.groups.by_names({r.group_name for r, _ in validated if r.group_name})
        missing_group_ids = {c.group_id for _, c in validated if c.group_id} - await self._existing_group_ids(
            {c.group_id for _, c in validated if c.group_id}
        )
        for row, camera in validated:
            if camera.group_id in missing_group_ids:
                errors.append(
                    {"row": row.number, "line": row.line, "field": "group_id", "message": "no such group"}
                )
        if errors:
            first = errors[0]
            raise InvalidInputError(
                f"row {first['row']}, field {first['field']}: {first['message']} ({len(errors)} error(s); "
                "nothing was imported)",
                errors[:MAX_REPORTED_ERRORS],
            )

        new_groups: dict[str, str] = {}  # lower-cased name -> the spelling of its first row
        for r in rows:
            if r.group_name and r.group_name.strip().lower() not in known_groups:
                new_groups.setdefault(r.group_name.strip().lower(), r.group_name.strip())
        placeholder = {key: f"new:{key}" for key in new_groups}

        def target_group(row: ImportRow, camera: CameraCreate) -> str | None:
            if camera.group_id:
                return camera.group_id
            if row.group_name:
                key = row.group_name.strip().lower()
                return known_groups[key].id if key in known_groups else placeholder[key]
            return group_id

        result = ImportResult()
        targets = [(row, camera, target_group(row, camera)) for row, camera in validated]
        existing = await self.cameras.existing_keys({g for _, _, g in targets})
        seen: dict[tuple[str, str], int] = {}
        keep = []
        duplicates = []
        for row, camera, gid in targets:
            key = name_key(gid, camera.name)
            if key in existing or key in seen:
                reason = "already exists" if key in existing else f"same name as row {seen[key]}"
                duplicates.append(
                    {
                        "row": row.number,
                        "line": row.line,
                        "field": "name",
                        "message": reason,
                        "name": camera.name,
                    }
                )
                continue
            seen[key] = row.number
            keep.append((camera, gid))
        if duplicates and not skip_duplicates:
            raise ConflictError(
                f"{len(duplicates)} duplicate camera name(s), first at row {duplicates[0]['row']}; "
                "nothing was imported (set skip_duplicates to import the rest)",
                duplicates[:MAX_REPORTED_ERRORS],
            )
        result.skipped = duplicates

        created_ids: dict[str, str] = {}
        for group_key, name in new_groups.items():
            if any(gid == placeholder[group_key] for _, gid in keep):
                group = CameraGroup(name=name)
                self.groups.add(group)
                await self.session.flush()
                created_ids[placeholder[group_key]] = group.id
                result.groups_created.append(name)
                self.audit.record("group.create", "camera_group", group.id, name=name, via="import")

        now = utcnow()
        records = []
        for index, (camera, gid) in enumerate(keep):
            url, username, password = split_credentials(camera.rtsp_url, camera.username, camera.password)
            record = camera.model_dump(exclude={"rtsp_url", "username", "password"})
            record.update(
                id=new_id(),
                group_id=created_ids.get(gid, gid) if gid else None,
                rtsp_url=url,
                username=username,
                password_encrypted=self.service.encrypt_password(password),
                status="idle",
                # A microsecond apart, so sorting by created_at keeps the order of the file.
                created_at=now + timedelta(microseconds=index),
                updated_at=now + timedelta(microseconds=index),
            )
            records.append(record)
        await self.cameras.insert_many(records)
        result.created = len(records)
        result.camera_ids = [r["id"] for r in records]
        self.audit.record(
            "camera.import",
            "camera",
            None,
            format=fmt,
            created=result.created,
            skipped=len(result.skipped),
            groups_created=result.groups_created,
        )
        return result

    def _validate(
        self, rows: list[ImportRow]
    ) -> tuple[list[tuple[ImportRow, CameraCreate]], list[dict[str, Any]]]:
        validated = []
        errors: list[dict[str, Any]] = []
        for row in rows:
            group_ok = self._validate_group_name(row, errors)
            try:
                camera = CameraCreate.model_validate(row.data)
            except ValidationError as exc:
                errors.extend(_row_errors(row, exc))
                continue
            if group_ok:
                validated.append((row, camera))
        return validated, errors

    @staticmethod
    def _validate_group_name(row: ImportRow, errors: list[dict[str, Any]]) -> bool:
        """A group named in the file becomes a group row: it gets the same checks as one made by the API."""
        raw: Any = row.group_name
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            row.group_name = None
            return True
        try:
            row.group_name = _GROUP_NAME.validate_python(raw)
        except ValidationError as exc:
            errors.extend(
                {"row": row.number, "line": row.line, "field": "group", "message": err["msg"]}
                for err in exc.errors(include_input=False, include_url=False)
            )
            return False
        return True

    async def _existing_group_ids(self, ids: set[str | None]) -> set[str | None]:
        found: set[str | None] = set()
        for gid in ids:
            if gid and await self.groups.get(gid) is not None:
                found.add(gid)
        return found

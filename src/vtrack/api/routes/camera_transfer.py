"""Bulk import and export of cameras."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response

from vtrack.api.deps import AuditorDep, CamerasRead, CamerasWrite, ServicesDep, SessionDep, has_permission
from vtrack.api.envelope import Envelope, error_responses, ok
from vtrack.api.schemas.cameras import ImportFormat, ImportOut, ImportRequest
from vtrack.db.repositories.cameras import CameraRepository
from vtrack.errors import InvalidInputError, PermissionDeniedError
from vtrack.registry.cameras import CameraService
from vtrack.registry.exporting import camera_record, to_csv, to_json
from vtrack.registry.import_formats import parse_csv, parse_json
from vtrack.registry.importing import CameraImporter
from vtrack.security.permissions import Permission

router = APIRouter(prefix="/cameras", tags=["cameras"], responses=error_responses(401, 403, 422))


def _decode(data: str) -> str:
    try:
        # Line-wrapped base64 (what the `base64` tool prints) is fine; any other stray character is not.
        raw = base64.b64decode("".join(data.split()), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInputError(
            "data is not valid base64", [{"field": "data", "message": "not base64"}]
        ) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInputError(
            "data is not UTF-8 text", [{"field": "data", "message": "not UTF-8"}]
        ) from None


@router.post("/import", responses=error_responses(409))
async def import_cameras(
    body: ImportRequest, _: CamerasWrite, services: ServicesDep, session: SessionDep, audit: AuditorDep
) -> Envelope[ImportOut]:
    text = _decode(body.data)
    rows = parse_csv(text) if body.format == ImportFormat.CSV else parse_json(text)
    result = await CameraImporter(session, services.keyring, audit).run(
        rows, group_id=body.group_id, skip_duplicates=body.skip_duplicates, fmt=body.format.value
    )
    return ok(
        ImportOut(
            created=result.created,
            skipped=result.skipped,
            groups_created=result.groups_created,
            camera_ids=result.camera_ids,
        )
    )


@router.get(
    "/export",
    response_class=Response,
    responses={
        200: {"content": {"text/csv": {"schema": {"type": "string"}}, "application/json": {"schema": {}}}},
        **error_responses(401, 403, 422),
    },
)
async def export_cameras(
    user: CamerasRead,
    services: ServicesDep,
    session: SessionDep,
    audit: AuditorDep,
    format: Annotated[ImportFormat, Query()] = ImportFormat.CSV,
    group_id: Annotated[str | None, Query(max_length=36)] = None,
    include_credentials: bool = False,
) -> Response:
    if include_credentials and not has_permission(user, Permission.USERS_ADMIN):
        raise PermissionDeniedError("only an admin may export credentials")
    service = CameraService(session, services.keyring, audit)
    cameras = await CameraRepository(session).all(group_id)
    records = [camera_record(c, service, include_credentials) for c in cameras]
    if include_credentials:
        audit.record("camera.export_credentials", "camera", None, count=len(records), group_id=group_id)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    if format == ImportFormat.CSV:
        body, media = to_csv(records, include_credentials), "text/csv; charset=utf-8"
    else:
        body, media = to_json(records), "application/json"
    headers = {
        "Content-Disposition": f'attachment; filename="cameras-{stamp}.{format.value}"',
        "Cache-Control": "no-store",
    }
    return Response(content=body, media_type=media, headers=headers)

"""The archive's working directory: is it there, writable, and above the free-space reserve.

Always 200: an unusable archive is the answer, not a failure of the request. Sync uses the same check
before each download and pauses with the same `problem` sentence.
"""

from __future__ import annotations

from fastapi import APIRouter

from vtrack.api.deps import ServicesDep, SourcesRead
from vtrack.api.envelope import Envelope, error_responses, ok
from vtrack.api.schemas.archive import ArchiveHealthOut
from vtrack.archive.disk import DiskGuard
from vtrack.db.types import utcnow

router = APIRouter(prefix="/archive", tags=["archive"], responses=error_responses(401, 403))


@router.get("/health")
async def archive_health(_: SourcesRead, services: ServicesDep) -> Envelope[ArchiveHealthOut]:
    """Exists, writable (a probe file is written and removed), free bytes and inodes against the reserve."""
    status = await DiskGuard.from_settings(services.settings).check()
    return ok(ArchiveHealthOut.of(status, checked_at=utcnow()))

"""Read the audit log (audit:read)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from vtrack.api.deps import AuditRead, SessionDep
from vtrack.api.envelope import PagedEnvelope, error_responses, paged
from vtrack.api.schemas.audit import AuditOut
from vtrack.db.repositories.audit import AuditRepository

router = APIRouter(prefix="/audit", tags=["audit"], responses=error_responses(401, 403, 422))


@router.get("")
async def list_audit(
    _: AuditRead,
    session: SessionDep,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 50,
    action: Annotated[str | None, Query(max_length=64)] = None,
    actor: Annotated[str | None, Query(max_length=64)] = None,
) -> PagedEnvelope[AuditOut]:
    result = await AuditRepository(session).search(page, page_size, action, actor)
    return paged(result, [AuditOut.model_validate(e) for e in result.items])

"""Start a discovery sweep (a background job) and read its progress and results."""

from __future__ import annotations

from fastapi import APIRouter, status

from vtrack.api.deps import AuditorDep, ServicesDep, SessionDep, SourcesRead, SourcesWrite
from vtrack.api.envelope import Envelope, error_responses, ok
from vtrack.api.schemas.discovery import DiscoveryOut, DiscoveryRequest, DiscoveryStarted
from vtrack.db.repositories.jobs import JobRepository
from vtrack.errors import NotFoundError
from vtrack.jobs.discovery import DISCOVERY_JOB, DISCOVERY_PASSWORD

router = APIRouter(prefix="/discovery", tags=["discovery"], responses=error_responses(401, 403, 422))


@router.post("", status_code=status.HTTP_202_ACCEPTED)
async def start_discovery(
    body: DiscoveryRequest, _: SourcesWrite, services: ServicesDep, audit: AuditorDep
) -> Envelope[DiscoveryStarted]:
    params = body.model_dump(exclude={"password"}, exclude_none=True)
    if body.password:
        params["password_encrypted"] = services.keyring.encrypt(body.password, DISCOVERY_PASSWORD)
    job_id = await services.jobs.submit(DISCOVERY_JOB, params)
    audit.record("discovery.start", "job_run", job_id, hosts=body.hosts or "multicast", ports=body.ports)
    return ok(DiscoveryStarted(job_id=job_id, state="queued"))


@router.get("/{job_id}", responses=error_responses(404))
async def get_discovery(job_id: str, _: SourcesRead, session: SessionDep) -> Envelope[DiscoveryOut]:
    run = await JobRepository(session).get(job_id)
    if run is None or run.name != DISCOVERY_JOB:
        raise NotFoundError(f"discovery {job_id} not found")
    return ok(
        DiscoveryOut(
            job_id=run.id,
            state=run.status,
            progress=run.progress,
            message=(run.result or {}).get("message") or run.message,
            error=run.error,
            created_at=run.created_at,
            finished_at=run.finished_at,
            result=run.result,
        )
    )

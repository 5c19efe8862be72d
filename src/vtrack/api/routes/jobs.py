"""Background job runs: list, read, start."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from vtrack.api.deps import AuditorDep, JobsRead, JobsWrite, ServicesDep, SessionDep
from vtrack.api.envelope import Envelope, PagedEnvelope, error_responses, ok, paged
from vtrack.api.schemas.jobs import JobRunOut, JobSubmit, JobTypeOut
from vtrack.db.repositories.jobs import JobRepository
from vtrack.errors import NotFoundError

router = APIRouter(prefix="/jobs", tags=["jobs"], responses=error_responses(401, 403, 422))


@router.get("")
async def list_runs(
    _: JobsRead,
    session: SessionDep,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 20,
    name: Annotated[str | None, Query(max_length=128)] = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
) -> PagedEnvelope[JobRunOut]:
    result = await JobRepository(session).search(page, page_size, name, status)
    return paged(result, [JobRunOut.model_validate(r) for r in result.items])


@router.get("/types")
async def job_types(_: JobsRead, services: ServicesDep) -> Envelope[list[JobTypeOut]]:
    every = {s["name"]: s["everySeconds"] for s in services.jobs.schedules()}
    return ok(
        [
            JobTypeOut(name=spec.name, description=spec.description, every_seconds=every.get(spec.name))
            for spec in sorted(services.job_registry.specs.values(), key=lambda s: s.name)
        ]
    )


@router.post("", status_code=status.HTTP_202_ACCEPTED)
async def start_run(
    body: JobSubmit, _: JobsWrite, services: ServicesDep, audit: AuditorDep
) -> Envelope[JobRunOut]:
    run_id = await services.jobs.submit(body.name, body.params)
    audit.record("job.start", "job_run", run_id, name=body.name)
    async with services.database.session() as session:
        run = await JobRepository(session).get(run_id)
    if run is None:
        raise NotFoundError(f"job run {run_id} vanished")
    return ok(JobRunOut.model_validate(run))


@router.get("/{run_id}", responses=error_responses(404))
async def get_run(run_id: str, _: JobsRead, session: SessionDep) -> Envelope[JobRunOut]:
    run = await JobRepository(session).get(run_id)
    if run is None:
        raise NotFoundError(f"job run {run_id} not found")
    return ok(JobRunOut.model_validate(run))

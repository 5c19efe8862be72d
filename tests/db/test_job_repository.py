"""Job-run queries behind the dashboard: a source's recent syncs, and the runs a live view follows."""

from __future__ import annotations

from datetime import timedelta

from vtrack.db.models import JobRun
from vtrack.db.repositories.jobs import JobRepository
from vtrack.db.session import Database
from vtrack.db.types import utcnow


async def test_recent_runs_of_a_source_and_the_live_ones(database: Database) -> None:
    now = utcnow()
    async with database.transaction() as session:
        session.add_all(
            [
                JobRun(
                    name="sync.source",
                    params={"source_id": "a"},
                    status="succeeded",
                    created_at=now - timedelta(hours=2),
                    finished_at=now - timedelta(hours=2),
                ),
                JobRun(
                    name="sync.source",
                    params={"source_id": "a"},
                    status="running",
                    created_at=now - timedelta(minutes=1),
                ),
                JobRun(
                    name="sync.source",
                    params={"source_id": "b"},
                    status="failed",
                    created_at=now - timedelta(minutes=2),
                    finished_at=now - timedelta(seconds=5),
                ),
                JobRun(name="health.check", params={"source_id": "a"}, status="queued", created_at=now),
            ]
        )
    async with database.session() as session:
        jobs = JobRepository(session)
        recent = await jobs.recent_of_source("sync.source", "a", 10)
        assert [run.status for run in recent] == ["running", "succeeded"]
        assert [run.status for run in await jobs.recent_of_source("sync.source", "a", 1)] == ["running"]
        live = await jobs.live("sync.source", finished_since=now - timedelta(minutes=1))
        assert sorted((run.params["source_id"], run.status) for run in live) == [
            ("a", "running"),
            ("b", "failed"),
        ]

"""Weekly cleanup: health samples older than `health_history_days`, and events past their own horizon.

Samples are deleted camera by camera: the (camera_id, checked_at) index finds each camera's old rows
directly, where one DELETE on checked_at alone would scan the whole table (43 million rows for 1,000
cameras over 30 days) while holding SQLite's write lock against the health rounds. Events are deleted in
chunks through their `at` index for the same reason. Each step is its own short transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from vtrack.db.repositories.events import EventRepository
from vtrack.db.repositories.health import HealthRepository
from vtrack.db.session import Database
from vtrack.db.types import utcnow

log = logging.getLogger(__name__)

DEFAULT_EVENT_DAYS = 90  # events are few (state changes) and the longer story is worth keeping


@dataclass(frozen=True)
class PruneResult:
    samples: int
    events: int


async def prune_health(
    database: Database,
    *,
    history_days: int,
    event_days: int | None = DEFAULT_EVENT_DAYS,
    clock: Callable[[], datetime] = utcnow,
) -> PruneResult:
    now = clock()
    cutoff = now - timedelta(days=history_days)
    async with database.session() as session:
        camera_ids = await HealthRepository(session).camera_ids()
    samples = 0
    for camera_id in camera_ids:
        async with database.transaction() as session:
            samples += await HealthRepository(session).prune_camera(camera_id, cutoff)
    events = 0
    if event_days is not None:
        event_cutoff = now - timedelta(days=event_days)
        while True:
            async with database.transaction() as session:
                deleted = await EventRepository(session).prune_chunk(event_cutoff)
            events += deleted
            if deleted == 0:
                break
    log.info(
        "health cleanup: %d samples older than %d days, %d events deleted", samples, history_days, events
    )
    return PruneResult(samples, events)

"""Per-minute counts derived from events, recomputed for the minutes a batch touched.

Recomputing rather than incrementing keeps the roll-up exact when events are corrected after the fact
(a track's gender is final only when the track ends). A run has one writer, so deleting and
re-inserting its rows for a minute cannot race another writer.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from vtrack.db.models import AnalyticsCount, AnalyticsEvent

MINUTE = timedelta(minutes=1)


def minute_of(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(second=0, microsecond=0)


def _aggregate(events: Iterable[AnalyticsEvent], run_id: str, channel_id: str | None) -> list[dict[str, Any]]:
    rows: dict[tuple[datetime, str, str], dict[str, Any]] = {}
    counts: defaultdict[tuple[datetime, str, str], int] = defaultdict(int)
    for event in events:
        kind = "line" if event.kind == "line" else "zone"
        key = (minute_of(event.at), kind, event.name)
        counts[key] += 1
        row = rows.setdefault(
            key,
            {
                "run_id": run_id,
                "channel_id": channel_id,
                "minute": key[0],
                "kind": kind,
                "name": event.name,
                "in_count": 0,
                "out_count": 0,
                "dwell_total": 0.0,
                "male_in": 0,
                "female_in": 0,
            },
        )
        arriving = event.kind == "zone_enter" or (event.kind == "line" and event.direction == "in")
        if arriving:
            row["in_count"] += 1
            if event.gender == "male":
                row["male_in"] += 1
            elif event.gender == "female":
                row["female_in"] += 1
        elif event.kind == "zone_exit" or event.direction == "out":
            row["out_count"] += 1
            row["dwell_total"] += event.dwell_seconds or 0.0
    return list(rows.values())


async def reroll(
    session: AsyncSession, run_id: str, channel_id: str | None, minutes: Iterable[datetime]
) -> None:
    touched = sorted(set(minutes))
    if not touched:
        return
    events = (
        await session.scalars(
            select(AnalyticsEvent).where(
                AnalyticsEvent.run_id == run_id,
                AnalyticsEvent.at >= touched[0],
                AnalyticsEvent.at < touched[-1] + MINUTE,
            )
        )
    ).all()
    wanted = set(touched)
    rows = [row for row in _aggregate(events, run_id, channel_id) if row["minute"] in wanted]
    await session.execute(
        delete(AnalyticsCount).where(AnalyticsCount.run_id == run_id, AnalyticsCount.minute.in_(touched))
    )
    if rows:
        await session.execute(insert(AnalyticsCount), rows)

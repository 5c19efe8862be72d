"""A health round: check every active camera, a bounded number at a time, and record what changed.

`concurrency` workers pull cameras from one list, so no more than that many streams are open at once
(each costs the camera one viewer slot and us one socket and decoder). Results go to a single writer
that applies them in batches — one transaction inserts the camera_health rows, updates the cameras and
adds the events for up to `batch_size` cameras — so 1,000 cameras cost a few dozen statements, and the
UI sees progress during a round instead of everything at its end.

Each batch re-reads the cameras' counters inside its transaction (locked on PostgreSQL) rather than
trusting what the round read at its start: an API-triggered check or another worker may have moved
them meanwhile, and a camera deleted mid-round simply has no row left and is skipped. Events are
published on the bus only after their transaction committed.
"""

from __future__ import annotations

import asyncio
import logging
import time
import zlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from vtrack.db.repositories.events import EventRepository
from vtrack.db.repositories.health import HealthRepository, StateRow, TargetRow
from vtrack.db.session import Database
from vtrack.errors import NotFoundError
from vtrack.events.bus import Event
from vtrack.events.recorder import EventRecorder
from vtrack.health.checker import CheckTarget, HealthChecker, HealthSample
from vtrack.health.metrics import HealthMetrics
from vtrack.health.states import (
    HealthState,
    HealthThresholds,
    Observation,
    Outcome,
    Transition,
    parse_status,
    recovers,
    step,
)
from vtrack.registry.cameras import PASSWORD_PURPOSE
from vtrack.security.encryption import Keyring, SecretError

log = logging.getLogger(__name__)

STATUS_CHANGED = "camera.status_changed"
Progress = Callable[[int, int], Awaitable[None]]  # (cameras done, cameras in the round)


def shard_of(camera_id: str, shards: int) -> int:
    return zlib.crc32(camera_id.encode()) % shards


@dataclass(frozen=True)
class Applied:
    """One sample after the state machine: what the API's check-now answers."""

    sample: HealthSample
    name: str
    transition: Transition

    @property
    def status(self) -> str:
        return self.transition.after.status.value


@dataclass
class RoundResult:
    checked: int = 0
    ok: int = 0
    failed: int = 0
    changed: int = 0
    vanished: int = 0  # deleted while the round ran
    duration_s: float = 0.0
    by_status: dict[str, int] = field(default_factory=dict)
    by_error: dict[str, int] = field(default_factory=dict)
    camera_ids: set[str] = field(default_factory=set)

    def add(self, applied: Applied) -> None:
        self.checked += 1
        self.camera_ids.add(applied.sample.camera_id)
        if applied.sample.ok:
            self.ok += 1
        else:
            self.failed += 1
            kind = applied.sample.error_kind or "error"
            self.by_error[kind] = self.by_error.get(kind, 0) + 1
        self.changed += applied.transition.changed
        self.by_status[applied.status] = self.by_status.get(applied.status, 0) + 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "checked": self.checked,
            "ok": self.ok,
            "failed": self.failed,
            "changed": self.changed,
            "vanished": self.vanished,
            "durationSeconds": round(self.duration_s, 3),
            "byStatus": dict(sorted(self.by_status.items())),
            "byError": dict(sorted(self.by_error.items())),
        }


def _observation(target: CheckTarget, sample: HealthSample) -> Observation:
    return Observation(
        ok=sample.ok,
        latency_ms=sample.latency_ms,
        first_frame_ms=sample.first_frame_ms,
        fps=sample.fps,
        expected_fps=target.expected_fps,
        error_kind=sample.error_kind,
    )


class HealthMonitor:
    def __init__(
        self,
        database: Database,
        keyring: Keyring,
        checker: HealthChecker,
        recorder: EventRecorder,
        *,
        metrics: HealthMetrics | None = None,
        concurrency: int = 100,
        thresholds: HealthThresholds | None = None,
        batch_size: int = 250,
        flush_seconds: float = 1.0,
    ) -> None:
        if concurrency < 1 or batch_size < 1:
            raise ValueError("concurrency and batch_size must be at least 1")
        self.database = database
        self.keyring = keyring
        self.checker = checker
        self.recorder = recorder
        self.metrics = metrics
        self.concurrency = concurrency
        self.thresholds = thresholds or HealthThresholds()
        self.batch_size = batch_size
        self.flush_seconds = flush_seconds

    # -- public ------------------------------------------------------------------------------------

    async def run_round(
        self, progress: Progress | None = None, shard: int = 0, shards: int = 1
    ) -> RoundResult:
        """Check every active camera, or with `shards` > 1 the cameras of one shard (one job of a round
        split over Celery workers; a camera's shard is fixed by its id)."""
        started = time.perf_counter()
        async with self.database.session() as session:
            rows = await HealthRepository(session).targets()
        if shards > 1:
            rows = [row for row in rows if shard_of(row.id, shards) == shard]
        result = RoundResult()
        queue: asyncio.Queue[tuple[CheckTarget, HealthSample] | None] = asyncio.Queue()
        pending = list(reversed(rows))

        async def worker() -> None:
            while pending:
                target, sample = await self._check_row(pending.pop())
                queue.put_nowait((target, sample))

        async def workers() -> None:
            try:
                async with asyncio.TaskGroup() as group:
                    for _ in range(min(self.concurrency, len(rows))):
                        group.create_task(worker())
            finally:
                queue.put_nowait(None)

        async with asyncio.TaskGroup() as group:
            group.create_task(workers())
            group.create_task(self._write(queue, result, len(rows), progress))
        if self.metrics is not None and shards == 1:  # a shard sees only its own cameras
            self.metrics.keep_only(result.camera_ids)
        result.duration_s = time.perf_counter() - started
        if self.metrics is not None:
            self.metrics.round_seconds.set(result.duration_s)
        log.info(
            "health round: %d cameras in %.1f s, %d ok, %d failed, %d changed status",
            result.checked,
            result.duration_s,
            result.ok,
            result.failed,
            result.changed,
        )
        return result

    async def check_camera(self, camera_id: str) -> Applied:
        """Check one camera now, active or not, and record it like a round would."""
        async with self.database.session() as session:
            rows = await HealthRepository(session).targets([camera_id], active_only=False)
        if not rows:
            raise NotFoundError(f"camera {camera_id} not found")
        target, sample = await self._check_row(rows[0])
        applied, _vanished = await self._apply([(target, sample)])
        if not applied:
            raise NotFoundError(f"camera {camera_id} was deleted during the check")
        return applied[0]

    # -- internals ---------------------------------------------------------------------------------

    async def _check_row(self, row: TargetRow) -> tuple[CheckTarget, HealthSample]:
        try:
            password = (
                self.keyring.decrypt(row.password_encrypted, PASSWORD_PURPOSE)
                if row.password_encrypted
                else None
            )
        except SecretError:
            log.error("camera %s: its stored password cannot be decrypted with the current keys", row.id)
            target = CheckTarget(row.id, row.name, row.rtsp_url, row.username, None, row.fps)
            sample = HealthSample(
                row.id,
                self.checker.clock(),
                False,
                0.0,
                error_kind="config",
                error="the stored password cannot be decrypted with the current keys",
            )
            return target, sample
        target = CheckTarget(row.id, row.name, row.rtsp_url, row.username, password, row.fps)
        return target, await self.checker.check(target)

    async def _write(
        self,
        queue: asyncio.Queue[tuple[CheckTarget, HealthSample] | None],
        result: RoundResult,
        total: int,
        progress: Progress | None,
    ) -> None:
        """The round's only writer: batches of up to batch_size, at least every flush_seconds."""
        loop = asyncio.get_running_loop()
        done = False
        while not done:
            item = await queue.get()
            if item is None:
                break
            batch = [item]
            deadline = loop.time() + self.flush_seconds
            while len(batch) < self.batch_size:
                try:
                    item = (
                        queue.get_nowait()
                        if not queue.empty()
                        else await asyncio.wait_for(queue.get(), max(0.0, deadline - loop.time()))
                    )
                except TimeoutError:
                    break
                if item is None:
                    done = True
                    break
                batch.append(item)
            applied, vanished = await self._apply(batch)
            for one in applied:
                result.add(one)
            result.vanished += vanished
            if progress is not None:
                await progress(result.checked + result.vanished, total)

    async def _apply(self, batch: Sequence[tuple[CheckTarget, HealthSample]]) -> tuple[list[Applied], int]:
        try:
            return await self._apply_once(batch)
        except IntegrityError:
            # A camera deleted between reading its state and inserting its sample: read again, skip it.
            log.info("a camera vanished while its health was written; retrying the batch")
            return await self._apply_once(batch)

    async def _apply_once(
        self, batch: Sequence[tuple[CheckTarget, HealthSample]]
    ) -> tuple[list[Applied], int]:
        async with self.database.transaction() as session:
            repo = HealthRepository(session)
            states = await repo.states([target.camera_id for target, _ in batch])
            judged = [
                (states[target.camera_id], target, sample)
                for target, sample in batch
                if target.camera_id in states  # else deleted since the round began
            ]
            applied = [self._judge(row, target, sample) for row, target, sample in judged]
            applied = await self._hold_flapping(session, judged, applied)
            await repo.add_samples([_health_row(one) for one in applied])
            await repo.update_states(
                [_camera_update(row, one) for (row, _, _), one in zip(judged, applied, strict=True)]
            )
            drafts = [_status_event(one) for one in applied if one.transition.changed]
            events = await self.recorder.stage(session, drafts)
        self.recorder.publish(events)
        for event in events:
            log.info(
                "camera %s (%s) is now %s, was %s: %s",
                event.subject_id,
                event.payload.get("name"),
                event.payload.get("to"),
                event.payload.get("from"),
                event.payload.get("reason"),
            )
        if self.metrics is not None:
            for one in applied:
                self.metrics.observe(one.name, one.sample, one.status)
            self.metrics.forget(target.camera_id for target, _ in batch if target.camera_id not in states)
        return applied, len(batch) - len(applied)

    async def _hold_flapping(
        self,
        session: AsyncSession,
        judged: list[tuple[StateRow, CheckTarget, HealthSample]],
        applied: list[Applied],
    ) -> list[Applied]:
        """Judge recoveries again with the camera's recent status changes (one query, recoveries only)."""
        recovering = [one.sample.camera_id for one in applied if recovers(one.transition)]
        if not recovering:
            return applied
        since = self.checker.clock() - timedelta(seconds=self.thresholds.flap_window_seconds)
        counts = await EventRepository(session).count_by_subject(STATUS_CHANGED, "camera", since, recovering)
        return [
            self._judge(row, target, sample, counts.get(row.id, 0)) if recovers(one.transition) else one
            for (row, target, sample), one in zip(judged, applied, strict=True)
        ]

    def _judge(
        self, row: StateRow, target: CheckTarget, sample: HealthSample, recent_changes: int = 0
    ) -> Applied:
        state = HealthState(parse_status(row.status), row.health_failures, row.health_successes)
        transition = step(state, _observation(target, sample), self.thresholds, recent_changes)
        return Applied(sample, row.name, transition)


def _health_row(one: Applied) -> dict[str, Any]:
    sample = one.sample
    return {
        "camera_id": sample.camera_id,
        "checked_at": sample.checked_at,
        "is_connected": sample.ok,
        "status": one.status,
        "latency_ms": sample.latency_ms,
        "fps_actual": sample.fps,
        "first_frame_ms": sample.first_frame_ms,
        "error_kind": sample.error_kind,
        "error": sample.error,
    }


def _camera_update(row: StateRow, one: Applied) -> dict[str, Any]:
    after = one.transition.after
    return {
        "_id": row.id,
        "status": after.status.value,
        "health_failures": after.failures,
        "health_successes": after.successes,
        "last_checked_at": one.sample.checked_at,
        "last_connected_at": one.sample.checked_at if one.sample.ok else row.last_connected_at,
    }


def _status_event(one: Applied) -> Event:
    transition = one.transition
    payload: dict[str, Any] = {
        "name": one.name,
        "from": transition.before.status.value,
        "to": transition.after.status.value,
        "reason": transition.reason,
        "outcome": transition.outcome.value,
    }
    if one.sample.error:
        payload["error"] = one.sample.error
    if transition.outcome is not Outcome.FAIL:
        payload["latencyMs"] = one.sample.latency_ms
        payload["fps"] = one.sample.fps
    return Event(STATUS_CHANGED, "camera", one.sample.camera_id, payload, one.sample.checked_at)

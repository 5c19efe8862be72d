"""A node's live channels: which run here, started and stopped as their rows change, and their health.

Which channels run on this node is decided by leases in the database (leases.py): every few seconds
the node renews its leases, restarts channels whose row changed, hands over channels beyond its fair
share and takes free ones up to it. One node alone (the default server) takes them all; several
`vtrack worker --analytics` processes share them, and a dead node's channels move within the lease.

One ChannelWorker per enabled channel. Stateless detectors (YOLOX, YOLO) are loaded once per model and
shared by every channel through a lock; the motion detector learns each scene, so each channel gets
its own. A channel that cannot start (bad lines for its resolution, an unreadable model) is reported
in `health()` with its error instead of stopping the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import datetime
from typing import Any

from vtrack.analytics.classify.base import ClassifierConfig
from vtrack.analytics.counting.specs import LineSpec, ZoneSpec
from vtrack.analytics.detectors.base import Detector, DetectorConfig
from vtrack.analytics.errors import AnalyticsError
from vtrack.analytics.live.leases import LeaseBook
from vtrack.analytics.live.memory import tune_malloc
from vtrack.analytics.live.reader import ReconnectPolicy
from vtrack.analytics.live.worker import ChannelWorker, StreamTarget
from vtrack.analytics.options import AnalysisOptions, SharedDetector
from vtrack.analytics.sinks.db_writer import RunWriter
from vtrack.db.models import AnalyticsChannel, Camera
from vtrack.db.session import Database
from vtrack.events.bus import EventBus
from vtrack.registry.analytics_channels import CHANNEL_PASSWORD
from vtrack.registry.cameras import PASSWORD_PURPOSE
from vtrack.security.encryption import Keyring, SecretError
from vtrack.settings import Settings

log = logging.getLogger(__name__)


def default_options(settings: Settings) -> AnalysisOptions:
    detector = settings.analytics_detector or ("yolox" if settings.analytics_model else "motion")
    return AnalysisOptions(
        detector=detector,
        model=settings.analytics_model,
        detector_config=DetectorConfig(
            confidence=settings.analytics_confidence, threads=settings.analytics_threads
        ),
        gender_model=settings.analytics_gender_model,
        classifier=ClassifierConfig(),
    )


class ChannelManager:
    def __init__(
        self,
        database: Database,
        keyring: Keyring,
        settings: Settings,
        bus: EventBus,
    ) -> None:
        self.database = database
        self.keyring = keyring
        self.settings = settings
        self.bus = bus
        self.defaults = default_options(settings)
        self.policy = ReconnectPolicy(
            first=settings.analytics_reconnect_seconds, maximum=settings.analytics_reconnect_max_seconds
        )
        self.workers: dict[str, ChannelWorker] = {}
        self.failed: dict[str, dict[str, Any]] = {}  # channel id -> health of a channel that could not start
        self._detectors: dict[tuple[str, str | None], SharedDetector] = {}
        self._lock = asyncio.Lock()
        self._started = False
        self.leases = LeaseBook(
            database, settings.node, settings.analytics_lease_seconds, settings.analytics_max_channels
        )
        self._seen: dict[str, datetime] = {}  # channel id -> the row's updated_at its worker started from
        self._keeper: asyncio.Task[None] | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self._halted = False  # the watchdog stopped every channel's analysis; their runs are still open
        self._renewed_at = time.monotonic()

    async def start(self) -> None:
        if not self.settings.analytics_live:
            log.info("live analytics is off on this node (VTRACK_ANALYTICS_LIVE=false)")
            return
        self._started = True
        tune_malloc()
        await self.reconcile()
        self._keeper = asyncio.create_task(self._keep(), name="analytics-leases")
        self._watchdog = asyncio.create_task(self._watch(), name="analytics-fence")

    async def apply(self, channel_id: str) -> None:
        """Bring the channel in line with its row now: start, restart with new settings, or stop.

        On this node only if it holds (or can take) the channel's lease; the node that holds it sees the
        row's new `updated_at` at its next heartbeat and restarts the channel there.
        """
        if self._started:
            await self.reconcile(restart=channel_id)

    async def reconcile(self, restart: str | None = None) -> None:
        """One heartbeat: renew leases, follow channel changes, hand over or take a fair share."""
        async with self._lock:
            standing = await self.leases.heartbeat(self.health())
            self._renewed_at = time.monotonic()
            if self._halted:  # the watchdog stopped the analysis: close those runs now the database is back
                await self._stop_all()
            # Leases renewed without a worker here (the node fenced itself, then the database came
            # back before they lapsed) would be renewed forever with nothing running: free them.
            release = sorted(standing.renewed - self._held())
            for channel_id in sorted(self._held()):
                if channel_id not in standing.renewed or channel_id not in standing.enabled:
                    await self._stop_channel(channel_id)
                    if channel_id in standing.renewed:
                        release.append(channel_id)  # disabled or deleted: free its lease now
                elif channel_id == restart or standing.enabled[channel_id] != self._seen.get(channel_id):
                    await self._stop_channel(channel_id)
                    await self._start_channel(channel_id)
            held = sorted(self._held())
            if len(held) > standing.share:  # more nodes now: hand the surplus over
                for channel_id in held[standing.share :]:
                    await self._stop_channel(channel_id)
                    release.append(channel_id)
            else:
                wanted = standing.share - len(held)
                for channel_id in standing.free:
                    if wanted <= 0:
                        break
                    if await self.leases.acquire(channel_id):
                        await self._start_channel(channel_id)
                        wanted -= 1
            await self.leases.release(release)

    async def _keep(self) -> None:
        every = self.leases.ttl.total_seconds() / 3
        while self._started:
            await asyncio.sleep(every)
            try:
                await self.reconcile()
            except Exception:
                log.exception("analytics lease heartbeat failed")
                if time.monotonic() - self._renewed_at > every * 2:
                    await self._fence()

    async def _watch(self) -> None:
        """Fencing that does not wait for the lock: a heartbeat stuck on a database that stopped answering
        (a network partition) holds the lock, yet this node must stop analysing before its leases lapse."""
        ttl = self.leases.ttl.total_seconds()
        while self._started:
            await asyncio.sleep(ttl / 15)
            if self.workers and not self._halted and time.monotonic() - self._renewed_at > ttl * 2 / 3:
                self._halted = True
                log.error(
                    "cannot renew analytics leases: stopping %d channel(s) on this node", len(self.workers)
                )
                await asyncio.gather(
                    *(asyncio.to_thread(w.halt) for w in list(self.workers.values())), return_exceptions=True
                )

    async def _fence(self) -> None:
        """Leases cannot be renewed: stop every channel before they lapse and another node starts them."""
        async with self._lock:
            await self._stop_all()

    async def _stop_all(self) -> None:
        """All at once, and a run that cannot be closed (the database is away) does not keep the others
        going: a worker stops analysing before it writes its run's end."""
        workers, self.workers = self.workers, {}
        self.failed.clear()
        self._seen.clear()
        self._halted = False
        results = await asyncio.gather(
            *(w.stop("interrupted") for w in workers.values()), return_exceptions=True
        )
        for worker, result in zip(workers.values(), results, strict=True):
            if isinstance(result, BaseException):
                log.warning("analytics channel %s: its run could not be closed: %s", worker.name, result)

    def _held(self) -> set[str]:
        return set(self.workers) | set(self.failed)

    async def _stop_channel(self, channel_id: str, reason: str = "finished") -> None:
        self.failed.pop(channel_id, None)
        self._seen.pop(channel_id, None)
        worker = self.workers.pop(channel_id, None)
        if worker is not None:
            await worker.stop(reason)

    async def _start_channel(self, channel_id: str) -> None:
        async with self.database.session() as session:
            row = await session.get(AnalyticsChannel, channel_id)
            if row is None or not row.enabled:
                return
            self._seen[channel_id] = row.updated_at
            try:
                worker = await self._worker_for(session, row)
                await worker.start()
            except (AnalyticsError, OSError, ValueError) as exc:
                log.error("analytics channel %s cannot start: %s", row.name, exc)
                self.failed[channel_id] = {"state": "failed", "error": str(exc), "name": row.name}
                return
        self.workers[channel_id] = worker
        log.info(
            "analytics channel %s started on %s (run %s, node %s)",
            worker.name,
            worker.display,
            worker.run_id,
            self.leases.node,
        )

    async def stop(self) -> None:
        """Stop every channel, flushing each run: SIGINT/SIGTERM end here through the app's lifespan."""
        self._started = False
        for task in (self._keeper, self._watchdog):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._keeper = self._watchdog = None
        async with self._lock:
            await self._stop_all()
            for detector in self._detectors.values():
                detector.close()
            self._detectors.clear()
        if self.settings.analytics_live:
            try:
                await self.leases.leave()
            except Exception:  # the database is gone too: the leases lapse by themselves
                log.warning("could not release analytics leases", exc_info=True)

    def health(self) -> dict[str, dict[str, Any]]:
        report = {cid: dict(info) for cid, info in self.failed.items()}
        for channel_id, worker in self.workers.items():
            report[channel_id] = {"name": worker.name, "run_id": worker.run_id, **worker.stats.to_dict()}
        return report

    async def cluster_health(self) -> dict[str, dict[str, Any]]:
        """This node's channels and those other nodes run (with their `node`), for the live overview."""
        report = await self.leases.others()
        report.update({cid: {**health, "node": self.leases.node} for cid, health in self.health().items()})
        return report

    def worker(self, channel_id: str) -> ChannelWorker | None:
        return self.workers.get(channel_id)

    async def _worker_for(self, session: Any, row: AnalyticsChannel) -> ChannelWorker:
        target = await self._target(session, row)
        options = AnalysisOptions(
            detector=row.detector or self.defaults.detector,
            model=self.defaults.model,
            detector_config=self.defaults.detector_config,
            tracker=self.defaults.tracker,
            lines=tuple(LineSpec.from_dict(d, i) for i, d in enumerate(row.lines or [])),
            zones=tuple(ZoneSpec.from_dict(d, i) for i, d in enumerate(row.zones or [])),
            gender_model=self.defaults.gender_model,
            classifier=self.defaults.classifier,
        )
        detector = await asyncio.to_thread(self._detector, options)
        writer = RunWriter(
            self.database,
            bus=self.bus,
            flush_interval=self.settings.analytics_flush_seconds,
            node=self.leases.node,
        )
        worker = ChannelWorker(
            row.id,
            row.name,
            target,
            options,
            detector,
            writer,
            policy=self.policy,
            frame_rate=self.settings.analytics_frame_rate,
        )
        return worker

    def _detector(self, options: AnalysisOptions) -> Detector:
        key = (options.detector, str(options.model) if options.model else None)
        shared = self._detectors.get(key)
        if shared is not None:
            return shared
        detector = options.build_detector()
        if detector.stateful:
            return detector
        shared = self._detectors[key] = SharedDetector(detector)
        return shared

    async def _target(self, session: Any, row: AnalyticsChannel) -> StreamTarget:
        if row.camera_id is not None and row.url is None:
            camera = await session.get(Camera, row.camera_id)
            if camera is None:
                raise AnalyticsError(f"channel {row.name}: its camera was deleted")
            password = self._decrypt(row, camera.password_encrypted, PASSWORD_PURPOSE)
            return StreamTarget(camera.rtsp_url, camera.username, password)
        if row.url is None:
            raise AnalyticsError(f"channel {row.name} has neither a URL nor a camera")
        password = self._decrypt(row, row.password_encrypted, CHANNEL_PASSWORD)
        return StreamTarget(row.url, row.username, password)

    def _decrypt(self, row: AnalyticsChannel, token: str | None, purpose: str) -> str | None:
        """A password sealed under a key this server no longer has fails its channel, not the server start."""
        if not token:
            return None
        try:
            return self.keyring.decrypt(token, purpose)
        except SecretError as exc:
            message = f"channel {row.name}: the stored password cannot be decrypted ({exc})"
            raise AnalyticsError(message) from exc

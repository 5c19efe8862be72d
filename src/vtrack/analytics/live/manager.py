"""The server's live channels: which run, started and stopped as their rows change, and their health.

One ChannelWorker per enabled channel. Stateless detectors (YOLOX, YOLO) are loaded once per model and
shared by every channel through a lock; the motion detector learns each scene, so each channel gets
its own. A channel that cannot start (bad lines for its resolution, an unreadable model) is reported
in `health()` with its error instead of stopping the others.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy import select

from vtrack.analytics.classify.base import ClassifierConfig
from vtrack.analytics.counting.specs import LineSpec, ZoneSpec
from vtrack.analytics.detectors.base import Detector, DetectorConfig
from vtrack.analytics.errors import AnalyticsError
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

    async def start(self) -> None:
        if not self.settings.analytics_live:
            log.info("live analytics is off on this node (VTRACK_ANALYTICS_LIVE=false)")
            return
        self._started = True
        tune_malloc()
        async with self.database.session() as session:
            ids = list(
                await session.scalars(
                    select(AnalyticsChannel.id)
                    .where(AnalyticsChannel.enabled.is_(True))
                    .order_by(AnalyticsChannel.name)
                )
            )
        for channel_id in ids:
            await self.apply(channel_id)

    async def apply(self, channel_id: str) -> None:
        """Bring the channel's worker in line with its row: start, restart with new settings, or stop."""
        if not self._started:
            return
        async with self._lock:
            worker = self.workers.pop(channel_id, None)
            self.failed.pop(channel_id, None)
            if worker is not None:
                await worker.stop()
            async with self.database.session() as session:
                row = await session.get(AnalyticsChannel, channel_id)
                if row is None or not row.enabled:
                    return
                try:
                    worker = await self._worker_for(session, row)
                    await worker.start()
                except (AnalyticsError, OSError, ValueError) as exc:
                    log.error("analytics channel %s cannot start: %s", row.name, exc)
                    self.failed[channel_id] = {"state": "failed", "error": str(exc), "name": row.name}
                    return
            self.workers[channel_id] = worker
            log.info(
                "analytics channel %s started on %s (run %s)", worker.name, worker.display, worker.run_id
            )

    async def stop(self) -> None:
        """Stop every channel, flushing each run: SIGINT/SIGTERM end here through the app's lifespan."""
        self._started = False
        async with self._lock:
            workers, self.workers = self.workers, {}
            results = await asyncio.gather(
                *(w.stop("interrupted") for w in workers.values()), return_exceptions=True
            )
            for worker, result in zip(workers.values(), results, strict=True):
                if isinstance(result, BaseException):
                    log.error("analytics channel %s did not stop cleanly: %s", worker.name, result)
            for detector in self._detectors.values():
                detector.close()
            self._detectors.clear()

    def health(self) -> dict[str, dict[str, Any]]:
        report = {cid: dict(info) for cid, info in self.failed.items()}
        for channel_id, worker in self.workers.items():
            report[channel_id] = {"name": worker.name, "run_id": worker.run_id, **worker.stats.to_dict()}
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
        writer = RunWriter(self.database, bus=self.bus, flush_interval=self.settings.analytics_flush_seconds)
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

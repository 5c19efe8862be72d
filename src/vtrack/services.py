"""The container of long-lived services that app.py builds once and hands to the API and jobs."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
from prometheus_client import CollectorRegistry

from vtrack.analytics.live.manager import ChannelManager
from vtrack.archive.layout import ArchiveLayout
from vtrack.blobstore.base import BlobStore
from vtrack.db.session import Database
from vtrack.events.bus import EventBus
from vtrack.health.monitor import HealthMonitor
from vtrack.jobs.registry import JobRegistry
from vtrack.jobs.runner import JobRunner
from vtrack.registry.cloud_accounts import CloudAccounts
from vtrack.security.accounts import Authenticator
from vtrack.security.encryption import Keyring
from vtrack.security.signed_urls import UrlSigner
from vtrack.security.tokens import TokenService
from vtrack.settings import Settings
from vtrack.sync.service import SyncCoordinator


@dataclass
class Services:
    settings: Settings
    database: Database
    keyring: Keyring
    tokens: TokenService
    authenticator: Authenticator
    job_registry: JobRegistry
    jobs: JobRunner
    metrics: CollectorRegistry
    blobs: BlobStore
    signer: UrlSigner
    http: httpx.AsyncClient  # shared by requests to devices (snapshot URLs); closed on shutdown
    events: EventBus = field(default_factory=EventBus)
    health: HealthMonitor = field(init=False)  # set by vtrack.health.jobs.register_health
    sync: SyncCoordinator = field(init=False)  # set by vtrack.sync.wiring.register_sync
    archive_layout: ArchiveLayout = field(init=False)  # set by vtrack.sync.wiring.register_sync
    cloud: CloudAccounts = field(init=False)  # set by vtrack.sync.wiring.register_sync
    analytics: ChannelManager = field(init=False)  # set by vtrack.analytics.wiring.register_analytics

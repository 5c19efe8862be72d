"""All tables; importing this module registers them on Base.metadata (Alembic and tests rely on that)."""

from vtrack.db.models.analytics import (
    AnalyticsChannel,
    AnalyticsCount,
    AnalyticsEvent,
    AnalyticsLease,
    AnalyticsNode,
    AnalyticsRun,
    AnalyticsTrack,
)
from vtrack.db.models.audit import AuditEntry
from vtrack.db.models.cameras import Camera, CameraGroup, CameraHealth, CameraSnapshot
from vtrack.db.models.cloud import CloudAccount, CloudFile, OAuthState
from vtrack.db.models.events import SystemEvent
from vtrack.db.models.jobs import JobRun
from vtrack.db.models.sources import VideoSource
from vtrack.db.models.sync import DownloadedFile, Recording, SyncStatus
from vtrack.db.models.users import Role, User, WebSession

__all__ = [
    "AnalyticsChannel",
    "AnalyticsCount",
    "AnalyticsEvent",
    "AnalyticsLease",
    "AnalyticsNode",
    "AnalyticsRun",
    "AnalyticsTrack",
    "AuditEntry",
    "Camera",
    "CameraGroup",
    "CameraHealth",
    "CameraSnapshot",
    "CloudAccount",
    "CloudFile",
    "DownloadedFile",
    "JobRun",
    "OAuthState",
    "Recording",
    "Role",
    "SyncStatus",
    "SystemEvent",
    "User",
    "VideoSource",
    "WebSession",
]

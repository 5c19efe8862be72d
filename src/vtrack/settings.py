"""Runtime configuration, read from VTRACK_* environment variables and an optional vtrack.toml."""

from __future__ import annotations

import os
import socket
from datetime import timedelta
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class Settings(BaseSettings):
    """Everything the application is built from; app.build() takes one of these and nothing global."""

    model_config = SettingsConfigDict(env_prefix="VTRACK_", toml_file="vtrack.toml", extra="ignore")

    data_dir: Path = Path("data")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy async URL; default is SQLite (WAL) in data_dir/vtrack.db"
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="base64 of 32 bytes for AES-256-GCM; default is a 0600 key file in data_dir",
    )
    jwt_secret: SecretStr | None = Field(
        default=None, description="HMAC key for tokens; default is derived from the key file"
    )
    admin_password: SecretStr | None = None
    access_token_minutes: int = Field(default=30, ge=1, le=24 * 60)
    refresh_token_days: int = Field(default=14, ge=1, le=365)
    web_session_hours: float = Field(default=12, gt=0, le=24 * 30, description="dashboard sign-in lifetime")
    web_node_modules: Path | None = Field(
        default=None,
        description="where `npm ci` put the dashboard's scripts; default: the checkout's node_modules",
    )
    web_secure_cookies: bool = Field(
        default=False, description="mark the dashboard's cookies Secure (set when served over HTTPS)"
    )
    login_max_failures: int = Field(default=5, ge=1, description="failures per window before 429")
    login_window_seconds: int = Field(default=300, ge=1)
    timezone: str = "Asia/Ho_Chi_Minh"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    log_level: str = "INFO"

    # Health monitoring (step 3): one round over every active camera this often, this many at a time.
    health_interval_seconds: float = Field(default=60, ge=1, le=24 * 3600)
    health_concurrency: int = Field(default=100, ge=1, le=5000)
    health_timeout_seconds: float = Field(default=5.0, gt=0, le=120)
    health_history_days: int = Field(default=30, ge=1, le=3650)
    # Snapshots: how long a captured JPEG (and its thumbnail) is kept before the daily cleanup deletes it.
    snapshot_ttl_hours: float = Field(default=7 * 24, gt=0, le=24 * 3650)
    # The dashboard's pictures: each active camera gets a new snapshot this often (0: only on request).
    snapshot_refresh_minutes: float = Field(default=15, ge=0, le=24 * 60)
    # Discovery: how many host:port pairs are probed at once.
    discovery_concurrency: int = Field(default=256, ge=1, le=4096)
    # Blob store: where snapshots and thumbnails are kept; a directory by default, or any S3-compatible store.
    blob_store: Literal["local", "s3"] = "local"
    blob_dir: Path | None = Field(default=None, description="default: data_dir/blobs")
    s3_bucket: str | None = None
    s3_prefix: str = Field(default="", description="key prefix inside the bucket, e.g. 'vtrack/'")
    s3_endpoint_url: str | None = Field(
        default=None, description="for S3-compatible stores (MinIO, R2, B2); unset for AWS"
    )
    s3_region: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    # Recording archive (step 4): {archive_dir}/{source}/{camera}/{YYYY-MM-DD}/{HHMMSS}-{HHMMSS}.mp4.
    archive_dir: Path | None = Field(default=None, description="default: data_dir/archive")
    archive_reserve_gb: float = Field(
        default=5.0,
        ge=0,
        allow_inf_nan=False,
        description="sync pauses when the archive disk has less free than this (GB)",
    )
    archive_reserve_inodes: int = Field(default=10_000, ge=0)
    retention_max_age_days: int | None = Field(default=None, ge=1, description="per camera; unset: keep")
    retention_max_gb_per_camera: float | None = Field(
        default=None, gt=0, allow_inf_nan=False, description="unset: no limit"
    )
    # Recording sync (step 4): auto-sync every interval over the lookback window, a few sessions per NVR.
    sync_interval_seconds: int = Field(default=600, ge=30, le=7 * 24 * 3600)
    sync_lookback_hours: float = Field(default=24, gt=0, le=24 * 90)
    sync_device_concurrency: int = Field(default=2, ge=1, le=32)
    sync_chunk_minutes: float = Field(default=10, gt=0, le=24 * 60)
    sync_request_timeout_seconds: float = Field(default=20, gt=0, le=600)
    # Cloud sources (step 5). Each provider's OAuth app, registered by the operator with the provider:
    # {"dropbox": {"client_id": "...", "client_secret": "..."}, "onedrive": {...}, "google_drive": {...}}.
    cloud_clients: dict[str, dict[str, str]] = Field(default_factory=dict)
    # Base URLs over the providers' defaults (a regional Ezviz host, a proxy, a test fake):
    # {"dropbox": {"api": "https://...", "content": "..."}}.
    cloud_urls: dict[str, dict[str, str]] = Field(default_factory=dict)
    public_url: str = Field(
        default="http://127.0.0.1:8000", description="how browsers reach vtrack (OAuth redirects come back)"
    )
    cloud_concurrency: int = Field(default=8, ge=1, le=64, description="downloads at once per cloud source")
    # People analytics (step 6): the server analyses every enabled channel in analytics_channels,
    # unless analytics_live is off (an API-only node; channels then run elsewhere).
    analytics_live: bool = True
    analytics_detector: Literal["yolox", "yolo", "motion"] | None = Field(
        default=None, description="default: yolox when analytics_model is set, else motion (no model)"
    )
    analytics_model: Path | None = Field(default=None, description="YOLOX or Ultralytics YOLO ONNX file")
    analytics_gender_model: Path | None = Field(
        default=None, description="ONNX or OpenVINO IR; unset: gender is unknown"
    )
    analytics_confidence: float = Field(default=0.1, gt=0, le=1)
    analytics_threads: int = Field(default=1, ge=1, le=64, description="ONNX Runtime threads per model")
    analytics_frame_rate: float = Field(
        default=15, gt=0, le=120, description="frames a channel analyses per second, for the tracker's memory"
    )
    analytics_reconnect_seconds: float = Field(default=5.0, gt=0, le=600, description="first retry; doubles")
    analytics_reconnect_max_seconds: float = Field(default=60.0, gt=0, le=3600)
    analytics_flush_seconds: float = Field(default=0.1, gt=0, le=60, description="event batches, at most")
    analytics_site_file: Path | None = Field(
        default=None, description="a site JSON (seed 002) whose channels are imported on start"
    )
    redis_url: str | None = Field(default=None, description="redis://... to publish live counts")

    # Scale-out (step 8): with a broker, jobs run on Celery workers (`vtrack worker`) and schedules on
    # Celery beat (`vtrack beat`); without one, in the server's process.
    broker_url: str | None = Field(default=None, description="redis://... : run jobs on Celery workers")
    node_name: str | None = Field(
        default=None, max_length=200, description="this process in leases and runs; default host:pid"
    )
    job_time_limit_seconds: float = Field(
        default=6 * 3600, gt=0, le=7 * 24 * 3600, description="soft limit: a run is cancelled after it"
    )
    job_hard_limit_grace_seconds: float = Field(
        default=120, gt=0, le=3600, description="after the soft limit, the worker process is killed"
    )
    job_max_attempts: int = Field(default=4, ge=1, le=20, description="tries per run on transient errors")
    job_retry_seconds: float = Field(default=5, gt=0, le=3600, description="first retry delay; doubles")
    job_lease_seconds: float = Field(
        default=30, ge=3, le=3600, description="a run whose worker stopped heartbeating this long is resumed"
    )
    worker_concurrency: int = Field(default=2, ge=1, le=256, description="job processes per worker")
    health_shards: int = Field(
        default=1,
        ge=1,
        le=256,
        description="split each health round into this many jobs (workers share them)",
    )
    analytics_lease_seconds: float = Field(
        default=15,
        ge=3,
        le=300,
        description="a live channel whose node stopped heartbeating moves after this",
    )
    analytics_max_channels: int = Field(
        default=0, ge=0, le=10_000, description="live channels this node runs at most (0: no limit)"
    )

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        ZoneInfo(value)
        return value

    @field_validator("secret_key", "jwt_secret")
    @classmethod
    def _not_a_placeholder(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value().lower() in {"changeme", "change-me", "secret", ""}:
            raise ValueError("refusing a placeholder secret; unset it to use the generated key file")
        return value

    @model_validator(mode="after")
    def _s3_is_complete(self) -> Settings:
        if self.blob_store == "s3":
            missing = [
                f"VTRACK_{name.upper()}"
                for name in ("s3_bucket", "s3_access_key_id", "s3_secret_access_key")
                if not getattr(self, name)
            ]
            if missing:
                raise ValueError(f"VTRACK_BLOB_STORE=s3 needs {', '.join(missing)}")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'vtrack.db').resolve()}"

    @property
    def resolved_blob_dir(self) -> Path:
        return self.blob_dir if self.blob_dir is not None else self.data_dir / "blobs"

    @property
    def resolved_archive_dir(self) -> Path:
        return self.archive_dir if self.archive_dir is not None else self.data_dir / "archive"

    @property
    def snapshot_ttl(self) -> timedelta:
        return timedelta(hours=self.snapshot_ttl_hours)

    @property
    def node(self) -> str:
        return self.node_name or f"{socket.gethostname()}:{os.getpid()}"

    @property
    def key_file(self) -> Path:
        return self.data_dir / "secret.key"

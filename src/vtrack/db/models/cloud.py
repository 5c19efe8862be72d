"""Cloud sources: signed-in provider accounts, sign-ins in flight, and each synced cloud file.

A `cloud_accounts` row is one sign-in (a Dropbox account, an Imou app key) owned by one user; several
sources may sync different folders of it. Its credentials (OAuth tokens or app secrets) are one
encrypted JSON blob, rewritten whole on every refresh, so a rotated refresh token and its access token
are saved together or not at all; `version` goes up on each write, which is how a second process that
raced a refresh notices and reloads instead of spending a refresh token twice.

`cloud_files` is the archive index of cloud sources, as `downloaded_files` is for device recordings:
one row per provider file id, so a file renamed or moved in the cloud is moved in the archive rather
than fetched again, and its `content_hash` lets an identical copy elsewhere be linked, not downloaded.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from vtrack.db.base import Base, IdMixin, TimestampMixin
from vtrack.db.types import UTCDateTime


class CloudAccount(IdMixin, TimestampMixin, Base):
    __tablename__ = "cloud_accounts"
    __table_args__ = (Index("ix_cloud_accounts_owner_provider", "owner_id", "provider"),)

    owner_id: Mapped[str] = mapped_column(String(36), ForeignKey("users.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(32), nullable=False)
    label: Mapped[str] = mapped_column(String(255), nullable=False)  # the provider's account name or id
    secret_encrypted: Mapped[str] = mapped_column(Text, nullable=False)  # TokenSet or app keys, as JSON
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer, default=0, nullable=False)


class OAuthState(TimestampMixin, Base):
    """A sign-in between /auth and /oauth/callback: the PKCE verifier never leaves the server."""

    __tablename__ = "oauth_states"

    state: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner_id: Mapped[str] = mapped_column(String(36), ForeignKey("users.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(32), nullable=False)
    verifier_encrypted: Mapped[str] = mapped_column(Text, nullable=False)
    redirect_uri: Mapped[str] = mapped_column(String(2048), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class CloudFile(IdMixin, TimestampMixin, Base):
    __tablename__ = "cloud_files"
    __table_args__ = (
        UniqueConstraint("source_id", "remote_id", name="uq_cloud_files_source_remote"),
        Index("ix_cloud_files_source_hash", "source_id", "content_hash"),
        Index("ix_cloud_files_source_state", "source_id", "state"),
    )

    source_id: Mapped[str] = mapped_column(String(36), ForeignKey("video_sources.id", ondelete="CASCADE"))
    remote_id: Mapped[str] = mapped_column(String(1024), nullable=False)
    remote_path: Mapped[str] = mapped_column(String(2048), nullable=False)
    size_bytes: Mapped[int] = mapped_column(BigInteger, nullable=False)
    modified_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    content_hash: Mapped[str | None] = mapped_column(String(255))
    content_type: Mapped[str | None] = mapped_column(String(128))
    path: Mapped[str | None] = mapped_column(String(2048))  # relative to the archive root, once archived
    sha256: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default="pending", nullable=False)  # as FILE_STATES
    attempts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    error: Mapped[str | None] = mapped_column(String(1000))
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

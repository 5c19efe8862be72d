"""Key rotation: every encrypted column re-encrypted under the new key, in one transaction."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from vtrack.db.models import AnalyticsChannel, Camera, CloudAccount, OAuthState, VideoSource
from vtrack.registry.analytics_channels import CHANNEL_PASSWORD
from vtrack.registry.cameras import PASSWORD_PURPOSE
from vtrack.registry.cloud_accounts import ACCOUNT_SECRET, OAUTH_VERIFIER
from vtrack.security.encryption import Keyring, SecretError


@dataclass(frozen=True)
class EncryptedColumn:
    column: InstrumentedAttribute[str | None]
    key: InstrumentedAttribute[str]
    purpose: str


# Every column that holds ciphertext; a new one is added here or rotation would leave it behind.
ENCRYPTED_COLUMNS = (
    EncryptedColumn(Camera.password_encrypted, Camera.id, PASSWORD_PURPOSE),
    EncryptedColumn(VideoSource.secret_encrypted, VideoSource.id, "source.secret"),
    EncryptedColumn(CloudAccount.secret_encrypted, CloudAccount.id, ACCOUNT_SECRET),
    EncryptedColumn(OAuthState.verifier_encrypted, OAuthState.state, OAUTH_VERIFIER),
    EncryptedColumn(AnalyticsChannel.password_encrypted, AnalyticsChannel.id, CHANNEL_PASSWORD),
)


async def reencrypt_all(session: AsyncSession, keyring: Keyring) -> int:
    """Returns how many values were rewritten; values already under the current key are left alone."""
    changed = 0
    for spec in ENCRYPTED_COLUMNS:
        table = spec.column.class_
        rows = (await session.execute(select(spec.key, spec.column).where(spec.column.is_not(None)))).all()
        for row_id, token in rows:
            if token is None or keyring.key_id_of(token) == keyring.current_id:
                continue
            try:
                plaintext = keyring.decrypt(token, spec.purpose)
            except SecretError as exc:
                raise SecretError(f"{table.__tablename__} {row_id}: {exc}") from exc
            await session.execute(
                update(table)
                .where(spec.key == row_id)
                .values({spec.column.key: keyring.encrypt(plaintext, spec.purpose)})
            )
            changed += 1
    return changed


async def keys_in_use(session: AsyncSession, keyring: Keyring) -> set[str]:
    used: set[str] = set()
    for spec in ENCRYPTED_COLUMNS:
        for token in (await session.execute(select(spec.column).where(spec.column.is_not(None)))).scalars():
            kid = keyring.key_id_of(token) if token else None
            if kid:
                used.add(kid)
    return used

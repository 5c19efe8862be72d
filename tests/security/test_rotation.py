"""Key rotation covers every encrypted column: one left out would be unreadable once its key is retired."""

from __future__ import annotations

import os
from datetime import timedelta

from sqlalchemy import select

from vtrack.db.base import Base
from vtrack.db.models import AnalyticsChannel, CloudAccount, OAuthState, Role, User
from vtrack.db.session import Database
from vtrack.db.types import utcnow
from vtrack.registry.analytics_channels import CHANNEL_PASSWORD
from vtrack.registry.cloud_accounts import ACCOUNT_SECRET, OAUTH_VERIFIER
from vtrack.security.encryption import Keyring
from vtrack.security.rotation import ENCRYPTED_COLUMNS, keys_in_use, reencrypt_all


def test_every_encrypted_column_is_rotated() -> None:
    """Found by this test: step 5's cloud accounts and sign-ins were missing from rotation."""
    encrypted = {
        f"{table.name}.{column.name}"
        for table in Base.metadata.tables.values()
        for column in table.columns
        if column.name.endswith("_encrypted")
    }
    rotated = {f"{spec.column.class_.__tablename__}.{spec.column.key}" for spec in ENCRYPTED_COLUMNS}
    assert encrypted == rotated


async def test_cloud_and_channel_secrets_survive_a_rotation(database: Database) -> None:
    old = Keyring(current=os.urandom(32))
    async with database.transaction() as session:
        session.add(Role(name="tester", description="", permissions=[]))
        await session.flush()
        user = User(username="owner", password_hash="x", role_name="tester")
        session.add(user)
        await session.flush()
        session.add_all(
            [
                CloudAccount(
                    owner_id=user.id,
                    provider="dropbox",
                    label="a",
                    secret_encrypted=old.encrypt('{"access_token": "t"}', ACCOUNT_SECRET),
                ),
                OAuthState(
                    state="s" * 43,
                    owner_id=user.id,
                    provider="dropbox",
                    verifier_encrypted=old.encrypt("verifier", OAUTH_VERIFIER),
                    redirect_uri="http://127.0.0.1/cb",
                    expires_at=utcnow() + timedelta(minutes=5),
                ),
                AnalyticsChannel(
                    name="door",
                    url="rtsp://127.0.0.1/x",
                    password_encrypted=old.encrypt("pw", CHANNEL_PASSWORD),
                ),
            ]
        )
    new = Keyring(current=os.urandom(32), retired=[old.current])
    async with database.transaction() as session:
        assert await reencrypt_all(session, new) == 3
    only_new = Keyring(current=new.current)  # the old key is gone after a rotation
    async with database.session() as session:
        assert await keys_in_use(session, new) == {new.current_id}
        account = (await session.scalars(select(CloudAccount))).one()
        state = (await session.scalars(select(OAuthState))).one()
        channel = (await session.scalars(select(AnalyticsChannel))).one()
        assert only_new.decrypt(account.secret_encrypted, ACCOUNT_SECRET) == '{"access_token": "t"}'
        assert only_new.decrypt(state.verifier_encrypted, OAUTH_VERIFIER) == "verifier"
        assert channel.password_encrypted is not None
        assert only_new.decrypt(channel.password_encrypted, CHANNEL_PASSWORD) == "pw"

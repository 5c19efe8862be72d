"""Saving a cloud source: a folder of a signed-in account, a bucket, or a folder on the server.

Nothing is saved that cannot be read: the connector's own connection test (`account()`: who am I, may
I list this bucket, does this folder exist) runs first, and a refusal is a 422 on the credential field,
an unreachable provider a 502, exactly as a device source's probe. The source belongs to its creator.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from vtrack.db.models import User, VideoSource
from vtrack.db.repositories.sources import SourceRepository
from vtrack.db.repositories.sync import SyncRepository
from vtrack.db.types import utcnow
from vtrack.devices.errors import DeviceError
from vtrack.errors import ConflictError, InvalidInputError, NotFoundError, UpstreamError
from vtrack.registry.cloud_accounts import CloudAccounts, is_admin, require_admin
from vtrack.registry.source_schemas import SourceCreate, SourceUpdate
from vtrack.registry.sources import SOURCE_PASSWORD
from vtrack.security.audit import Auditor
from vtrack.security.encryption import Keyring
from vtrack.sources.base import FolderBrowser
from vtrack.sources.providers import SignIn, provider

# The field a refusal (auth) or an absence (not_found) is about, by how the provider signs in.
_FIELDS = {
    SignIn.ACCESS_KEY: {"auth": "secret_access_key", "not_found": "bucket"},
    SignIn.FOLDER: {"auth": "path", "not_found": "path"},
    SignIn.OAUTH: {"auth": "account_id", "not_found": "root"},
    SignIn.APP_KEY: {"auth": "account_id", "not_found": "device_ids"},
}


class CloudSourceService:
    def __init__(
        self, session: AsyncSession, keyring: Keyring, auditor: Auditor, accounts: CloudAccounts
    ) -> None:
        self.session = session
        self.keyring = keyring
        self.audit = auditor
        self.accounts = accounts

    async def create(self, user: User, data: SourceCreate) -> VideoSource:
        p = provider(str(data.type))
        if await SourceRepository(self.session).name_taken(data.name, None):
            raise ConflictError(
                f"a source named {data.name!r} already exists",
                [{"field": "name", "message": "already taken"}],
            )
        source = VideoSource(
            name=data.name,
            source_type=p.name,
            protocol=p.name,
            owner_id=user.id,
            detected_cameras=[],
            selected_cameras=[],
            status="ok",
        )
        if p.sign_in is SignIn.FOLDER:
            require_admin(user, "a source reading a folder on the server")
            source.config = {"path": data.path}
        elif p.sign_in is SignIn.ACCESS_KEY:
            source.username = data.access_key_id
            source.secret_encrypted = self.keyring.encrypt(data.secret_access_key or "", SOURCE_PASSWORD)
            source.host = data.endpoint_url
            source.config = {
                "bucket": data.bucket,
                "prefix": data.prefix.strip("/"),
                "endpoint_url": data.endpoint_url,
                "region": data.region,
            }
        else:
            account = await self.accounts.owned(user, data.account_id or "")
            if account.provider != p.name:
                raise InvalidInputError(
                    f"account {account.id} is a {account.provider} account, not {p.name}",
                    [{"field": "account_id", "message": f"not a {p.label} account"}],
                )
            source.account_id = account.id
            source.host = account.label
            config: dict[str, Any] = {"root": data.root}
            if data.device_ids:
                config["device_ids"] = list(data.device_ids)
            source.config = config
        source.config = {**source.config, "account": await self.test(source)}
        source.probed_at = utcnow()
        SourceRepository(self.session).add(source)
        await self.session.flush()
        self.audit.record("source.create", "source", source.id, name=source.name, type=p.name)
        return source

    async def test(self, source: VideoSource) -> str:
        """The connection test; returns what the provider says this is (account name, bucket, path)."""
        sign_in = provider(source.source_type).sign_in
        fields = _FIELDS[sign_in]
        try:
            connector = await self.accounts.connector(source)
            try:
                label = await connector.account()
                if isinstance(connector, FolderBrowser) and source.config.get("root"):
                    await connector.list_folders(source.config["root"])  # a missing folder: not_found -> root
                return label
            finally:
                await connector.close()
        except DeviceError as error:
            if error.kind in fields:
                raise InvalidInputError(
                    f"{source.source_type}: {error.message}",
                    [{"field": fields[error.kind], "message": error.message}],
                ) from None
            raise UpstreamError(error.message, error.kind) from None

    async def update(self, source: VideoSource, data: SourceUpdate) -> None:
        """Name, on/off and, for drives, the folder; credentials live in the account, not here."""
        device_only = sorted(data.model_fields_set & {"username", "password", "selected_cameras"})
        if data.root is not None and provider(source.source_type).sign_in is not SignIn.OAUTH:
            device_only.append("root")
        if device_only:
            raise InvalidInputError(
                "cloud sources take new credentials by connecting the account again; only drives have a root",
                [{"field": name, "message": f"not for {source.source_type} sources"} for name in device_only],
            )
        if data.name is not None and data.name != source.name:
            if await SourceRepository(self.session).name_taken(data.name, source.id):
                raise ConflictError(
                    f"a source named {data.name!r} already exists",
                    [{"field": "name", "message": "already taken"}],
                )
            source.name = data.name
        if data.is_active is not None:
            source.is_active = data.is_active
        if data.root is not None and data.root != source.config.get("root"):
            source.config = {**source.config, "root": data.root}
            source.config = {**source.config, "account": await self.test(source)}  # refuses a missing folder
            # The change cursor belongs to the old folder's feed: the new folder is listed from the start.
            (await SyncRepository(self.session).status(source.id)).cursor = None
        self.audit.record("source.update", "source", source.id, fields=sorted(data.model_fields_set))


def can_see(user: User, source: VideoSource) -> bool:
    """Cloud sources are their owner's (and admins'); device sources (no owner) are the site's."""
    return source.owner_id in (None, user.id) or is_admin(user)


async def visible_source(session: AsyncSession, user: User, source_id: str) -> VideoSource:
    """The source if this user may see it; otherwise as if it did not exist (no probing for ids)."""
    source = await SourceRepository(session).get(source_id)
    if source is None or not can_see(user, source):
        raise NotFoundError(f"source {source_id} not found")
    return source

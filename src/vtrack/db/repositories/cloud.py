"""Cloud accounts, sign-ins in flight, and the cloud archive index (cloud_files)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from vtrack.db.models import CloudAccount, CloudFile, OAuthState


class CloudRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- accounts ------------------------------------------------------------------------------------

    async def account(self, account_id: str, *, for_update: bool = False) -> CloudAccount | None:
        query = select(CloudAccount).where(CloudAccount.id == account_id)
        if for_update:
            query = query.with_for_update()  # PostgreSQL: one refresh per account across processes
        return (await self.session.execute(query)).scalar_one_or_none()

    async def accounts(self, owner_id: str | None, provider: str | None = None) -> Sequence[CloudAccount]:
        """An owner's accounts (None: everyone's, for admins)."""
        query = select(CloudAccount).order_by(CloudAccount.provider, CloudAccount.label)
        if owner_id is not None:
            query = query.where(CloudAccount.owner_id == owner_id)
        if provider is not None:
            query = query.where(CloudAccount.provider == provider)
        return (await self.session.execute(query)).scalars().all()

    # -- sign-ins ------------------------------------------------------------------------------------

    async def take_state(self, state: str) -> OAuthState | None:
        """The sign-in for `state`, removed: a state is good for one callback."""
        row = await self.session.get(OAuthState, state)
        if row is not None:
            await self.session.delete(row)
            await self.session.flush()
        return row

    async def drop_expired_states(self, now: datetime) -> int:
        result = await self.session.execute(delete(OAuthState).where(OAuthState.expires_at < now))
        return int(getattr(result, "rowcount", 0) or 0)

    # -- files ---------------------------------------------------------------------------------------

    async def files_by_remote(self, source_id: str, remote_ids: Collection[str]) -> dict[str, CloudFile]:
        found: dict[str, CloudFile] = {}
        ids = list(remote_ids)
        for start in range(0, len(ids), 500):  # stay under SQLite's bound-parameter limit
            query = select(CloudFile).where(
                CloudFile.source_id == source_id, CloudFile.remote_id.in_(ids[start : start + 500])
            )
            found.update({row.remote_id: row for row in (await self.session.execute(query)).scalars()})
        return found

    async def archived_by_hash(self, source_id: str, hashes: Collection[str]) -> dict[str, CloudFile]:
        """A done file per content hash: an identical copy that can be linked instead of fetched."""
        found: dict[str, CloudFile] = {}
        values = [h for h in hashes if h]
        for start in range(0, len(values), 500):
            query = select(CloudFile).where(
                CloudFile.source_id == source_id,
                CloudFile.state == "done",
                CloudFile.content_hash.in_(values[start : start + 500]),
            )
            for row in (await self.session.execute(query)).scalars():
                found.setdefault(row.content_hash or "", row)
        return found

    async def unfinished(self, source_id: str) -> Sequence[CloudFile]:
        """Files a failed or killed run did not finish: retried before the change feed moves on."""
        query = select(CloudFile).where(
            CloudFile.source_id == source_id, CloudFile.state.in_(("pending", "downloading", "failed"))
        )
        return (await self.session.execute(query)).scalars().all()

    async def file_counts(self, source_id: str) -> tuple[dict[str, int], int]:
        rows = await self.session.execute(
            select(CloudFile.state, func.count(), func.coalesce(func.sum(CloudFile.size_bytes), 0))
            .where(CloudFile.source_id == source_id)
            .group_by(CloudFile.state)
        )
        counts: dict[str, int] = {}
        done_bytes = 0
        for state, count, size in rows.all():
            counts[str(state)] = int(count)
            if state == "done":
                done_bytes = int(size)
        return counts, done_bytes

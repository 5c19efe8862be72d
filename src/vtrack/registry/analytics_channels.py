"""Analytics channels' stored secrets, and the site file (seed 002) a server imports when it starts."""

from __future__ import annotations

import logging
from pathlib import Path

from vtrack.analytics.errors import AnalyticsConfigError
from vtrack.analytics.site_config import load_site
from vtrack.db.repositories.analytics import ChannelRepository
from vtrack.db.session import Database
from vtrack.security.audit import Actor, Auditor
from vtrack.security.encryption import Keyring

log = logging.getLogger(__name__)

CHANNEL_PASSWORD = "analytics.channel.password"  # noqa: S105  (an AEAD label, not a password)


def encrypt_password(keyring: Keyring, password: str | None) -> str | None:
    return keyring.encrypt(password, CHANNEL_PASSWORD) if password else None


async def import_site_file(database: Database, keyring: Keyring, path: Path) -> int:
    """Upsert the file's channels (all or nothing); returns how many. A bad file is logged, not fatal:
    the server keeps serving the channels it has, and the log names the row to fix."""
    try:
        site = load_site(path)
    except AnalyticsConfigError as exc:
        log.error("analytics site file %s not imported: %s", path, exc)
        return 0
    async with database.transaction() as session:
        channels = ChannelRepository(session)
        conflicts = await channels.name_conflicts(site)
        if conflicts:
            names = ", ".join(site.channels[i].name for i in conflicts)
            log.error("analytics site file %s not imported: channel name(s) taken by others: %s", path, names)
            return 0
        done = await channels.upsert_site(site, lambda password: encrypt_password(keyring, password))
        Auditor(session, Actor.system("site file")).record(
            "analytics.channel.import", "analytics_site", site.site, file=str(path), channels=len(done)
        )
    log.info("analytics site %s: %d channel(s) imported from %s", site.site, len(done), path)
    return len(done)

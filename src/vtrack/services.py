"""The container of long-lived services that app.py builds once and hands to the API and jobs."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry

from vtrack.db.session import Database
from vtrack.jobs.embedded import EmbeddedRunner
from vtrack.jobs.registry import JobRegistry
from vtrack.security.accounts import Authenticator
from vtrack.security.encryption import Keyring
from vtrack.security.tokens import TokenService
from vtrack.settings import Settings


@dataclass
class Services:
    settings: Settings
    database: Database
    keyring: Keyring
    tokens: TokenService
    authenticator: Authenticator
    job_registry: JobRegistry
    jobs: EmbeddedRunner
    metrics: CollectorRegistry

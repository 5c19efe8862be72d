"""The cloud providers vtrack knows, and how each signs in: what the API, the UI and the CLI list.

Provider modules are imported only when used, so a server that syncs only S3 never loads the others.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import ModuleType
from typing import Any


class SignIn(StrEnum):
    FOLDER = "folder"  # a path on this server (admins only)
    ACCESS_KEY = "access_key"  # S3: access key id and secret on the source
    OAUTH = "oauth"  # code flow with PKCE (and device code where offered) into a cloud account
    APP_KEY = "app_key"  # camera clouds: an app key and secret, signed requests, into a cloud account


@dataclass(frozen=True)
class Provider:
    name: str
    label: str
    sign_in: SignIn
    module: str
    connector: str
    device_code: bool = False
    camera_cloud: bool = False

    def load(self) -> ModuleType:
        return importlib.import_module(self.module)

    def connector_class(self) -> Any:
        return getattr(self.load(), self.connector)

    def urls(self, overrides: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
        """The provider's base URLs, with the operator's overrides (VTRACK_CLOUD_URLS) on top."""
        defaults: dict[str, str] = dict(getattr(self.load(), "DEFAULT_URLS", {}))
        return {**defaults, **overrides.get(self.name, {})}


PROVIDERS: dict[str, Provider] = {
    p.name: p
    for p in (
        Provider(
            "local", "Folder on the server", SignIn.FOLDER, "vtrack.sources.local", "LocalFolderConnector"
        ),
        Provider("s3", "Amazon S3 / S3-compatible", SignIn.ACCESS_KEY, "vtrack.sources.s3", "S3Connector"),
        Provider("dropbox", "Dropbox", SignIn.OAUTH, "vtrack.sources.dropbox", "DropboxConnector"),
        Provider(
            "onedrive",
            "Microsoft OneDrive",
            SignIn.OAUTH,
            "vtrack.sources.onedrive",
            "OneDriveConnector",
            True,
        ),
        Provider(
            "google_drive",
            "Google Drive",
            SignIn.OAUTH,
            "vtrack.sources.google_drive",
            "GoogleDriveConnector",
            True,
        ),
        Provider(
            "imou", "Imou Cloud", SignIn.APP_KEY, "vtrack.sources.imou", "ImouConnector", camera_cloud=True
        ),
        Provider(
            "ezviz",
            "Ezviz Cloud",
            SignIn.APP_KEY,
            "vtrack.sources.ezviz",
            "EzvizConnector",
            camera_cloud=True,
        ),
    )
}
CLOUD_TYPES = frozenset(PROVIDERS)
ACCOUNT_TYPES = frozenset(p.name for p in PROVIDERS.values() if p.sign_in in (SignIn.OAUTH, SignIn.APP_KEY))


def provider(name: str) -> Provider:
    try:
        return PROVIDERS[name]
    except KeyError:
        raise KeyError(f"unknown cloud provider {name!r}; known: {', '.join(sorted(PROVIDERS))}") from None

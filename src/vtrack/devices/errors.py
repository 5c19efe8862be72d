"""The one error type callers of devices/ catch: a device failed, `kind` says how."""

from __future__ import annotations


class DeviceError(Exception):
    """kind: unreachable, timeout, auth, busy, not_onvif, not_found, codec, fault or protocol."""

    kind = "protocol"

    def __init__(self, message: str, kind: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if kind is not None:
            self.kind = kind

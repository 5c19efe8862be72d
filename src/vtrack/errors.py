"""Domain errors that every layer raises and the API maps to HTTP statuses in one place."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code = "error"

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFoundError(DomainError):
    code = "not_found"


class ConflictError(DomainError):
    code = "conflict"


class InvalidInputError(DomainError):
    """Details are a list of {"field", "message"} (plus "row" for imports), so clients can point at them."""

    code = "validation_error"


class PermissionDeniedError(DomainError):
    code = "forbidden"


class ServiceUnavailableError(DomainError):
    """Something of ours the request needs is down (the job broker): HTTP 503, try again later."""

    code = "unavailable"


class UpstreamError(DomainError):
    """A device or remote service we had to ask failed (unreachable, timeout, refused us): HTTP 502.

    `kind` says which (unreachable, timeout, auth, not_onvif, protocol, ...) so clients can react.
    """

    code = "device_error"

    def __init__(self, message: str, kind: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message, {"kind": kind, **(details or {})})
        self.kind = kind

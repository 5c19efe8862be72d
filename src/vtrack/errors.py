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

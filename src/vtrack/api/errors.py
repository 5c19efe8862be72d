"""Maps every failure to the error envelope with the right status; no handler formats errors itself."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from vtrack.api.envelope import ErrorBody, ErrorEnvelope
from vtrack.archive.errors import ArchiveFullError, ArchiveUnavailableError
from vtrack.errors import (
    ConflictError,
    DomainError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    ServiceUnavailableError,
    UpstreamError,
)
from vtrack.security.accounts import AuthenticationError, ThrottledError
from vtrack.security.encryption import SecretError

log = logging.getLogger(__name__)

_STATUS: dict[type[DomainError], int] = {
    NotFoundError: 404,
    ConflictError: 409,
    UpstreamError: 502,
    ArchiveFullError: 507,
    ArchiveUnavailableError: 503,
    ServiceUnavailableError: 503,
    InvalidInputError: 422,
    PermissionDeniedError: 403,
    AuthenticationError: 401,
    ThrottledError: 429,
}

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    422: "validation_error",
    429: "too_many_attempts",
}

# FastAPI answers a body that is not JSON with a 422 validation error, but one that is not even UTF-8
# text with this 400. Both are the same client mistake, so both get the documented 422.
_BODY_PARSE_ERROR = "There was an error parsing the body"


def error_response(
    status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = ErrorEnvelope(error=ErrorBody(code=code, message=message, details=details))
    return JSONResponse(body.model_dump(by_alias=True, mode="json"), status_code=status, headers=headers)


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    # Inputs are left out on purpose: they may be passwords.
    details = []
    for err in exc.errors():
        location = [str(p) for p in err.get("loc", ())]
        if location and location[0] in {"body", "query", "path", "header"}:
            where, location = location[0], location[1:]
        else:
            where = "body"
        details.append(
            {"in": where, "field": ".".join(location) or None, "message": err.get("msg", "invalid")}
        )
    return details


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(_request: Request, exc: DomainError) -> JSONResponse:
        status = next((s for cls, s in _STATUS.items() if isinstance(exc, cls)), 400)
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, ThrottledError) else None
        if isinstance(exc, AuthenticationError):
            headers = {"WWW-Authenticate": "Bearer"}
        return error_response(status, exc.code, exc.message, exc.details, headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        details = _field_errors(exc)
        first = details[0] if details else {"field": None, "message": "invalid request"}
        message = f"{first['field']}: {first['message']}" if first["field"] else str(first["message"])
        return error_response(422, "validation_error", message, details)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and exc.detail == _BODY_PARSE_ERROR:
            message = "the body is not valid JSON text"
            return error_response(
                422, "validation_error", message, [{"in": "body", "field": None, "message": message}]
            )
        code = _HTTP_CODES.get(exc.status_code, "error")
        headers = dict(exc.headers) if exc.headers else None
        return error_response(exc.status_code, code, str(exc.detail), None, headers)

    @app.exception_handler(IntegrityError)
    async def integrity_error(_request: Request, exc: IntegrityError) -> JSONResponse:
        # A race past the service's own checks (two creates at once): still a conflict, not a 500.
        log.info("integrity error mapped to 409: %s", exc.orig)
        return error_response(409, "conflict", "the change conflicts with existing data")

    @app.exception_handler(Exception)
    async def unexpected_error(_request: Request, _exc: Exception) -> JSONResponse:
        # Starlette still re-raises the exception after this response, so the server logs the traceback;
        # the client gets the envelope and nothing of the internals.
        return error_response(500, "internal_error", "an unexpected error occurred")

    @app.exception_handler(SecretError)
    async def secret_error(_request: Request, exc: SecretError) -> JSONResponse:
        log.error("stored secret could not be decrypted: %s", exc)
        return error_response(
            500, "secret_unreadable", "a stored credential cannot be decrypted with the keys"
        )

"""Refuses NUL characters in URLs at the door.

PostgreSQL cannot store or even compare text containing NUL, so `?q=a%00b` or `/cameras/a%00b` would
reach the driver and fail there with a 500; SQLite would quietly accept it. One check here keeps every
route, present and future, answering the same clear 422 on both databases.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from vtrack.api.errors import error_response


class RejectNulInUrl:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw_path = scope.get("raw_path") or scope["path"].encode()
            query = scope.get("query_string", b"")
            if b"%00" in raw_path.lower() or b"\x00" in raw_path or b"%00" in query or b"\x00" in query:
                response = error_response(
                    422,
                    "validation_error",
                    "the URL contains a NUL character (%00)",
                    [{"in": "url", "field": None}],
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

"""The door in front of every persona route: fault switches first, then Digest auth, as a handler wrapper.

A wrapper rather than an aiohttp middleware because the persona routes share their aiohttp app (and port)
with the ONVIF services, which authenticate with WS-Security inside the SOAP body; an app-wide middleware
would demand HTTP Digest from ONVIF clients too. The port-wide faults (offline, slow) are applied here only
when nothing in front of the routes already applies them: the device server's own middleware does, for every
route on a device port, and a second delay would double `slow_seconds`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from vtrack.simulator.config import Faults
from vtrack.simulator.personas.digest import DigestAuthenticator, Verdict

logger = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Refusal:
    """How a vendor words a refusal: the body and content type of its 401 and 400 answers."""

    unauthorized_body: bytes
    bad_request_body: bytes
    content_type: str


class DeviceGuard:
    """Applies a device's faults and its Digest login to the handlers it protects."""

    def __init__(
        self,
        authenticator: DigestAuthenticator,
        username: str,
        password: str,
        faults: Callable[[], Faults],
        refusal: Refusal,
        *,
        port_faults: bool = True,
    ) -> None:
        self._auth = authenticator
        self._username = username
        self._password = password
        self._faults = faults
        self._refusal = refusal
        self._port_faults = port_faults

    def protect(self, handler: Handler) -> Handler:
        async def guarded(request: web.Request) -> web.StreamResponse:
            faults = self._faults()
            if self._port_faults and faults.offline:
                return _drop_connection(request)
            if self._port_faults and faults.slow_seconds > 0:
                await asyncio.sleep(faults.slow_seconds)
            password = None if faults.wrong_password else self._password
            verdict = self._auth.verify(
                request.method,
                request.raw_path,
                request.headers.get("Authorization"),
                self._username,
                password,
            )
            if verdict is Verdict.OK:
                return await handler(request)
            if verdict is Verdict.BAD_REQUEST:
                return web.Response(
                    status=400,
                    body=self._refusal.bad_request_body,
                    headers={"Content-Type": self._refusal.content_type},
                )
            if request.headers.get("Authorization"):
                logger.info(
                    "digest login refused (%s) for %s %s", verdict.value, request.method, request.path
                )
            return web.Response(
                status=401,
                body=self._refusal.unauthorized_body,
                headers={
                    "Content-Type": self._refusal.content_type,
                    "WWW-Authenticate": self._auth.challenge(stale=verdict is Verdict.STALE),
                },
            )

        return guarded


def _drop_connection(request: web.Request) -> web.StreamResponse:
    """An offline device sends nothing: abort the TCP connection; the response returned is never written."""
    transport = request.transport
    if transport is not None:
        transport.abort()
    return web.Response(status=503)

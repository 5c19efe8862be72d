"""Route one SOAP request to its operation: parse, authenticate, call, serialise, apply faults.

Independent of aiohttp (device_http.py adapts it), so it can be exercised with bytes in, bytes out.
Authentication accepts what cameras accept: a WS-Security UsernameToken (digest or text) or HTTP Digest.
No credentials (or wrong HTTP Digest ones) get HTTP 401 with a Digest challenge and a ter:NotAuthorized
fault, so HTTP-Digest clients can answer the challenge and WS-Security clients read the fault; a wrong
UsernameToken gets HTTP 400 and the same fault, as ONVIF Core prescribes for a sender error.

The no_get_services fault plays firmware older than ONVIF 2.0, which predates GetServices and the
per-service GetServiceCapabilities: those actions get the fault ONVIF Core (5.11.2, generic faults) defines
for an action a device does not implement, env:Receiver / ter:ActionNotSupported, with HTTP 500 as SOAP
1.2's HTTP binding gives every non-Sender fault. Like any action such firmware does not know, it is refused
before credentials are looked at, so a client learns at once that it must use GetCapabilities.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from vtrack.simulator.onvif import device_service, media_service, profile_g
from vtrack.simulator.onvif.device import Device, device_password
from vtrack.simulator.onvif.operations import Service
from vtrack.simulator.onvif.soap import (
    CONTENT_TYPE,
    Request,
    SoapFault,
    action_not_supported,
    envelope,
    fault_envelope,
    not_authorized,
    parse_request,
)
from vtrack.simulator.onvif.wsse import check_username_token, has_username_token
from vtrack.simulator.personas.digest import DigestAuthenticator, Verdict

log = logging.getLogger(__name__)

# Actions added by ONVIF 2.0 (2010), unknown to the older firmware the no_get_services fault plays.
NEWER_THAN_OLD_FIRMWARE = frozenset({"GetServices", "GetServiceCapabilities"})

SERVICES: dict[str, Service] = {
    service.name: service
    for service in (
        device_service.SERVICE,
        media_service.SERVICE,
        profile_g.RECORDING,
        profile_g.SEARCH,
        profile_g.REPLAY,
    )
}


@dataclass
class SoapReply:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = CONTENT_TYPE


@dataclass(frozen=True)
class HttpContext:
    """What authentication needs from the HTTP request besides the envelope."""

    method: str
    path_qs: str
    authorization: str | None


class _Challenge(SoapFault):
    """Missing or failed HTTP credentials: a 401 whose WWW-Authenticate invites a (new) Digest answer."""

    def __init__(self, stale: bool) -> None:
        fault = not_authorized(401)
        super().__init__(fault.code, fault.subcodes, fault.reason, fault.http_status)
        self.stale = stale


def _authenticate(device: Device, request: Request, http: HttpContext, digest: DigestAuthenticator) -> None:
    config = device.config
    password = device_password(config, device.faults)
    if has_username_token(request.header):
        if not check_username_token(request.header, config.username, password, device.now()):
            raise not_authorized(400)
        return
    verdict = digest.verify(http.method, http.path_qs, http.authorization, config.username, password)
    if verdict is not Verdict.OK:
        # HTTP Digest failures stay in HTTP's terms: 401 and a fresh challenge.
        raise _Challenge(stale=verdict is Verdict.STALE)


def _truncate(body: bytes) -> bytes:
    """The malformed_xml fault: the document stops mid-element, like a camera whose web server gave up."""
    return body[: len(body) // 2]


def handle(
    device: Device, service_name: str, body: bytes, http: HttpContext, digest: DigestAuthenticator
) -> SoapReply:
    """Answer one POST to /onvif/<service>: always a SOAP envelope, a result or a fault."""
    service = SERVICES[service_name]
    action = "?"
    try:
        request = parse_request(body)
        action = request.action
        operation = service.operations.get(action) if request.namespace == service.namespace else None
        if device.faults.no_get_services and action in NEWER_THAN_OLD_FIRMWARE:
            raise action_not_supported(f"{request.namespace}:{action}")
        if operation is None or not operation.public:
            _authenticate(device, request, http, digest)
        if operation is None or service_name not in device.services():
            raise action_not_supported(f"{request.namespace}:{action}")
        reply = SoapReply(200, envelope(operation.handler(device, request.operation)))
    except SoapFault as fault:
        log.debug(
            "%s %s on port %s: fault %s (%s)", service_name, action, device.port, fault.subcodes, fault.reason
        )
        reply = SoapReply(fault.http_status, fault_envelope(fault))
        if isinstance(fault, _Challenge):
            reply.headers["WWW-Authenticate"] = digest.challenge(stale=fault.stale)
    else:
        log.debug("%s %s on port %s: ok", service_name, action, device.port)
    if device.faults.malformed_xml:
        reply.body = _truncate(reply.body)
    return reply

"""What can go wrong talking to an ONVIF device, each with a kind the API and CLI can act on."""

from __future__ import annotations

from vtrack.devices.errors import DeviceError


class OnvifError(DeviceError):
    """Base: `kind` is one of unreachable, timeout, auth, fault, not_onvif, protocol."""

    kind = "protocol"


class OnvifUnreachable(OnvifError):
    kind = "unreachable"


class OnvifPortClosed(OnvifUnreachable):
    """Connection refused: the host is up and nothing listens on that port."""


class OnvifNoRoute(OnvifUnreachable):
    """No route to the host (on a LAN: nothing answered ARP), which a sweep meets at every absent address."""


class OnvifTimeout(OnvifError):
    kind = "timeout"


class OnvifNoAnswer(OnvifTimeout):
    """The TCP connection itself timed out: usually no host at that address (or a firewall dropping)."""


class OnvifAuthError(OnvifError):
    kind = "auth"


class OnvifFault(OnvifError):
    """The device answered with a SOAP fault; `subcode` is the ter: code (ActionNotSupported, ...)."""

    kind = "fault"

    def __init__(self, message: str, subcode: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.subcode = subcode
        self.status = status

    @property
    def not_supported(self) -> bool:
        return self.subcode in {"ActionNotSupported", "NotImplemented"} or (self.status == 404)


class NotOnvif(OnvifError):
    """Something answered on the port, but not SOAP (a web UI, an SDK port, ONVIF switched off)."""

    kind = "not_onvif"


class NotHttp(NotOnvif):
    """The port accepts TCP but does not answer HTTP (an SDK port): nothing more to ask it over HTTP."""


class OnvifProtocolError(OnvifError):
    kind = "protocol"

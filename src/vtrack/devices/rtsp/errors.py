"""What can go wrong talking to a camera over RTSP, as errors an operator can act on.

Health checks store `kind` (one word, stable, for grouping and metrics) and show the message (one sentence
saying what happened and where). Messages name host, port and path but never a password: URLs pass
through `safe_url` first, which drops userinfo and masks password-like query values (some cameras take
`?user=...&password=...`).
"""

from __future__ import annotations

import errno
import socket
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from vtrack.devices.errors import DeviceError

_SECRET_QUERY_KEYS = {"password", "passwd", "pwd", "pass", "key", "token", "auth"}


def safe_url(url: str) -> str:
    """`url` without userinfo and with password-like query values masked, fit for messages and logs."""
    try:
        parts = urlsplit(url)
    except ValueError:  # unparseable: keep only what cannot hold a secret
        return url.split("://", 1)[0] + "://(an invalid URL)"
    netloc = parts.netloc.rpartition("@")[2]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(key.lower() in _SECRET_QUERY_KEYS for key, _ in pairs):
            query = urlencode(
                [(k, "***" if k.lower() in _SECRET_QUERY_KEYS else v) for k, v in pairs], safe="*/"
            )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


class RtspError(DeviceError):
    """Base of every RTSP failure; `kind` is the stable one-word category."""

    kind: str = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)


class RtspUnreachable(RtspError):
    """Refused, no route, unknown host name, or the camera hung up without answering."""

    kind = "unreachable"


class RtspTimeout(RtspError):
    kind = "timeout"


class RtspAuthError(RtspError):
    kind = "auth"


class RtspStatusError(RtspError):
    kind = "status"

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class RtspProtocolError(RtspError):
    """The peer does not speak RTSP (a binary vendor port, a web server) or broke the protocol."""

    kind = "protocol"


class UnsupportedCodec(RtspError):
    kind = "codec"


_STATUS_MEANING = {
    400: "rejected the request as malformed (400 Bad Request)",
    403: "forbids access to this stream (403 Forbidden)",
    404: "has no stream at {path} (404 Not Found): check the path or channel number",
    405: "does not allow {method} here (405 Method Not Allowed)",
    453: "has not enough bandwidth for another viewer (453)",
    454: "lost or never had our session (454 Session Not Found)",
    455: "cannot {method} in the session's current state (455)",
    457: "refused the requested time range (457 Invalid Range)",
    459: "does not allow an aggregate {method} (459)",
    461: "does not offer RTP over TCP (461 Unsupported Transport)",
    500: "failed internally (500 Internal Server Error)",
    501: "does not implement {method} (501 Not Implemented)",
    503: "is busy or the stream is unavailable (503 Service Unavailable): too many viewers?",
    505: "does not speak RTSP/1.0 (505)",
    551: "does not support a required option (551 Option Not Supported)",
}


def status_error(status: int, reason: str, *, method: str, url: str) -> RtspStatusError:
    """The RtspStatusError for a final non-2xx answer to `method` on `url`."""
    clean = safe_url(url)
    parts = urlsplit(clean)
    path = parts.path + (f"?{parts.query}" if parts.query else "") or "/"
    meaning = _STATUS_MEANING.get(status, "answered {method} with {status} {reason}")
    text = meaning.format(path=path, method=method, status=status, reason=reason.strip())
    return RtspStatusError(f"camera at {parts.netloc} {text.rstrip()}", status)


def connect_error(host: str, port: int, exc: OSError) -> RtspUnreachable:
    """An operator's reading of a failed TCP connect."""
    where = f"{host}:{port}"
    if isinstance(exc, socket.gaierror):
        return RtspUnreachable(f"cannot resolve host name {host!r}: check the address")
    code = exc.errno
    if code == errno.ECONNREFUSED:
        return RtspUnreachable(f"connection refused by {where} — nothing listens there")
    if code in (errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN):
        return RtspUnreachable(f"no route to {host}: the camera is off or on another network")
    if code == errno.ECONNRESET:
        return RtspUnreachable(f"{where} reset the connection")
    return RtspUnreachable(f"cannot connect to {where}: {exc.strerror or exc}")

"""Why a stream could not be read, as one of a few kinds a caller can act on, with a message a person can.

PyAV raises FFmpeg's errors as `av.error.*` classes keyed by the negative return code: RTSP status codes
arrive as the HTTP classes (FFmpeg maps 401/403/404 to AVERROR_HTTP_*), socket failures as errno-based
OSError subclasses, the interrupt callback (PyAV's `timeout=`) as ExitError, FFmpeg's own socket timeout
(the `timeout` option) as ETIMEDOUT. The mapping below is by class and errno, never by message text.
"""

from __future__ import annotations

import errno
from typing import Literal

import av.error

FailureKind = Literal["auth", "timeout", "unreachable", "codec", "protocol", "not_found"]

_UNREACHABLE_ERRNOS = {
    errno.ECONNREFUSED: "connection refused",
    errno.ECONNRESET: "connection reset",
    errno.ECONNABORTED: "connection aborted",
    errno.EPIPE: "connection closed",
    errno.EHOSTUNREACH: "no route to host",
    errno.ENETUNREACH: "network unreachable",
    errno.EHOSTDOWN: "host is down",
    errno.ENETDOWN: "network is down",
    errno.EADDRNOTAVAIL: "address not available",
    errno.EIO: "I/O error (e.g. the host name could not be resolved)",
}


class StreamError(Exception):
    """A stream could not be opened or read; `message` is safe to show (no credentials)."""

    def __init__(self, kind: FailureKind, message: str) -> None:
        super().__init__(message)
        self.kind: FailureKind = kind
        self.message = message


def _reason(exc: av.error.FFmpegError) -> str:
    # strerror is FFmpeg's av_strerror text; str(exc) would add the URL, credentials included.
    return exc.strerror or type(exc).__name__


def from_ffmpeg(exc: av.error.FFmpegError, where: str, *, with_credentials: bool) -> StreamError:
    """The StreamError for an FFmpeg failure while opening or reading `where` (a URL without userinfo)."""
    reason = _reason(exc)
    if isinstance(exc, av.error.HTTPUnauthorizedError):
        if with_credentials:
            return StreamError("auth", f"the camera rejected the username or password (401) for {where}")
        return StreamError("auth", f"the camera needs a username and password (401) for {where}")
    if isinstance(exc, av.error.HTTPForbiddenError):
        return StreamError("auth", f"the account may not open this stream (403 Forbidden) at {where}")
    if isinstance(exc, av.error.HTTPNotFoundError):
        return StreamError("not_found", f"no stream at {where} (404 Not Found); check the stream path")
    if isinstance(exc, av.error.HTTPServerError):
        return StreamError("protocol", f"the camera failed to serve {where} ({reason})")
    if isinstance(exc, av.error.HTTPClientError):
        return StreamError("protocol", f"the camera refused the request for {where} ({reason})")
    if isinstance(exc, av.error.ExitError | av.error.TimeoutError):
        return StreamError("timeout", f"the camera stopped answering at {where} (no data in time)")
    if isinstance(exc, av.error.DecoderNotFoundError):
        return StreamError("codec", f"the video at {where} uses a codec this build of FFmpeg cannot decode")
    if isinstance(exc, av.error.ProtocolNotFoundError):
        return StreamError("protocol", f"unsupported URL scheme in {where}")
    if isinstance(exc, av.error.InvalidDataError):
        return StreamError("protocol", f"{where} did not answer with a stream FFmpeg understands ({reason})")
    if isinstance(exc, av.error.EOFError):
        return StreamError("protocol", f"{where} closed the stream ({reason})")
    code = exc.errno or 0
    if isinstance(exc, OSError) and code in _UNREACHABLE_ERRNOS:
        return StreamError("unreachable", f"cannot reach {where}: {_UNREACHABLE_ERRNOS[code]}")
    return StreamError("protocol", f"reading {where} failed: {reason}")

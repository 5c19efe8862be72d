"""A quick look at the camera's port before FFmpeg opens it, to tell apart failures FFmpeg reports alike.

FFmpeg answers "Invalid data found when processing input" both for a device that accepts the TCP
connection and closes it without a word (a camera going offline, an RTSP service that crashed) and for a
port that speaks another protocol (a vendor SDK port, a web server), and it only notices the latter after
its socket timeout. One TCP connect and one unauthenticated RTSP OPTIONS (which cameras answer without
credentials, and FFmpeg sends first anyway) classify both at once and cost a round trip on a LAN.
"""

from __future__ import annotations

import errno
import socket
from urllib.parse import urlsplit

from vtrack.media.deadline import Deadline
from vtrack.media.errors import StreamError

DEFAULT_PORTS = {"rtsp": 554, "rtsps": 322, "http": 80, "https": 443, "rtmp": 1935}
_MAX_REPLY = 512
_STATUS_PREFIX = b"RTSP/"
_NO_ROUTE = {errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN, errno.ENETDOWN}


def check_port(url: str, deadline: Deadline) -> None:
    """Raise StreamError unless `url`'s host accepts a connection (and, for rtsp://, answers in RTSP).

    `url` must carry no credentials: it goes on the wire in the OPTIONS request line.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return
    try:
        port = parts.port or DEFAULT_PORTS[scheme]
    except ValueError as exc:
        raise StreamError("protocol", f"invalid port in {url}") from exc
    where = f"{parts.hostname}:{port}"
    budget = max(0.05, min(deadline.remaining(), deadline.read_gap))
    try:
        sock = socket.create_connection((parts.hostname, port), timeout=budget)
    except socket.gaierror as exc:
        raise StreamError("unreachable", f"cannot resolve the host name {parts.hostname!r}") from exc
    except ConnectionRefusedError as exc:
        raise StreamError("unreachable", f"{where} refused the connection (nothing listens there)") from exc
    except TimeoutError as exc:
        raise StreamError(
            "unreachable", f"{where} did not accept a connection within {budget:.1f} s"
        ) from exc
    except OSError as exc:
        reason = "no route to host" if exc.errno in _NO_ROUTE else (exc.strerror or str(exc))
        raise StreamError("unreachable", f"cannot connect to {where}: {reason}") from exc
    with sock:
        if scheme == "rtsp":
            _expect_rtsp(sock, url, where, budget)


def _expect_rtsp(sock: socket.socket, url: str, where: str, budget: float) -> None:
    request = f"OPTIONS {url} RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: vtrack\r\n\r\n"
    reply = b""
    try:
        sock.settimeout(budget)
        sock.sendall(request.encode("ascii", "replace"))
        while len(reply) < len(_STATUS_PREFIX):  # enough to judge; a binary protocol may never send "\n"
            chunk = sock.recv(_MAX_REPLY)
            if not chunk:
                break
            reply += chunk
    except TimeoutError as exc:
        if not reply:
            raise StreamError(
                "timeout", f"{where} accepted the connection but sent no RTSP answer within {budget:.1f} s"
            ) from exc
    except OSError as exc:
        if not reply:
            raise StreamError(
                "unreachable", f"{where} dropped the connection without answering (camera offline?)"
            ) from exc
    if not reply:
        raise StreamError(
            "unreachable",
            f"{where} accepted the connection and closed it without answering (camera offline?)",
        )
    if not reply.startswith(_STATUS_PREFIX):
        what = "HTTP" if reply.startswith(b"HTTP/") else "something else"
        raise StreamError(
            "protocol", f"{where} is not an RTSP server (it answered in {what}); check the port"
        )

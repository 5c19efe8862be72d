"""Camera address parsing and the SSRF guard.

Cameras live on private LANs, so private and loopback ranges are fine; what is refused are the
addresses a server should never be steered to: link-local (incl. cloud metadata at 169.254.169.254),
unspecified, multicast and broadcast. Hostnames are checked against known metadata names here and
their resolved addresses are checked again by the protocol clients at connect time.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit, urlunsplit

RTSP_SCHEMES = frozenset({"rtsp", "rtsps"})
HTTP_SCHEMES = frozenset({"http", "https"})
DEFAULT_PORTS = {"rtsp": 554, "rtsps": 322, "http": 80, "https": 443}
MAX_URL_LENGTH = 2048
_METADATA_HOSTS = frozenset(
    {"metadata", "metadata.google.internal", "metadata.goog", "instance-data", "instance-data.ec2.internal"}
)


class AddressError(ValueError):
    """The URL cannot be used as a camera address; the message says why."""


@dataclass(frozen=True)
class CameraUrl:
    """A URL with any embedded credentials taken out, so the stored URL never carries a password."""

    url: str
    scheme: str
    host: str
    port: int
    username: str | None
    password: str | None


def check_ip(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_link_local:
        raise AddressError(f"{address} is link-local (cloud metadata range); refused")
    if address.is_unspecified:
        raise AddressError(f"{address} is unspecified; give the camera's real address")
    if address.is_multicast:
        raise AddressError(f"{address} is a multicast address; refused")
    if isinstance(address, ipaddress.IPv4Address) and address == ipaddress.IPv4Address("255.255.255.255"):
        raise AddressError("broadcast address refused")
    if isinstance(address, ipaddress.IPv6Address) and address in ipaddress.IPv6Network("fd00:ec2::/32"):
        raise AddressError(f"{address} is a cloud metadata address; refused")


_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")


def _numeric_label(label: str) -> int:
    if label.startswith("0x"):
        return int(label[2:] or "0", 16)
    return int(label, 8 if label.startswith("0") else 10)


def _legacy_ipv4(name: str) -> ipaddress.IPv4Address | None:
    """The address inet_aton (and so getaddrinfo) reads from numeric shorthands like 2852039166,
    0xa9fea9fe, 169.254.43518 or 0251.0376.0251.0376; None when the name is not all-numeric.

    Such names are not DNS names, so they must be checked as the address they stand for."""
    labels = name.split(".")
    if not all(_NUMERIC_LABEL.match(label) for label in labels):
        return None
    if len(labels) > 4:
        raise AddressError(f"{name!r} is not a valid address or hostname")
    try:
        values = [_numeric_label(label) for label in labels]
    except ValueError:
        raise AddressError(f"{name!r} is not a valid address") from None
    *head, last = values
    if any(v > 0xFF for v in head) or last >= 1 << (8 * (4 - len(head))):
        raise AddressError(f"{name!r} is not a valid address")
    number = last
    for index, value in enumerate(head):
        number |= value << (8 * (3 - index))
    return ipaddress.IPv4Address(number)


def check_host(host: str) -> None:
    if not host:
        raise AddressError("host is missing")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        name = host.rstrip(".").lower()
        legacy = _legacy_ipv4(name)
        if legacy is not None:
            check_ip(legacy)
            return
        if name in _METADATA_HOSTS:
            raise AddressError(f"{host} is a cloud metadata host; refused") from None
        if len(name) > 253 or any(not label or len(label) > 63 for label in name.split(".")):
            raise AddressError(f"{host!r} is not a valid hostname") from None
        allowed = set("abcdefghijklmnopqrstuvwxyz0123456789-.")
        if not set(name) <= allowed or name.startswith("-"):
            raise AddressError(f"{host!r} is not a valid hostname") from None
        return
    check_ip(address)


def parse_camera_url(raw: str, schemes: frozenset[str]) -> CameraUrl:
    text = raw.strip()
    if len(text) > MAX_URL_LENGTH:
        raise AddressError(f"URL is longer than {MAX_URL_LENGTH} characters")
    if any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in text):
        raise AddressError("URL contains spaces or control characters")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise AddressError(f"malformed URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in schemes:
        raise AddressError(f"scheme must be one of {', '.join(sorted(schemes))}, got {scheme or 'none'!r}")
    host = (parts.hostname or "").lower()
    check_host(host)
    if port is not None and not 1 <= port <= 65535:
        raise AddressError("port must be between 1 and 65535")
    if port == 0:
        raise AddressError("port must be between 1 and 65535")
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    clean = urlunsplit((scheme, netloc, parts.path, parts.query, ""))
    return CameraUrl(
        url=clean,
        scheme=scheme,
        host=host,
        port=port or DEFAULT_PORTS[scheme],
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )


async def check_resolved(host: str) -> None:
    """Connect-time guard: the addresses a name resolves to now must pass check_ip too.

    check_host only sees the name when a camera is saved; DNS can point it at a metadata address later.
    """
    check_host(host)
    try:
        ipaddress.ip_address(host)
        return
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise AddressError(f"cannot resolve {host!r}: {exc.strerror or exc}") from None
    for info in infos:
        check_ip(ipaddress.ip_address(info[4][0]))

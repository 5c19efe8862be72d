"""Parse what a user types to say where to look: hosts, CIDR ranges and port lists.

`--hosts 192.168.1.10,192.168.1.0/24,nvr.local` and `--ports 80,1000-1002,8000`. Ranges are expanded
here so the scan knows its size up front (for progress), and capped so a typo like /8 cannot start a
sweep of sixteen million addresses.
"""

from __future__ import annotations

import ipaddress
import re

MAX_TARGETS = 65_536
DEFAULT_PORTS = (80, 8000, 8080, 8899, 2020)  # ONVIF on common cameras; 2020 is TP-Link Tapo's
# A DNS name (RFC 1123 labels); an address is checked by ipaddress instead.
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST_NAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*\.?$")


class TargetError(ValueError):
    """A host or port list that cannot be used; the message names the bad item."""


def parse_ports(text: str) -> list[int]:
    ports: dict[int, None] = {}  # ordered and de-duplicated; a list's `in` made 1-65535 take minutes
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        low_text, dash, high_text = item.partition("-")
        try:
            low = int(low_text)
            high = int(high_text) if dash else low
        except ValueError:
            raise TargetError(f"ports: {item!r} is not a port or a range like 1000-1002") from None
        if not (1 <= low <= high <= 65535):
            raise TargetError(f"ports: {item!r} is outside 1-65535 or runs backwards")
        ports.update(dict.fromkeys(range(low, high + 1)))
    if not ports:
        raise TargetError("ports: give at least one port")
    return list(ports)


def parse_hosts(text: str) -> list[str]:
    """Hosts in the order given; a CIDR range gives its usable addresses (all of them for /31 and /32)."""
    hosts: list[str] = []
    seen: set[str] = set()
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        if "/" in item:
            try:
                network = ipaddress.ip_network(item, strict=False)
            except ValueError as exc:
                raise TargetError(f"hosts: {item!r} is not a valid CIDR range ({exc})") from None
            if network.num_addresses > MAX_TARGETS:
                raise TargetError(
                    f"hosts: {item!r} has {network.num_addresses} addresses; at most {MAX_TARGETS}"
                )
            addresses = list(network.hosts()) or [network.network_address]
            candidates = [str(a) for a in addresses]
        else:
            candidates = [_host(item)]
        for host in candidates:
            if host not in seen:
                seen.add(host)
                hosts.append(host)
        if len(hosts) > MAX_TARGETS:  # checked as it grows: a list of many ranges must not fill memory first
            raise TargetError(f"hosts: more than {MAX_TARGETS} hosts (at {item!r})")
    if not hosts:
        raise TargetError("hosts: give at least one host or CIDR range")
    return hosts


def _host(item: str) -> str:
    """An address (IPv6 with or without brackets) or a DNS name; `host:port` is refused (ports: --ports)."""
    bare = item[1:-1] if item.startswith("[") and item.endswith("]") else item
    try:
        return str(ipaddress.ip_address(bare))
    except ValueError:
        pass
    if _HOST_NAME.match(item) and not item.replace(".", "").isdigit():
        return item
    hint = "; give ports with --ports" if re.fullmatch(r"[^:]+:\d+", item) else ""
    raise TargetError(f"hosts: {item!r} is not a host name, address or CIDR range{hint}")

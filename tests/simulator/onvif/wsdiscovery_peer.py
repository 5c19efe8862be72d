"""The WSDiscovery package (python-ws-discovery 2.1.2) as an independent discovery client, held to loopback.

Out of the box ThreadedWSDiscovery binds 0.0.0.0:3702, joins the multicast group on every non-loopback
interface (sending IGMP reports onto the real network) and sends multicast probes there. The subclasses here
change only the sockets: the address monitor reports 127.0.0.1 alone, the receive socket binds to 127.0.0.1,
and IPv6 is not started. Message building, parsing, matching and the service table are the library's own.

Its unicast path is broken (DESIGN.md): `searchServices(address=..., port=...)` sends the Probe from
`_uniOutSocket`, a socket never registered with the thread's selector, so the ProbeMatches that come back to
it are never read. `LoopbackWSDiscovery()` registers that socket; `fix_unicast=False` keeps the library's
behaviour so a test can show the bug.
"""

from __future__ import annotations

import ipaddress
import selectors
import socket
from typing import Any

from wsdiscovery.discovery import ThreadedWSDiscovery
from wsdiscovery.threaded import AddressMonitorThread, NetworkingThreadIPv4

LOOPBACK = ipaddress.ip_address("127.0.0.1")


class _LoopbackAddresses(AddressMonitorThread):
    def _updateAddrs(self) -> None:
        if LOOPBACK not in self._addrs:
            self._wsd._networkAddressAdded(LOOPBACK)
        self._addrs = {LOOPBACK}


class _LoopbackNetworking(NetworkingThreadIPv4):
    def __init__(self, observer: Any, fix_unicast: bool) -> None:
        super().__init__(observer)
        self._fix_unicast = fix_unicast

    def _createMulticastInSocket(self) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        return sock

    def start(self) -> None:
        super().start()
        self._uniOutSocket.bind(("127.0.0.1", 0))
        if self._fix_unicast:
            self._uniOutSocket.setblocking(False)
            self._selector.register(self._uniOutSocket, selectors.EVENT_READ)


class LoopbackWSDiscovery(ThreadedWSDiscovery):
    def __init__(self, fix_unicast: bool = True, **kwargs: Any) -> None:
        self._fix_unicast = fix_unicast
        super().__init__(**kwargs)

    def _startThreads(self) -> None:
        if self._networkingThread_v4 is not None:
            return
        self._networkingThread_v4 = _LoopbackNetworking(self, self._fix_unicast)
        self._networkingThread_v4.start()
        self._addrsMonitorThread_v4 = _LoopbackAddresses(self, socket.AF_INET)
        self._addrsMonitorThread_v4.start()

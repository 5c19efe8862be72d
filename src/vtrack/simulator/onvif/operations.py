"""What a SOAP service is to the dispatcher: a namespace and named operations, some callable before login.

Kept apart from the dispatcher so each service module declares its table without importing the HTTP side.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from vtrack.simulator.onvif.device import Device
from vtrack.simulator.onvif.xmlns import Element

# A handler reads the operation element of the request and returns the response element (or raises SoapFault).
Handler = Callable[[Device, Element], Element]


@dataclass(frozen=True)
class Operation:
    handler: Handler
    # ONVIF Core's PRE_AUTH class: answered without credentials, so clients can sync clocks and find services.
    public: bool = False


@dataclass(frozen=True)
class Service:
    name: str  # key of device.SERVICE_PATHS
    namespace: str
    operations: Mapping[str, Operation]

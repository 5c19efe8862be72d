"""Discovery sweep: every host:port asked whether it is an ONVIF device, with bounded concurrency.

WS-Discovery finds what answers multicast on this segment (and, probed unicast, on routed ones); the port
sweep finds devices that do not answer WS-Discovery at all (many NVRs have it off, and seed 000's
simulator serves three cameras on ports 1000-1002 of one host). A port that answers but is not ONVIF is
handed to vendor recognition (Hikvision ISAPI, Dahua CGI, SDK ports), so the user hears
"this is the Hikvision SDK port" instead of a stack trace. Closed ports and absent hosts are counted,
not listed: a /24 sweep would otherwise drown the few real problems.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

import httpx

from vtrack.devices.errors import DeviceError
from vtrack.devices.http_clients import device_client
from vtrack.devices.onvif.discovery import ProbeMatch, ws_discover
from vtrack.devices.onvif.errors import (
    NotOnvif,
    OnvifError,
    OnvifNoAnswer,
    OnvifNoRoute,
    OnvifPortClosed,
)
from vtrack.devices.onvif.interrogate import interrogate
from vtrack.devices.onvif.models import DetectedCamera, DeviceProbe
from vtrack.devices.vendor_probe import probe_vendor

ProgressCallback = Callable[[int, int], Awaitable[None]]


@dataclass(frozen=True)
class ScanProblem:
    host: str
    port: int
    kind: str  # auth, timeout, not_onvif, not_http, fault, protocol, unreachable
    message: str

    def as_json(self) -> dict[str, object]:
        return {"host": self.host, "port": self.port, "kind": self.kind, "message": self.message}


@dataclass
class ScanResult:
    devices: list[DeviceProbe] = field(default_factory=list)
    problems: list[ScanProblem] = field(default_factory=list)
    scanned: int = 0
    closed: int = 0
    silent: int = 0
    ws_discovery: int = 0
    elapsed_seconds: float = 0.0

    @property
    def cameras(self) -> list[DetectedCamera]:
        """Every camera, numbered per host in port order as seed 000 does (onvif_HOST_channel_N)."""
        cameras: list[DetectedCamera] = []
        per_host: dict[str, int] = {}
        for device in sorted(self.devices, key=lambda d: _order((d.host, d.port))):
            for camera in device.cameras:
                per_host[device.host] = per_host.get(device.host, 0) + 1
                camera.id = f"{device.protocol}_{device.host}_channel_{per_host[device.host]}"
                cameras.append(camera)
        return cameras

    @property
    def ports(self) -> list[int]:
        return sorted({device.port for device in self.devices if device.cameras})

    @property
    def success(self) -> bool:
        return any(device.cameras for device in self.devices)

    @property
    def message(self) -> str:
        text = f"ONVIF Multi-Camera Discovery - Found {len(self.cameras)} camera(s) on ports: {self.ports}"
        if not self.success and self.problems:
            text += f"; {self.problems[0].host}:{self.problems[0].port}: {self.problems[0].message}"
        elif not self.success and self.scanned:
            text += f"; of {self.scanned} address(es) {self.closed} closed, {self.silent} did not answer"
        return text

    def as_json(self) -> dict[str, object]:
        return {
            "success": self.success,
            "message": self.message,
            "cameras": [camera.as_json() for camera in self.cameras],
            "devices": [device.as_json() for device in self.devices],
            "problems": [problem.as_json() for problem in self.problems],
            "stats": {
                "scanned": self.scanned,
                "closed": self.closed,
                "silent": self.silent,
                "ws_discovery_matches": self.ws_discovery,
                "elapsed_seconds": round(self.elapsed_seconds, 3),
            },
        }


@dataclass(frozen=True)
class ScanOptions:
    username: str | None = None
    password: str | None = field(default=None, repr=False)  # never in a log line
    timeout: float = 3.0
    concurrency: int = 256
    ws_discovery: bool = True
    ws_discovery_port: int = 3702
    ws_wait: float = 1.0
    interface: str = "0.0.0.0"  # noqa: S104 (multicast goes out where the OS routes it)


async def probe_target(host: str, port: int, options: ScanOptions) -> DeviceProbe | ScanProblem | OnvifError:
    """One host:port: a DeviceProbe, a problem to tell the user, or the error of a closed/absent port."""
    async with device_client() as http:
        try:
            return await interrogate(
                http,
                host,
                port,
                username=options.username,
                password=options.password,
                request_timeout=options.timeout,
            )
        except (OnvifPortClosed, OnvifNoAnswer, OnvifNoRoute) as error:
            return error
        except NotOnvif as error:
            return await _recognise(http, host, port, options, error)
        except OnvifError as error:
            message = error.message
            if error.kind == "auth" and not options.username:
                message = "ONVIF device found; it needs a username and password"
            elif error.kind == "auth":
                message = f"ONVIF device found, but it {message.removeprefix('the device ')}"
            return ScanProblem(host, port, error.kind, message)


async def _recognise(
    http: httpx.AsyncClient, host: str, port: int, options: ScanOptions, error: NotOnvif
) -> DeviceProbe | ScanProblem:
    """A port that answers but not ONVIF: a Hikvision/Dahua API (ONVIF off), an SDK port, a web UI."""
    try:
        found = await probe_vendor(
            http,
            host,
            port,
            username=options.username,
            password=options.password,
            request_timeout=options.timeout,
        )
    except DeviceError as vendor_error:
        return ScanProblem(host, port, vendor_error.kind, vendor_error.message)
    if isinstance(found, DeviceProbe):
        return found
    if found.kind in {"hikvision", "dahua"} and not options.username:
        return ScanProblem(
            host, port, "auth", f"{found.explanation}; give a username and password to list it"
        )
    if found.kind in {"not_http", "hikvision", "dahua"}:
        return ScanProblem(host, port, error.kind, found.explanation)
    return ScanProblem(host, port, error.kind, error.message)


async def scan_targets(
    targets: Iterable[tuple[str, int]],
    options: ScanOptions,
    *,
    progress: ProgressCallback | None = None,
    result: ScanResult | None = None,
) -> ScanResult:
    pending = list(dict.fromkeys(targets))
    result = result or ScanResult()
    gate = asyncio.Semaphore(options.concurrency)
    done = 0
    seen: set[tuple[str, str]] = set()

    async def one(host: str, port: int) -> None:
        nonlocal done
        async with gate:
            outcome = await probe_target(host, port, options)
        done += 1
        if isinstance(outcome, DeviceProbe):
            # The same device answering on two ports (80 and 8080) is one device.
            identity = (host, (outcome.info.serial if outcome.info else None) or str(port))
            if identity not in seen:
                seen.add(identity)
                result.devices.append(outcome)
        elif isinstance(outcome, ScanProblem):
            result.problems.append(outcome)
        elif isinstance(outcome, OnvifPortClosed):
            result.closed += 1
        else:
            result.silent += 1
        if progress is not None:
            await progress(done, len(pending))

    await asyncio.gather(*(one(host, port) for host, port in sorted(pending, key=_order)))
    result.scanned += len(pending)
    result.devices.sort(key=lambda d: _order((d.host, d.port)))
    result.problems.sort(key=lambda p: _order((p.host, p.port)))
    return result


def _order(target: tuple[str, int]) -> tuple[int, tuple[int, ...], str, int]:
    """IPv4 addresses in numeric order, then names and IPv6 by their text (never int against str)."""
    host, port = target
    parts = host.split(".")
    if len(parts) == 4 and all(p.isdigit() for p in parts):
        return 0, tuple(int(p) for p in parts), "", port
    return 1, (), host, port


async def discover(
    *,
    hosts: list[str] | None,
    ports: list[int],
    options: ScanOptions,
    progress: ProgressCallback | None = None,
) -> ScanResult:
    """Hosts given: WS-Discovery unicast to each plus the port sweep. No hosts: multicast WS-Discovery."""
    started = time.monotonic()
    result = ScanResult()
    targets: list[tuple[str, int]] = [(host, port) for host in hosts or [] for port in ports]
    if options.ws_discovery:
        try:
            matches: list[ProbeMatch] = await ws_discover(
                unicast_hosts=hosts or [],
                multicast=not hosts,
                interface=options.interface,
                port=options.ws_discovery_port,
                wait=options.ws_wait,
            )
        except OSError as exc:  # e.g. --interface names an address this machine does not have
            matches = []
            message = f"WS-Discovery could not send from {options.interface}: {exc.strerror or exc}"
            result.problems.append(
                ScanProblem(options.interface, options.ws_discovery_port, "unreachable", message)
            )
        result.ws_discovery = len(matches)
        targets.extend(t for match in matches if (t := match.device_service()) is not None)
    await scan_targets(targets, options, progress=progress, result=result)
    result.elapsed_seconds = time.monotonic() - started
    return result

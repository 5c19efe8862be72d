"""The discovery sweep as a job: the API starts it, the UI polls its progress and reads the result.

The password a user typed for the sweep travels in the run's parameters encrypted (runs are stored and
listed), and the result carries no credentials: stream URIs never have userinfo.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from vtrack.devices.scan import ScanOptions, discover
from vtrack.devices.targets import DEFAULT_PORTS, parse_hosts, parse_ports
from vtrack.jobs.registry import JobContext, JobRegistry, JobResult
from vtrack.security.encryption import Keyring
from vtrack.settings import Settings

DISCOVERY_JOB = "discovery.scan"
DISCOVERY_PASSWORD = "discovery.password"  # noqa: S105  (an AEAD label)


class DiscoveryParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hosts: str | None = Field(default=None, max_length=10_000)
    ports: str | None = Field(default=None, max_length=1_000)
    username: str | None = Field(default=None, max_length=255)
    password_encrypted: str | None = Field(default=None, max_length=2_000)
    timeout_seconds: float = Field(default=3.0, gt=0, le=60)
    ws_discovery: bool = True
    ws_discovery_port: int = Field(default=3702, ge=1, le=65535)
    multicast_interface: str = Field(default="0.0.0.0", max_length=64)  # noqa: S104


def register_discovery_job(registry: JobRegistry, settings: Settings, keyring: Keyring) -> None:
    @registry.register(
        DISCOVERY_JOB, "Find ONVIF cameras and NVRs by WS-Discovery and port sweep", DiscoveryParams
    )
    async def discovery_scan(ctx: JobContext) -> JobResult:
        params = DiscoveryParams.model_validate(ctx.params)
        hosts = parse_hosts(params.hosts) if params.hosts else None
        ports = parse_ports(params.ports) if params.ports else list(DEFAULT_PORTS)
        password = (
            keyring.decrypt(params.password_encrypted, DISCOVERY_PASSWORD)
            if params.password_encrypted
            else None
        )
        options = ScanOptions(
            username=params.username,
            password=password,
            timeout=params.timeout_seconds,
            concurrency=settings.discovery_concurrency,
            ws_discovery=params.ws_discovery,
            ws_discovery_port=params.ws_discovery_port,
            interface=params.multicast_interface,
        )

        async def progress(done: int, total: int) -> None:
            await ctx.report(done / total if total else 1.0, f"{done} of {total} addresses probed")

        result = await discover(hosts=hosts, ports=ports, options=options, progress=progress)
        return result.as_json()

"""`vtrack discover`: find cameras and NVRs from the command line, with a progress bar or as JSON.

`--json` prints seed 000's shape ({"success", "message", "cameras": [...]}, plus devices, problems and
stats) and nothing else on stdout, so scripts can pipe it; the progress bar goes to stderr.
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from vtrack.devices.scan import ScanOptions, ScanResult, discover
from vtrack.devices.targets import DEFAULT_PORTS, TargetError, parse_hosts, parse_ports

console = Console()
err = Console(stderr=True)


def discover_command(
    hosts: Annotated[
        str | None,
        typer.Option(help="Hosts and CIDR ranges, comma-separated; default: multicast WS-Discovery"),
    ] = None,
    ports: Annotated[
        str | None,
        typer.Option(help=f"Ports to sweep, e.g. 80,1000-1002 (default {','.join(map(str, DEFAULT_PORTS))})"),
    ] = None,
    username: Annotated[str | None, typer.Option(help="Device username")] = None,
    password: Annotated[
        str | None,
        typer.Option(help="Device password (or $VTRACK_DEVICE_PASSWORD)", envvar="VTRACK_DEVICE_PASSWORD"),
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds per request", min=0.1, max=60)] = 3.0,
    concurrency: Annotated[int, typer.Option(help="Addresses probed at once", min=1, max=4096)] = 256,
    ws_discovery: Annotated[bool, typer.Option(help="Also send WS-Discovery probes")] = True,
    ws_port: Annotated[int, typer.Option(help="WS-Discovery port", min=1, max=65535, hidden=True)] = 3702,
    interface: Annotated[
        str, typer.Option(help="Address of the interface multicast probes leave from")
    ] = "0.0.0.0",  # noqa: S104
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON")] = False,
) -> None:
    """Find ONVIF cameras and NVRs (and Hikvision/Dahua devices) on the network."""
    try:
        host_list = parse_hosts(hosts) if hosts else None
        port_list = parse_ports(ports) if ports else list(DEFAULT_PORTS)
    except TargetError as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(code=2) from None
    options = ScanOptions(
        username=username,
        password=password,
        timeout=timeout,
        concurrency=concurrency,
        ws_discovery=ws_discovery,
        ws_discovery_port=ws_port,
        interface=interface,
    )
    result = asyncio.run(_run(host_list, port_list, options, show_progress=not as_json))
    if as_json:
        typer.echo(json.dumps(result.as_json(), indent=2))
    else:
        _print(result)
    raise typer.Exit(code=0 if result.success else 1)


async def _run(
    hosts: list[str] | None, ports: list[int], options: ScanOptions, *, show_progress: bool
) -> ScanResult:
    columns = (TextColumn("probing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True, disable=not show_progress) as progress:
        task = progress.add_task("probe", total=None)

        async def report(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        return await discover(hosts=hosts, ports=ports, options=options, progress=report)


def _print(result: ScanResult) -> None:
    mark = "[green]✓[/]" if result.success else "[red]✗[/]"
    console.print(f"{mark} {escape(result.message)}", soft_wrap=True)
    for number, camera in enumerate(result.cameras, 1):
        console.print(f"Camera {number}: [bold]{escape(camera.name)}[/] ({camera.id})", soft_wrap=True)
        console.print(
            f"  Resolution: {camera.resolution or '?'}, Codec: {camera.codec or '?'}, "
            f"FPS: {camera.fps or '?'}, ONVIF Port: {camera.onvif_port}",
            soft_wrap=True,
        )
        console.print(f"  RTSP: {escape(camera.rtsp_url or '-')}", soft_wrap=True)
        if camera.capabilities:
            console.print(f"  Capabilities: {', '.join(camera.capabilities)}", soft_wrap=True)
    for device in result.devices:
        for note in device.notes:
            console.print(f"[yellow]note[/] {device.host}:{device.port}: {escape(note)}", soft_wrap=True)
    for problem in result.problems:
        console.print(
            f"[yellow]{problem.kind}[/] {problem.host}:{problem.port}: {escape(problem.message)}",
            soft_wrap=True,
        )
    console.print(
        f"[dim]{result.scanned} address(es) probed in {result.elapsed_seconds:.1f} s; "
        f"{result.closed} closed, {result.silent} silent, {result.ws_discovery} WS-Discovery answer(s)[/]"
    )

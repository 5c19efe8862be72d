"""The `vtrack` command: serve, demo, users, secrets, db, jobs."""

from __future__ import annotations

import asyncio
import errno
import fcntl
import logging
import os
import secrets as stdlib_secrets
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import select

from vtrack.app import build_services, create_app, prepare_database
from vtrack.cli_analyze import analyze_command
from vtrack.cli_common import DataDir, fail, settings_for
from vtrack.cli_discover import discover_command
from vtrack.cli_sync import sync_command
from vtrack.cli_worker import beat_command, worker_command
from vtrack.db.migrate import upgrade
from vtrack.db.models import AnalyticsChannel, Camera
from vtrack.db.repositories.users import UserRepository
from vtrack.errors import DomainError
from vtrack.registry.cameras import CameraService, GroupService
from vtrack.registry.schemas import CameraCreate, CameraProtocol, GroupCreate
from vtrack.security.accounts import AccountService, UserCreate, UserUpdate
from vtrack.security.audit import Actor, Auditor
from vtrack.security.encryption import KeyFile, Keyring, SecretError
from vtrack.security.passwords import generate_password
from vtrack.security.permissions import RoleName
from vtrack.security.rotation import keys_in_use, reencrypt_all
from vtrack.services import Services
from vtrack.settings import Settings
from vtrack.simulator.config import (
    DEFAULT_PASSWORD,
    DEFAULT_USERNAME,
    PERSONAS,
    SimulatorConfig,
    default_cameras,
)
from vtrack.simulator.config_file import ConfigError, load_config
from vtrack.simulator.onvif.discovery import DISCOVERY_PORT
from vtrack.simulator.runner import Simulator

app = typer.Typer(help="vtrack: self-hosted hub for CCTV video.", no_args_is_help=True)
users_app = typer.Typer(help="Manage user accounts.", no_args_is_help=True)
secrets_app = typer.Typer(help="Manage the encryption key for stored credentials.", no_args_is_help=True)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(secrets_app, name="secrets")
app.add_typer(db_app, name="db")
app.command("discover")(discover_command)
app.command("sync")(sync_command)
app.command("analyze")(analyze_command)
app.command("worker")(worker_command)
app.command("beat")(beat_command)
console = Console()


def _show_admin_password(password: str) -> None:
    console.print(
        f"[bold yellow]Created user 'admin' with password:[/] [bold]{password}[/]\n"
        "It is shown only this once; change it with `vtrack users passwd admin`.",
        soft_wrap=True,
    )


def _invalid(exc: ValidationError) -> str:
    """Field and reason only: the rejected input may be a password, so it is never echoed."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}"
        for e in exc.errors(include_input=False, include_url=False)
    )


async def _with_services(settings: Settings) -> Services:
    services = build_services(settings)
    try:
        await prepare_database(services, _show_admin_password)
    except RuntimeError as exc:  # a bad VTRACK_ADMIN_PASSWORD on first start
        await services.database.dispose()
        raise fail(str(exc)) from None
    return services


@contextmanager
def _data_dir_lock(settings: Settings, *, exclusive: bool) -> Iterator[bool]:
    """Servers hold it shared, key rotation exclusive; yields False when it cannot be had right now.

    A running server keeps the key in memory and goes on encrypting under it, so a rotation under its
    feet would leave rows under a key that the rotation then drops from the file.
    """
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(settings.data_dir / ".vtrack.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
        else:
            yield True
    finally:
        os.close(fd)


def _serve(settings: Settings) -> None:
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    with _data_dir_lock(settings, exclusive=False) as locked:
        if not locked:
            raise fail("a key rotation is running on this data dir; start the server when it is done")
        application = create_app(settings, on_admin_password=_show_admin_password)
        console.print(
            f"vtrack on http://{settings.host}:{settings.port}  (dashboard at /, API docs at /docs)",
            soft_wrap=True,
        )
        uvicorn.run(application, host=settings.host, port=settings.port, log_level=settings.log_level.lower())


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on")] = None,
    data_dir: DataDir = None,
) -> None:
    """Run the API server (migrations are applied on start)."""
    _serve(settings_for(data_dir, host=host, port=port))


@app.command()
def demo(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    cameras: Annotated[int, typer.Option(min=0, max=64, help="Simulated cameras beside the server")] = 3,
    video: Annotated[
        Path | None, typer.Option(exists=True, dir_okay=False, help="Cameras loop this file, not the pattern")
    ] = None,
    model: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="YOLOX ONNX for people analytics (default: motion)"),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Run the server on the embedded default with simulated cameras registered in it, ready to try.

    The first camera is also a live analytics channel with a counting line across the picture."""
    settings = settings_for(data_dir, host=host, port=port, analytics_model=model)
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Ports below 1024 need root; everyone else gets the same layout 10,000 higher.
    site = SimulatorConfig(
        cameras=default_cameras(cameras), onvif_port_base=1000 if os.geteuid() == 0 else 11000, video=video
    )
    with _data_dir_lock(settings, exclusive=False) as locked:
        if not locked:
            raise fail("a key rotation is running on this data dir; start the server when it is done")
        asyncio.run(_run_demo(settings, site))


async def _run_demo(settings: Settings, site: SimulatorConfig) -> None:
    application = create_app(settings, on_admin_password=_show_admin_password)
    server = uvicorn.Server(
        uvicorn.Config(
            application, host=settings.host, port=settings.port, log_level=settings.log_level.lower()
        )
    )
    services: Services = application.state.services
    simulator = Simulator(site, control_port=None)
    try:
        await simulator.start()
    except OSError as exc:
        await services.database.dispose()
        raise fail(f"could not start the simulated cameras: {exc}") from None
    try:
        # Migrate and register before serving, so the first page a user opens already lists the cameras;
        # the server's own start-up then finds nothing left to do.
        await prepare_database(services, _show_admin_password)
        added = await register_simulated_cameras(services, simulator, site)
        await register_demo_channel(services)
        _print_site(simulator, site)
        console.print(
            f"registered {added} new simulated camera(s); dashboard on http://{settings.host}:{settings.port}/"
            "  (API docs at /docs)",
            soft_wrap=True,  # a URL people copy: never cut by the terminal's width
        )
        await server.serve()
    finally:
        await simulator.stop()


async def register_simulated_cameras(services: Services, simulator: Simulator, site: SimulatorConfig) -> int:
    """Put the simulated cameras in the registry (group "Simulator"), once; a re-run adds nothing."""
    added = 0
    async with services.database.transaction() as session:
        audit = Auditor(session, Actor.system("demo"))
        groups = GroupService(session, audit)
        group = await groups.groups.by_name("Simulator") or await groups.create(GroupCreate(name="Simulator"))
        cameras = CameraService(session, services.keyring, audit)
        for camera in simulator.cameras():
            if await cameras.cameras.name_taken(group.id, camera.name):
                continue
            await cameras.create(
                CameraCreate(
                    name=camera.name,
                    rtsp_url=camera.rtsp_url,
                    username=site.username,
                    password=site.password,
                    onvif_url=camera.onvif_url,
                    group_id=group.id,
                    protocol=CameraProtocol.ONVIF,
                    resolution=camera.resolution,
                    fps=camera.fps,
                    codec=camera.codec,
                    location="simulator",
                )
            )
            added += 1
    return added


async def register_demo_channel(services: Services) -> None:
    """The first simulated camera as an analytics channel with a line across it; once per data dir."""
    async with services.database.transaction() as session:
        if await session.scalar(select(AnalyticsChannel.id).limit(1)) is not None:
            return
        camera = await session.scalar(select(Camera).order_by(Camera.created_at, Camera.name).limit(1))
        if camera is None:
            return
        session.add(
            AnalyticsChannel(
                name=f"{camera.name} people",
                camera_id=camera.id,
                lines=[{"name": "entrance", "points": [[0.0, 0.6], [1.0, 0.6]], "hysteresis": 0.02}],
                zones=[],
            )
        )


def _print_site(simulator: Simulator, site: SimulatorConfig) -> None:
    # Plain lines, not a table: URLs are for copying, and a table cuts them in a narrow terminal or a log.
    console.print(
        f"[bold]simulated cameras[/] (user {escape(site.username)}, password {escape(site.password)})"
    )
    for camera in simulator.cameras():
        console.print(
            f"  {camera.channel:>2}  {escape(camera.name)}  {camera.codec} {camera.resolution}@{camera.fps}\n"
            f"      ONVIF {camera.onvif_url}\n      RTSP  {camera.rtsp_url}",
            soft_wrap=True,
            highlight=False,
        )


@app.command()
def simulate(
    cameras: Annotated[int, typer.Option(min=1, max=64, help="How many cameras (channels with --nvr)")] = 3,
    host: Annotated[str, typer.Option(help="Loopback or LAN address to bind, e.g. 127.0.0.2")] = "127.0.0.1",
    onvif_port_base: Annotated[
        int, typer.Option(min=0, max=65535, help="Camera i answers ONVIF on base+i")
    ] = 1000,
    rtsp_port: Annotated[int, typer.Option(min=0, max=65535)] = 8554,
    video: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="Loop this file instead of the test pattern"),
    ] = None,
    username: Annotated[str, typer.Option()] = DEFAULT_USERNAME,
    password: Annotated[str, typer.Option()] = DEFAULT_PASSWORD,
    persona: Annotated[str, typer.Option(help="onvif, hikvision or dahua")] = "onvif",
    nvr: Annotated[bool, typer.Option(help="One NVR with N channels and Profile G recordings")] = False,
    config: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="A JSON site file; replaces the options above"),
    ] = None,
    control_port: Annotated[
        int, typer.Option(min=0, max=65535, help="Fault control endpoint on 127.0.0.1")
    ] = 8099,
    sdk_port_base: Annotated[
        int, typer.Option(min=0, max=65535, help="Non-ONVIF TCP port per device")
    ] = 8000,
    discovery: Annotated[bool, typer.Option(help="Answer WS-Discovery probes on UDP 3702")] = True,
) -> None:
    """Run virtual ONVIF cameras (or an NVR) with a real RTSP server, until Ctrl+C."""
    logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if config is not None:
        try:
            site = load_config(config)
        except ConfigError as exc:
            raise fail(str(exc)) from None
    else:
        chosen = next((p for p in PERSONAS if p == persona), None)
        if chosen is None:
            raise fail(f"--persona must be one of {', '.join(PERSONAS)}, not {persona!r}")
        site = SimulatorConfig(
            cameras=default_cameras(cameras),
            host=host,
            onvif_port_base=onvif_port_base,
            rtsp_port=rtsp_port,
            username=username,
            password=password,
            persona=chosen,
            nvr=nvr,
            video=video,
        )
    simulator = Simulator(
        site,
        discovery_port=DISCOVERY_PORT if discovery else None,
        control_port=control_port,
        sdk_port_base=sdk_port_base,
    )
    asyncio.run(_run_simulator(simulator, site))


async def _run_simulator(simulator: Simulator, site: SimulatorConfig) -> None:
    try:
        await simulator.start()
    except OSError as exc:
        hint = (
            " (ports below 1024 need root: try --onvif-port-base 11000)" if exc.errno == errno.EACCES else ""
        )
        raise fail(f"could not start: {exc}{hint}") from None
    _print_site(simulator, site)
    if simulator.control is not None:
        console.print(f"fault control: {simulator.control.url}/cameras")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await simulator.stop()
        console.print("simulator stopped")


@users_app.command("create")
def users_create(
    username: str,
    role: Annotated[RoleName, typer.Option(help="admin, operator or viewer")] = RoleName.VIEWER,
    password: Annotated[str | None, typer.Option(help="Default: a random one, printed once")] = None,
    data_dir: DataDir = None,
) -> None:
    """Create a user."""
    chosen = password or generate_password()
    try:
        data = UserCreate(username=username, password=chosen, role=role)
    except ValidationError as exc:
        raise fail(_invalid(exc)) from None

    async def run() -> None:
        services = await _with_services(settings_for(data_dir))
        try:
            async with services.database.transaction() as session:
                user = await AccountService(session, Auditor(session, Actor.system("cli"))).create(data)
        finally:
            await services.database.dispose()
        console.print(f"created {user.username} ({user.role_name})")
        if password is None:
            console.print(f"password: [bold]{chosen}[/]  (shown only once)")

    try:
        asyncio.run(run())
    except DomainError as exc:
        raise fail(exc.message) from None


@users_app.command("passwd")
def users_passwd(
    username: str,
    password: Annotated[str | None, typer.Option(help="Default: a random one, printed once")] = None,
    data_dir: DataDir = None,
) -> None:
    """Set a user's password (signs out their sessions)."""
    chosen = password or generate_password()
    try:
        data = UserUpdate(password=chosen)
    except ValidationError as exc:
        raise fail(_invalid(exc)) from None

    async def run() -> None:
        services = await _with_services(settings_for(data_dir))
        try:
            async with services.database.transaction() as session:
                user = await UserRepository(session).by_username(username)
                if user is None:
                    raise fail(f"no user {username!r}")
                await AccountService(session, Auditor(session, Actor.system("cli"))).update(user, data)
        finally:
            await services.database.dispose()
        console.print(f"password of {username} changed")
        if password is None:
            console.print(f"password: [bold]{chosen}[/]  (shown only once)")

    asyncio.run(run())


@users_app.command("list")
def users_list(data_dir: DataDir = None) -> None:
    """List users."""

    async def run() -> None:
        services = await _with_services(settings_for(data_dir))
        try:
            async with services.database.session() as session:
                page = await UserRepository(session).search(1, 10_000)
        finally:
            await services.database.dispose()
        table = Table("username", "role", "active", "last login")
        for user in page.items:
            table.add_row(
                user.username,
                user.role_name,
                "yes" if user.is_active else "no",
                str(user.last_login_at or "-"),
            )
        console.print(table)

    asyncio.run(run())


@secrets_app.command("rotate")
def secrets_rotate(data_dir: DataDir = None) -> None:
    """Generate a new key, re-encrypt every stored credential under it, then retire the old one.

    Stop the server first; signed-in sessions end, since token signing is derived from the key.
    """
    settings = settings_for(data_dir)
    if settings.secret_key is not None:
        raise fail(
            "the key comes from VTRACK_SECRET_KEY; rotation manages the key file. Unset VTRACK_SECRET_KEY "
            "to use the key file, or keep managing the key yourself."
        )

    async def run() -> tuple[int, str]:
        services = await _with_services(settings)
        key_file = KeyFile(settings.key_file)
        old = services.keyring
        # The file holds both keys before any row changes, so a crash at any point loses nothing.
        rotated = Keyring(current=stdlib_secrets.token_bytes(32), retired=[old.current, *old.retired])
        key_file.save(rotated)
        try:
            try:
                async with services.database.transaction() as session:
                    changed = await reencrypt_all(session, rotated)
            except SecretError as exc:
                # Raised before the commit, so every row is still under the old keys: put the file back.
                key_file.save(old)
                raise fail(f"nothing was rotated: {exc}") from None
            async with services.database.session() as session:
                still_used = await keys_in_use(session, rotated)
        finally:
            await services.database.dispose()
        key_file.save(
            Keyring(
                current=rotated.current,
                retired=[k for k in rotated.retired if Keyring(k).current_id in still_used],
            )
        )
        return changed, rotated.current_id

    with _data_dir_lock(settings, exclusive=True) as locked:
        if not locked:
            raise fail(
                "vtrack serve is running on this data dir; stop it first (it holds the current key in "
                "memory and would go on encrypting under the key this rotation retires)"
            )
        changed, key_id = asyncio.run(run())
    console.print(f"re-encrypted {changed} credential(s) under key {key_id}; old keys retired")
    console.print("Signed-in sessions end: token signing is derived from the key.")


@db_app.command("upgrade")
def db_upgrade(data_dir: DataDir = None) -> None:
    """Apply database migrations."""

    async def run() -> None:
        services = build_services(settings_for(data_dir))
        try:
            await upgrade(services.database)
        finally:
            await services.database.dispose()

    asyncio.run(run())
    console.print("database is up to date")


def main() -> None:
    try:
        app()
    except SecretError as exc:
        fail(str(exc))
        sys.exit(1)
    except ValidationError as exc:  # settings from the environment or vtrack.toml
        fail(f"invalid configuration: {_invalid(exc)}")
        sys.exit(1)

"""The real `vtrack` command, run as a subprocess on a temp data dir; servers bind 127.0.0.1 only."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.conftest import client_for, login
from tests.peers.ports import free_port
from vtrack.app import create_app
from vtrack.registry.cameras import PASSWORD_PURPOSE
from vtrack.security.encryption import KeyFile, Keyring, SecretError
from vtrack.settings import Settings

COMMAND_TIMEOUT = 60
START_TIMEOUT = 30
ADMIN_LINE = re.compile(r"Created user 'admin' with password: (\S+)")
CAMERA_PASSWORD = "Cam-Secret-0e5b"


def vtrack_command() -> list[str]:
    script = Path(sys.executable).parent / "vtrack"
    return [str(script)] if script.exists() else [sys.executable, "-m", "vtrack"]


def cli_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VTRACK_")}
    env.update(VTRACK_DATA_DIR=str(data_dir), NO_COLOR="1", **extra)
    return env


def run_cli(data_dir: Path, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    # cwd is the temp dir too, so no vtrack.toml of the checkout is picked up.
    return subprocess.run(
        [*vtrack_command(), *args],
        env=cli_env(data_dir, **extra_env),
        cwd=data_dir.parent,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )


@dataclass
class Server:
    process: subprocess.Popen[str]
    url: str
    lines: list[str] = field(default_factory=list)

    @property
    def output(self) -> str:
        return "".join(self.lines)


@contextmanager
def serving(data_dir: Path, command: str = "serve", *args: str, **extra_env: str) -> Iterator[Server]:
    port = free_port()
    extra_env.setdefault("VTRACK_PUBLIC_URL", f"http://127.0.0.1:{port}")  # where OAuth sign-ins come back
    process = subprocess.Popen(
        [*vtrack_command(), command, "--host", "127.0.0.1", "--port", str(port), *args],
        env=cli_env(data_dir, **extra_env),
        cwd=data_dir.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    server = Server(process, f"http://127.0.0.1:{port}")
    assert process.stdout is not None
    reader = threading.Thread(target=lambda: server.lines.extend(process.stdout or []), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert process.poll() is None, f"vtrack {command} exited early:\n{server.output}"
            assert time.monotonic() < deadline, f"vtrack {command} did not answer:\n{server.output}"
            try:
                if httpx.get(f"{server.url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        reader.join(timeout=5)


def test_serve_prints_the_admin_password_once(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with serving(data_dir) as server:
        health = httpx.get(f"{server.url}/healthz", timeout=5).json()
        assert health["status"] == "ok" and health["database"] == "ok"
        match = ADMIN_LINE.search(server.output)
        assert match, server.output
        password = match.group(1)
        login_url = f"{server.url}/api/v1/auth/login"
        response = httpx.post(login_url, json={"username": "admin", "password": password}, timeout=10)
        assert response.status_code == 200, response.text
        token = response.json()["data"]["accessToken"]
        me = httpx.get(
            f"{server.url}/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}, timeout=5
        )
        assert me.json()["data"]["role"] == "admin"
        assert httpx.get(f"{server.url}/api/v1/cameras", timeout=5).status_code == 401
        # Rotating the key under a running server would strand rows under the key it keeps in memory.
        refused = run_cli(data_dir, "secrets", "rotate")
        assert refused.returncode == 1 and "stop it first" in refused.stderr
        key_before = read_key_file(data_dir).current
    # A clean shutdown on SIGTERM (uvicorn re-raises the signal once it has shut down).
    assert server.process.returncode in (0, -signal.SIGTERM), server.output
    assert "Application shutdown complete" in server.output
    assert server.output.count(password) == 1, server.output
    assert (data_dir / "vtrack.db").is_file() and (data_dir / "secret.key").stat().st_mode & 0o077 == 0

    assert read_key_file(data_dir).current == key_before
    with serving(data_dir) as again:
        response = httpx.post(
            login_url.replace(server.url, again.url), json={"username": "admin", "password": password}
        )
        assert response.status_code == 200, response.text
    assert "password" not in again.output.lower(), again.output
    assert password not in again.output


def test_admin_password_from_the_environment_is_not_printed(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    result = run_cli(data_dir, "users", "list", VTRACK_ADMIN_PASSWORD="env-admin-pass-1")
    assert result.returncode == 0, result.stderr
    assert "admin" in result.stdout and "env-admin-pass-1" not in result.stdout + result.stderr
    assert "Created user" not in result.stdout
    weak = run_cli(tmp_path / "other", "users", "list", VTRACK_ADMIN_PASSWORD="short")
    assert weak.returncode != 0
    assert "VTRACK_ADMIN_PASSWORD" in weak.stderr and "Traceback" not in weak.stderr, weak.stderr
    assert "short" not in weak.stderr.replace("VTRACK_ADMIN_PASSWORD", "")


def test_configuration_errors_are_reported_without_a_traceback(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    assert run_cli(data_dir, "db", "upgrade").returncode == 0
    (data_dir / "secret.key").chmod(0o644)
    exposed = run_cli(data_dir, "users", "list")
    assert exposed.returncode == 1 and "Traceback" not in exposed.stderr
    assert "chmod 600 on it" in exposed.stderr and str(data_dir / "secret.key") in exposed.stderr
    placeholder = run_cli(data_dir, "users", "list", VTRACK_SECRET_KEY="changeme")
    assert placeholder.returncode == 1 and "Traceback" not in placeholder.stderr
    assert "secret_key" in placeholder.stderr and "changeme" not in placeholder.stderr


async def login_in_process(data_dir: Path, username: str, password: str) -> str:
    settings = Settings(data_dir=data_dir)
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        token = await login(application, username, password)
        async with client_for(application, token) as client:
            me = await client.get("/api/v1/auth/me")
    role: str = me.json()["data"]["role"]
    return role


async def test_users_create_and_passwd(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    created = run_cli(data_dir, "users", "create", "bob", "--role", "operator", "--password", "bob-pass-123")
    assert created.returncode == 0, created.stderr
    assert "created bob (operator)" in created.stdout
    assert "bob-pass-123" not in created.stdout
    # The first command on a fresh data dir also made the admin, and said so once.
    assert len(ADMIN_LINE.findall(created.stdout)) == 1
    assert await login_in_process(data_dir, "bob", "bob-pass-123") == "operator"

    random = run_cli(data_dir, "users", "create", "carol")
    assert random.returncode == 0, random.stderr
    generated = re.search(r"password: (\S+)", random.stdout)
    assert generated and "(viewer)" in random.stdout and "Created user" not in random.stdout
    assert await login_in_process(data_dir, "carol", generated.group(1)) == "viewer"

    bad_role = run_cli(data_dir, "users", "create", "dave", "--role", "root", "--password", "dave-pass-123")
    assert bad_role.returncode != 0 and "root" in bad_role.stderr
    duplicate = run_cli(data_dir, "users", "create", "BOB", "--password", "other-pass-123")
    assert duplicate.returncode == 1 and "already exists" in duplicate.stderr, duplicate.stderr
    assert "Traceback" not in duplicate.stderr
    weak = run_cli(data_dir, "users", "create", "erin", "--password", "tiny1")
    assert weak.returncode == 1 and "8 characters" in weak.stderr, weak.stderr
    assert "tiny1" not in weak.stdout + weak.stderr
    bad_name = run_cli(data_dir, "users", "create", "x/", "--password", "erin-pass-123")
    assert bad_name.returncode == 1 and "username" in bad_name.stderr

    changed = run_cli(data_dir, "users", "passwd", "bob", "--password", "bob-pass-456")
    assert changed.returncode == 0 and "bob-pass-456" not in changed.stdout
    assert await login_in_process(data_dir, "bob", "bob-pass-456") == "operator"
    for name in ("nobody", "x[/]y"):
        unknown = run_cli(data_dir, "users", "passwd", name, "--password", "some-pass-123")
        assert unknown.returncode == 1 and "no user" in unknown.stderr and name in unknown.stderr
        assert "Traceback" not in unknown.stderr

    listed = run_cli(data_dir, "users", "list")
    assert listed.returncode == 0
    # Cells split on the table's borders, whether rich draws them in Unicode or ASCII.
    cells = [re.split(r"\s*[│|]\s*", line.strip(" │|")) for line in listed.stdout.splitlines()]
    rows = {cell[0]: cell for cell in cells if len(cell) == 4 and cell[0] != "username"}
    assert set(rows) == {"admin", "bob", "carol"}
    assert rows["bob"][1:3] == ["operator", "yes"] and "bob-pass" not in listed.stdout


def read_key_file(data_dir: Path) -> Keyring:
    return KeyFile(data_dir / "secret.key").load_or_create()


def stored_passwords(data_dir: Path) -> dict[str, str]:
    with sqlite3.connect(f"file:{data_dir / 'vtrack.db'}?mode=ro", uri=True) as db:
        return dict(db.execute("SELECT name, password_encrypted FROM cameras").fetchall())


async def add_cameras(data_dir: Path) -> None:
    application = create_app(Settings(data_dir=data_dir, admin_password="admin-pass-123"))  # type: ignore[arg-type]
    async with application.router.lifespan_context(application):
        token = await login(application, "admin", "admin-pass-123")
        async with client_for(application, token) as admin:
            for name, url in (("A", f"rtsp://u:{CAMERA_PASSWORD}@10.0.0.1/s"), ("B", "rtsp://10.0.0.2/s")):
                response = await admin.post("/api/v1/cameras", json={"name": name, "rtsp_url": url})
                assert response.status_code == 201, response.text


async def export_passwords(data_dir: Path) -> dict[str, str | None]:
    application = create_app(Settings(data_dir=data_dir))
    async with application.router.lifespan_context(application):
        token = await login(application, "admin", "admin-pass-123")
        async with client_for(application, token) as admin:
            response = await admin.get(
                "/api/v1/cameras/export", params={"format": "json", "include_credentials": True}
            )
    assert response.status_code == 200, response.text
    return {c["name"]: c.get("password") for c in json.loads(response.content)["cameras"]}


async def test_secrets_rotate(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    await add_cameras(data_dir)
    old = read_key_file(data_dir)
    before = stored_passwords(data_dir)
    assert before["B"] is None and before["A"].startswith(f"v1:{old.current_id}:")

    rotated = run_cli(data_dir, "secrets", "rotate")
    assert rotated.returncode == 0, rotated.stderr
    new = read_key_file(data_dir)
    assert new.current_id != old.current_id and new.current != old.current
    assert new.retired == []  # nothing is left under the old key, so it is gone
    assert (data_dir / "secret.key").stat().st_mode & 0o777 == 0o600
    assert f"re-encrypted 1 credential(s) under key {new.current_id}" in rotated.stdout.replace("\n", " ")
    assert CAMERA_PASSWORD not in rotated.stdout + rotated.stderr

    after = stored_passwords(data_dir)
    assert after["B"] is None and after["A"] != before["A"]
    assert after["A"].startswith(f"v1:{new.current_id}:")
    assert Keyring(current=new.current).decrypt(after["A"], PASSWORD_PURPOSE) == CAMERA_PASSWORD
    with pytest.raises(SecretError):
        Keyring(current=old.current).decrypt(after["A"], PASSWORD_PURPOSE)
    # The server reads it back under the new key; tokens signed with the old key are gone with it.
    assert await export_passwords(data_dir) == {"A": CAMERA_PASSWORD, "B": None}

    again = run_cli(data_dir, "secrets", "rotate")
    assert again.returncode == 0, again.stderr
    assert read_key_file(data_dir).current_id not in {old.current_id, new.current_id}
    assert await export_passwords(data_dir) == {"A": CAMERA_PASSWORD, "B": None}


async def test_secrets_rotate_refusals(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    await add_cameras(data_dir)
    key = read_key_file(data_dir)

    from_env = run_cli(data_dir, "secrets", "rotate", VTRACK_SECRET_KEY="A" * 43)
    assert from_env.returncode == 1 and "VTRACK_SECRET_KEY" in from_env.stderr
    assert read_key_file(data_dir).current == key.current

    # A value no known key opens: rotation stops with a clear message and loses nothing.
    with sqlite3.connect(data_dir / "vtrack.db") as db:
        db.execute("UPDATE cameras SET password_encrypted = 'v1:deadbeef:AAAA' WHERE name = 'B'")
    db.close()
    broken = run_cli(data_dir, "secrets", "rotate")
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "Traceback" not in broken.stderr and "deadbeef" in broken.stderr, broken.stderr
    after = read_key_file(data_dir)
    assert key.current in [after.current, *after.retired]
    assert Keyring(after.current, after.retired).decrypt(
        stored_passwords(data_dir)["A"], PASSWORD_PURPOSE
    ) == (CAMERA_PASSWORD)

"""A throwaway PostgreSQL server for the test suite.

Each call to :func:`running_postgres` gets its own cluster in a temp dir,
listening only on 127.0.0.1, with durability switched off: tests need a real
PostgreSQL (SQLite hides dialect bugs) but not one that survives a crash, and
never one shared with anything else on the machine.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.peers.ports import free_port

URL_ENV = "VTRACK_TEST_POSTGRES_URL"
DB_USER = "vtrack"
DB_NAME = "vtrack"
HOST = "127.0.0.1"

# Debian keeps server binaries out of PATH, one directory per major version.
_DEBIAN_GLOB = "/usr/lib/postgresql/*/bin"
_SETUP_HINT = "run `make setup` to install the Debian `postgresql` package"
# A port picked as free can be taken before the postmaster binds it.
_START_ATTEMPTS = 3


@dataclass(frozen=True)
class _Runner:
    """How to invoke server binaries: postgres refuses to run as root."""

    prefix: tuple[str, ...]
    owner: pwd.struct_passwd | None

    def cmd(self, *args: str) -> list[str]:
        return [*self.prefix, *args]


def _version_key(bin_dir: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", bin_dir.parent.name)) or (0,)


def find_bin_dir() -> Path:
    """Locate one directory holding initdb, pg_ctl and createdb together.

    They must come from the same install: mixing majors (e.g. a PATH initdb
    with a different pg_ctl) produces clusters the server refuses to open.
    """
    needed = ("initdb", "pg_ctl", "createdb")
    candidates = sorted((Path(p) for p in glob.glob(_DEBIAN_GLOB)), key=_version_key, reverse=True)
    for bin_dir in candidates:
        if all((bin_dir / name).is_file() for name in needed):
            return bin_dir
    on_path = shutil.which("pg_ctl")
    if on_path is not None:
        bin_dir = Path(on_path).resolve().parent
        if all((bin_dir / name).is_file() for name in needed):
            return bin_dir
    raise RuntimeError(
        f"PostgreSQL server binaries (initdb, pg_ctl, createdb) not found under {_DEBIAN_GLOB} "
        f"or on PATH; {_SETUP_HINT}, or set {URL_ENV} to an existing server's URL"
    )


def _runner() -> _Runner:
    if os.geteuid() != 0:
        return _Runner(prefix=(), owner=None)
    try:
        owner = pwd.getpwnam("postgres")
    except KeyError:
        raise RuntimeError(
            f"running as root, but there is no `postgres` system user to run the server as; {_SETUP_HINT}"
        ) from None
    runuser = shutil.which("runuser")
    if runuser is None:
        raise RuntimeError("running as root, but `runuser` (util-linux) is missing")
    return _Runner(prefix=(runuser, "-u", owner.pw_name, "--"), owner=owner)


def _clean_env() -> dict[str, str]:
    # Stray PGHOST/PGPORT/PGDATA... from the developer's shell would silently
    # redirect the client tools to some other server.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"
    return env


def _run(cmd: Sequence[str], cwd: Path, what: str) -> None:
    proc = subprocess.run(
        list(cmd), cwd=cwd, env=_clean_env(), capture_output=True, text=True, check=False, timeout=120
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"{what} failed (exit {proc.returncode}): {' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}"
        )


def _make_workdir(runner: _Runner) -> Path:
    # As root the server runs as `postgres`, which must be able to reach the
    # dir: so it lives directly under /tmp (not a possibly private $TMPDIR)
    # and is handed over to that user.
    parent = "/tmp" if runner.owner is not None else None
    workdir = Path(tempfile.mkdtemp(prefix="vtrack-pg-", dir=parent))
    workdir.chmod(0o755)
    if runner.owner is not None:
        os.chown(workdir, runner.owner.pw_uid, runner.owner.pw_gid)
    return workdir


def _read_log(log: Path) -> str:
    try:
        return log.read_text(errors="replace")[-4000:]
    except OSError:
        return "<no server log>"


@contextlib.contextmanager
def running_postgres() -> Iterator[str]:
    """Yield an asyncpg SQLAlchemy URL for a private, disposable server.

    Honours VTRACK_TEST_POSTGRES_URL so CI or a developer can point the suite
    at a server they already run, skipping the cluster start.
    """
    external = os.environ.get(URL_ENV)
    if external:
        yield external
        return

    bin_dir = find_bin_dir()
    runner = _runner()
    workdir = _make_workdir(runner)
    data, log, sock_dir = workdir / "data", workdir / "server.log", workdir / "sock"
    pg_ctl = str(bin_dir / "pg_ctl")
    started = False
    try:
        _run(
            runner.cmd(
                str(bin_dir / "initdb"),
                "-D", str(data),
                "-U", DB_USER,
                "--auth=trust",
                "-E", "UTF8",
                "--locale=C",
                "--no-sync",
            ),
            cwd=workdir,
            what="initdb",
        )  # fmt: skip
        sock_dir.mkdir()
        if runner.owner is not None:
            os.chown(sock_dir, runner.owner.pw_uid, runner.owner.pw_gid)

        port = 0
        for attempt in range(1, _START_ATTEMPTS + 1):
            port = free_port()
            options = (
                f"-h {HOST} -p {port} -k {sock_dir} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            )
            try:
                _run(
                    runner.cmd(
                        pg_ctl, "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o", options, "start"
                    ),
                    cwd=workdir,
                    what="pg_ctl start",
                )
            except RuntimeError as exc:
                if attempt == _START_ATTEMPTS:
                    raise RuntimeError(f"{exc}\n--- server log ---\n{_read_log(log)}") from None
                continue
            started = True
            break

        _run(
            [str(bin_dir / "createdb"), "-h", HOST, "-p", str(port), "-U", DB_USER, DB_NAME],
            cwd=workdir,
            what="createdb",
        )
        yield f"postgresql+asyncpg://{DB_USER}@{HOST}:{port}/{DB_NAME}"
    finally:
        try:
            if started:
                _run(
                    runner.cmd(pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"),
                    cwd=workdir,
                    what="pg_ctl stop",
                )
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

"""A throwaway redis-server (Debian's package) for the test suite, one per caller, on 127.0.0.1 only.

A real server rather than a fake, because what the Redis bridge has to get right is the wire: a
connection refused, a socket reset mid-pipeline, resubscribing after a restart. Persistence is off
(`--save ""`, `--appendonly no`): nothing should outlive a test. `stop()` kills the process outright,
like a crash or an OOM kill would, and `start()` brings it back on the same port, which is what an
outage looks like from a client that keeps its URL.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from tests.peers.ports import free_port

HOST = "127.0.0.1"
_SETUP_HINT = "run `make setup` to install the Debian `redis-server` package"
_START_TIMEOUT = 10.0
# A port picked as free can be taken before redis-server binds it.
_START_ATTEMPTS = 3


def find_redis_server() -> str:
    found = shutil.which("redis-server") or shutil.which("/usr/bin/redis-server")
    if found is None:
        raise RuntimeError(f"redis-server not found on PATH; {_SETUP_HINT}")
    return found


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """One redis-server process that can be killed and started again on the same port and dir."""

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        self.workdir = workdir
        self.port = port if port is not None else free_port()
        self.log = workdir / "redis.log"
        self._binary = find_redis_server()
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _read_log(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-3000:]
        except OSError:
            return "<no server log>"

    def start(self) -> None:
        if self.running:
            return
        self._proc = subprocess.Popen(
            [
                self._binary,
                "--bind", HOST,
                "--port", str(self.port),
                "--dir", str(self.workdir),
                "--save", "",
                "--appendonly", "no",
                "--daemonize", "no",
                "--protected-mode", "yes",
                "--logfile", str(self.log),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=self.workdir,
        )  # fmt: skip
        deadline = time.monotonic() + _START_TIMEOUT
        while not _answers_ping(self.port):
            if self._proc.poll() is not None:
                code, self._proc = self._proc.returncode, None
                raise RuntimeError(f"redis-server exited with {code}:\n{self._read_log()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"redis-server did not answer within {_START_TIMEOUT:g} s:\n{self._read_log()}"
                )
            time.sleep(0.02)

    def stop(self) -> None:
        """Kill it (SIGKILL): clients see their connections reset, as in a real crash."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.kill()
        proc.wait(timeout=10)


@contextlib.contextmanager
def running_redis() -> Iterator[RedisServer]:
    """Yield a started server in its own temp dir; killed and removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="vtrack-redis-") as workdir:
        server: RedisServer | None = None
        for attempt in range(1, _START_ATTEMPTS + 1):
            server = RedisServer(Path(workdir))
            try:
                server.start()
                break
            except RuntimeError:
                if attempt == _START_ATTEMPTS:
                    raise
        assert server is not None
        try:
            yield server
        finally:
            server.stop()

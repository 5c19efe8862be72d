"""moto's S3 server as an independent peer: a real HTTP endpoint on 127.0.0.1, in its own process.

A subprocess rather than moto's in-process server, so the code under test talks to S3 over the wire
exactly as it would to MinIO or AWS, with nothing of moto loaded (and no botocore hooks installed) in
the test process. The server picks its own free port (`-p 0`) and reports it on stderr, so there is no
window in which another process can take a port chosen for it.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

HOST = "127.0.0.1"
REGION = "us-east-1"
ACCESS_KEY_ID = "testing-key-id"
SECRET_ACCESS_KEY = "testing-secret-key"
_READY = re.compile(r"Running on http://127\.0\.0\.1:(\d+)")
_START_TIMEOUT = 30.0


def _wait_for_port(log: Path, proc: subprocess.Popen[bytes]) -> int:
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        found = _READY.search(log.read_text(errors="replace"))
        if found:
            return int(found.group(1))
        if proc.poll() is not None:
            raise RuntimeError(f"moto_server exited with {proc.returncode}:\n{log.read_text()[-2000:]}")
        time.sleep(0.05)
    raise RuntimeError(f"moto_server did not start within {_START_TIMEOUT:g} s:\n{log.read_text()[-2000:]}")


def _wait_for_http(url: str) -> None:
    deadline = time.monotonic() + _START_TIMEOUT
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310  (a loopback http URL we built)
                return
        except urllib.error.HTTPError:
            return  # any HTTP answer means it serves
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@contextlib.contextmanager
def running_moto_s3() -> Iterator[str]:
    """Yield the endpoint URL of a fresh moto S3 server; it is stopped (and its state gone) afterwards."""
    with tempfile.TemporaryDirectory(prefix="vtrack-moto-") as workdir:
        log = Path(workdir) / "moto.log"
        # Credentials and region for moto itself; never anything from the developer's shell.
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env |= {"AWS_ACCESS_KEY_ID": ACCESS_KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY}
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", HOST, "-p", "0"],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
            )
        try:
            endpoint = f"http://{HOST}:{_wait_for_port(log, proc)}"
            _wait_for_http(f"{endpoint}/moto-api/")
            yield endpoint
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

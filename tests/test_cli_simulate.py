"""`vtrack simulate` as a user runs it: a real process, real ports on a loopback address, Ctrl+C to stop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import av

from tests.peers.ports import free_port

VTRACK = [sys.executable, "-m", "vtrack"]
HOST = "127.0.0.8"


def test_simulate_serves_until_interrupted() -> None:
    rtsp_port, onvif_base = free_port(HOST), free_port(HOST)
    command = [
        *VTRACK, "simulate", "--cameras", "1", "--host", HOST, "--rtsp-port", str(rtsp_port),
        "--onvif-port-base", str(onvif_base), "--control-port", "0", "--sdk-port-base", "0", "--no-discovery",
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    try:
        assert process.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "fault control:" in line:
                break
        output = "".join(lines)
        url = f"rtsp://{HOST}:{rtsp_port}/live/1"
        assert url in output and f"http://{HOST}:{onvif_base}/onvif/device_service" in output, output
        with av.open(
            url.replace("rtsp://", "rtsp://admin:admin123@"), options={"rtsp_transport": "tcp"}, timeout=10
        ) as c:
            frame = next(c.decode(video=0))
        assert (frame.width, frame.height) == (1920, 1080)
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=30)
        assert process.returncode == 0, rest
        assert "simulator stopped" in rest
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def test_bad_input_is_a_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "site.json"
    bad.write_text(json.dumps({"cameras": [{"name": "x", "codec": "vp9"}]}))
    for args, expected in (
        (["--config", str(bad)], "codec"),
        (["--persona", "axis"], "--persona"),
    ):
        result = subprocess.run([*VTRACK, "simulate", *args], capture_output=True, text=True, timeout=60)
        assert result.returncode == 1, result
        assert expected in result.stderr and "Traceback" not in result.stderr, result.stderr

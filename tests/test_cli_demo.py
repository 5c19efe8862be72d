"""`make demo`'s main job end to end: the server, simulated cameras, and a live analytics channel on the
first camera counting at a line; Ctrl+C (SIGTERM) closes the channel's run."""

from __future__ import annotations

import signal
import sqlite3
import time
from pathlib import Path

import httpx

from tests.shared_data import PEOPLE_VIDEO, YOLOX_NANO
from tests.test_cli import serving

PASSWORD = "demo-pass-123"


def test_demo_serves_cameras_and_a_live_channel(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with_people = PEOPLE_VIDEO.is_file() and YOLOX_NANO.is_file()
    extra = ("--video", str(PEOPLE_VIDEO), "--model", str(YOLOX_NANO)) if with_people else ()
    with serving(data_dir, "demo", "--cameras", "1", *extra, VTRACK_ADMIN_PASSWORD=PASSWORD) as server:
        login = httpx.post(
            f"{server.url}/api/v1/auth/login", json={"username": "admin", "password": PASSWORD}, timeout=10
        )
        headers = {"Authorization": f"Bearer {login.json()['data']['accessToken']}"}
        cameras = httpx.get(f"{server.url}/api/v1/cameras", headers=headers, timeout=10).json()["data"]
        assert [c["name"] for c in cameras] == ["Front Door Camera"]
        deadline = time.monotonic() + 60
        while True:
            live = httpx.get(f"{server.url}/api/v1/analytics/live", headers=headers, timeout=10).json()
            channels = live["data"]["channels"]
            if channels and channels[0]["health"]["framesProcessed"] >= 10:
                break
            assert time.monotonic() < deadline, f"{live}\n{server.output}"
            time.sleep(0.5)
        channel = channels[0]
        assert channel["name"] == "Front Door Camera people" and channel["health"]["state"] == "running"
        frame = httpx.get(f"{server.url}{channel['frameUrl']}", timeout=10)
        assert frame.status_code == 200 and frame.content[:2] == b"\xff\xd8"
        run_id = channel["health"]["runId"]
    assert server.process.returncode in (0, -signal.SIGTERM), server.output
    with sqlite3.connect(data_dir / "vtrack.db") as db:
        status, detector = db.execute(
            "SELECT status, json_extract(config, '$.detector') FROM analytics_runs WHERE id = ?", (run_id,)
        ).fetchone()
    assert status == "interrupted"
    assert detector == ("yolox" if with_people else "motion")

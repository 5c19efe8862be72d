"""Registry benchmark: list, search, import and export with 10,000 cameras in SQLite.

Runs the real server (`vtrack serve`) on loopback in a fresh data dir and drives it over HTTP, as a
client would. Each latency is printed next to the same server's /healthz latency (a request that
touches the database but does no real work), and import/export next to a plain SQLAlchemy insert and
select of the same rows, so the ratios stay comparable on a noisy machine.

    .venv/bin/python bench/registry.py [--cameras 10000] [--requests 200] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import create_async_engine

from vtrack.db.models import Camera
from vtrack.db.types import new_id, utcnow

PASSWORD = "bench-admin-pass"
SITES = [f"Site {chr(65 + i // 26)}{chr(65 + i % 26)}" for i in range(50)]
TARGETS = {"list_p95_ms": 30.0, "search_p95_ms": 50.0, "import_s": 5.0}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_csv(count: int) -> str:
    lines = ["name,rtsp_url,group,location,resolution,fps,codec"]
    for i in range(count):
        host = f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256 or 1}"
        lines.append(
            f"Camera {i:05d},rtsp://admin:pw{i}@{host}:554/Streaming/Channels/101,"
            f"Group {i % 20:02d},{SITES[i % len(SITES)]} floor {i % 7},1920x1080,25,h264"
        )
    return "\n".join(lines) + "\n"


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed_get(client: httpx.Client, url: str, runs: int, params: Any = None) -> list[float]:
    samples = []
    for i in range(runs):
        p = params(i) if callable(params) else params
        start = time.perf_counter()
        response = client.get(url, params=p)
        samples.append((time.perf_counter() - start) * 1000)
        response.raise_for_status()
    return samples


async def raw_baseline(db_file: Path, count: int) -> tuple[float, float]:
    """Plain Core insert and select of the same number of rows: the floor the API is compared with."""
    engine = create_async_engine(f"sqlite+aiosqlite:///{db_file}")
    async with engine.begin() as conn:
        await conn.run_sync(lambda c: Camera.__table__.create(c))
    now = utcnow()
    rows = [
        {
            "id": new_id(),
            "name": f"Camera {i:05d}",
            "rtsp_url": f"rtsp://10.0.0.{i % 250 + 1}/s",
            "protocol": "rtsp",
            "status": "idle",
            "is_active": True,
            "enable_detection": False,
            "detection_sensitivity": 0.7,
            "created_at": now,
            "updated_at": now,
        }
        for i in range(count)
    ]
    start = time.perf_counter()
    async with engine.begin() as conn:
        for chunk in range(0, count, 1000):
            await conn.execute(insert(Camera), rows[chunk : chunk + 1000])
    inserted = time.perf_counter() - start
    start = time.perf_counter()
    async with engine.connect() as conn:
        (await conn.execute(select(Camera.__table__))).all()
    selected = time.perf_counter() - start
    await engine.dispose()
    return inserted, selected


def run(cameras: int, requests: int) -> dict[str, float]:
    rng = random.Random(7)
    with tempfile.TemporaryDirectory(prefix="vtrack-bench-") as tmp:
        port = free_port()
        env = {
            **os.environ,
            "VTRACK_DATA_DIR": tmp,
            "VTRACK_ADMIN_PASSWORD": PASSWORD,
            "VTRACK_LOG_LEVEL": "WARNING",
        }
        env.pop("VTRACK_DATABASE_URL", None)
        server = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "vtrack", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            with httpx.Client(base_url=base, timeout=60) as client:
                for _ in range(200):
                    try:
                        if client.get("/healthz").status_code == 200:
                            break
                    except httpx.TransportError:
                        time.sleep(0.1)
                token = client.post("/api/v1/auth/login", json={"username": "admin", "password": PASSWORD})
                client.headers["Authorization"] = "Bearer " + token.json()["data"]["accessToken"]

                payload = {"format": "csv", "data": base64.b64encode(make_csv(cameras).encode()).decode()}
                start = time.perf_counter()
                response = client.post("/api/v1/cameras/import", json=payload)
                import_s = time.perf_counter() - start
                response.raise_for_status()
                assert response.json()["data"]["created"] == cameras

                timed_get(client, "/api/v1/cameras", 20, {"page_size": 50})  # warm-up
                health = timed_get(client, "/healthz", requests)
                pages = max(1, cameras // 50)
                listing = timed_get(
                    client,
                    "/api/v1/cameras",
                    requests,
                    lambda i: {"page_size": 50, "page": rng.randint(1, pages)},
                )
                search = timed_get(
                    client,
                    "/api/v1/cameras",
                    requests,
                    lambda i: {"page_size": 50, "q": rng.choice(SITES).split()[1].lower()},
                )
                exports = []
                for _ in range(3):
                    start = time.perf_counter()
                    client.get("/api/v1/cameras/export", params={"format": "csv"}).raise_for_status()
                    exports.append(time.perf_counter() - start)
        finally:
            server.terminate()
            server.wait(timeout=30)
        raw_insert_s, raw_select_s = asyncio.run(raw_baseline(Path(tmp) / "baseline.db", cameras))
    return {
        "healthz_p50_ms": statistics.median(health),
        "healthz_p95_ms": percentile(health, 0.95),
        "list_p50_ms": statistics.median(listing),
        "list_p95_ms": percentile(listing, 0.95),
        "search_p50_ms": statistics.median(search),
        "search_p95_ms": percentile(search, 0.95),
        "import_s": import_s,
        "export_s": statistics.median(exports),
        "raw_insert_s": raw_insert_s,
        "raw_select_s": raw_select_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cameras", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    r = run(args.cameras, args.requests)
    print(f"registry benchmark, {args.cameras} cameras in SQLite, {args.requests} requests each")
    print(
        f"  /healthz (baseline)        p50 {r['healthz_p50_ms']:6.1f} ms  p95 {r['healthz_p95_ms']:6.1f} ms"
    )
    for key, label in (("list", "list page_size=50"), ("search", "search q=")):
        ratio = r[f"{key}_p95_ms"] / r["healthz_p95_ms"]
        print(
            f"  {label:26} p50 {r[key + '_p50_ms']:6.1f} ms  p95 {r[key + '_p95_ms']:6.1f} ms  "
            f"({ratio:.1f}x healthz p95)"
        )
    print(
        f"  import CSV {r['import_s']:22.2f} s   ({r['import_s'] / r['raw_insert_s']:.1f}x raw insert "
        f"{r['raw_insert_s']:.2f} s)"
    )
    print(
        f"  export CSV {r['export_s']:22.2f} s   ({r['export_s'] / r['raw_select_s']:.1f}x raw select "
        f"{r['raw_select_s']:.2f} s)"
    )
    failed = [k for k, limit in TARGETS.items() if r[k] > limit]
    for key, limit in TARGETS.items():
        print(f"  target {key} < {limit}: {'ok' if key not in failed else 'MISSED'} ({r[key]:.2f})")
    if args.json:
        args.json.write_text(json.dumps(r, indent=2))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

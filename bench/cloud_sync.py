"""Cloud sync benchmark: an S3 bucket (moto's server on loopback) into the archive, vtrack against rclone.

The bucket holds `--small` small videos (default 1,000 of 64 KiB, in 20 folders) and `--large` large ones
(default 10 of 20 MiB). In the same run, alternating so machine noise hits both:
- rclone: `rclone sync` (Debian's package, its default 4 transfers / 8 checkers, and once with 8
  transfers as vtrack uses) from the bucket to an empty folder, then again with nothing changed;
- vtrack: the sync engine (`SyncCoordinator.run_now`, what a `sync.source` job runs) on an S3 source
  into an empty archive, then again with nothing changed.
Both verify: every file arrives with its bytes (sha256 compared here, after timing). Target: vtrack at
least as fast as rclone on the first sync and on the no-change re-sync.

    .venv/bin/python bench/cloud_sync.py [--small 1000] [--small-kib 64] [--large 10] [--large-mib 20]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/peers: the moto server peer

from tests.peers.moto_s3 import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, running_moto_s3  # noqa: E402

BUCKET, PREFIX = "bench-videos", "exports"
RCLONE = shutil.which("rclone") or "rclone"


def populate(endpoint: str, small: int, small_kib: int, large: int, large_mib: int) -> dict[str, str]:
    import boto3  # type: ignore[import-untyped]
    from boto3.s3.transfer import TransferConfig  # type: ignore[import-untyped]

    client: Any = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
    )
    client.create_bucket(Bucket=BUCKET)
    digests: dict[str, str] = {}
    whole = TransferConfig(multipart_threshold=1 << 40)  # one PUT each: ETag is the MD5, as for most uploads

    def put(key: str, data: bytes) -> None:
        client.upload_fileobj(__import__("io").BytesIO(data), BUCKET, f"{PREFIX}/{key}", Config=whole)
        digests[key] = hashlib.sha256(data).hexdigest()

    for n in range(small):
        put(f"cam{n % 20:02d}/2026-11-20/{n:05d}.mp4", os.urandom(small_kib * 1024))
    for n in range(large):
        put(f"large/{n:02d}.mkv", os.urandom(large_mib << 20))
    return digests


def rclone(endpoint: str, dest: Path, transfers: int, durable: bool = False) -> float:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},  # e.g. AWS_CA_BUNDLE
        "RCLONE_CONFIG_BENCH_TYPE": "s3",
        "RCLONE_CONFIG_BENCH_PROVIDER": "Other",
        "RCLONE_CONFIG_BENCH_ENDPOINT": endpoint,
        "RCLONE_CONFIG_BENCH_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        "RCLONE_CONFIG_BENCH_REGION": REGION,
        "RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE": "true",
    }
    began = time.perf_counter()
    subprocess.run(  # noqa: S603
        [RCLONE, "sync", f"bench:{BUCKET}/{PREFIX}", str(dest), "--transfers", str(transfers), "-q"],
        check=True,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    if durable:  # what vtrack does before it indexes a file: the bytes are on disk, not just in cache
        os.sync()
    return time.perf_counter() - began


async def vtrack_services(data_dir: Path, endpoint: str) -> tuple[Any, str]:
    from vtrack.app import build_services, prepare_database
    from vtrack.db.repositories.users import UserRepository
    from vtrack.registry.cloud_sources import CloudSourceService
    from vtrack.registry.source_schemas import SourceCreate
    from vtrack.security.audit import Actor, Auditor
    from vtrack.settings import Settings

    settings = Settings(
        data_dir=data_dir,
        admin_password="bench-admin-pass",  # type: ignore[arg-type]
        archive_reserve_gb=0,
        archive_reserve_inodes=0,
    )
    services = build_services(settings)
    await prepare_database(services, None)
    async with services.database.transaction() as session:
        admin = await UserRepository(session).by_username("admin")
        body = SourceCreate.model_validate(
            {
                "name": "Bench S3",
                "type": "s3",
                "bucket": BUCKET,
                "prefix": PREFIX,
                "endpoint_url": endpoint,
                "region": REGION,
                "access_key_id": ACCESS_KEY_ID,
                "secret_access_key": SECRET_ACCESS_KEY,
            }
        )
        service = CloudSourceService(
            session, services.keyring, Auditor(session, Actor.system()), services.cloud
        )
        source = await service.create(admin, body)
    return services, source.id


async def vtrack_run(services: Any, source_id: str) -> tuple[float, Any]:
    began = time.perf_counter()
    outcome = await services.sync.run_now(source_id)
    return time.perf_counter() - began, outcome


def check(root: Path, digests: dict[str, str]) -> None:
    got = {
        p.relative_to(root).as_posix(): p
        for p in root.rglob("*")
        if p.is_file() and not p.name.startswith(".")
    }
    if sorted(got) != sorted(digests):
        raise SystemExit(f"{root}: {len(got)} files, expected {len(digests)}")
    for key, path in got.items():
        if hashlib.sha256(path.read_bytes()).hexdigest() != digests[key]:
            raise SystemExit(f"{path}: bytes differ from the bucket's")


async def main(args: argparse.Namespace) -> None:
    if not Path(RCLONE).is_absolute():
        raise SystemExit("rclone is not installed: apt-get install rclone (make bench does)")
    with running_moto_s3() as endpoint, tempfile.TemporaryDirectory(prefix="vtrack-cloud-bench-") as tmp:
        work = Path(tmp)
        started = time.perf_counter()
        digests = populate(endpoint, args.small, args.small_kib, args.large, args.large_mib)
        total = args.small * args.small_kib * 1024 + args.large * (args.large_mib << 20)
        filled = time.perf_counter() - started
        print(f"bucket: {len(digests)} files, {total / 1e6:.0f} MB (filled in {filled:.1f} s)")
        rows: list[tuple[str, float, float]] = []

        r_first = rclone(endpoint, work / "rclone", 4)
        r_again = rclone(endpoint, work / "rclone", 4)
        check(work / "rclone", digests)

        services, source_id = await vtrack_services(work / "vtrack", endpoint)
        try:
            v_first, outcome = await vtrack_run(services, source_id)
            if outcome.chunks_failed or outcome.chunks_done != len(digests):
                raise SystemExit(f"vtrack: {outcome.as_dict()}")
            v_again, again = await vtrack_run(services, source_id)
            if again.chunks_planned:
                raise SystemExit(f"vtrack re-sync fetched again: {again.as_dict()}")
            check(services.archive_layout.source_dir("Bench S3"), digests)
        finally:
            await services.database.dispose()

        r8_first = rclone(endpoint, work / "rclone8", 8)
        r8_again = rclone(endpoint, work / "rclone8", 8)
        rd_first = rclone(endpoint, work / "rclone-durable", 4, durable=True)
        rows.append(("first sync", v_first, r_first))
        rows.append(("no-change re-sync", v_again, r_again))
        print(f"{'':20} {'vtrack':>9} {'rclone':>9} {'ratio':>7} {'rclone --transfers 8':>22}")
        for (name, v, r), r8 in zip(rows, (r8_first, r8_again), strict=True):
            print(f"{name:20} {v:8.2f}s {r:8.2f}s {r / v:6.2f}x {r8:21.2f}s")
        print(f"vtrack first sync: {total / v_first / 1e6:.1f} MB/s, {len(digests) / v_first:.0f} files/s")
        print(f"rclone first sync followed by sync(1) (durable, as vtrack's): {rd_first:.2f}s")
        met = v_first <= r_first and v_again <= r_again
        print("target (vtrack at least as fast as rclone on both):", "met" if met else "NOT met")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--small-kib", type=int, default=64)
    parser.add_argument("--large", type=int, default=10)
    parser.add_argument("--large-mib", type=int, default=20)
    asyncio.run(main(parser.parse_args()))

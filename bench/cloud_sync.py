"""Cloud sync benchmark: an S3 bucket (moto's server on loopback) into the archive, vtrack against rclone.

The bucket holds `--small` small videos (default 1,000 of 64 KiB, in 20 folders) and `--large` large ones
(default 10 of 20 MiB). In the same run, `--rounds` rounds (default 5), the order alternating ABBA so
drift in the machine's speed hits both alike:
- rclone: `rclone sync` (Debian's package, its default 4 transfers / 8 checkers) from the bucket to an
  empty folder, then again with nothing changed;
- vtrack: the sync engine (`SyncCoordinator.run_now`, what a `sync.source` job runs) on an S3 source
  into an empty archive with a fresh database, then again with nothing changed.
Both verify: every file arrives with its bytes (sha256 compared here, after timing). Target: vtrack's
median at least as fast as rclone's on the first sync and on the no-change re-sync. Each side's own CPU
time on the first sync is reported too: on two cores the client and moto share the machine, so the less
the client spends the more moto can serve. Once each, for
reference: rclone with 8 transfers (vtrack's concurrency) and rclone followed by sync(1).

    .venv/bin/python bench/cloud_sync.py [--small 1000] [--small-kib 64] [--large 10] [--large-mib 20]
                                         [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import resource
import shutil
import statistics
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


def cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def rclone(endpoint: str, dest: Path, transfers: int, durable: bool = False) -> tuple[float, float]:
    """Seconds taken and rclone's CPU seconds (the bench's other children, moto, are never reaped here)."""
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
    began, cpu = time.perf_counter(), cpu_seconds(resource.RUSAGE_CHILDREN)
    subprocess.run(  # noqa: S603
        [RCLONE, "sync", f"bench:{BUCKET}/{PREFIX}", str(dest), "--transfers", str(transfers), "-q"],
        check=True,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    if durable:  # what vtrack does before it indexes a file: the bytes are on disk, not just in cache
        os.sync()
    return time.perf_counter() - began, cpu_seconds(resource.RUSAGE_CHILDREN) - cpu


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


async def vtrack_run(services: Any, source_id: str) -> tuple[float, float, Any]:
    """Seconds taken, vtrack's CPU seconds (all of this process's threads: moto is another process)."""
    began, cpu = time.perf_counter(), cpu_seconds(resource.RUSAGE_SELF)
    outcome = await services.sync.run_now(source_id)
    return time.perf_counter() - began, cpu_seconds(resource.RUSAGE_SELF) - cpu, outcome


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


async def vtrack_round(data_dir: Path, endpoint: str, digests: dict[str, str]) -> tuple[float, float, float]:
    """A fresh vtrack (database and archive) syncs the bucket, then syncs it again with nothing new."""
    services, source_id = await vtrack_services(data_dir, endpoint)
    os.sync()  # not timed: neither side pays for writing back what the other left dirty
    try:
        first, cpu, outcome = await vtrack_run(services, source_id)
        if outcome.chunks_failed or outcome.chunks_done != len(digests):
            raise SystemExit(f"vtrack: {outcome.as_dict()}")
        again, _, repeat = await vtrack_run(services, source_id)
        if repeat.chunks_planned:
            raise SystemExit(f"vtrack re-sync fetched again: {repeat.as_dict()}")
        check(services.archive_layout.source_dir("Bench S3"), digests)
    finally:
        await services.database.dispose()
    shutil.rmtree(data_dir)  # the other side then writes into the same recycled page cache
    return first, again, cpu


def rclone_round(dest: Path, endpoint: str, digests: dict[str, str]) -> tuple[float, float, float]:
    os.sync()  # not timed: neither side pays for writing back what the other left dirty
    first, cpu = rclone(endpoint, dest, 4)
    again, _ = rclone(endpoint, dest, 4)
    check(dest, digests)
    shutil.rmtree(dest)
    return first, again, cpu


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

        v_runs: list[tuple[float, float, float]] = []
        r_runs: list[tuple[float, float, float]] = []
        print(f"{'round':6} {'vtrack first':>13} {'rclone first':>13} {'ratio':>6}   {'re-syncs v / r':>15}")
        for n in range(args.rounds):
            # ABBA: the one that goes first alternates, so drift in the machine's speed hits both alike.
            if n % 2 == 0:
                r_runs.append(rclone_round(work / f"rclone-{n}", endpoint, digests))
                v_runs.append(await vtrack_round(work / f"vtrack-{n}", endpoint, digests))
            else:
                v_runs.append(await vtrack_round(work / f"vtrack-{n}", endpoint, digests))
                r_runs.append(rclone_round(work / f"rclone-{n}", endpoint, digests))
            (v1, v2, _), (r1, r2, _) = v_runs[-1], r_runs[-1]
            print(f"{n + 1:<6} {v1:12.2f}s {r1:12.2f}s {r1 / v1:5.2f}x   {v2:6.2f}s / {r2:5.2f}s")

        r8_first, _ = rclone(endpoint, work / "rclone8", 8)
        rd_first, _ = rclone(endpoint, work / "rclone-durable", 4, durable=True)
        v_first, v_again, v_cpu = (statistics.median(run[i] for run in v_runs) for i in (0, 1, 2))
        r_first, r_again, r_cpu = (statistics.median(run[i] for run in r_runs) for i in (0, 1, 2))
        print(f"\nmedian of {args.rounds} rounds")
        print(f"{'':20} {'vtrack':>9} {'rclone':>9} {'ratio':>7}")
        print(f"{'first sync':20} {v_first:8.2f}s {r_first:8.2f}s {r_first / v_first:6.2f}x")
        print(f"{'no-change re-sync':20} {v_again:8.2f}s {r_again:8.2f}s {r_again / v_again:6.2f}x")
        print(f"{'first sync, CPU':20} {v_cpu:8.2f}s {r_cpu:8.2f}s {r_cpu / v_cpu:6.2f}x  (the client's own)")
        paired = statistics.median(r[0] / v[0] for v, r in zip(v_runs, r_runs, strict=True))
        print(f"median of the rounds' own first-sync ratios: {paired:.2f}x")
        print(f"vtrack first sync: {total / v_first / 1e6:.1f} MB/s, {len(digests) / v_first:.0f} files/s")
        print(f"rclone --transfers 8 (as vtrack's concurrency): {r8_first:.2f}s")
        print(f"rclone first sync followed by sync(1) (durable, as vtrack's): {rd_first:.2f}s")
        met = v_first <= r_first and v_again <= r_again
        print("target (vtrack at least as fast as rclone on both, medians):", "met" if met else "NOT met")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--small-kib", type=int, default=64)
    parser.add_argument("--large", type=int, default=10)
    parser.add_argument("--large-mib", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds; medians are compared")
    asyncio.run(main(parser.parse_args()))

"""The disk guard: real probes on real directories, and a fake statvfs to play a full disk."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from vtrack.archive.disk import GB, DiskGuard
from vtrack.archive.errors import ArchiveFullError, ArchiveUnavailableError
from vtrack.settings import Settings


@dataclass
class FakeVfs:
    """statvfs of a 100 GB disk with `free` bytes and `inodes` inodes left for us."""

    free: int
    inodes: int = 1_000_000
    total_inodes: int = 6_000_000
    f_frsize: int = 1024  # divides the sizes below, so free bytes come out exact

    @property
    def f_blocks(self) -> int:
        return 100 * GB // self.f_frsize

    @property
    def f_bavail(self) -> int:
        return self.free // self.f_frsize

    @property
    def f_files(self) -> int:
        return self.total_inodes

    @property
    def f_favail(self) -> int:
        return self.inodes


def guard(root: Path, vfs: FakeVfs, reserve_gb: float = 5.0, reserve_inodes: int = 10_000) -> DiskGuard:
    return DiskGuard(root, int(reserve_gb * GB), reserve_inodes, statvfs=lambda _path: vfs)


async def test_a_healthy_real_directory(tmp_path: Path) -> None:
    status = await DiskGuard(tmp_path, reserve_bytes=0, reserve_inodes=0).check()
    assert status.ok and status.exists and status.writable and status.problem is None
    assert status.free_bytes is not None and status.total_bytes is not None
    assert 0 < status.free_bytes <= status.total_bytes
    assert list(tmp_path.iterdir()) == []  # the probe file is gone


async def test_below_the_reserve_is_a_problem_and_pauses_writes(tmp_path: Path) -> None:
    disk = guard(tmp_path, FakeVfs(free=int(1.2 * GB)))
    status = await disk.check()
    message = "archive disk has 1.2 GB free, below the 5.0 GB reserve (VTRACK_ARCHIVE_RESERVE_GB)"
    assert not status.ok and status.writable and status.problem == message
    with pytest.raises(ArchiveFullError) as raised:
        await disk.ensure_room(0)
    assert raised.value.message == message
    assert raised.value.details == {"freeBytes": 1_200_000_000, "reserveBytes": 5 * GB, "expectedBytes": 0}


async def test_a_download_that_would_eat_into_the_reserve_is_refused(tmp_path: Path) -> None:
    disk = guard(tmp_path, FakeVfs(free=6 * GB))
    assert (await disk.check()).ok
    await disk.ensure_room(900 * 10**6)
    with pytest.raises(ArchiveFullError, match=r"6\.0 GB free; 1\.5 GB more would go below the 5\.0 GB"):
        await disk.ensure_room(int(1.5 * GB))


async def test_too_few_inodes(tmp_path: Path) -> None:
    disk = guard(tmp_path, FakeVfs(free=50 * GB, inodes=812))
    status = await disk.check()
    assert status.problem == (
        "archive disk has 812 free inodes, below the 10000 reserve (VTRACK_ARCHIVE_RESERVE_INODES)"
    )
    with pytest.raises(ArchiveFullError, match="812 free inodes"):
        await disk.ensure_room(10)


async def test_filesystems_without_an_inode_limit_are_not_full(tmp_path: Path) -> None:
    status = await guard(tmp_path, FakeVfs(free=50 * GB, inodes=0, total_inodes=0)).check()
    assert status.ok and status.free_inodes is None


async def test_small_free_space_is_shown_in_megabytes(tmp_path: Path) -> None:
    status = await guard(tmp_path, FakeVfs(free=40 * 10**6)).check()
    assert status.problem is not None and status.problem.startswith("archive disk has 40 MB free")


async def test_a_missing_root(tmp_path: Path) -> None:
    disk = guard(tmp_path / "not-mounted", FakeVfs(free=50 * GB))
    status = await disk.check()
    assert not status.ok and not status.exists and status.free_bytes is None
    assert status.problem == f"archive directory {tmp_path / 'not-mounted'} does not exist"
    with pytest.raises(ArchiveUnavailableError, match="does not exist"):
        await disk.ensure_room(0)


async def test_a_root_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"x")
    status = await guard(tmp_path / "file", FakeVfs(free=50 * GB)).check()
    assert not status.ok and status.problem is not None and "is not a directory" in status.problem


async def test_a_directory_nobody_may_write_to() -> None:
    # /sys refuses new files even to root, so this holds whoever runs the tests.
    disk = DiskGuard(Path("/sys"), reserve_bytes=0, reserve_inodes=0)
    status = await disk.check()
    assert status.exists and not status.writable and not status.ok
    assert status.problem is not None and status.problem.startswith("archive directory /sys is not writable")
    with pytest.raises(ArchiveUnavailableError, match="not writable"):
        await disk.ensure_room(0)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through directory permissions")
async def test_a_read_only_directory(tmp_path: Path) -> None:
    tmp_path.chmod(0o500)
    try:
        status = await DiskGuard(tmp_path, reserve_bytes=0, reserve_inodes=0).check()
    finally:
        tmp_path.chmod(0o700)
    assert not status.writable and status.problem is not None and "Permission denied" in status.problem


def test_settings_give_the_archive_dir_and_reserve(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, archive_reserve_gb=2.5, archive_reserve_inodes=7)
    assert settings.resolved_archive_dir == tmp_path / "archive"
    disk = DiskGuard.from_settings(settings)
    assert (disk.root, disk.reserve_bytes, disk.reserve_inodes) == (tmp_path / "archive", 2_500_000_000, 7)
    assert Settings(data_dir=tmp_path, archive_dir=tmp_path / "nas").resolved_archive_dir == tmp_path / "nas"


async def test_downloads_in_quick_succession_look_at_the_disk_once_and_count_what_they_take(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    vfs = FakeVfs(free=6 * GB, inodes=10_100)
    looks: list[Path] = []

    def statvfs(path: Path) -> FakeVfs:
        looks.append(path)
        return vfs

    clock = [1000.0]
    monkeypatch.setattr("vtrack.archive.disk.time.monotonic", lambda: clock[0])
    disk = DiskGuard(tmp_path, 5 * GB, 10_000, statvfs=statvfs)
    for _ in range(50):
        await disk.ensure_room(10 * 10**6)
    assert len(looks) == 1  # 50 clips, one look at the disk
    # 500 MB let through since: 600 MB more would cross the reserve by that look, so it looks again,
    # and the disk, which has not really changed here, still has room for it.
    await disk.ensure_room(600 * 10**6)
    assert len(looks) == 2
    vfs.free = int(5.5 * GB)  # filled by something else meanwhile
    with pytest.raises(ArchiveFullError, match="5.5 GB free; 0.6 GB more"):
        await disk.ensure_room(600 * 10**6)  # over the allowance: a fresh look finds the disk fuller
    clock[0] += 1.5  # a second later it looks again whatever the allowance says
    await disk.ensure_room(1)
    assert len(looks) == 4


async def test_the_allowance_counts_inodes_too(tmp_path: Path) -> None:
    vfs = FakeVfs(free=50 * GB, inodes=10_003)
    disk = DiskGuard(tmp_path, 5 * GB, 10_000, statvfs=lambda _path: vfs)
    for _ in range(3):
        await disk.ensure_room(1)
    vfs.inodes = 9_000
    with pytest.raises(ArchiveFullError, match="9000 free inodes"):
        await disk.ensure_room(1)  # a fourth file would cross the inode reserve: it looks, and refuses

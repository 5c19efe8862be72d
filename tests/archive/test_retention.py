"""Retention: the planner picks the oldest until both limits hold; only the given files are deleted."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from vtrack.archive.layout import ArchiveLayout
from vtrack.archive.retention import ArchivedFile, RetentionPolicy, apply_retention, plan_retention
from vtrack.settings import Settings

NOW = datetime(2025, 7, 15, 12, 0, tzinfo=UTC)
MB = 10**6


def hourly(count: int, size: int = 100 * MB, *, last_end: datetime = NOW) -> list[ArchivedFile]:
    """`count` one-hour files ending at `last_end`, ids f0 (oldest) .. f{count-1}, shuffled."""
    files = []
    for index in range(count):
        end = last_end - timedelta(hours=count - 1 - index)
        files.append(ArchivedFile(f"f{index}", f"s/c/x{index}.mp4", size, end - timedelta(hours=1), end))
    return files[1::2] + files[::2]  # the planner must not trust the order it is given


def test_no_limits_keeps_everything() -> None:
    assert plan_retention(hourly(5), NOW, None, None) == []


def test_age_only() -> None:
    files = hourly(48)  # f0 ends 47 h ago, f47 ends now
    assert plan_retention(files, NOW, timedelta(days=1), None) == [f"f{i}" for i in range(24)]


def test_a_file_partly_inside_the_window_is_kept() -> None:
    straddling = ArchivedFile("a", "s/c/a.mp4", 1, NOW - timedelta(hours=25), NOW - timedelta(hours=23))
    assert plan_retention([straddling], NOW, timedelta(days=1), None) == []


def test_bytes_only_deletes_oldest_until_it_fits() -> None:
    files = hourly(10, size=100 * MB)  # 1 GB
    assert plan_retention(files, NOW, None, 650 * MB) == ["f0", "f1", "f2", "f3"]
    assert plan_retention(files, NOW, None, 1000 * MB) == []
    assert plan_retention(files, NOW, None, 0) == [f"f{i}" for i in range(10)]


def test_both_limits_age_first_then_bytes() -> None:
    files = hourly(30, size=10 * MB)  # 300 MB over 30 hours
    doomed = plan_retention(files, NOW, timedelta(hours=24), 100 * MB)
    # age removes f0..f5 (ended 24 h ago or more), then 24 files are 240 MB: 14 more go for 100 MB.
    assert doomed == [f"f{i}" for i in range(20)]


def test_uneven_sizes_and_oldest_first_by_start() -> None:
    files = [
        ArchivedFile("big-new", "p", 900, NOW - timedelta(hours=1), NOW),
        ArchivedFile("small-old", "p", 10, NOW - timedelta(hours=9), NOW - timedelta(hours=8)),
        ArchivedFile("mid", "p", 300, NOW - timedelta(hours=5), NOW - timedelta(hours=4)),
    ]
    assert plan_retention(files, NOW, None, 1000) == ["small-old", "mid"]


def test_policy_from_settings(tmp_path: Path) -> None:
    assert not RetentionPolicy.from_settings(Settings(data_dir=tmp_path)).active
    policy = RetentionPolicy.from_settings(
        Settings(data_dir=tmp_path, retention_max_age_days=30, retention_max_gb_per_camera=1.5)
    )
    assert policy == RetentionPolicy(max_age=timedelta(days=30), max_bytes=1_500_000_000)


def _archive(tmp_path: Path) -> tuple[ArchiveLayout, list[ArchivedFile]]:
    layout = ArchiveLayout(tmp_path / "archive", "UTC")
    files = []
    for index, day in enumerate(["2025-07-13", "2025-07-14", "2025-07-15"]):
        relative = f"NVR/Cam/{day}/100000-110000.mp4"
        path = layout.root / relative
        path.parent.mkdir(parents=True)
        path.write_bytes(b"v" * 10)
        start = datetime.fromisoformat(f"{day}T10:00:00+00:00")
        files.append(ArchivedFile(f"id{index}", relative, 10, start, start + timedelta(hours=1)))
    return layout, files


async def test_apply_deletes_only_the_given_files(tmp_path: Path) -> None:
    layout, files = _archive(tmp_path)
    stranger = layout.root / "NVR" / "Cam" / "2025-07-14" / "copied-by-hand.mp4"
    stranger.write_bytes(b"not in the index")
    other_camera = layout.root / "NVR" / "Other" / "2025-07-01" / "000000-010000.mp4"
    other_camera.parent.mkdir(parents=True)
    other_camera.write_bytes(b"old, but not ours to judge")

    doomed_ids = plan_retention(files, datetime(2025, 7, 16, tzinfo=UTC), timedelta(days=1), None)
    assert doomed_ids == ["id0", "id1"]
    result = await apply_retention(layout, [f for f in files if f.id in doomed_ids])

    assert result.deleted == ["id0", "id1"] and result.failed == {}
    assert not (layout.root / files[0].path).exists() and not (layout.root / files[1].path).exists()
    assert (layout.root / files[2].path).exists()
    assert stranger.read_bytes() == b"not in the index" and other_camera.exists()
    assert not (layout.root / "NVR" / "Cam" / "2025-07-13").exists()  # emptied day folder tidied
    assert (layout.root / "NVR" / "Cam" / "2025-07-14").is_dir()  # still holds the stranger


async def test_a_missing_file_counts_as_deleted(tmp_path: Path) -> None:
    layout, files = _archive(tmp_path)
    (layout.root / files[0].path).unlink()
    result = await apply_retention(layout, files[:1])
    assert result.deleted == ["id0"] and result.failed == {}


async def test_a_row_pointing_outside_the_root_is_refused(tmp_path: Path) -> None:
    layout, files = _archive(tmp_path)
    victim = tmp_path / "victim.mp4"
    victim.write_bytes(b"keep me")
    (layout.root / "NVR" / "link").symlink_to(tmp_path, target_is_directory=True)
    tampered = [
        ArchivedFile("up", "../victim.mp4", 7, NOW, NOW),
        ArchivedFile("abs", str(victim), 7, NOW, NOW),
        ArchivedFile("via-link", "NVR/link/victim.mp4", 7, NOW, NOW),
    ]
    result = await apply_retention(layout, tampered)
    assert result.deleted == [] and set(result.failed) == {"up", "abs", "via-link"}
    assert victim.read_bytes() == b"keep me"


async def test_a_symlinked_file_inside_is_unlinked_not_followed(tmp_path: Path) -> None:
    layout, files = _archive(tmp_path)
    target = layout.root / files[2].path
    link = layout.root / "NVR" / "Cam" / "2025-07-15" / "alias.mp4"
    os.symlink(target, link)
    result = await apply_retention(
        layout, [ArchivedFile("alias", "NVR/Cam/2025-07-15/alias.mp4", 0, NOW, NOW)]
    )
    assert result.deleted == ["alias"] and not link.exists() and target.exists()

"""Layout: local dates and times in the configured zone, relative paths for the index, the root as a jail."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from vtrack.archive.errors import ArchivePathError
from vtrack.archive.layout import ArchiveLayout


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def layout(tmp_path: Path) -> ArchiveLayout:
    return ArchiveLayout(tmp_path / "archive", "Asia/Ho_Chi_Minh")


def test_path_uses_local_date_and_times(layout: ArchiveLayout) -> None:
    path = layout.path_for("NVR Kho", "Cổng trước", at("2025-07-15T03:00:00"), at("2025-07-15T04:00:00"))
    assert path == layout.root / "NVR Kho" / "Cổng trước" / "2025-07-15" / "100000-110000.mp4"
    assert layout.relative(path) == "NVR Kho/Cổng trước/2025-07-15/100000-110000.mp4"


def test_utc_evening_is_the_next_local_day(tmp_path: Path, layout: ArchiveLayout) -> None:
    start, end = at("2025-07-15T17:30:00"), at("2025-07-15T18:00:00")  # 00:30-01:00 on the 16th in Hà Nội
    assert layout.path_for("s", "c", start, end).relative_to(layout.root).as_posix() == (
        "s/c/2025-07-16/003000-010000.mp4"
    )
    in_utc = ArchiveLayout(tmp_path / "utc", "UTC")
    assert in_utc.path_for("s", "c", start, end).relative_to(in_utc.root).as_posix() == (
        "s/c/2025-07-15/173000-180000.mp4"
    )


def test_a_file_crossing_local_midnight_is_filed_under_its_start(
    tmp_path: Path, layout: ArchiveLayout
) -> None:
    # 16:50-17:10 UTC is 23:50-00:10 in Hà Nội: the start's day, the end's hours continue past 24.
    start, end = at("2025-07-15T16:50:00"), at("2025-07-15T17:10:00")
    assert layout.relative(layout.path_for("s", "c", start, end)) == "s/c/2025-07-15/235000-241000.mp4"
    assert layout.relative(layout.path_for("s", "c", start, at("2025-07-15T17:00:00"))) == (
        "s/c/2025-07-15/235000-240000.mp4"
    )
    in_utc = ArchiveLayout(tmp_path / "utc", "UTC")  # the same span is an ordinary afternoon in UTC
    assert in_utc.relative(in_utc.path_for("s", "c", start, end)) == "s/c/2025-07-15/165000-171000.mp4"
    crossing_in_utc = in_utc.path_for("s", "c", at("2025-07-15T23:00:00"), at("2025-07-16T00:00:00"))
    assert in_utc.relative(crossing_in_utc) == "s/c/2025-07-15/230000-240000.mp4"


def test_seconds_are_kept_and_non_utc_input_is_converted(layout: ArchiveLayout) -> None:
    plus_two = datetime(2025, 1, 2, 9, 15, 7, tzinfo=UTC).astimezone()  # any aware zone is fine
    path = layout.path_for("s", "c", plus_two, plus_two + timedelta(seconds=53))
    assert path.name == "161507-161600.mp4"


def test_naive_or_empty_spans_are_refused(layout: ArchiveLayout) -> None:
    with pytest.raises(ValueError, match="aware"):
        layout.path_for("s", "c", datetime(2025, 1, 1), datetime(2025, 1, 1, 1))  # noqa: DTZ001
    with pytest.raises(ValueError, match="end after"):
        layout.path_for("s", "c", at("2025-01-01T01:00:00"), at("2025-01-01T01:00:00"))


def test_hostile_names_stay_inside(layout: ArchiveLayout) -> None:
    path = layout.path_for("../../etc", "..", at("2025-01-01T00:00:00"), at("2025-01-01T01:00:00"))
    assert layout.relative(path) == "_.._etc/_/2025-01-01/070000-080000.mp4"
    assert layout.camera_dir("CON", "a/b") == layout.root / "CON_" / "a_b"
    assert layout.source_dir("..") == layout.root / "_"
    with pytest.raises(ArchivePathError):
        layout.relative(layout.root)


def test_ensure_camera_dirs_creates_one_per_camera(layout: ArchiveLayout) -> None:
    created = layout.ensure_camera_dirs(
        "nvr_localhost", ["Front Door Camera", "Parking Lot Camera", "Cổng trước"]
    )
    assert [p.name for p in created] == ["Front Door Camera", "Parking Lot Camera", "Cổng trước"]
    assert all(p.is_dir() and p.parent == layout.root / "nvr_localhost" for p in created)
    assert (created[0].stat().st_mode & 0o777) == 0o750 & ~_umask()
    assert layout.ensure_camera_dirs("nvr_localhost", ["Front Door Camera"]) == created[:1]  # idempotent


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def test_resolve_gives_paths_inside_the_root(layout: ArchiveLayout) -> None:
    assert layout.resolve("s/c/2025-01-01/x.mp4") == layout.root / "s" / "c" / "2025-01-01" / "x.mp4"


@pytest.mark.parametrize(
    "relative",
    [
        "",
        ".",
        "/etc/passwd",
        "../outside.mp4",
        "s/../../outside.mp4",
        "s/./c",
        "s//c",
        "a\x00b",
        "s\\..\\x",
        "s/..",
    ],
)
def test_resolve_refuses_traversal(layout: ArchiveLayout, relative: str) -> None:
    with pytest.raises(ArchivePathError):
        layout.resolve(relative)


def test_symlink_out_of_the_root_is_refused(tmp_path: Path, layout: ArchiveLayout) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.mp4").write_bytes(b"not ours")
    layout.root.mkdir()
    (layout.root / "evil").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ArchivePathError):
        layout.resolve("evil/precious.mp4")
    with pytest.raises(ArchivePathError):
        layout.ensure_camera_dirs("evil", ["cam"])
    with pytest.raises(ArchivePathError):
        layout.path_for("evil", "cam", at("2025-01-01T00:00:00"), at("2025-01-01T01:00:00"))
    with pytest.raises(ArchivePathError):
        layout.relative(outside / "precious.mp4")
    with pytest.raises(ArchivePathError):
        layout.relative(layout.root / "evil" / "precious.mp4")
    with pytest.raises(ArchivePathError):
        layout.source_dir("evil")
    assert not (outside / "cam").exists()


def test_a_root_that_is_itself_a_link_is_fine(tmp_path: Path) -> None:
    real = tmp_path / "nas"
    real.mkdir()
    (tmp_path / "archive").symlink_to(real, target_is_directory=True)
    layout = ArchiveLayout(tmp_path / "archive", "UTC")
    (cam,) = layout.ensure_camera_dirs("s", ["c"])
    assert (real / "s" / "c").is_dir()
    assert layout.relative(real / "s" / "c" / "x.mp4") == "s/c/x.mp4"
    assert layout.resolve("s/c/x.mp4") == cam / "x.mp4"


def test_links_inside_the_root_are_allowed(layout: ArchiveLayout) -> None:
    layout.ensure_camera_dirs("s", ["c"])
    (layout.root / "alias").symlink_to(layout.root / "s", target_is_directory=True)
    assert layout.resolve("alias/c/x.mp4") == layout.root / "alias" / "c" / "x.mp4"

"""One large cloud file into the archive (around the page cache): whole and hashed, and a download cut
mid-way resumes from what reached the disk, whether the `.part` ends on a block boundary or not."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from vtrack.devices.errors import DeviceError
from vtrack.sources.base import RemoteFile
from vtrack.sources.local import LocalFolderConnector
from vtrack.sync.cloud_transfer import download, resume_offset, resume_path
from vtrack.sync.slots import LARGE_FROM

SIZE = LARGE_FROM + 1_000_003  # large, and not a whole number of blocks


class CutAfter(LocalFolderConnector):
    """The folder connector whose next stream breaks after `cut` bytes, as a dropped connection does."""

    cut: int | None = None

    async def open(self, file: RemoteFile, offset: int = 0) -> AsyncIterator[bytes]:
        sent, cut, self.cut = 0, self.cut, None
        async for chunk in super().open(file, offset):
            if cut is not None and sent + len(chunk) > cut:
                yield chunk[: cut - sent]
                raise DeviceError("connection reset by peer", "unreachable")
            sent += len(chunk)
            yield chunk


@pytest.fixture
def source(tmp_path: Path) -> tuple[CutAfter, bytes]:
    data = os.urandom(SIZE)
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "big.mp4").write_bytes(data)
    return CutAfter(tmp_path / "exports", settle=timedelta(0)), data


async def no_progress(_received: int) -> None:
    return None


async def the_file(connector: CutAfter) -> RemoteFile:
    [file] = (await connector.changes(None)).files
    return file


async def test_a_large_file_arrives_whole_with_its_hash(
    source: tuple[CutAfter, bytes], tmp_path: Path
) -> None:
    connector, data = source
    final = tmp_path / "archive" / "cam" / "big.mp4"
    done = await download(connector, await the_file(connector), final, no_progress)
    assert final.read_bytes() == data
    assert (done.size_bytes, done.sha256, done.resumed_from) == (SIZE, hashlib.sha256(data).hexdigest(), 0)
    assert not resume_path(final).exists()


async def test_a_cut_download_resumes_from_what_reached_the_disk(
    source: tuple[CutAfter, bytes], tmp_path: Path
) -> None:
    connector, data = source
    file, final = await the_file(connector), tmp_path / "archive" / "big.mp4"
    connector.cut = 5_500_000
    with pytest.raises(DeviceError, match="reset"):
        await download(connector, file, final, no_progress)
    kept = resume_offset(final, SIZE)
    assert 0 < kept <= 5_500_000 and resume_path(final).read_bytes() == data[:kept]
    done = await download(connector, file, final, no_progress, kept)
    assert final.read_bytes() == data and done.resumed_from == kept
    assert done.sha256 == hashlib.sha256(data).hexdigest()  # the whole file's, the kept part re-read


async def test_a_part_off_a_block_boundary_is_finished_through_the_page_cache(
    source: tuple[CutAfter, bytes], tmp_path: Path
) -> None:
    connector, data = source
    final = tmp_path / "archive" / "big.mp4"
    final.parent.mkdir()
    resume_path(final).write_bytes(data[:777])  # left by an older, buffered attempt
    done = await download(connector, await the_file(connector), final, no_progress)
    assert final.read_bytes() == data and done.resumed_from == 777
    assert done.sha256 == hashlib.sha256(data).hexdigest()

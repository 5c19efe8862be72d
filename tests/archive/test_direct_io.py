"""The O_DIRECT stage: every byte arrives once and in order, whatever the chunking, and a filesystem
that refuses O_DIRECT gets every byte not yet written handed back."""

from __future__ import annotations

import errno
import fcntl
import os
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from vtrack.archive.direct_io import BLOCK, STAGE, DirectRefused, DirectStage


def opener(path: Path, opened: list[int] | None = None) -> Callable[[int], int]:
    def open_fd(extra: int) -> int:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | extra, 0o644)
        if opened is not None:
            opened.append(fcntl.fcntl(fd, fcntl.F_GETFL))
        return fd

    return open_fd


def refusing(extra: int) -> int:
    raise OSError(errno.EINVAL, "Invalid argument")  # what tmpfs before Linux 6.6 or some FUSE answer


def append_buffered(path: Path, data: bytes) -> None:
    with path.open("ab") as out:
        out.write(data)


def chunked(data: bytes, seed: int) -> list[bytes]:
    rng, chunks, at = random.Random(seed), [], 0
    while at < len(data):
        size = rng.choice([1, 7, BLOCK - 1, BLOCK, 65_536, 300_001, STAGE + 5])
        chunks.append(data[at : at + size])
        at += size
    return chunks


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_bytes_of_any_chunking_arrive_whole_and_in_order(tmp_path: Path, seed: int) -> None:
    data = os.urandom(3 * STAGE + 12_345)
    path, opened = tmp_path / "clip.part", list[int]()
    stage = DirectStage()
    chunks = chunked(data, seed)
    third = len(chunks) // 3
    for part in (chunks[:third], chunks[third : 2 * third]):
        assert stage.append(opener(path, opened), part) == b""
        assert path.stat().st_size % STAGE == 0  # only whole stages so far
    tail = stage.append(opener(path, opened), chunks[2 * third :], last=True)
    assert len(tail) < BLOCK and path.stat().st_size % BLOCK == 0
    append_buffered(path, tail)
    stage.close()
    assert path.read_bytes() == data
    assert opened and all(flags & os.O_DIRECT for flags in opened)


def test_a_filesystem_that_refuses_o_direct_gets_every_byte_back(tmp_path: Path) -> None:
    data = os.urandom(STAGE + 300_000)
    path = tmp_path / "clip.part"
    stage = DirectStage()
    assert stage.append(opener(path), [data[:STAGE], data[STAGE : STAGE + 100_000]]) == b""
    with pytest.raises(DirectRefused) as refused:
        stage.append(refusing, [data[STAGE + 100_000 :]])
    append_buffered(path, b"".join(refused.value.left))  # the 100,000 staged bytes and the new ones
    assert path.read_bytes() == data


def test_a_write_refused_midway_hands_back_what_was_not_written(tmp_path: Path) -> None:
    path = tmp_path / "clip.part"
    path.write_bytes(b"x" * 100)  # O_DIRECT appends would start off a block boundary
    probe = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_DIRECT)
    try:
        os.write(probe, DirectStage(BLOCK).buffer)
        pytest.skip("this filesystem accepts O_DIRECT writes off a block boundary")
    except OSError as error:
        assert error.errno == errno.EINVAL
    finally:
        os.close(probe)
    data = os.urandom(2 * STAGE + 10)
    stage = DirectStage()
    with pytest.raises(DirectRefused) as refused:
        stage.append(opener(path), [data])
    assert b"".join(refused.value.left) == data and path.stat().st_size == 100

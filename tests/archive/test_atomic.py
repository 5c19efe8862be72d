"""Atomic writes: the final path holds a complete file or nothing, even when the writer is SIGKILLed."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from vtrack.archive.atomic import (
    AtomicWriter,
    cleanup_partials,
    sha256_file,
)

ROOT = Path(__file__).resolve().parents[2]


def test_a_failure_keeps_the_older_copy(tmp_path: Path) -> None:
    final = tmp_path / "x.mp4"
    final.write_bytes(b"complete old copy")
    with pytest.raises(OSError), AtomicWriter(final) as out:
        out.write(b"new but ")
        raise OSError("connection reset")
    assert final.read_bytes() == b"complete old copy"
    assert os.listdir(tmp_path) == ["x.mp4"]


def test_streamed_writer_hashes_and_counts(tmp_path: Path) -> None:
    final = tmp_path / "x.mp4"
    chunks = [os.urandom(1000), os.urandom(70_000), b""]
    with AtomicWriter(final) as out:
        for chunk in chunks:
            out.write(chunk)
    body = b"".join(chunks)
    assert final.read_bytes() == body
    assert (out.size, out.sha256) == (len(body), hashlib.sha256(body).hexdigest())
    assert sha256_file(final, chunk_size=4096) == hashlib.sha256(body).hexdigest()


_KILLED_WRITER = """
import sys, time
from pathlib import Path
from vtrack.archive.atomic import AtomicWriter
with AtomicWriter(Path(sys.argv[1])) as out:
    out.write(b"x" * 1_000_000)
    out._file.flush()
    print("written", flush=True)
    time.sleep(60)
"""


def test_a_killed_writer_leaves_only_a_hidden_part_file(tmp_path: Path) -> None:
    final = tmp_path / "cam" / "100000-110000.mp4"
    writer = subprocess.Popen(
        [sys.executable, "-c", _KILLED_WRITER, str(final)],
        stdout=subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline() == b"written\n"
        os.kill(writer.pid, signal.SIGKILL)
    finally:
        writer.wait(timeout=10)
        if writer.stdout is not None:
            writer.stdout.close()
    assert writer.returncode == -signal.SIGKILL
    assert not final.exists()
    (partial,) = final.parent.iterdir()
    assert partial.name.startswith(".100000-110000.mp4.") and partial.stat().st_size == 1_000_000

    assert cleanup_partials(tmp_path, older_than=timedelta(hours=1)) == []  # could be a live download
    old = time.time() - 7200
    os.utime(partial, (old, old))
    assert cleanup_partials(tmp_path, older_than=timedelta(hours=1)) == [partial]
    assert list(final.parent.iterdir()) == []


def test_cleanup_touches_only_our_partials(tmp_path: Path) -> None:
    old = time.time() - 7200
    keep = [
        tmp_path / "100000-110000.mp4",
        tmp_path / "notes.part",  # not our name pattern
        tmp_path / ".x.mp4.zz.part",
    ]
    ours = tmp_path / "day" / ".100000-110000.mp4.0123456789abcdef.part"
    ours.parent.mkdir()
    for path in [*keep, ours]:
        path.write_bytes(b"x")
        os.utime(path, (old, old))
    assert cleanup_partials(tmp_path, older_than=timedelta(minutes=10)) == [ours]
    assert all(path.exists() for path in keep)

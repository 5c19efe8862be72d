"""`vtrack worker` and `vtrack beat` refuse what they cannot run, naming the setting (step 8).

Their real runs are in tests/jobs/test_celery_worker.py and tests/test_scale_out.py.
"""

from __future__ import annotations

from pathlib import Path

from tests.test_cli import run_cli


def test_worker_without_a_broker_names_the_setting(tmp_path: Path) -> None:
    result = run_cli(tmp_path / "data", "worker")
    assert result.returncode == 1
    assert "VTRACK_BROKER_URL is not set" in result.stderr and "vtrack serve" in result.stderr


def test_worker_with_nothing_to_run_says_so(tmp_path: Path) -> None:
    result = run_cli(tmp_path / "data", "worker", "--no-jobs", VTRACK_BROKER_URL="redis://127.0.0.1:1/0")
    assert result.returncode == 1 and "nothing to run" in result.stderr


def test_beat_without_a_broker_names_the_setting(tmp_path: Path) -> None:
    result = run_cli(tmp_path / "data", "beat")
    assert result.returncode == 1 and "VTRACK_BROKER_URL is not set" in result.stderr

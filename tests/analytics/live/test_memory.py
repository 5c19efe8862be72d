"""The malloc settings the channel manager applies for long-running video threads."""

from __future__ import annotations

import platform

import pytest

from vtrack.analytics.live.memory import tune_malloc


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_glibc_accepts_the_settings_and_applying_twice_is_harmless() -> None:
    assert tune_malloc() is True
    assert tune_malloc() is True

"""Peers that run under Debian's own /usr/bin/python3 (it has `gi` for GStreamer; the venv has not).

Each such peer script prints one JSON line (its ports) when it serves, and quits when its stdin closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

SYSTEM_PYTHON = "/usr/bin/python3"


@contextlib.asynccontextmanager
async def system_python_peer(script: Path, *args: str) -> AsyncIterator[dict[str, Any]]:
    """Start `script` with `args`; yield the JSON it printed; stop it (kill after 5 s) on exit."""
    process = await asyncio.create_subprocess_exec(
        SYSTEM_PYTHON,
        str(script),
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        announced: dict[str, Any] = json.loads(await asyncio.wait_for(process.stdout.readline(), 30))
        yield announced
    finally:
        assert process.stdin is not None
        process.stdin.close()  # the peer quits when its stdin closes
        try:
            await asyncio.wait_for(process.wait(), 5)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()

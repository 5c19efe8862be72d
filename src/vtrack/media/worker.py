"""Run a blocking PyAV job in a thread and stop waiting for it at its deadline.

A thread cannot be killed, and an FFmpeg read blocks in C; what can be bounded is how long the caller
waits. The job gets the Deadline (created here, before the job may sit in the executor's queue) and
watches it between reads; at the deadline plus a little grace the caller gets `on_overrun()` instead,
the Deadline's cancel flag is set, and the thread ends by itself within one read gap.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any, TypeVar

from vtrack.media.deadline import Deadline

log = logging.getLogger(__name__)

T = TypeVar("T")

# Time for a job that noticed its deadline between two reads to return, before the caller gives up on it.
GRACE = 0.3


def _forget(future: asyncio.Future[Any]) -> None:
    """Retrieve the late result, so an exception from an abandoned job is logged, not warned about."""
    if not future.cancelled() and future.exception() is not None:
        log.debug("abandoned media job failed: %r", future.exception())


async def run_with_deadline(
    job: Callable[[Deadline], T],
    timeout: float,  # noqa: ASYNC109  (bounds a worker thread, which asyncio.timeout cannot stop)
    on_overrun: Callable[[Deadline], T],
    *,
    executor: Executor | None = None,
) -> T:
    """`job(deadline)` in `executor` (default: the loop's); `on_overrun(deadline)` if it runs past it."""
    deadline = Deadline(timeout)
    loop = asyncio.get_running_loop()
    call = functools.partial(contextvars.copy_context().run, job, deadline)
    future: asyncio.Future[T] = loop.run_in_executor(executor, call)
    try:
        done, _ = await asyncio.wait({future}, timeout=timeout + GRACE)
    except asyncio.CancelledError:
        deadline.cancel.set()
        future.add_done_callback(_forget)
        raise
    if future in done:
        return future.result()
    deadline.cancel.set()
    future.add_done_callback(_forget)
    return on_overrun(deadline)

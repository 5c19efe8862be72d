"""Download slots shared by a sync run: at most `limit` at once, large files and small clips side by side.

A camera export mixes thousands of short clips with a few long recordings. Fetching them in listing
order runs the clips first, held back by the provider's request rate, and then the long files on their
own, held back by bandwidth and the disk: each phase leaves the other resource idle. Here, while both
kinds wait, large files hold at most half the slots and clips the rest, so both go at once; either kind
takes every slot the other does not need. Within a kind, files start in the order they were asked for.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

LARGE_FROM = 8 << 20  # bytes; below it a file is one or a few requests, above it mostly transfer


class DownloadSlots:
    def __init__(self, limit: int, large_from: int = LARGE_FROM) -> None:
        self.limit = max(1, limit)
        self.large_share = max(1, self.limit // 2)
        self.large_from = large_from
        self.busy = 0
        self.busy_large = 0
        self._waiting: dict[bool, deque[asyncio.Future[None]]] = {False: deque(), True: deque()}

    @asynccontextmanager
    async def slot(self, size: int) -> AsyncIterator[None]:
        large = size >= self.large_from
        if self.busy < self.limit:  # a free slot means nobody waits (see _hand_on)
            self._take(large)
        else:
            waiter = asyncio.get_running_loop().create_future()
            self._waiting[large].append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():  # the slot came with the cancellation
                    self._release(large)
                elif waiter in self._waiting[large]:
                    self._waiting[large].remove(waiter)
                raise
        try:
            yield
        finally:
            self._release(large)

    def _take(self, large: bool) -> None:
        self.busy += 1
        self.busy_large += large

    def _release(self, large: bool) -> None:
        self.busy -= 1
        self.busy_large -= large
        self._hand_on()

    def _hand_on(self) -> None:
        """Give free slots to waiters: a large file first while large ones hold less than their share."""
        while self.busy < self.limit:
            small, large = self._waiting[False], self._waiting[True]
            if large and (self.busy_large < self.large_share or not small):
                queue, is_large = large, True
            elif small:
                queue, is_large = small, False
            else:
                return
            waiter = queue.popleft()
            if not waiter.cancelled():  # its task was cancelled and has yet to run
                self._take(is_large)
                waiter.set_result(None)

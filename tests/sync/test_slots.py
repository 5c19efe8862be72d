"""Download slots: the limit holds, large files and clips share it, a cancelled waiter leaks nothing."""

from __future__ import annotations

import asyncio

import pytest

from vtrack.sync.slots import DownloadSlots

BIG, SMALL = 100, 1


class Recorder:
    """Downloads that hold their slot until released, noting who ran alongside whom."""

    def __init__(self, slots: DownloadSlots) -> None:
        self.slots = slots
        self.running: list[str] = []
        self.started: list[str] = []
        self.peak = 0
        self.release: dict[str, asyncio.Event] = {}

    async def download(self, name: str, size: int) -> None:
        self.release[name] = asyncio.Event()
        async with self.slots.slot(size):
            self.running.append(name)
            self.started.append(name)
            self.peak = max(self.peak, len(self.running))
            await self.release[name].wait()
            self.running.remove(name)

    async def finish(self, name: str) -> None:
        self.release[name].set()
        for _ in range(5):
            await asyncio.sleep(0)


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_large_files_take_half_the_slots_while_clips_wait() -> None:
    recorder = Recorder(DownloadSlots(4, large_from=BIG))
    tasks = [asyncio.create_task(recorder.download(f"clip{n}", SMALL)) for n in range(10)]
    await settle()
    assert recorder.running == ["clip0", "clip1", "clip2", "clip3"]
    tasks += [asyncio.create_task(recorder.download(f"big{n}", BIG)) for n in range(3)]
    await settle()
    # Each slot a clip frees goes to a large file until large files hold half of them.
    await recorder.finish("clip0")
    await recorder.finish("clip1")
    await recorder.finish("clip2")
    assert sorted(recorder.running) == ["big0", "big1", "clip3", "clip4"]
    assert recorder.started[-3:] == ["big0", "big1", "clip4"]  # big2 waits: large ones hold their half
    # A large file ending hands its slot to the next large one; the clips keep the other half.
    await recorder.finish("big0")
    assert "big2" in recorder.running and "clip4" in recorder.running
    for name in list(recorder.release):
        recorder.release[name].set()
    await asyncio.gather(*tasks)
    assert recorder.peak == 4
    assert [n for n in recorder.started if n.startswith("clip")] == [f"clip{n}" for n in range(10)]  # FIFO
    assert recorder.slots.busy == recorder.slots.busy_large == 0


async def test_either_kind_takes_every_slot_the_other_does_not_need() -> None:
    recorder = Recorder(DownloadSlots(4, large_from=BIG))
    tasks = [asyncio.create_task(recorder.download(f"big{n}", BIG)) for n in range(6)]
    await settle()
    assert len(recorder.running) == 4  # no clip waits: large files may use all four
    await recorder.finish("big0")
    assert recorder.running[-1] == "big4"
    for name in list(recorder.release):
        recorder.release[name].set()
    await asyncio.gather(*tasks)


@pytest.mark.parametrize("when", ["while queued", "after its slot came, before it ran"])
async def test_a_cancelled_waiter_leaks_no_slot(when: str) -> None:
    slots = DownloadSlots(1, large_from=BIG)
    recorder = Recorder(slots)
    first = asyncio.create_task(recorder.download("clip0", SMALL))
    second = asyncio.create_task(recorder.download("clip1", SMALL))
    third = asyncio.create_task(recorder.download("clip2", SMALL))
    await settle()
    if when == "while queued":
        second.cancel()
        await settle()
        recorder.release["clip0"].set()
    else:
        recorder.release["clip0"].set()
        await asyncio.sleep(0)  # clip0 leaves and hands the slot to clip1, which has not run yet ...
        second.cancel()  # ... and is cancelled before it does
    await settle()
    assert recorder.running == ["clip2"] and slots.busy == 1
    await recorder.finish("clip2")
    await asyncio.gather(first, third)
    assert second.cancelled() and slots.busy == 0

"""Step 6's consistency check: the shared clip analysed as a file and live through the simulator gives
line counts within 5 %.

The simulator loops the clip from its first frame when the channel connects. The first pass is left out:
a live viewer joins with a burst of buffered frames and the worker keeps only the newest, which a file
run never does. The next two passes are compared with twice the file's counts, by event time relative to
the first frame the reader received.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest
from sqlalchemy import select

from tests.shared_data import PEOPLE_VIDEO, YOLOX_NANO
from vtrack.analytics.counting.specs import parse_line
from vtrack.analytics.file_run import analyze_file, probe_file
from vtrack.analytics.live.worker import ChannelWorker, StreamTarget
from vtrack.analytics.options import AnalysisOptions
from vtrack.analytics.sinks.db_writer import RunWriter
from vtrack.db.models import AnalyticsEvent
from vtrack.db.session import Database
from vtrack.simulator.config import DEFAULT_PASSWORD, DEFAULT_USERNAME, SimulatorConfig, default_cameras
from vtrack.simulator.runner import Simulator

pytestmark = pytest.mark.skipif(
    not (PEOPLE_VIDEO.is_file() and YOLOX_NANO.is_file()), reason=f"needs {PEOPLE_VIDEO} and {YOLOX_NANO}"
)
LINES = ["upper:0,0.45,1,0.45", "middle:0,0.6,1,0.6", "lower:0,0.75,1,0.75", "left:0.35,0,0.35,1"]
PASSES = (1, 2)


@pytest.fixture
def backend() -> str:
    return "sqlite"


async def test_live_counts_match_the_file_within_5_percent(database: Database) -> None:
    options = AnalysisOptions(model=YOLOX_NANO, lines=tuple(parse_line(t, i) for i, t in enumerate(LINES)))
    from_file = await analyze_file(PEOPLE_VIDEO, options)
    per_pass = sum(c["in"] + c["out"] for c in from_file["lines"].values())
    assert per_pass >= 30, from_file["lines"]  # enough crossings for 5 % to mean something
    info = probe_file(PEOPLE_VIDEO)
    clip_seconds = from_file["frames_in"] / info.fps

    config = SimulatorConfig(
        cameras=default_cameras(1), host="127.0.0.1", onvif_port_base=0, rtsp_port=0, video=PEOPLE_VIDEO
    )
    simulator = Simulator(config, discovery_port=None)
    await simulator.start()
    try:
        target = StreamTarget(simulator.cameras()[0].rtsp_url, DEFAULT_USERNAME, DEFAULT_PASSWORD)
        worker = ChannelWorker(
            None, "consistency", target, options, options.build_detector(), RunWriter(database)
        )
        await worker.start()
        for _ in range(300):
            if worker.stats.first_frame_at is not None:
                break
            await asyncio.sleep(0.1)
        first = worker.stats.first_frame_at
        assert first is not None, worker.stats.last_error
        await asyncio.sleep(max(0.0, first + (max(PASSES) + 1) * clip_seconds + 1.0 - time.time()))
        summary = await worker.stop()
    finally:
        await simulator.stop()

    async with database.session() as session:
        events = (await session.scalars(select(AnalyticsEvent).where(AnalyticsEvent.kind == "line"))).all()
    passes = Counter(int((e.at.timestamp() - first) // clip_seconds) for e in events)
    live = sum(passes[p] for p in PASSES)
    expected = per_pass * len(PASSES)
    assert abs(live - expected) <= 0.05 * expected, (
        f"live {live} crossings in passes {PASSES} ({dict(passes)}) vs file {per_pass} per pass; "
        f"live analysed {summary['fps_out']} fps, dropped {summary['dropped']}"
    )

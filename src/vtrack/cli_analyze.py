"""`vtrack analyze SOURCE`: people analytics on a video file or a live stream URL, from the command line.

A file is analysed start to end as fast as the machine allows (a progress bar shows how far); a URL is
analysed live, dropping frames when analysis is slower than the camera, until --duration or Ctrl+C.
The run is saved in the data directory's database (unless --no-save) so the API and dashboard show it;
--json prints the summary for scripts.
"""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from vtrack.analytics.classify.base import ClassifierConfig
from vtrack.analytics.counting.specs import parse_line, parse_zone
from vtrack.analytics.detectors.base import DetectorConfig
from vtrack.analytics.errors import AnalyticsConfigError, AnalyticsError
from vtrack.analytics.file_run import analyze_file
from vtrack.analytics.live.reader import ReconnectPolicy
from vtrack.analytics.live.worker import ChannelWorker, StreamTarget
from vtrack.analytics.options import AnalysisOptions
from vtrack.analytics.sinks.db_writer import RunWriter
from vtrack.analytics.tracking.mot import read_mot_detections
from vtrack.analytics.types import Detections
from vtrack.db.migrate import upgrade
from vtrack.db.session import Database
from vtrack.settings import Settings

console = Console()
err = Console(stderr=True)
_STREAM_SCHEMES = {"rtsp", "rtsps", "rtmp", "http", "https", "udp", "srt"}
# Config error fields whose command-line name is not simply "--" + the field.
_PARAMETERS = {"source": "SOURCE", "nms_iou": "--nms"}


def _input_size(text: str) -> tuple[int, int]:
    parts = text.lower().replace("x", ",").split(",")
    try:
        values = [int(p) for p in parts if p.strip()]
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not a size like 416 or 384x640", param_hint="--input-size"
        ) from None
    if len(values) == 1:
        return values[0], values[0]
    if len(values) == 2:
        return values[0], values[1]
    raise typer.BadParameter(f"{text!r} is not a size like 416 or 384x640", param_hint="--input-size")


def _options(
    settings: Settings,
    detector: str | None,
    model: Path | None,
    lines: list[str],
    zones: list[str],
    confidence: float,
    nms: float,
    input_size: str,
    gender_model: Path | None,
    stride: int,
    threads: int,
    external: bool,
) -> AnalysisOptions:
    model = model or settings.analytics_model
    kind = detector or settings.analytics_detector or ("yolox" if model or not external else "motion")
    return AnalysisOptions(
        detector=kind,
        model=model,
        detector_config=DetectorConfig(
            confidence=confidence, nms_iou=nms, input_size=_input_size(input_size), threads=threads
        ),
        lines=tuple(parse_line(text, i) for i, text in enumerate(lines)),
        zones=tuple(parse_zone(text, i) for i, text in enumerate(zones)),
        gender_model=gender_model or settings.analytics_gender_model,
        classifier=ClassifierConfig(),
        stride=stride,
    )


def analyze_command(
    source: Annotated[str, typer.Argument(help="A video file, or a stream URL (rtsp://...)")],
    detector: Annotated[
        str | None, typer.Option(help="yolox, yolo (Ultralytics ONNX) or motion (no model)")
    ] = None,
    model: Annotated[Path | None, typer.Option(help="Detector ONNX model (yolox, yolo)")] = None,
    line: Annotated[
        list[str] | None,
        typer.Option(help='Counting line "x1,y1,x2,y2" or "name:x1,y1,x2,y2" (pixels or 0..1); repeatable'),
    ] = None,
    zone: Annotated[
        list[str] | None, typer.Option(help='Zone polygon "x,y,x,y,x,y,..." or "name:..."; repeatable')
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run summary as JSON")] = False,
    detections: Annotated[
        Path | None, typer.Option(help="MOT det.txt: track these detections instead of detecting")
    ] = None,
    mot_out: Annotated[Path | None, typer.Option(help="Write the tracks as a MOTChallenge file")] = None,
    gender_model: Annotated[
        Path | None, typer.Option(help="Gender/age classifier: ONNX or OpenVINO .xml")
    ] = None,
    confidence: Annotated[float, typer.Option(min=0.01, max=1.0, help="Detector score threshold")] = 0.1,
    nms: Annotated[float, typer.Option(min=0.01, max=1.0, help="NMS IoU threshold")] = 0.45,
    input_size: Annotated[str, typer.Option(help="Model input for dynamic models: 416 or HxW")] = "416",
    stride: Annotated[int, typer.Option(min=1, help="Files: analyse every Nth frame")] = 1,
    threads: Annotated[int, typer.Option(min=1, max=64, help="ONNX Runtime threads")] = 2,
    duration: Annotated[
        float | None, typer.Option(min=0.1, help="Streams: stop after this many seconds (default: Ctrl+C)")
    ] = None,
    save: Annotated[bool, typer.Option(help="Save the run in the data directory's database")] = True,
    data_dir: Annotated[
        Path | None, typer.Option(help="Data directory (default $VTRACK_DATA_DIR or ./data)")
    ] = None,
) -> None:
    """Count people crossing lines and visiting zones in a video file or a live stream."""
    settings = Settings(data_dir=data_dir) if data_dir else Settings()
    is_stream = urlsplit(source).scheme.lower() in _STREAM_SCHEMES
    if not is_stream and not Path(source).is_file():
        raise typer.BadParameter(f"{source!r} is neither a file nor a stream URL", param_hint="SOURCE")
    if is_stream and (detections or mot_out):
        raise typer.BadParameter(
            "MOT input and output work on files only", param_hint="--detections/--mot-out"
        )
    if mot_out is not None and (mot_out.is_dir() or not mot_out.parent.is_dir()):
        # Checked now: the file is only created at the end, after the whole analysis ran.
        problem = "is a directory" if mot_out.is_dir() else "is in a directory that does not exist"
        raise typer.BadParameter(f"{mot_out} {problem}", param_hint="--mot-out")
    try:
        options = _options(
            settings,
            detector,
            model,
            line or [],
            zone or [],
            confidence,
            nms,
            input_size,
            gender_model,
            stride,
            threads,
            detections is not None,
        )
        external = read_mot_detections(detections) if detections is not None else None
        summary = asyncio.run(
            _run(settings, source, is_stream, options, external, mot_out, duration, save, as_json)
        )
    except AnalyticsConfigError as exc:
        name = _PARAMETERS.get(exc.field, f"--{exc.field.replace('_', '-')}")
        err.print(f"[red]error:[/] {name}: {escape(exc.message)}", soft_wrap=True)
        raise typer.Exit(2) from None
    except AnalyticsError as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps(summary, indent=2, default=str))
    else:
        _print_summary(summary)


async def _run(
    settings: Settings,
    source: str,
    is_stream: bool,
    options: AnalysisOptions,
    external: dict[int, Detections] | None,
    mot_out: Path | None,
    duration: float | None,
    save: bool,
    quiet: bool,
) -> dict[str, Any]:
    database = None
    if save:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        database = Database(settings.resolved_database_url)
        await upgrade(database)
    try:
        if is_stream:
            return await _run_stream(source, options, database, duration)
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=True,
            disable=quiet,
        ) as bar:
            task = bar.add_task(escape(Path(source).name), total=None)

            def progress(done: int, total: int | None) -> None:
                if done % 10 == 0 or done == total:
                    bar.update(task, completed=done, total=total)

            return await analyze_file(
                Path(source),
                options,
                database=database,
                detections=external,
                mot_out=mot_out,
                progress=progress,
            )
    finally:
        if database is not None:
            await database.dispose()


async def _run_stream(
    url: str, options: AnalysisOptions, database: Database | None, duration: float | None
) -> dict[str, Any]:
    detector = await asyncio.to_thread(options.build_detector)
    writer = RunWriter(database) if database is not None else None
    worker = ChannelWorker(
        None,
        "cli",
        StreamTarget(url),
        options,
        detector,
        writer,
        policy=ReconnectPolicy(first=2.0, maximum=30.0),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await worker.start()
    try:
        async with asyncio.timeout(duration):
            await stop.wait()
    except TimeoutError:
        pass
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    summary = await worker.stop("finished")
    detector.close()
    return {"run_id": worker.run_id, **summary}


def _print_summary(summary: dict[str, Any]) -> None:
    fps = summary.get("processed_fps") or summary.get("fps_out")
    console.print(
        f"{summary.get('frames_processed', 0)} frames analysed at {fps} fps, "
        f"{summary.get('tracks', 0)} people tracked"
        + (f"; run {summary['run_id']}" if summary.get("run_id") else ""),
        soft_wrap=True,
    )
    table = Table("line / zone", "in", "out", "dwell avg (s)")
    for name, counts in summary.get("lines", {}).items():
        table.add_row(escape(name), str(counts["in"]), str(counts["out"]), "")
    for name, counts in summary.get("zones", {}).items():
        dwell = counts.get("dwell_avg")
        table.add_row(
            escape(name),
            str(counts["entries"]),
            str(counts["exits"]),
            "" if dwell is None else f"{dwell:.1f}",
        )
    if table.row_count:
        console.print(table)

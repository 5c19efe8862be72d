"""GStreamer's rtspsrc as an independent RTSP client; run with Debian's /usr/bin/python3, which has gi.

    /usr/bin/python3 gst_client.py URL --user U --password P [--buffers N] [--protocols tcp|udp]
        [--replay-range 20261120T080000Z-20261120T080020Z]

Builds `rtspsrc ! decodebin ! fakesink` and writes one JSON object to stdout: whether the pipeline
reached PLAYING, how many decoded buffers arrived, their caps, whether the stream ended (EOS), the
seconds between the first and last buffer, and any error. Exits when N buffers arrived and the pipeline
reached PLAYING, on error, on end of stream or after --timeout seconds.

With --replay-range the PLAY request carries the ONVIF replay headers (Require: onvif-replay,
Range: clock=..., Rate-Control: no), added through rtspsrc's `before-send` signal.

With --replay-range and --onvif-mode, rtspsrc's own ONVIF client does it instead (onvif-mode=true,
onvif-rate-control=false): the range is a TIME seek whose positions are nanoseconds since the NTP epoch
(1900-01-01 UTC), and rtspsrc turns it into `Range: clock=START-END`. The seek must reach rtspsrc after
its DESCRIBE/SETUP have completed (the PROGRESS message COMPLETE "open") and before it goes to PLAYING.
A pipeline seek sent as soon as the pipeline is PAUSED fails (rtspsrc has no streams yet), so rtspsrc
PLAYs the SDP's whole a=range (a week of recording, streamed with Rate-Control: no); that is the
"stall" once blamed on this server. Decoded buffers then carry PTS on the same absolute clock, reported
as first_pts/last_pts.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from typing import Any

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
from gi.repository import GLib, Gst, GstRtsp  # noqa: E402

NTP_EPOCH = datetime(1900, 1, 1, tzinfo=UTC)


def ntp_nanoseconds(clock: str) -> int:
    """20261120T080000Z as rtspsrc's onvif-mode seeks: nanoseconds since 1900-01-01 UTC."""
    when = datetime.strptime(clock, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    return int((when - NTP_EPOCH).total_seconds()) * Gst.SECOND


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--user", default="")
    parser.add_argument("--password", default="")
    parser.add_argument("--buffers", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=20.0)
    parser.add_argument("--protocols", default="tcp")
    parser.add_argument("--replay-range", metavar="START-END")
    parser.add_argument("--onvif-mode", action="store_true")
    args = parser.parse_args()

    Gst.init(None)
    result: dict[str, Any] = {
        "playing": False,
        "buffers": 0,
        "caps": None,
        "error": None,
        "eos": False,
        "first_pts": None,
        "last_pts": None,
    }
    arrivals: list[float] = []
    loop = GLib.MainLoop()
    pipeline = Gst.Pipeline.new("client")
    src = Gst.ElementFactory.make("rtspsrc", "src")
    src.set_property("location", args.url)
    src.set_property("user-id", args.user)
    src.set_property("user-pw", args.password)
    src.set_property("latency", 100)
    Gst.util_set_object_arg(src, "protocols", args.protocols)
    if args.replay_range:
        src.set_property("latency", 0)
        Gst.util_set_object_arg(src, "buffer-mode", "none")  # do not re-pace what arrives fast

        def before_send(_src: Any, message: Any) -> bool:
            _ok, method, _uri, _version = message.parse_request()
            if method == GstRtsp.RTSPMethod.PLAY:
                message.add_header_by_name("Require", "onvif-replay")
                message.add_header_by_name("Range", f"clock={args.replay_range}")
                message.add_header_by_name("Rate-Control", "no")
            return True

        if args.onvif_mode:
            src.set_property("onvif-mode", True)
            src.set_property("onvif-rate-control", False)
        else:
            src.connect("before-send", before_send)
    sink = Gst.ElementFactory.make("fakesink", "sink")
    sink.set_property("sync", False)
    sink.set_property("signal-handoffs", True)
    pipeline.add(src)
    pipeline.add(sink)

    def on_handoff(_sink: Any, buffer: Any, pad: Any) -> None:
        result["buffers"] += 1
        arrivals.append(time.monotonic())
        if result["caps"] is None:
            result["caps"] = pad.get_current_caps().to_string()
        if buffer.pts != Gst.CLOCK_TIME_NONE:
            if result["first_pts"] is None:
                result["first_pts"] = buffer.pts
            result["last_pts"] = buffer.pts
        if result["buffers"] >= args.buffers:
            GLib.idle_add(quit_when_done)

    def quit_when_done() -> bool:
        """Quit once N buffers arrived and the PLAYING state change was seen: the handoff that counts the
        last buffer can run before the bus delivers the pipeline's (asynchronous) PLAYING message."""
        if result["playing"]:
            loop.quit()
        return False

    sink.connect("handoff", on_handoff)

    def on_decoded_pad(_decodebin: Any, pad: Any) -> None:
        caps = pad.get_current_caps() or pad.query_caps(None)
        if caps.to_string().startswith("video/x-raw"):
            pad.link(sink.get_static_pad("sink"))

    def on_rtsp_pad(_src: Any, pad: Any) -> None:
        decodebin = Gst.ElementFactory.make("decodebin")
        decodebin.connect("pad-added", on_decoded_pad)
        pipeline.add(decodebin)
        decodebin.sync_state_with_parent()
        pad.link(decodebin.get_static_pad("sink"))

    src.connect("pad-added", on_rtsp_pad)

    def on_message(_bus: Any, message: Any) -> bool:
        if message.type == Gst.MessageType.ERROR:
            error, debug = message.parse_error()
            result["error"] = f"{error.message} ({debug})"
            loop.quit()
        elif message.type == Gst.MessageType.EOS:
            result["eos"] = True
            loop.quit()
        elif message.type == Gst.MessageType.PROGRESS and args.onvif_mode:
            kind, code, _text = message.parse_progress()
            if kind == Gst.ProgressType.COMPLETE and code == "open" and not sought:
                sought.append(True)
                GLib.idle_add(seek_and_play)
        elif message.type == Gst.MessageType.STATE_CHANGED and message.src == pipeline:
            _old, new, _pending = message.parse_state_changed()
            if new == Gst.State.PLAYING:
                result["playing"] = True
                if result["buffers"] >= args.buffers:
                    loop.quit()
        return True

    sought: list[bool] = []

    def seek_and_play() -> bool:
        start, end = (ntp_nanoseconds(part) for part in args.replay_range.split("-"))
        flags = Gst.SeekFlags.FLUSH | Gst.SeekFlags.ACCURATE
        seek = Gst.Event.new_seek(1.0, Gst.Format.TIME, flags, Gst.SeekType.SET, start, Gst.SeekType.SET, end)
        if not src.send_event(seek):
            result["error"] = "rtspsrc refused the seek"
            loop.quit()
        else:
            pipeline.set_state(Gst.State.PLAYING)
        return False

    bus = pipeline.get_bus()
    bus.add_signal_watch()
    bus.connect("message", on_message)
    GLib.timeout_add(int(args.timeout * 1000), loop.quit)

    # In onvif-mode the range seek goes in between rtspsrc's SETUP and PLAY: start PAUSED.
    pipeline.set_state(Gst.State.PAUSED if args.onvif_mode and args.replay_range else Gst.State.PLAYING)
    loop.run()
    pipeline.set_state(Gst.State.NULL)
    result["seconds"] = arrivals[-1] - arrivals[0] if arrivals else 0.0
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

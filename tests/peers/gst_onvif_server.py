"""GStreamer's ONVIF RTSP server (Profile G replay) as an independent peer; run with Debian's python3.

    /usr/bin/python3 gst_onvif_server.py [--host 127.0.0.1] [--width 320 --height 240 --fps 15]

Serves a clock-addressable replay of `videotestsrc` at /replay on a free port and prints one JSON line
`{"port": N}` once it listens, then serves until stdin closes or it is killed.

What gst-rtsp-server needs for ONVIF replay (learnt from its examples/test-onvif-server.c, no code taken):
- `RTSPOnvifServer` (its clients accept `Require: onvif-replay`), an `RTSPOnvifMediaFactory` with
  `set_replay_support(True)` and media type `RTSPOnvifMedia`. Seen with GStreamer 1.22: a plain
  `RTSPServer`, or the factory without replay support, answers the PLAY with 551 Option Not Supported.
- A seekable pipeline whose times are absolute: the server turns `Range: clock=` into a TIME seek to
  nanoseconds since 1900 (NTP's epoch). A non-live `videotestsrc` seeks to any frame number, so its
  timestamps after the seek *are* the recording's NTP time, without the example's seek-translating bin.
- `rtponviftimestamp` after the payloader with `ntp-offset=0` (timestamps are NTP already), writing the
  0xABAC header extension, E and T bits on the last packet; both inside a bin named `pay0`, which
  gst-rtsp-server takes as the stream's payloader. The bin needs ghost pads: a launch string's
  `bin.( name=pay0 ... )` has none, and the SDP then comes without a track.
- Non-live source: with `Rate-Control: no` the server's sinks do not sync, so replay runs as fast as
  encoding (3 s of 320x240 in 0.08 s; 2.9 s without the header); live sources cannot seek at all.
At the end of the range the source sends EOS and the RTP session sends RTCP BYE.
"""

from __future__ import annotations

import argparse
import json
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


class ReplayFactory(GstRtspServer.RTSPOnvifMediaFactory):
    """Builds each client's pipeline: the encoded source, then a `pay0` bin that payloads and stamps."""

    def __init__(self, width: int, height: int, fps: int) -> None:
        super().__init__()
        self.source = (
            f"videotestsrc is-live=false pattern=ball ! video/x-raw,width={width},height={height},"
            f"framerate={fps}/1 ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max={fps} "
            "! h264parse"
        )

    def do_create_element(self, url: object) -> Gst.Element:
        top = Gst.Bin.new(None)
        source = Gst.parse_bin_from_description(self.source, True)
        pay = Gst.parse_bin_from_description(
            "rtph264pay pt=96 config-interval=-1 ! rtponviftimestamp ntp-offset=0 set-e-bit=true "
            "set-t-bit=true drop-out-of-segment=false",
            True,
        )
        pay.set_property("name", "pay0")
        top.add(source)
        top.add(pay)
        source.link(pay)
        return top


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--fps", type=int, default=15)
    args = parser.parse_args()

    Gst.init(None)
    factory = ReplayFactory(args.width, args.height, args.fps)
    factory.set_shared(False)
    factory.set_replay_support(True)
    factory.set_media_gtype(GstRtspServer.RTSPOnvifMedia)
    server = GstRtspServer.RTSPOnvifServer()
    server.set_address(args.host)
    server.set_service("0")
    server.get_mount_points().add_factory("/replay", factory)
    server.attach(None)
    sys.stdout.write(json.dumps({"port": server.get_bound_port()}) + "\n")
    sys.stdout.flush()

    loop = GLib.MainLoop()
    GLib.io_add_watch(sys.stdin.fileno(), GLib.IO_IN | GLib.IO_HUP, lambda *_: loop.quit() or False)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""GStreamer's RTSP server (gst-rtsp-server) as an independent peer; run with Debian's /usr/bin/python3.

    /usr/bin/python3 gst_rtsp_server.py [--host 127.0.0.1] [--width 320 --height 240 --fps 15]
        [--user U --password P]

Serves `videotestsrc ! x264enc ! rtph264pay` at /stream on a free port, and with --user a second server
on another free port serving the same behind Digest. Prints one JSON line `{"port": N, "secure_port":
M or null}` once both listen, then serves until stdin closes or it is killed, so a test that dies takes
the servers with it.

Two servers rather than two paths with gst-rtsp-server's roles: with a default (anonymous) token it
answers a path the anonymous role may not open with 404 instead of a 401 challenge, which no camera does.
"""

from __future__ import annotations

import argparse
import json
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402


def _server(host: str, launch: str) -> GstRtspServer.RTSPServer:
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(launch)
    factory.set_shared(False)  # each client gets its own pipeline: its first frame is a keyframe
    server = GstRtspServer.RTSPServer()
    server.set_address(host)
    server.set_service("0")
    server.get_mount_points().add_factory("/stream", factory)
    return server


def _require_digest(server: GstRtspServer.RTSPServer, user: str, password: str) -> None:
    token = GstRtspServer.RTSPToken()
    token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "user")  # writable_structure() is a copy
    auth = GstRtspServer.RTSPAuth()
    auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
    auth.add_digest(user, password, token)
    server.set_auth(auth)
    factory = server.get_mount_points().match("/stream")[0]
    factory.add_role_from_structure(
        Gst.Structure.from_string(
            "user, media.factory.access=(boolean)true, media.factory.construct=(boolean)true"
        )[0]
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--fps", type=int, default=15)
    parser.add_argument("--user")
    parser.add_argument("--password", default="")
    args = parser.parse_args()

    Gst.init(None)
    launch = (
        f"( videotestsrc is-live=true pattern=ball ! video/x-raw,width={args.width},height={args.height},"
        f"framerate={args.fps}/1 ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max={args.fps} "
        "! rtph264pay name=pay0 pt=96 config-interval=-1 )"
    )
    server = _server(args.host, launch)
    server.attach(None)
    secure_port = None
    if args.user:
        secure = _server(args.host, launch)
        _require_digest(secure, args.user, args.password)
        secure.attach(None)
        secure_port = secure.get_bound_port()
    sys.stdout.write(json.dumps({"port": server.get_bound_port(), "secure_port": secure_port}) + "\n")
    sys.stdout.flush()

    loop = GLib.MainLoop()
    GLib.io_add_watch(sys.stdin.fileno(), GLib.IO_IN | GLib.IO_HUP, lambda *_: loop.quit() or False)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())

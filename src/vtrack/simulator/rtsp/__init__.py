"""The simulator's RTSP server: live streams and ONVIF replay for every simulated camera."""

from vtrack.simulator.rtsp.server import RtspServer

__all__ = ["RtspServer"]

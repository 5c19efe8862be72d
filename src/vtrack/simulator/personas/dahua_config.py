"""Dahua's configManager.cgi?action=getConfig tables the simulator keeps: ChannelTitle, Encode and RTSP.

Tables come back as `table.<Name>...=value` lines; arrays count channels from 0 (ChannelTitle[0] is
channel 1). Encode[i].MainFormat[0] is the main stream, ExtraFormat[0] the sub stream; Dahua spells codecs
"H.264", "H.265", "MPEG4" and gives the frame rate as FPS in frames per second. The RTSP table carries
the port clients must use (Dahua's default is 554; the simulator's RTSP server is elsewhere).
"""

from __future__ import annotations

from collections.abc import Callable

from vtrack.simulator.config import CameraSpec, Codec, SimulatorConfig
from vtrack.simulator.streams import Stream, stream_spec

CODEC_NAMES: dict[Codec, str] = {"h264": "H.264", "h265": "H.265", "mpeg4": "MPEG4"}
_FORMATS: tuple[tuple[str, Stream], ...] = (("MainFormat", "main"), ("ExtraFormat", "sub"))


def channel_title(config: SimulatorConfig, cameras: list[CameraSpec]) -> list[str]:
    return [f"table.ChannelTitle[{index}].Name={camera.name}" for index, camera in enumerate(cameras)]


def encode(config: SimulatorConfig, cameras: list[CameraSpec]) -> list[str]:
    lines = []
    for index, camera in enumerate(cameras):
        for table, stream in _FORMATS:
            spec = stream_spec(camera, stream)
            prefix = f"table.Encode[{index}].{table}[0]"
            lines += [
                f"{prefix}.AudioEnable=false",
                f"{prefix}.Video.BitRate={max(256, spec.width * spec.height * spec.fps // 10_000)}",
                f"{prefix}.Video.BitRateControl=VBR",
                f"{prefix}.Video.Compression={CODEC_NAMES[spec.codec]}",
                f"{prefix}.Video.FPS={spec.fps}",
                f"{prefix}.Video.GOP={spec.fps * 2}",
                f"{prefix}.Video.Height={spec.height}",
                f"{prefix}.Video.Profile=Main",
                f"{prefix}.Video.Quality=4",
                f"{prefix}.Video.Width={spec.width}",
                f"{prefix}.VideoEnable=true",
            ]
    return lines


def rtsp(config: SimulatorConfig, cameras: list[CameraSpec]) -> list[str]:
    return [
        "table.RTSP.Enable=true",
        f"table.RTSP.Port={config.rtsp_port}",
        "table.RTSP.RTP.EndPort=40000",
        "table.RTSP.RTP.StartPort=20000",
    ]


TABLES: dict[str, Callable[[SimulatorConfig, list[CameraSpec]], list[str]]] = {
    "ChannelTitle": channel_title,
    "Encode": encode,
    "RTSP": rtsp,
}

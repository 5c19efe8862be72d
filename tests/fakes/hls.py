"""HLS as a camera cloud's CDN serves a recording: a playlist of MPEG-TS segments behind a URL token.

`HlsServer.routes()` mounts into a provider fake's app (the Imou and Ezviz fakes hand out URLs to it);
`FakeHls` serves it alone for the HLS tests. What it does that real servers do:
- `/hls/<token>/index.m3u8`: a VOD media playlist (#EXT-X-TARGETDURATION, #EXT-X-MEDIA-SEQUENCE, one
  #EXTINF per segment, relative segment URIs, #EXT-X-ENDLIST), or, with `grow=True`, an EVENT playlist
  that gains one segment per reload and ends only once complete;
- `/hls/<token>/master.m3u8` with `master=True`: variants with different BANDWIDTH, the best one being
  the recording, the others junk (a client that does not pick the highest gets the wrong bytes);
- segments with Range (206 + Content-Range, 416 past the end), HEAD with Content-Length, or
  `ranges=False` for a server that ignores Range (200, whole body);
- `encryption="AES-128"`: segments AES-128-CBC encrypted, the key at a relative URI, IV = the media
  sequence number (RFC 8216 5.2) unless `explicit_iv`; `"SAMPLE-AES"` declares what a client must refuse;
- an unknown token is 404 (an expired playback URL).
`make_ts_segments` encodes synthetic H.264 with PyAV and muxes one MPEG-TS per GOP, so the segments are
real, and their concatenation is one playable MPEG-TS with continuous timestamps.
"""

from __future__ import annotations

import io
import secrets
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from typing import Any

import av
import numpy as np
from aiohttp import web
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from tests.fakes.oauth import serve

TS_CLOCK = 90_000


@lru_cache(maxsize=8)
def make_ts_segments(
    seconds: int = 3, fps: int = 10, per_segment: int = 1, width: int = 160, sized_pes: bool = False
) -> tuple[bytes, ...]:
    """`seconds` of synthetic H.264 as MPEG-TS segments of `per_segment` seconds, each starting at an IDR.

    `sized_pes`: every video PES says its length, as Tapo cameras write it (FFmpeg leaves it 0 by default).
    """
    height = width * 3 // 4
    encoder = av.CodecContext.create("libx264", "w")
    encoder.width, encoder.height, encoder.pix_fmt = width, height, "yuv420p"
    encoder.time_base, encoder.framerate = Fraction(1, fps), Fraction(fps)
    gop = fps * per_segment
    encoder.options = {
        "preset": "ultrafast",
        "tune": "zerolatency",
        "keyint": str(gop),
        "min-keyint": str(gop),
        "scenecut": "0",
        "bframes": "0",
    }
    packets: list[Any] = []
    for n in range(seconds * fps):
        picture = np.full((height, width, 3), (n * 7) % 256, dtype=np.uint8)
        picture[:, (n * 4) % width] = 255  # something moves, so frames differ
        frame = av.VideoFrame.from_ndarray(picture, format="rgb24").reformat(format="yuv420p")
        frame.pts = n
        packets += encoder.encode(frame)
    packets += encoder.encode(None)
    segments: list[bytes] = []
    for start in range(0, len(packets), gop):
        buffer = io.BytesIO()
        options = {"omit_video_pes_length": "0"} if sized_pes else {}
        with av.open(buffer, "w", format="mpegts", options=options) as out:
            stream = out.add_stream("h264", rate=fps)
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            for source in packets[start : start + gop]:
                packet = av.Packet(bytes(source))
                packet.pts = source.pts * TS_CLOCK // fps
                packet.dts = source.dts * TS_CLOCK // fps
                packet.time_base = Fraction(1, TS_CLOCK)
                packet.is_keyframe = source.is_keyframe
                packet.stream = stream
                out.mux(packet)
        segments.append(buffer.getvalue())
    return tuple(segments)


def aes_encrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    padder = padding.PKCS7(128).padder()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return encryptor.update(padder.update(data) + padder.finalize()) + encryptor.finalize()


@dataclass
class HlsRecording:
    segments: list[bytes]
    master: bool = False
    encryption: str | None = None  # None, "AES-128" or "SAMPLE-AES"
    explicit_iv: bool = False
    ranges: bool = True
    grow: bool = False  # an EVENT playlist that gains one segment per reload
    key: bytes = field(default_factory=lambda: secrets.token_bytes(16))
    first_sequence: int = 7
    visible: int = 0

    def __post_init__(self) -> None:
        self.visible = 1 if self.grow else len(self.segments)

    def iv(self, sequence: int) -> bytes:
        return (sequence * 31 + 5).to_bytes(16, "big") if self.explicit_iv else sequence.to_bytes(16, "big")

    def body(self, index: int) -> bytes:
        data = self.segments[index]
        if self.encryption is None:
            return data
        return aes_encrypt(self.key, self.iv(self.first_sequence + index), data)


@dataclass
class HlsServer:
    recordings: dict[str, HlsRecording] = field(default_factory=dict)
    requests: list[tuple[str, str, str]] = field(default_factory=list)  # (method, file, Range header)
    prefix: str = "/hls"

    def routes(self, prefix: str = "/hls") -> list[web.RouteDef]:
        self.prefix = prefix
        return [
            web.get(f"{prefix}/{{token}}/master.m3u8", self.master),
            web.get(f"{prefix}/{{token}}/{{name}}.m3u8", self.playlist),
            web.get(f"{prefix}/{{token}}/key.bin", self.key),
            web.get(f"{prefix}/{{token}}/{{name}}.ts", self.segment),  # HEAD too (aiohttp's allow_head)
        ]

    def publish(self, base_url: str, segments: list[bytes] | tuple[bytes, ...], **options: Any) -> str:
        """Serve `segments` as a new recording; returns its playlist URL (the master one with master=True)."""
        token = secrets.token_urlsafe(12)
        recording = HlsRecording(list(segments), **options)
        self.recordings[token] = recording
        name = "master" if recording.master else "index"
        return f"{base_url}{self.prefix}/{token}/{name}.m3u8"

    def forget_all(self) -> None:
        self.recordings.clear()

    def _recording(self, request: web.Request) -> HlsRecording:
        recording = self.recordings.get(request.match_info["token"])
        if recording is None:
            raise web.HTTPNotFound(text="playback URL expired or unknown")
        return recording

    async def master(self, request: web.Request) -> web.Response:
        self._recording(request)
        self.requests.append((request.method, "master.m3u8", ""))
        text = (
            "#EXTM3U\n"
            "#EXT-X-STREAM-INF:BANDWIDTH=150000,RESOLUTION=160x120\nlow/../low.m3u8\n"
            '#EXT-X-STREAM-INF:BANDWIDTH=2400000,RESOLUTION=1920x1080,CODECS="avc1.640028"\nindex.m3u8\n'
            "#EXT-X-STREAM-INF:BANDWIDTH=800000\nmid.m3u8\n"
        )
        return web.Response(text=text, content_type="application/vnd.apple.mpegurl")

    async def playlist(self, request: web.Request) -> web.Response:
        recording = self._recording(request)
        name = request.match_info["name"]
        self.requests.append((request.method, f"{name}.m3u8", ""))
        lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:1"]
        lines.append(f"#EXT-X-MEDIA-SEQUENCE:{recording.first_sequence}")
        if name != "index":  # a lesser variant: junk a client must not pick
            lines += ["#EXTINF:1.0,", "junk.ts", "#EXT-X-ENDLIST"]
            return web.Response(text="\n".join(lines) + "\n", content_type="application/vnd.apple.mpegurl")
        if recording.grow:
            lines.append("#EXT-X-PLAYLIST-TYPE:EVENT")
        if recording.encryption == "SAMPLE-AES":
            lines.append(
                '#EXT-X-KEY:METHOD=SAMPLE-AES,URI="skd://key",KEYFORMAT="com.apple.streamingkeydelivery"'
            )
        elif recording.encryption:
            iv = f",IV=0x{recording.iv(recording.first_sequence).hex()}" if recording.explicit_iv else ""
            lines.append(f'#EXT-X-KEY:METHOD={recording.encryption},URI="key.bin"{iv}')
        for index in range(recording.visible):
            if recording.explicit_iv and index:
                iv = recording.iv(recording.first_sequence + index).hex()
                lines.append(f'#EXT-X-KEY:METHOD=AES-128,URI="key.bin",IV=0x{iv}')
            lines += ["#EXTINF:1.000,", f"seg{index}.ts"]
        if recording.visible == len(recording.segments):
            lines.append("#EXT-X-ENDLIST")
        elif recording.grow:
            recording.visible += 1
        return web.Response(text="\n".join(lines) + "\n", content_type="application/vnd.apple.mpegurl")

    async def key(self, request: web.Request) -> web.Response:
        recording = self._recording(request)
        self.requests.append((request.method, "key.bin", ""))
        return web.Response(body=recording.key, content_type="application/octet-stream")

    async def segment(self, request: web.Request) -> web.Response:
        recording = self._recording(request)
        name = request.match_info["name"]
        wanted = request.headers.get("Range", "")
        self.requests.append((request.method, f"{name}.ts", wanted))
        if name == "junk":
            return web.Response(body=b"junk from a lesser variant", content_type="video/mp2t")
        index = int(name.removeprefix("seg"))
        if index >= recording.visible:
            raise web.HTTPNotFound()
        body = recording.body(index)
        if not wanted or not recording.ranges:
            return web.Response(body=body, content_type="video/mp2t")
        first_text, _, last_text = wanted.removeprefix("bytes=").partition("-")
        first = int(first_text)
        last = min(int(last_text), len(body) - 1) if last_text else len(body) - 1
        if first >= len(body):
            return web.Response(status=416, headers={"Content-Range": f"bytes */{len(body)}"})
        return web.Response(
            status=206,
            body=body[first : last + 1],
            content_type="video/mp2t",
            headers={"Content-Range": f"bytes {first}-{last}/{len(body)}"},
        )


class FakeHls:
    """An HLS server alone on loopback: `async with FakeHls() as hls: url = hls.publish(segments)`."""

    def __init__(self) -> None:
        self.server = HlsServer()
        self.base_url = ""
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> FakeHls:
        app = web.Application()
        app.add_routes(self.server.routes())
        self._runner, self.base_url = await serve(app)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def publish(self, segments: list[bytes] | tuple[bytes, ...], **options: Any) -> str:
        return self.server.publish(self.base_url, segments, **options)

    @property
    def requests(self) -> list[tuple[str, str, str]]:
        return self.server.requests

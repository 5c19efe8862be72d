"""SDP as cameras write it: tracks, control URLs resolved the way cameras expect, decoded parameter sets."""

from __future__ import annotations

import base64

import pytest

from vtrack.devices.rtsp.sdp import base_url, parse_sdp, resolve

SPS = bytes.fromhex("6742001fe900a00b7420")
PPS = bytes.fromhex("68ce3c80")
SPROP = f"{base64.b64encode(SPS).decode()},{base64.b64encode(PPS).decode()}"

HIKVISION = f"""v=0
o=- 1109162014219182 1109162014219192 IN IP4 192.168.1.64
s=Media Presentation
e=NONE
b=AS:5050
t=0 0
a=control:rtsp://192.168.1.64:554/Streaming/Channels/101/?transportmode=unicast
m=video 0 RTP/AVP 96
c=IN IP4 0.0.0.0
b=AS:5000
a=recvonly
a=x-dimensions:1920,1080
a=control:rtsp://192.168.1.64:554/Streaming/Channels/101/trackID=1?transportmode=unicast
a=rtpmap:96 H264/90000
a=fmtp:96 profile-level-id=420029; packetization-mode=1; sprop-parameter-sets={SPROP}
m=audio 0 RTP/AVP 8
c=IN IP4 0.0.0.0
a=recvonly
a=control:rtsp://192.168.1.64:554/Streaming/Channels/101/trackID=2?transportmode=unicast
a=Media_header:MEDIAINFO=494D4B48010100000400010010710110401F000000FA000000000000000000000000000000000000;
a=appversion:1.0
"""

DAHUA = """v=0
o=- 2251938202 2251938202 IN IP4 0.0.0.0
s=Media Server
c=IN IP4 0.0.0.0
t=0 0
a=control:*
a=packetization-supported:DH
a=range:npt=now-
m=video 0 RTP/AVP 98
a=control:trackID=0
a=framerate:25.000000
a=rtpmap:98 H265/90000
a=fmtp:98 sprop-vps=QAEMAf//AWAAAAMAAAMAAAMAAAMAlqwJ;{SPS265};sprop-pps=RAHA8vA8kA==
a=recvonly
""".format(SPS265="sprop-sps=QgEBAWAAAAMAAAMAAAMAAAMAlqADwIAQ5Y2uSTJrlgCAAAADAIAAAAMMhA==")

MPEG4 = """v=0
o=- 1 1 IN IP4 127.0.0.1
s=cam
t=0 0
a=range:clock=20240101T000000Z-20240108T000000Z
m=video 0 RTP/AVP 96
a=rtpmap:96 MP4V-ES/90000
a=fmtp:96 profile-level-id=245;config=000001B0F5000001B509000001000000012000C48881F4514043C1463F
a=control:trackID=0
a=range:npt=0-604800
"""


def test_hikvision_absolute_controls_and_h264_parameter_sets() -> None:
    url = "rtsp://192.168.1.64:554/Streaming/Channels/101"
    sdp = parse_sdp(HIKVISION, base=base_url(url, None, None))
    video = sdp.video()
    assert video is not None and video.codec == "H264" and video.clock_rate == 90000
    assert video.payload_type == 96 and video.fmtp["packetization-mode"] == "1"
    assert video.control == "rtsp://192.168.1.64:554/Streaming/Channels/101/trackID=1?transportmode=unicast"
    assert video.parameter_sets == (SPS, PPS)
    assert sdp.control == "rtsp://192.168.1.64:554/Streaming/Channels/101/?transportmode=unicast"
    audio = sdp.tracks[1]
    assert (audio.media, audio.encoding, audio.clock_rate, audio.codec) == ("audio", "PCMA", 8000, None)


def test_dahua_relative_control_is_appended_to_a_base_with_a_query() -> None:
    """Dahua's base carries the channel in its query; the track URL is base + "/trackID=0", as in FFmpeg."""
    url = "rtsp://10.0.0.5:554/cam/realmonitor?channel=1&subtype=0"
    sdp = parse_sdp(DAHUA, base=base_url(url, url + "/", None))
    video = sdp.video()
    assert video is not None and video.codec == "H265" and video.payload_type == 98
    assert video.control == "rtsp://10.0.0.5:554/cam/realmonitor?channel=1&subtype=0/trackID=0"
    assert sdp.control == url + "/"  # a=control:* is the base itself
    assert sdp.range == "npt=now-"
    assert video.framerate == 25.0
    vps, sps, pps = video.parameter_sets
    assert (vps[0] >> 1) & 0x3F == 32 and (sps[0] >> 1) & 0x3F == 33 and (pps[0] >> 1) & 0x3F == 34


def test_mpeg4_config_and_ranges() -> None:
    sdp = parse_sdp(MPEG4, base="rtsp://127.0.0.1/replay/3/")
    video = sdp.video()
    assert video is not None and video.codec == "MPEG4" and video.encoding == "MP4V-ES"
    assert video.parameter_sets == (bytes.fromhex(MPEG4.split("config=")[1].split()[0]),)
    assert sdp.range == "clock=20240101T000000Z-20240108T000000Z"
    assert video.range == "npt=0-604800"
    assert video.control == "rtsp://127.0.0.1/replay/3/trackID=0"
    assert sdp.control == "rtsp://127.0.0.1/replay/3/"  # no session-level control: the base


@pytest.mark.parametrize(
    ("base", "control", "expected"),
    [
        ("rtsp://h/live/1/", "trackID=0", "rtsp://h/live/1/trackID=0"),
        ("rtsp://h/live/1", "trackID=0", "rtsp://h/live/1/trackID=0"),  # no trailing slash: keep "1"
        ("rtsp://h/live/1/", "*", "rtsp://h/live/1/"),
        ("rtsp://h/live/1/", None, "rtsp://h/live/1/"),
        ("rtsp://h/live/1/", "rtsp://other:8554/x/track1", "rtsp://other:8554/x/track1"),
        ("rtsp://h:8554/live/1/", "/media/track1", "rtsp://h:8554/media/track1"),
    ],
)
def test_control_resolution(base: str, control: str | None, expected: str) -> None:
    assert resolve(base, control) == expected


def test_base_is_content_base_then_content_location_then_request_url() -> None:
    assert base_url("rtsp://h/a", "rtsp://h/b/", "rtsp://h/c/") == "rtsp://h/b/"
    assert base_url("rtsp://h/a", None, "rtsp://h/c/") == "rtsp://h/c/"
    assert base_url("rtsp://h/a", None, None) == "rtsp://h/a"


def test_static_payload_type_garbled_sprops_and_no_video() -> None:
    text = "v=0\r\nm=video 0 RTP/AVP 26\r\na=control:track1\r\nm=video 0 RTP/AVP 96\r\n"
    text += "a=rtpmap:96 H264/90000\r\na=fmtp:96 sprop-parameter-sets=!!!,aGVsbG8\r\n"
    sdp = parse_sdp(text, base="rtsp://h/s")
    jpeg, h264 = sdp.tracks
    assert (jpeg.encoding, jpeg.clock_rate, jpeg.codec) == ("JPEG", 90000, None)
    assert sdp.video() is h264  # the first video track we can depacketize
    assert h264.parameter_sets == (b"hello",)  # the garbled entry is skipped, the padding restored
    assert parse_sdp("v=0\r\nm=audio 0 RTP/AVP 0\r\n", base="rtsp://h/").video() is None

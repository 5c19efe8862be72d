"""A recording served as HLS, read back as one MPEG-TS byte stream that resumes at a byte offset.

Camera clouds (Imou, Ezviz) hand out a recording as a playlist of MPEG-TS segments, not as a file, so
`hls_bytes` downloads the segments in order and yields their concatenation: MPEG-TS is self-framing,
and concatenated segments are the file a player would have recorded (step 4 remuxes it into MP4).

The sync engine resumes a cut download at a byte offset of that concatenation. A segment's size is only
known once it was fetched (or a HEAD answered), so `sizes` (kept by the connector per file between
attempts) remembers them: whole segments below the offset are skipped unread, and the first partial one
is asked for with a Range request, sliced locally when the server ignores Range.

Playlists: a master playlist is followed to its highest-BANDWIDTH variant; relative URIs are resolved
against the playlist's URL; without #EXT-X-ENDLIST the playlist is reloaded (the cloud may still be
assembling the recording) until it ends; segments are only ever appended to such a recording's playlist,
so a segment is known by its position. AES-128 segments are decrypted with the key from their URI
(IV from the tag, else the media sequence number, RFC 8216 section 5.2); other methods (SAMPLE-AES, DRM)
are refused, because the bytes would not be playable.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from vtrack.devices.errors import DeviceError
from vtrack.sources.http import CloudHttp, body_chunks

MAX_VARIANT_HOPS = 3
MAX_IDLE_RELOADS = 5  # reloads without a new segment before an unfinished playlist counts as stalled
SEGMENT_COUNT = -1  # the key in `sizes` under which the playlist's segment count is kept


@dataclass(frozen=True)
class Key:
    method: str  # "NONE", "AES-128", "SAMPLE-AES", ...
    uri: str | None = None
    iv: bytes | None = None


@dataclass(frozen=True)
class Segment:
    uri: str  # absolute
    sequence: int  # media sequence number
    key: Key | None = None


@dataclass
class MediaPlaylist:
    segments: list[Segment] = field(default_factory=list)
    ended: bool = False
    target_duration: float = 2.0


@dataclass
class MasterPlaylist:
    variants: list[tuple[int, str]]  # (BANDWIDTH, absolute URI)


def _attributes(text: str) -> dict[str, str]:
    """`KEY=value,KEY="quoted, value"` as a dict (the attribute lists of RFC 8216 section 4.2)."""
    found: dict[str, str] = {}
    rest = text
    while rest:
        name, _, rest = rest.partition("=")
        if rest.startswith('"'):
            value, _, rest = rest[1:].partition('"')
            rest = rest.removeprefix(",")
        else:
            value, _, rest = rest.partition(",")
        found[name.strip().upper()] = value.strip()
    return found


def parse_playlist(text: str, url: str, where: str = "HLS") -> MediaPlaylist | MasterPlaylist:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines or lines[0] != "#EXTM3U":
        raise DeviceError(f"{where}: {url} is not an HLS playlist", "protocol")
    variants: list[tuple[int, str]] = []
    media = MediaPlaylist()
    sequence = 0
    key: Key | None = None
    pending_bandwidth: int | None = None
    for line in lines[1:]:
        if line.startswith("#EXT-X-STREAM-INF:"):
            pending_bandwidth = int(_attributes(line.partition(":")[2]).get("BANDWIDTH", "0") or 0)
        elif line.startswith("#EXT-X-MEDIA-SEQUENCE:"):
            sequence = int(line.partition(":")[2])
        elif line.startswith("#EXT-X-TARGETDURATION:"):
            media.target_duration = float(line.partition(":")[2])
        elif line.startswith("#EXT-X-KEY:"):
            attrs = _attributes(line.partition(":")[2])
            iv = attrs.get("IV")
            key = Key(
                attrs.get("METHOD", "NONE").upper(),
                urljoin(url, attrs["URI"]) if "URI" in attrs else None,
                bytes.fromhex(iv[2:]) if iv and iv.lower().startswith("0x") else None,
            )
            key = None if key.method == "NONE" else key
        elif line.startswith("#EXT-X-BYTERANGE"):
            raise DeviceError(f"{where}: byte-range HLS segments are not supported", "protocol")
        elif line == "#EXT-X-ENDLIST":
            media.ended = True
        elif not line.startswith("#"):
            if pending_bandwidth is not None:
                variants.append((pending_bandwidth, urljoin(url, line)))
                pending_bandwidth = None
            else:
                media.segments.append(Segment(urljoin(url, line), sequence, key))
                sequence += 1
    if variants:
        return MasterPlaylist(variants)
    return media


class _Decryptor:
    """AES-128-CBC segments (the only HLS encryption whose bytes become a plain MPEG-TS)."""

    def __init__(self, http: CloudHttp) -> None:
        self.http = http
        self.keys: dict[str, bytes] = {}

    async def decrypt(self, key: Key, sequence: int, data: bytes) -> bytes:
        if key.method != "AES-128" or not key.uri or not key.uri.startswith(("http://", "https://")):
            raise DeviceError(
                f"{self.http.where}: encrypted HLS is not supported (METHOD={key.method}); "
                "only AES-128 with a key given by URI can be read",
                "protocol",
            )
        secret = self.keys.get(key.uri)
        if secret is None:
            secret = (await self.http.request("GET", key.uri, authorized=False)).content
            if len(secret) != 16:
                raise DeviceError(f"{self.http.where}: the HLS key is not 16 bytes", "protocol")
            self.keys[key.uri] = secret
        iv = key.iv or sequence.to_bytes(16, "big")
        decryptor = Cipher(algorithms.AES(secret), modes.CBC(iv)).decryptor()
        unpadder = padding.PKCS7(128).unpadder()
        try:
            plain = decryptor.update(data) + decryptor.finalize()
            return unpadder.update(plain) + unpadder.finalize()
        except ValueError:
            raise DeviceError(f"{self.http.where}: an HLS segment does not decrypt", "protocol") from None


async def _media_playlist(http: CloudHttp, url: str) -> tuple[str, MediaPlaylist]:
    for _ in range(MAX_VARIANT_HOPS + 1):
        response = await http.request("GET", url, authorized=False)
        playlist = parse_playlist(response.text, str(response.url), http.where)
        if isinstance(playlist, MediaPlaylist):
            return str(response.url), playlist
        url = max(playlist.variants)[1]
    raise DeviceError(f"{http.where}: the HLS master playlists nest too deep", "protocol")


async def _segment_size(http: CloudHttp, segment: Segment) -> int | None:
    """Content-Length from a HEAD, so a whole segment below the offset is skipped without reading it."""
    try:
        response = await http.request("HEAD", segment.uri, authorized=False)
    except DeviceError:
        return None
    length = response.headers.get("Content-Length")
    return int(length) if length and length.isdigit() else None


async def _plain_segment(
    http: CloudHttp, segment: Segment, skip: int, sizes: dict[int, int], index: int, use_range: bool = True
) -> AsyncIterator[bytes]:
    """The segment's bytes from `skip` on; records its size once the whole length is known."""
    headers = {"Range": f"bytes={skip}-"} if skip and use_range else {}
    async with http.stream(
        "GET", segment.uri, expect=(200, 206, 416), authorized=False, headers=headers
    ) as response:
        if response.status_code != 416:
            drop = skip if response.status_code == 200 else 0
            seen = 0
            async for chunk in body_chunks(response, http.where):
                seen += len(chunk)
                if drop >= len(chunk):
                    drop -= len(chunk)
                    continue
                yield chunk[drop:]
                drop = 0
            total = response.headers.get("Content-Range", "").rpartition("/")[2]
            sizes[index] = int(total) if response.status_code == 206 and total.isdigit() else seen
            return
        total = response.headers.get("Content-Range", "").rpartition("/")[2]
    if total.isdigit():  # the segment ends before `skip`: nothing of it is wanted
        sizes[index] = int(total)
        return
    async for chunk in _plain_segment(http, segment, skip, sizes, index, use_range=False):
        yield chunk


async def hls_bytes(
    http: CloudHttp,
    url: str,
    *,
    offset: int = 0,
    sizes: dict[int, int] | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> AsyncIterator[bytes]:
    """The recording behind `url` as concatenated MPEG-TS bytes, from byte `offset` on.

    `sizes` maps a segment's position in the playlist to its size in bytes (after decryption); pass the
    same dict to a later call for the same recording so a resumed download skips what it had (it is
    cleared when the playlist no longer has the same number of segments).
    """
    sizes = {} if sizes is None else sizes
    decryptor = _Decryptor(http)
    playlist_url, playlist = await _media_playlist(http, url)
    if playlist.ended:  # sizes learnt from a playlist cut differently would skip the wrong bytes
        if sizes.get(SEGMENT_COUNT, len(playlist.segments)) != len(playlist.segments):
            sizes.clear()
        sizes[SEGMENT_COUNT] = len(playlist.segments)
    position, index, idle = 0, 0, 0
    while True:
        for segment in playlist.segments[index:]:
            size = sizes.get(index)
            if size is None and offset > position and segment.key is None:
                size = await _segment_size(http, segment)
                if size is not None:
                    sizes[index] = size
            if size is not None and position + size <= offset:
                position, index = position + size, index + 1
                continue
            skip = max(0, offset - position)
            if segment.key is not None:
                raw = (await http.request("GET", segment.uri, authorized=False)).content
                data = await decryptor.decrypt(segment.key, segment.sequence, raw)
                sizes[index] = len(data)
                if skip < len(data):
                    yield data[skip:]
            else:
                async for chunk in _plain_segment(http, segment, skip, sizes, index):
                    yield chunk
            position, index = position + sizes[index], index + 1
        if playlist.ended:
            return
        await sleep(max(0.5, playlist.target_duration / 2))
        _, playlist = await _media_playlist(http, playlist_url)
        idle = idle + 1 if len(playlist.segments) <= index else 0
        if idle > MAX_IDLE_RELOADS:
            raise DeviceError(f"{http.where}: the HLS playlist stopped growing before it ended", "timeout")

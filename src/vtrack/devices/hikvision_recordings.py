"""Hikvision recording search (POST /ISAPI/ContentMgmt/search) and how its files are downloaded.

A channel's recordings are on its main-stream track, `{channel}01` (101, 201, ...), on cameras and NVRs
alike. The search pages: each CMSearchResult holds at most maxResults matches (devices cap it, 40 to 100
whatever is asked), `responseStatusStrg` is MORE while more remain, and the next page starts at the old
position plus `numOfMatches` (this page's count, not the total). Hikvision spells the position field
`searchResultPostion`; that spelling is what firmware reads.

Times: current firmware reads and writes ISAPI times as UTC with a `Z` (or with an explicit offset); a time
without either is the device's local time, converted with the zone the caller passes. (Some old firmware
wrote local time behind a literal `Z`; nothing here can tell, and the simulator follows current firmware.)

A match's `playbackURI` names the file (track, start, end, name and size); the device takes it back in
/ISAPI/ContentMgmt/download. Firmware reads it from a `downloadRequest` body even on GET; the simulator and
some firmware read a `playbackURI` query parameter; the download sends both (see download_request).
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from urllib.parse import parse_qs, quote, urlsplit
from xml.sax.saxutils import escape

import httpx

from vtrack.devices.hikvision import Element, HikvisionClient, children, parse_xml, text
from vtrack.devices.http import VendorApi, VendorAuthError, VendorError, optional_int

log = logging.getLogger(__name__)

SEARCH_PATH = "/ISAPI/ContentMgmt/search"
DOWNLOAD_PATH = "/ISAPI/ContentMgmt/download"
PAGE_SIZE = 100
MAX_PAGES = 500  # 50,000 files: far beyond a week of any channel; stops a device that always says MORE
_XMLNS = "http://www.hikvision.com/ver20/XMLSchema"


@dataclass(frozen=True)
class HikvisionMatch:
    """One recorded file the search found; times aware UTC."""

    track: int
    start: datetime
    end: datetime
    playback_uri: str
    size: int | None

    @property
    def remote_id(self) -> str:
        """The playbackURI without scheme and host: the file's name on the device, stable when the NVR's
        address changes (DHCP, NAT) while the URI it writes carries whatever address it has."""
        parts = urlsplit(self.playback_uri)
        return f"{parts.path}?{parts.query}" if parts.query else parts.path


def track_id(channel: int) -> int:
    return channel * 100 + 1


def isapi_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_isapi_time(value: str | None, zone: tzinfo) -> datetime | None:
    """An ISAPI time as aware UTC: `Z` or an offset as written, no zone as the device's local time."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)).astimezone(UTC)


def new_search_id() -> str:
    return f"{{{secrets.token_hex(4).upper()}-0000-0000-0000-{secrets.token_hex(6).upper()}}}"


def search_description(
    search_id: str, track: int, start: datetime, end: datetime, position: int, page_size: int
) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>'
        f'<CMSearchDescription version="2.0" xmlns="{_XMLNS}">'
        f"<searchID>{search_id}</searchID>"
        f"<trackIDList><trackID>{track}</trackID></trackIDList>"
        f"<timeSpanList><timeSpan><startTime>{isapi_time(start)}</startTime>"
        f"<endTime>{isapi_time(end)}</endTime></timeSpan></timeSpanList>"
        f"<maxResults>{page_size}</maxResults>"
        f"<searchResultPostion>{position}</searchResultPostion>"
        f"<metadataList><metadataDescriptor>//recordType.meta.std-cgi.com</metadataDescriptor></metadataList>"
        f"</CMSearchDescription>"
    ).encode()


async def post(api: VendorApi, path: str, content: bytes) -> httpx.Response:
    """POST an ISAPI document; failures raised as VendorApi.get raises them."""
    try:
        response = await api.http.post(
            api.url(path),
            content=content,
            headers={"Content-Type": "application/xml"},
            auth=api.auth,
            timeout=api.timeout,
        )
    except httpx.ConnectTimeout as error:
        raise VendorError(f"the {api.where} did not answer within {api.timeout:g} s", "timeout") from error
    except httpx.ConnectError as error:
        raise VendorError(f"the {api.where} cannot be reached: {error}", "unreachable") from error
    except httpx.TimeoutException as error:
        raise VendorError(f"the {api.where} stopped answering ({path})", "timeout") from error
    except httpx.HTTPError as error:
        raise VendorError(f"the {api.where} sent something that is not HTTP ({error})", "protocol") from error
    if response.status_code == 401:
        raise VendorAuthError(
            f"the {api.where} refused user {api.username!r}: check the username and password"
        )
    if response.status_code == 404:
        raise VendorError(f"the {api.where} does not offer {path}", "not_found")
    if response.status_code != 200:
        raise VendorError(f"the {api.where} answered {path} with HTTP {response.status_code}", "protocol")
    return response


async def search(
    client: HikvisionClient,
    channel: int,
    start: datetime,
    end: datetime,
    zone: tzinfo,
    *,
    page_size: int = PAGE_SIZE,
) -> list[HikvisionMatch]:
    """Every file of the channel's main track that overlaps [start, end), in the device's order."""
    api, track = client.api, track_id(channel)
    found: list[HikvisionMatch] = []
    position = 0
    search_id = new_search_id()  # the same for every page: firmware keys its result cache by it
    for _ in range(MAX_PAGES):
        description = search_description(search_id, track, start, end, position, page_size)
        response = await post(api, SEARCH_PATH, description)
        root = parse_xml(response.content, api.where)
        status = (text(root, "responseStatusStrg") or "").upper()
        items = [
            item
            for match_list in children(root, "matchList")
            for item in children(match_list, "searchMatchItem")
        ]
        found += [match for item in items if (match := _match(item, zone)) and match.track == track]
        count = optional_int(text(root, "numOfMatches"))
        position += count if count is not None else len(items)
        if status != "MORE" or not items:
            return found
    log.warning("%s: search of track %s still had MORE after %s pages", api.where, track, MAX_PAGES)
    return found


def _match(item: Element, zone: tzinfo) -> HikvisionMatch | None:
    uri = text(item, "mediaSegmentDescriptor", "playbackURI")
    start = parse_isapi_time(text(item, "timeSpan", "startTime"), zone)
    end = parse_isapi_time(text(item, "timeSpan", "endTime"), zone)
    track = optional_int(text(item, "trackID"))
    if uri is None or start is None or end is None or track is None or end <= start:
        log.debug("skipping an incomplete searchMatchItem")
        return None
    size = parse_qs(urlsplit(uri).query).get("size", [""])[0]
    return HikvisionMatch(track=track, start=start, end=end, playback_uri=uri, size=optional_int(size))


def download_url(base_url: str, playback_uri: str) -> str:
    return f"{base_url.rstrip('/')}{DOWNLOAD_PATH}?playbackURI={quote(playback_uri, safe='')}"


def download_request(url: str) -> bytes | None:
    """The downloadRequest body for a download URL this module built; None for any other URL."""
    uri = parse_qs(urlsplit(url).query).get("playbackURI", [None])[0]
    if uri is None:
        return None
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><downloadRequest version="1.0" xmlns="{_XMLNS}">'
        f"<playbackURI>{escape(uri)}</playbackURI></downloadRequest>"
    ).encode()

"""ISAPI recording search and download: POST /ISAPI/ContentMgmt/search and /ISAPI/ContentMgmt/download.

Search takes a CMSearchDescription (searchID, trackIDList, timeSpanList, maxResults and the field Hikvision
misspells, searchResultPostion) and answers a CMSearchResult page: responseStatusStrg is "MORE" while results
remain after this page, "OK" on the last page and "NO MATCHES" when nothing matched; numOfMatches counts the
items in this page, not the total, so clients page by adding it to their position until they stop seeing MORE.

A track ID is channel * 100 + stream; recordings exist on the main-stream tracks (101, 201, ...). Each match
carries a playbackURI naming the file (track, start, end, name, size) that the download endpoint takes back,
whole or from a byte offset (Range, for resuming; see ranges.py).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from aiohttp import web

from vtrack.simulator.personas import hikvision_xml as hx
from vtrack.simulator.personas.archive import Segment
from vtrack.simulator.personas.device import PersonaDevice
from vtrack.simulator.personas.ranges import file_response
from vtrack.simulator.personas.safe_xml import XmlError, child, children, local_name, parse_untrusted, text_of

logger = logging.getLogger(__name__)

MAX_RESULTS_PER_PAGE = 100  # devices cap a page whatever maxResults asks for; clients must page
_URI_TIME = "%Y%m%dT%H%M%SZ"
_TRACK_PATH = re.compile(r"^/Streaming/tracks/(\d+)/?$")


class BadSearch(ValueError):
    """The request's XML is well-formed but its content is not a usable search or download request."""


def track_id(channel: int, stream: int = 1) -> int:
    return channel * 100 + stream


def file_name(segment: Segment) -> str:
    """The device's name for a file: channel and start; stable, as the archive is."""
    return f"ch{segment.channel:02d}_{int(segment.start.timestamp()):016d}"


def playback_uri(host: str, rtsp_port: int, segment: Segment) -> str:
    return (
        f"rtsp://{host}:{rtsp_port}/Streaming/tracks/{track_id(segment.channel)}/"
        f"?starttime={segment.start.strftime(_URI_TIME)}&endtime={segment.end.strftime(_URI_TIME)}"
        f"&name={file_name(segment)}&size={segment.size}"
    )


def parse_isapi_time(text: str) -> datetime:
    """ISAPI times: ISO 8601, "Z" or an offset; without one, the device's local time, which is UTC here."""
    parsed = datetime.fromisoformat(text)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


@dataclass(frozen=True)
class SearchDescription:
    search_id: str
    tracks: list[int]
    spans: list[tuple[datetime, datetime]]
    max_results: int
    position: int


def parse_search(body: bytes) -> SearchDescription:
    root = parse_untrusted(body)
    if local_name(root) != "CMSearchDescription":
        raise BadSearch("expected CMSearchDescription")
    track_list = child(root, "trackIDList")
    span_list = child(root, "timeSpanList")
    if track_list is None or span_list is None:
        raise BadSearch("trackIDList and timeSpanList are required")
    try:
        tracks = [int((element.text or "").strip()) for element in children(track_list, "trackID")]
        spans = []
        for span in children(span_list, "timeSpan"):
            start, end = text_of(span, "startTime"), text_of(span, "endTime")
            if start is None or end is None:
                raise BadSearch("timeSpan needs startTime and endTime")
            spans.append((parse_isapi_time(start), parse_isapi_time(end)))
        max_results = int(text_of(root, "maxResults") or "40")
        position_text = text_of(root, "searchResultPostion") or text_of(root, "searchResultPosition")
        position = int(position_text or "0")
    except ValueError as error:
        raise BadSearch(str(error)) from error
    if not tracks or not spans or max_results < 1 or position < 0:
        raise BadSearch("at least one trackID and timeSpan, maxResults >= 1 and a position >= 0 are required")
    return SearchDescription(text_of(root, "searchID") or "", tracks, spans, max_results, position)


class HikvisionRecordings:
    def __init__(self, device: PersonaDevice) -> None:
        self._device = device

    def matches(self, search: SearchDescription) -> list[tuple[int, Segment]]:
        """Every (track, file) the search matches, in time order, each once."""
        found: dict[tuple[int, datetime], Segment] = {}
        for track in dict.fromkeys(search.tracks):
            if track % 100 != 1:
                continue  # sub-stream tracks: this device records the main stream only
            for start, end in search.spans:
                for segment in self._device.archive.find(track // 100, start, end):
                    found[(track, segment.start)] = segment
        ordered = sorted(found.items(), key=lambda item: (item[0][1], item[0][0]))
        return [(track, segment) for (track, _), segment in ordered]

    async def search(self, request: web.Request) -> web.StreamResponse:
        try:
            search = parse_search(await request.read())
        except XmlError:
            return hx.error_response(request, 400, 5, "badXmlFormat")
        except BadSearch as error:
            logger.info("ISAPI search refused: %s", error)
            return hx.error_response(request, 400, 6, "badXmlContent")
        matches = self.matches(search)
        page = matches[search.position : search.position + min(search.max_results, MAX_RESULTS_PER_PAGE)]
        more = search.position + len(page) < len(matches)
        root = hx.document("CMSearchResult")
        hx.add(root, "searchID", search.search_id)
        hx.add(root, "responseStatus", "true")
        hx.add(root, "responseStatusStrg", "MORE" if more else ("OK" if page else "NO MATCHES"))
        hx.add(root, "numOfMatches", str(len(page)))
        match_list = hx.add(root, "matchList")
        config = self._device.config
        for track, segment in page:
            item = hx.add(match_list, "searchMatchItem")
            hx.add(item, "sourceID", "{0000000000-0000-0000-0000-000000000000}")
            hx.add(item, "trackID", str(track))
            span = hx.add(item, "timeSpan")
            hx.add(span, "startTime", segment.start.strftime("%Y-%m-%dT%H:%M:%SZ"))
            hx.add(span, "endTime", segment.end.strftime("%Y-%m-%dT%H:%M:%SZ"))
            descriptor = hx.add(item, "mediaSegmentDescriptor")
            hx.add(descriptor, "contentType", "video")
            hx.add(
                descriptor, "codecType", "H.264-BP"
            )  # what the served files contain, whatever the live codec
            hx.add(descriptor, "playbackURI", playback_uri(config.host, config.rtsp_port, segment))
            metadata = hx.add(item, "metadataMatches")
            hx.add(metadata, "metadataDescriptor", "recordType.meta.hikvision.com/timing")
        return hx.xml_response(root, malformed=self._device.faults().malformed_xml)

    def segment_for(self, uri: str) -> Segment | None:
        """The file a playbackURI names; None when the device holds no such file; BadSearch if unparsable."""
        parts = urlsplit(uri)
        path = _TRACK_PATH.match(parts.path)
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        if path is None or "starttime" not in query:
            raise BadSearch("playbackURI needs /Streaming/tracks/<id>/ and starttime")
        track = int(path.group(1))
        try:
            start = datetime.strptime(query["starttime"], _URI_TIME).replace(tzinfo=UTC)
        except ValueError as error:
            raise BadSearch(str(error)) from error
        segment = self._device.archive.segment(track // 100, start) if track % 100 == 1 else None
        if segment is None:
            return None
        named = {
            "endtime": segment.end.strftime(_URI_TIME),
            "name": file_name(segment),
            "size": str(segment.size),
        }
        if any(key in query and query[key] != value for key, value in named.items()):
            return None
        return segment

    async def download(self, request: web.Request) -> web.StreamResponse:
        if request.method == "GET":
            uri = request.query.get("playbackURI")
        else:
            try:
                root = parse_untrusted(await request.read())
            except XmlError:
                return hx.error_response(request, 400, 5, "badXmlFormat")
            uri = text_of(root, "playbackURI") if local_name(root) == "downloadRequest" else None
        if not uri:
            return hx.error_response(request, 400, 6, "badXmlContent")
        try:
            segment = self.segment_for(uri)
        except BadSearch as error:
            logger.info("ISAPI download refused: %s", error)
            return hx.error_response(request, 400, 6, "badParameters")
        if segment is None:
            return hx.error_response(request, 404, 4, "notFound")
        data = await self._device.recording(segment)
        return file_response(
            request,
            data,
            {
                "Content-Type": "video/mp4",
                "Content-Disposition": f'attachment; filename="{file_name(segment)}.mp4"',
            },
        )

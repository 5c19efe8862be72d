"""ONVIF Profile G on one device: which recording holds a channel, its time span, and its replay URI.

A channel is a video source, numbered as `interrogate` numbers cameras: the distinct video source tokens of
the media profiles, in the order GetProfiles lists them, from 1. A recording belongs to the channel whose
source token its RecordingInformation.Source.SourceId names: devices write the bare token or a URI that ends
in it (the simulator: `http://host/onvif/device_service#video_source_1`). FindRecordings is scoped to that
source, but NVRs that ignore the scope answer every recording, so the match is made here again; a device
with a single source owns whatever it records whatever the SourceId says.

The search runs as Profile G has it: FindRecordings opens a search, GetRecordingSearchResults pages it out
(MinResults/MaxResults/WaitTime) until SearchState is Completed, EndSearch frees it even when paging failed,
since firmware keeps only a few searches open. A recording's span is its video tracks' DataFrom..DataTo
(EarliestRecording..LatestRecording when a device leaves the tracks out). Profile G search has no cheap
way to list gaps (FindEvents with recording events; the simulator records without gaps and offers none),
so the span is taken as continuous: the replay of a gap simply delivers no frames.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from lxml import etree

from vtrack.devices.onvif.client import OnvifClient
from vtrack.devices.onvif.errors import OnvifError, OnvifFault, OnvifProtocolError
from vtrack.devices.onvif.models import MediaProfile
from vtrack.devices.onvif.namespaces import TRP, TSE, TT, Element, local_name, q

log = logging.getLogger(__name__)

PAGE_SIZE = 10  # recordings per GetRecordingSearchResults; an NVR has one or a few per channel
WAIT_TIME = "PT5S"  # how long the device may hold a page back while it is still searching
KEEP_ALIVE = "PT30S"
MAX_PAGES = 200  # a device that never says Completed must not keep a sync busy forever
_TOKEN_SEPARATORS = re.compile(r"[#/?&=:]")


@dataclass(frozen=True)
class RecordingInfo:
    """One recording as the search service describes it (times aware UTC, in the device's clock)."""

    token: str
    source_id: str | None
    start: datetime | None
    end: datetime | None
    recording: bool  # still being written (RecordingStatus Recording)


def _children(node: Element, local: str) -> list[Element]:
    return [child for child in node if local_name(child.tag) == local]


def _text(node: Element | None, *path: str) -> str | None:
    for local in path:
        if node is None:
            return None
        found = _children(node, local)
        node = found[0] if found else None
    return node.text.strip() if node is not None and node.text and node.text.strip() else None


def parse_xs_datetime(value: str | None) -> datetime | None:
    """An xs:dateTime as aware UTC; one without a zone is UTC, as ONVIF requires devices to send."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def recording_info(node: Element) -> RecordingInfo | None:
    token = _text(node, "RecordingToken")
    if token is None:
        return None
    video = [track for track in _children(node, "Track") if (_text(track, "TrackType") or "") == "Video"]
    starts = [t for track in video if (t := parse_xs_datetime(_text(track, "DataFrom")))]
    ends = [t for track in video if (t := parse_xs_datetime(_text(track, "DataTo")))]
    return RecordingInfo(
        token=token,
        source_id=_text(node, "Source", "SourceId"),
        start=min(starts) if starts else parse_xs_datetime(_text(node, "EarliestRecording")),
        end=max(ends) if ends else parse_xs_datetime(_text(node, "LatestRecording")),
        recording=(_text(node, "RecordingStatus") or "") == "Recording",
    )


def source_tokens(profiles: list[MediaProfile]) -> list[str]:
    """Video source tokens in channel order: the grouping `interrogate` numbers cameras by."""
    tokens: list[str] = []
    for profile in profiles:
        token = profile.source_token or profile.token
        if profile.encoding is not None and token not in tokens:
            tokens.append(token)
    return tokens


def names_source(source_id: str | None, token: str) -> bool:
    """Whether a SourceId is the token, or a URI whose last part is the token."""
    if not source_id:
        return False
    return source_id == token or _TOKEN_SEPARATORS.split(source_id)[-1] == token


class ProfileG:
    """Search and replay on one device, through an OnvifClient whose clock is synced and services known."""

    def __init__(self, client: OnvifClient) -> None:
        self.client = client

    def _service(self, namespace: str, what: str) -> str:
        url = self.client.services.get(namespace)
        if url is None:
            raise OnvifError(
                f"the device at {self.client.host} offers no {what} service (not ONVIF Profile G)"
            )
        return url

    async def channel_source(self, channel: int) -> tuple[str, int]:
        """(video source token of `channel`, how many sources the device has)."""
        tokens = source_tokens(await self.client.profiles())
        if not 1 <= channel <= len(tokens):
            raise OnvifError(
                f"the device at {self.client.host} has {len(tokens)} video sources, no channel {channel}",
                "not_found",
            )
        return tokens[channel - 1], len(tokens)

    async def recordings_of(self, channel: int) -> list[RecordingInfo]:
        token, sources = await self.channel_source(channel)
        try:
            found = await self.find_recordings(token)
        except OnvifFault as fault:
            # Firmware that rejects a source scope: search everything, then match below.
            log.info("%s: scoped FindRecordings refused (%s); searching all", self.client.host, fault)
            found = await self.find_recordings(None)
        mine = [info for info in found if names_source(info.source_id, token)]
        if not mine and sources == 1:
            mine = found
        if not mine and found:
            log.warning(
                "%s: none of %s recordings names source %s; channel %s left without recordings",
                self.client.host,
                len(found),
                token,
                channel,
            )
        return mine

    async def find_recordings(
        self, source_token: str | None, *, page_size: int = PAGE_SIZE
    ) -> list[RecordingInfo]:
        """Every recording the search finds (of one source, if the device honours the scope)."""
        url = self._service(TSE, "search")
        body = etree.Element(q(TSE, "FindRecordings"))
        if source_token is not None:
            scope = etree.SubElement(body, q(TSE, "Scope"))
            source = etree.SubElement(scope, q(TT, "IncludedSources"))
            etree.SubElement(source, q(TT, "Token")).text = source_token
        etree.SubElement(body, q(TSE, "KeepAliveTime")).text = KEEP_ALIVE
        reply = await self.client.soap.call(url, body)
        search = _text(reply, "SearchToken")
        if search is None:
            raise OnvifProtocolError(f"{url} answered FindRecordings without a SearchToken")
        try:
            return await self._results(url, search, page_size)
        finally:
            await self._end_search(url, search)

    async def _results(self, url: str, search: str, page_size: int) -> list[RecordingInfo]:
        found: list[RecordingInfo] = []
        for _ in range(MAX_PAGES):
            body = etree.Element(q(TSE, "GetRecordingSearchResults"))
            etree.SubElement(body, q(TSE, "SearchToken")).text = search
            etree.SubElement(body, q(TSE, "MinResults")).text = "1"
            etree.SubElement(body, q(TSE, "MaxResults")).text = str(page_size)
            etree.SubElement(body, q(TSE, "WaitTime")).text = WAIT_TIME
            reply = await self.client.soap.call(url, body)
            results = next((n for n in reply if local_name(n.tag) == "ResultList"), None)
            if results is None:
                raise OnvifProtocolError(f"{url} answered GetRecordingSearchResults without a ResultList")
            found += [i for n in _children(results, "RecordingInformation") if (i := recording_info(n))]
            if _text(results, "SearchState") == "Completed":
                return found
        log.warning("%s: recording search not completed after %s pages; using what came", url, MAX_PAGES)
        return found

    async def _end_search(self, url: str, search: str) -> None:
        body = etree.Element(q(TSE, "EndSearch"))
        etree.SubElement(body, q(TSE, "SearchToken")).text = search
        try:
            await self.client.soap.call(url, body)
        except OnvifError as error:
            # Completed searches are often freed by the device itself; the keep-alive frees the rest.
            log.debug("%s: EndSearch %s: %s", url, search, error)

    async def replay_uri(self, recording_token: str) -> str:
        """The RTSP URI replaying `recording_token`, with the host we reach the device on (NAT)."""
        url = self._service(TRP, "replay")
        body = etree.Element(q(TRP, "GetReplayUri"))
        setup = etree.SubElement(body, q(TRP, "StreamSetup"))
        etree.SubElement(setup, q(TT, "Stream")).text = "RTP-Unicast"
        transport = etree.SubElement(setup, q(TT, "Transport"))
        etree.SubElement(transport, q(TT, "Protocol")).text = "RTSP"
        etree.SubElement(body, q(TRP, "RecordingToken")).text = recording_token
        reply = await self.client.soap.call(url, body)
        uri = _text(reply, "Uri")
        if uri is None:
            raise OnvifProtocolError(f"{url} answered GetReplayUri without a Uri")
        return self.client.reachable_url(uri, keep_port=True)

"""Profile G on the simulated NVR: Recording (trc), Search (tse) and Replay (trp) services.

One recording per channel, one video track, continuous over the archive span (see archive.py). Searches
are asynchronous as the spec has them: FindRecordings returns a token, results are paged out with
GetRecordingSearchResults until SearchState is Completed, and EndSearch (or the keep-alive running out)
frees the token. Replay URIs point at the RTSP server's replay path for the channel.
"""

from __future__ import annotations

from datetime import datetime

from vtrack.simulator.config import CameraSpec
from vtrack.simulator.onvif import archive, capabilities
from vtrack.simulator.onvif.device import Device
from vtrack.simulator.onvif.operations import Operation, Service
from vtrack.simulator.onvif.soap import SoapFault, invalid_arg
from vtrack.simulator.onvif.xmlns import TRC, TRP, TSE, TT, Element, el
from vtrack.simulator.streams import STREAMS, profile_token


def xs_datetime(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _int(text: str | None) -> int | None:
    try:
        return int(text.strip()) if text else None
    except ValueError as exc:
        raise invalid_arg("ter:InvalidArgs", f"Not an integer: {text!r}") from exc


def _recording_source(parent: Element, tag: str, device: Device, camera: CameraSpec) -> None:
    source = el(parent, tag)
    el(source, "tt:SourceId", f"{device.xaddr('device')}#video_source_{camera.channel}")
    el(source, "tt:Name", camera.name)
    el(source, "tt:Location", camera.location)
    el(source, "tt:Description", f"Channel {camera.channel}")
    el(source, "tt:Address", device.stream_uri(camera))


def _camera_for_recording(device: Device, token: str | None) -> CameraSpec:
    camera = next((c for c in device.cameras if archive.recording_token(c) == token), None)
    if camera is None:
        raise invalid_arg("ter:NoRecording", f"No recording with token {token!r}")
    return camera


def recording_information(parent: Element, tag: str, device: Device, camera: CameraSpec) -> Element:
    data_from, data_until = archive.archive_span(device.now())
    info = el(parent, tag)
    el(info, "tt:RecordingToken", archive.recording_token(camera))
    _recording_source(info, "tt:Source", device, camera)
    el(info, "tt:EarliestRecording", xs_datetime(data_from))
    el(info, "tt:LatestRecording", xs_datetime(data_until))
    el(info, "tt:Content", "Continuous recording")
    track = el(info, "tt:Track")
    el(track, "tt:TrackToken", archive.TRACK_TOKEN)
    el(track, "tt:TrackType", "Video")
    el(track, "tt:Description", "Video track")
    el(track, "tt:DataFrom", xs_datetime(data_from))
    el(track, "tt:DataTo", xs_datetime(data_until))
    el(info, "tt:RecordingStatus", "Recording")
    return info


# --- Recording service -------------------------------------------------------------------------------


def get_recordings(device: Device, request: Element) -> Element:
    response = el(None, "trc:GetRecordingsResponse")
    for camera in device.cameras:
        item = el(response, "trc:RecordingItem")
        el(item, "tt:RecordingToken", archive.recording_token(camera))
        configuration = el(item, "tt:Configuration")
        _recording_source(configuration, "tt:Source", device, camera)
        el(configuration, "tt:Content", "Continuous recording")
        el(configuration, "tt:MaximumRetentionTime", f"P{archive.ARCHIVE_SPAN.days}D")
        tracks = el(item, "tt:Tracks")
        track = el(tracks, "tt:Track")
        el(track, "tt:TrackToken", archive.TRACK_TOKEN)
        track_config = el(track, "tt:Configuration")
        el(track_config, "tt:TrackType", "Video")
        el(track_config, "tt:Description", "Video track")
    return response


def _capabilities(service: str, tag: str) -> Operation:
    def handler(device: Device, request: Element) -> Element:
        response = el(None, tag)
        capabilities.service_capabilities(device, service, response)
        return response

    return Operation(handler)


RECORDING = Service(
    name="recording",
    namespace=TRC,
    operations={
        "GetRecordings": Operation(get_recordings),
        "GetServiceCapabilities": _capabilities("recording", "trc:GetServiceCapabilitiesResponse"),
    },
)


# --- Search service ----------------------------------------------------------------------------------


def _in_scope(device: Device, scope: Element | None) -> list[CameraSpec]:
    """Cameras a SearchScope selects: by recording token, by source (profile or video source) token."""
    if scope is None:
        return list(device.cameras)
    recordings = {(n.text or "").strip() for n in scope.iterfind(f"{{{TT}}}IncludedRecordings")}
    sources = {
        (n.findtext(f"{{{TT}}}Token") or "").strip() for n in scope.iterfind(f"{{{TT}}}IncludedSources")
    }
    selected = []
    for camera in device.cameras:
        if recordings and archive.recording_token(camera) not in recordings:
            continue
        tokens = {profile_token(camera, stream) for stream in STREAMS} | {f"video_source_{camera.channel}"}
        if sources and not sources & tokens:
            continue
        selected.append(camera)
    return selected


def find_recordings(device: Device, request: Element) -> Element:
    results = _in_scope(device, request.find(f"{{{TSE}}}Scope"))
    max_matches = _int(request.findtext(f"{{{TSE}}}MaxMatches"))
    if max_matches is not None:
        results = results[: max(0, max_matches)]
    keepalive = archive.parse_duration(request.findtext(f"{{{TSE}}}KeepAliveTime"))
    token = device.searches.start(results, keepalive)
    if token is None:
        raise SoapFault("Receiver", ("ter:Action", "ter:ResourceProblem"), "Too many open searches")
    response = el(None, "tse:FindRecordingsResponse")
    el(response, "tse:SearchToken", token)
    return response


def _search_token(request: Element) -> str:
    return (request.findtext(f"{{{TSE}}}SearchToken") or "").strip()


def get_recording_search_results(device: Device, request: Element) -> Element:
    token = _search_token(request)
    batch = device.searches.next_results(token, _int(request.findtext(f"{{{TSE}}}MaxResults")))
    if batch is None:
        raise invalid_arg("ter:InvalidToken", f"No search with token {token!r}")
    cameras, complete = batch
    response = el(None, "tse:GetRecordingSearchResultsResponse")
    result_list = el(response, "tse:ResultList")
    el(result_list, "tt:SearchState", "Completed" if complete else "Searching")
    for camera in cameras:
        recording_information(result_list, "tt:RecordingInformation", device, camera)
    return response


def get_recording_summary(device: Device, request: Element) -> Element:
    data_from, data_until = archive.archive_span(device.now())
    response = el(None, "tse:GetRecordingSummaryResponse")
    summary = el(response, "tse:Summary")
    el(summary, "tt:DataFrom", xs_datetime(data_from))
    el(summary, "tt:DataUntil", xs_datetime(data_until))
    el(summary, "tt:NumberRecordings", len(device.cameras))
    return response


def get_recording_information(device: Device, request: Element) -> Element:
    camera = _camera_for_recording(device, (request.findtext(f"{{{TSE}}}RecordingToken") or "").strip())
    response = el(None, "tse:GetRecordingInformationResponse")
    recording_information(response, "tse:RecordingInformation", device, camera)
    return response


def end_search(device: Device, request: Element) -> Element:
    token = _search_token(request)
    if not device.searches.end(token):
        raise invalid_arg("ter:InvalidToken", f"No search with token {token!r}")
    response = el(None, "tse:EndSearchResponse")
    el(response, "tse:Endpoint", xs_datetime(device.now()))
    return response


SEARCH = Service(
    name="search",
    namespace=TSE,
    operations={
        "FindRecordings": Operation(find_recordings),
        "GetRecordingSearchResults": Operation(get_recording_search_results),
        "GetRecordingSummary": Operation(get_recording_summary),
        "GetRecordingInformation": Operation(get_recording_information),
        "EndSearch": Operation(end_search),
        "GetServiceCapabilities": _capabilities("search", "tse:GetServiceCapabilitiesResponse"),
    },
)


# --- Replay service ----------------------------------------------------------------------------------


def get_replay_uri(device: Device, request: Element) -> Element:
    camera = _camera_for_recording(device, (request.findtext(f"{{{TRP}}}RecordingToken") or "").strip())
    response = el(None, "trp:GetReplayUriResponse")
    el(response, "trp:Uri", device.replay_uri(camera))
    return response


REPLAY = Service(
    name="replay",
    namespace=TRP,
    operations={
        "GetReplayUri": Operation(get_replay_uri),
        "GetServiceCapabilities": _capabilities("replay", "trp:GetServiceCapabilitiesResponse"),
    },
)

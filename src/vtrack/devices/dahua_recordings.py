"""Dahua recording search (/cgi-bin/mediaFileFind.cgi) and the device's time zone.

The finder is a server-side object: factory.create hands out its id, findFile starts a search on it,
findNextFile pages the results out (at most 100 a call, whatever `count` asks) until a page comes back
short or empty, and close + destroy free it. Firmware keeps only a handful of finders, so they are freed
even when paging failed. `condition.Channel` counts from 1 but `items[i].Channel` from 0.

Times go both ways in the device's local time without a zone ("2026-01-08 19:05:30"). The zone is the
caller's (the camera's configured one) when given. Otherwise it is estimated from the device clock
(global.cgi getCurrentTime) against ours, rounded to the quarter hour every zone offset is a multiple of:
Dahua's CGI names its zone only as an index into its own table, and a device a few minutes off still
rounds to its zone. Failing both, UTC.

A file is downloaded whole from /cgi-bin/RPC_Loadfile<FilePath> (FilePath starts with "/").
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from urllib.parse import quote

from vtrack.devices.dahua import DahuaClient, parse_key_values
from vtrack.devices.http import VendorApi, VendorError, optional_int

log = logging.getLogger(__name__)

FIND_PATH = "/cgi-bin/mediaFileFind.cgi"
LOAD_PATH = "/cgi-bin/RPC_Loadfile"
PAGE_SIZE = 100
MAX_PAGES = 500
_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
_QUARTER_HOUR = 900
_MAX_OFFSET = timedelta(hours=14)


@dataclass(frozen=True)
class DahuaFile:
    """One recorded file; channel from 1, times aware UTC."""

    channel: int
    start: datetime
    end: datetime
    path: str
    size: int | None
    type: str | None  # "dav" for video, "jpg" for pictures


def device_time(value: datetime, zone: tzinfo) -> str:
    return value.astimezone(zone).strftime(_TIME_FORMAT)


def parse_device_time(value: str | None, zone: tzinfo) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.strptime(value.strip(), _TIME_FORMAT).replace(tzinfo=zone)
    except ValueError:
        return None
    return parsed.astimezone(UTC)


async def estimated_zone(client: DahuaClient) -> tzinfo:
    """The device's UTC offset from its clock, rounded to the quarter hour; UTC when it cannot be read."""
    try:
        response = await client.api.get_ok("/cgi-bin/global.cgi", {"action": "getCurrentTime"})
    except VendorError as error:
        if error.kind in {"auth", "unreachable", "timeout"}:
            raise
        log.info("%s: no device time (%s); taking its times as UTC", client.api.where, error.message)
        return UTC
    now = datetime.now(UTC)
    try:
        # The device's wall clock, read as if it were UTC: its distance from ours is the zone's offset.
        local = datetime.strptime(parse_key_values(response.text).get("result", ""), _TIME_FORMAT).replace(
            tzinfo=UTC
        )
    except ValueError:
        return UTC
    quarters = round((local - now).total_seconds() / _QUARTER_HOUR)
    offset = timedelta(seconds=quarters * _QUARTER_HOUR)
    return timezone(offset) if abs(offset) <= _MAX_OFFSET else UTC


async def _call(api: VendorApi, **params: str) -> dict[str, str]:
    # The query is written out by hand: Dahua's CGI parser wants %20 in times, not the "+" of form encoding.
    query = "&".join(f"{key}={quote(value, safe='')}" for key, value in params.items())
    response = await api.get_ok(f"{FIND_PATH}?{query}")
    return parse_key_values(response.text)


async def find_files(
    client: DahuaClient,
    channel: int,
    start: datetime,
    end: datetime,
    zone: tzinfo,
    *,
    page_size: int = PAGE_SIZE,
) -> list[DahuaFile]:
    """Every video file of `channel` the device finds between start and end (its EndTime is inclusive)."""
    api = client.api
    object_id = (await _call(api, action="factory.create")).get("result")
    if not object_id:
        raise VendorError(f"the {api.where} created no mediaFileFind object", "protocol")
    try:
        await _call(
            api,
            action="findFile",
            object=object_id,
            **{
                "condition.Channel": str(channel),
                "condition.StartTime": device_time(start, zone),
                "condition.EndTime": device_time(end, zone),
                "condition.Types[0]": "dav",
            },
        )
        found: list[DahuaFile] = []
        for _ in range(MAX_PAGES):
            values = await _call(api, action="findNextFile", object=object_id, count=str(page_size))
            count = optional_int(values.get("found")) or 0
            found += [
                f for index in range(count) if (f := _item(values, index, zone)) and f.channel == channel
            ]
            if count < page_size:
                return found
        log.warning("%s: findNextFile still returning files after %s pages", api.where, MAX_PAGES)
        return found
    finally:
        await _free(api, object_id)


async def _free(api: VendorApi, object_id: str) -> None:
    for action in ("close", "destroy"):
        try:
            await _call(api, action=action, object=object_id)
        except VendorError as error:
            log.debug("%s: mediaFileFind %s %s: %s", api.where, action, object_id, error.message)


def _item(values: dict[str, str], index: int, zone: tzinfo) -> DahuaFile | None:
    prefix = f"items[{index}]."
    path = values.get(f"{prefix}FilePath")
    start = parse_device_time(values.get(f"{prefix}StartTime"), zone)
    end = parse_device_time(values.get(f"{prefix}EndTime"), zone)
    channel = optional_int(values.get(f"{prefix}Channel"))
    kind = values.get(f"{prefix}Type")
    if (
        not path
        or start is None
        or end is None
        or channel is None
        or end <= start
        or kind not in (None, "dav")
    ):
        return None
    return DahuaFile(
        channel=channel + 1,
        start=start,
        end=end,
        path=path,
        size=optional_int(values.get(f"{prefix}Length")),
        type=kind,
    )


def download_url(base_url: str, path: str) -> str:
    """RPC_Loadfile joined to a FilePath (starting with "/"); brackets and @ kept as firmware wrote them."""
    return f"{base_url.rstrip('/')}{LOAD_PATH}/{path.lstrip('/')}"

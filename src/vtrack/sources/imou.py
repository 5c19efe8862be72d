"""Imou Open API (Imou Life / Lechange, by Dahua): cloud recordings of the account's cameras.

Every call is `POST {api}/openapi/<method>` with a JSON envelope
`{"system": {"ver": "1.0", "appId", "sign", "time", "nonce"}, "params": {...}, "id": <uuid>}` where
`sign = md5("time:<time>,nonce:<nonce>,appSecret:<appSecret>")` in lower-case hex, `time` is UTC epoch
seconds (the platform refuses a clock more than five minutes off) and `nonce` must not repeat within
five minutes (SN1005), so every attempt, retries included, gets a fresh envelope. The answer is always
HTTP 200 with `{"result": {"code", "msg", "data"}, "id"}`; code "0" is success.

Methods used: `accessToken` (app token, valid about three days; TK1002 when it expired), and with it
`listDeviceDetailsByPage` (devices with their channels), `queryCloudRecords` (a channel's cloud
recordings in a time range, `queryRange` "1-100" pages of at most 100) and `createDeviceRecordHls`
(`recordType=cloudRecord`: an HLS URL of a time range of cloud recording). Times are "yyyy-MM-dd HH:mm:ss"
wall-clock strings in the device's zone (`zone`). The free tier is a monthly call quota (OP1013 once
spent: waiting a few seconds does not help, so it fails the sync until the quota renews).
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

from vtrack.devices.errors import DeviceError
from vtrack.sources.base import RateLimit
from vtrack.sources.camera_cloud import (
    CameraCloudConnector,
    Channel,
    Device,
    Recording,
    parse_wall_clock,
    wall_clock,
)

DEFAULT_URLS: dict[str, str] = {"api": "https://openapi.easy4ip.com"}  # SG; FK/OR regions differ

TOKEN_EXPIRED = "TK1002"  # noqa: S105  (an error code, not a secret)
AUTH_CODES = frozenset({"SN1001", "SN1004"})  # bad sign (a wrong secret), unknown app id
CLOCK_CODE = "SN1005"  # nonce reused or time outside the five-minute window
QUOTA_CODE = "OP1013"
NO_RIGHT_CODE = "OP1009"  # "No right, cannot operate": a device this app may not touch


def sign(timestamp: int, nonce: str, app_secret: str) -> str:
    """The envelope signature of the Imou development specification."""
    text = f"time:{timestamp},nonce:{nonce},appSecret:{app_secret}"
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


class ImouConnector(CameraCloudConnector):
    provider: ClassVar[str] = "imou"
    api_name: ClassVar[str] = "Imou Open API"
    default_urls: ClassVar[Mapping[str, str]] = DEFAULT_URLS
    # Imou documents a monthly quota (30,000 calls on the free tier), not a rate: stay gentle.
    rate_limit = RateLimit(requests_per_second=2.0, concurrent_downloads=2)
    device_page_size = 50
    record_page_size = 100  # queryRange spans at most 100 records

    _listed = False  # every device's channels come with the device list: listed once a connector

    # -- the signed envelope --------------------------------------------------------------------------

    async def _post(self, method: str, params: dict[str, Any]) -> tuple[str, str, Any]:
        timestamp, nonce = int(time.time()), secrets.token_hex(16)
        envelope = {
            "system": {
                "ver": "1.0",
                "appId": self.app_key,
                "sign": sign(timestamp, nonce, self._secret),
                "time": timestamp,
                "nonce": nonce,
            },
            "params": params,
            "id": str(uuid.uuid4()),
        }
        answer = await self.http.json("POST", f"/openapi/{method}", json=envelope)
        result = answer.get("result") if isinstance(answer, dict) else None
        if not isinstance(result, dict):
            raise DeviceError(f"Imou {method}: the answer has no result", "protocol")
        return str(result.get("code", "")), str(result.get("msg", "")), result.get("data")

    def _error(self, method: str, code: str, message: str) -> DeviceError:
        where = f"Imou {method}: {code} {message}".rstrip()
        if code in AUTH_CODES:
            return DeviceError(f"{where} (check the app id and secret)", "auth")
        if code == CLOCK_CODE:
            return DeviceError(f"{where} (is this machine's clock right?)", "protocol")
        if code == QUOTA_CODE:
            return DeviceError(f"{where} (the app's call quota is spent)", "throttled")
        if code == NO_RIGHT_CODE:
            return DeviceError(f"{where} (not a device of this account)", "not_found")
        return DeviceError(where, "protocol")

    async def _fetch_token(self) -> tuple[str, float]:
        code, message, data = await self._post("accessToken", {})
        if code != "0" or not isinstance(data, dict) or "accessToken" not in data:
            raise self._error("accessToken", code, message)
        return str(data["accessToken"]), float(data.get("expireTime") or 3600)

    async def _call(self, method: str, params: dict[str, Any]) -> Any:
        """`method` with the app token; an expired token is re-fetched once for everyone, then retried."""
        token = await self.tokens.current()
        code, message, data = await self._post(method, {**params, "token": token})
        if code == TOKEN_EXPIRED:
            token = await self.tokens.renew(token)
            code, message, data = await self._post(method, {**params, "token": token})
        if code != "0":
            raise self._error(method, code, message)
        return data if data is not None else {}

    # -- devices, channels, recordings ----------------------------------------------------------------

    async def _device_list(self) -> dict[str, list[Channel]]:
        found: dict[str, list[Channel]] = {}
        page = 1
        while True:
            data = await self._call(
                "listDeviceDetailsByPage", {"page": page, "pageSize": self.device_page_size}
            )
            listed = data.get("deviceList") or []
            for item in listed:
                device = Device(str(item["deviceId"]), str(item.get("deviceName") or item["deviceId"]))
                found[device.serial] = [
                    Channel(device, str(c["channelId"]), str(c.get("channelName") or ""))
                    for c in item.get("channelList") or []
                ]
            if int(data.get("count", len(listed))) < self.device_page_size or not listed:
                self._channels_of.update(found)
                self._listed = True
                return found
            page += 1

    async def _devices(self) -> list[Device]:
        listed = await self._device_list()
        return [
            channels[0].device if channels else Device(serial, serial) for serial, channels in listed.items()
        ]

    async def _channels(self, device: Device) -> list[Channel]:
        if not self._listed:
            await self._device_list()
        return self._channels_of.get(device.serial, [])

    async def _recordings(self, channel: Channel, since: datetime, until: datetime) -> list[Recording]:
        found: list[Recording] = []
        first = 1
        while True:
            data = await self._call(
                "queryCloudRecords",
                {
                    "deviceId": channel.device.serial,
                    "channelId": channel.channel,
                    "beginTime": wall_clock(since, self.zone),
                    "endTime": wall_clock(until, self.zone),
                    "queryRange": f"{first}-{first + self.record_page_size - 1}",
                },
            )
            records = data.get("records") or []
            for record in records:
                size = str(record.get("size") or "0")
                found.append(
                    Recording(
                        channel,
                        parse_wall_clock(str(record["beginTime"]), self.zone),
                        parse_wall_clock(str(record["endTime"]), self.zone),
                        int(size) if size.isdigit() else 0,
                    )
                )
            if len(records) < self.record_page_size:
                return found
            first += self.record_page_size

    async def _playback_url(self, serial: str, channel: str, begin: datetime, end: datetime) -> str:
        data = await self._call(
            "createDeviceRecordHls",
            {
                "deviceId": serial,
                "channelId": channel,
                "streamId": 0,
                "beginTime": wall_clock(begin, self.zone),
                "endTime": wall_clock(end, self.zone),
                "recordType": "cloudRecord",
            },
        )
        url = data.get("url")
        if not url:
            raise DeviceError("Imou createDeviceRecordHls answered without a url", "protocol")
        return str(url)

    async def account(self) -> str:
        devices = await self._device_list()
        return f"Imou app {self.app_key} ({len(devices)} devices)"

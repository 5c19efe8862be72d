"""Ezviz Open API (open.ys7.com in China, open.ezvizlife.com elsewhere): cloud recordings of the account.

Requests are form-encoded POSTs; answers are HTTP 200 with `{"code": "200", "msg", "data"}`, errors in
`code`. `/api/lapp/token/get` (appKey, appSecret) gives an access token (valid seven days, `expireTime`
in epoch milliseconds) and, outside China, `areaDomain`: the region's API host, the only one where the
token is valid, so later calls go there. With the token (form field `accessToken`):
- `/api/lapp/device/list` (pageStart from 0, pageSize at most 50) and `/api/lapp/device/camera/list`
  (a device's channels);
- `/api/lapp/video/by/time` with `recType=1` (cloud storage), epoch-millisecond `startTime`/`endTime`,
  and `version=2.0` + `pageSize`, which pages: `data.files`, `data.isAll`, `data.nextFileTime`;
- `/api/lapp/v2/live/address/get` with `type=3` (cloud playback), `protocol=2` (HLS) and the
  recording's `startTime`/`stopTime` as "yyyy-MM-dd HH:mm:ss" in the device's zone: `data.url`.
Codes: 10002 token expired (re-fetched once, for every caller at once), 10005/10017/10030 a frozen,
unknown or mismatched app key, 10029 calls too frequent (waited out with backoff), 20002/20018 not this
account's device, 20007 device offline, 60019 the device's video encryption is on.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from vtrack.devices.errors import DeviceError
from vtrack.sources.base import RateLimit
from vtrack.sources.camera_cloud import (
    CameraCloudConnector,
    Channel,
    Device,
    Recording,
    wall_clock,
)

DEFAULT_URLS: dict[str, str] = {"api": "https://open.ys7.com"}  # elsewhere https://open.ezvizlife.com

OK = "200"
TOKEN_EXPIRED = "10002"  # noqa: S105  (an error code, not a secret)
AUTH_CODES = frozenset({"10005", "10017", "10030"})
TOO_FREQUENT = "10029"
NOT_FOUND_CODES = frozenset({"20002", "20014", "20018"})
TRANSIENT_CODES = frozenset({"20007", "20006", "49999"})
ENCRYPTED = "60019"
PLAYBACK_URL_SECONDS = 3600
_JITTER = random.SystemRandom()


class EzvizConnector(CameraCloudConnector):
    provider: ClassVar[str] = "ezviz"
    api_name: ClassVar[str] = "Ezviz Open API"
    default_urls: ClassVar[Mapping[str, str]] = DEFAULT_URLS
    rate_limit = RateLimit(requests_per_second=5.0, concurrent_downloads=2)
    device_page_size = 50
    record_page_size = 200

    _area: str | None = None  # the region's API host, from the token answer's areaDomain

    @property
    def area(self) -> str:
        return self._area or self.urls["api"].rstrip("/")

    def _error(self, path: str, code: str, message: str) -> DeviceError:
        where = f"Ezviz {path}: {code} {message}".rstrip()
        if code in AUTH_CODES:
            return DeviceError(f"{where} (check the app key and secret)", "auth")
        if code in NOT_FOUND_CODES:
            return DeviceError(where, "not_found")
        if code in TRANSIENT_CODES:
            return DeviceError(where, "unreachable")
        if code == TOO_FREQUENT:
            return DeviceError(where, "throttled")
        if code == ENCRYPTED:
            return DeviceError(f"{where} (turn the device's video encryption off to sync it)", "protocol")
        return DeviceError(where, "protocol")

    async def _post(self, url: str, form: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
        answer = await self.http.json("POST", url, data={k: str(v) for k, v in form.items()})
        if not isinstance(answer, dict):
            raise DeviceError(f"Ezviz {url}: the answer is not an object", "protocol")
        return str(answer.get("code", "")), str(answer.get("msg", "")), answer

    async def _fetch_token(self) -> tuple[str, float]:
        path = "/api/lapp/token/get"
        code, message, answer = await self._post(
            f"{self.urls['api'].rstrip('/')}{path}", {"appKey": self.app_key, "appSecret": self._secret}
        )
        data = answer.get("data")
        if code != OK or not isinstance(data, dict) or "accessToken" not in data:
            raise self._error(path, code, message)
        if data.get("areaDomain"):
            self._area = str(data["areaDomain"]).rstrip("/")
        expires = float(data.get("expireTime") or 0) / 1000
        return str(data["accessToken"]), max(60.0, expires - datetime.now(UTC).timestamp())

    async def _call(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        """`path` with the token: renewed once when expired, and 10029 waited out like a 429."""
        token = await self.tokens.current()
        renewed = False
        attempts = self.http.attempts
        for attempt in range(attempts):
            code, message, answer = await self._post(f"{self.area}{path}", {**params, "accessToken": token})
            if code == TOKEN_EXPIRED and not renewed:
                token, renewed = await self.tokens.renew(token), True
                continue
            if code == TOO_FREQUENT and attempt < attempts - 1:
                self.http.throttled += 1
                await self.sleep(_JITTER.random() * self.http.backoff_seconds * 2.0**attempt)
                continue
            if code != OK:
                raise self._error(path, code, message)
            return answer
        raise DeviceError(f"Ezviz {path}: gave up after {attempts} attempts", "throttled")

    async def _devices(self) -> list[Device]:
        devices: list[Device] = []
        page = 0
        while True:
            answer = await self._call(
                "/api/lapp/device/list", {"pageStart": page, "pageSize": self.device_page_size}
            )
            listed = answer.get("data") or []
            devices += [
                Device(str(d["deviceSerial"]), str(d.get("deviceName") or d["deviceSerial"])) for d in listed
            ]
            total = int((answer.get("page") or {}).get("total", len(devices)))
            if not listed or len(devices) >= total:
                return devices
            page += 1

    async def _channels(self, device: Device) -> list[Channel]:
        cached = self._channels_of.get(device.serial)
        if cached is not None:
            return cached
        answer = await self._call("/api/lapp/device/camera/list", {"deviceSerial": device.serial})
        channels = [
            Channel(device, str(c["channelNo"]), str(c.get("channelName") or ""))
            for c in answer.get("data") or []
        ]
        self._channels_of[device.serial] = channels
        return channels

    async def _recordings(self, channel: Channel, since: datetime, until: datetime) -> list[Recording]:
        found: list[Recording] = []
        start = int(since.timestamp() * 1000)
        stop = int(until.timestamp() * 1000)
        while True:
            answer = await self._call(
                "/api/lapp/video/by/time",
                {
                    "deviceSerial": channel.device.serial,
                    "channelNo": channel.channel,
                    "startTime": start,
                    "endTime": stop,
                    "recType": 1,
                    "version": "2.0",
                    "pageSize": self.record_page_size,
                },
            )
            data = answer.get("data")
            files = data.get("files") if isinstance(data, dict) else data
            for item in files or []:
                found.append(
                    Recording(
                        channel,
                        datetime.fromtimestamp(int(item["startTime"]) / 1000, UTC),
                        datetime.fromtimestamp(int(item["endTime"]) / 1000, UTC),
                    )
                )
            if not isinstance(data, dict) or data.get("isAll", True):
                return found
            following = int(data.get("nextFileTime") or 0)
            if following <= start:
                return found  # no progress: do not loop on a provider that repeats itself
            start = following

    async def _playback_url(self, serial: str, channel: str, begin: datetime, end: datetime) -> str:
        answer = await self._call(
            "/api/lapp/v2/live/address/get",
            {
                "deviceSerial": serial,
                "channelNo": channel,
                "protocol": 2,
                "type": 3,
                "startTime": wall_clock(begin, self.zone),
                "stopTime": wall_clock(end, self.zone),
                "expireTime": PLAYBACK_URL_SECONDS,
            },
        )
        data = answer.get("data")
        if not isinstance(data, dict) or not data.get("url"):
            raise DeviceError("Ezviz live/address/get answered without a url", "protocol")
        return str(data["url"])

    async def account(self) -> str:
        devices = await self._devices()
        return f"Ezviz app {self.app_key} ({len(devices)} devices)"

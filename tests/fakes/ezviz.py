"""The Ezviz Open API (open.ys7.com / open.ezvizlife.com) as its HTTP documentation describes it, on loopback.

Checked against open.ys7.com/doc/en/HTTP (user-en: token/get and its codes; device_select: device/list
paging and answer shape; device_option/device-upgrade: common codes) and the Chinese pages for
video/by/time (recType, epoch-ms times, version=2.0 paging with files/isAll/nextFileTime) and
v2/live/address/get (protocol 2 = HLS, type 3 = cloud playback, startTime/stopTime wall clock):
- form-encoded POSTs, answers HTTP 200 `{"code": "200", "msg", "data"}` (device/list adds `page`);
- `/api/lapp/token/get`: 10017 unknown appKey, 10030 appKey/appSecret mismatch, else a token valid
  `token_ttl` seconds (`expireTime` in epoch ms) and `areaDomain`; with `regional=True` the API lives
  on a second loopback address (the region host) and the first one answers 10002 to API calls, as a
  token used outside its region is refused;
- every API call needs a live `accessToken` (10002 once expired; `expire_tokens()`), devices not in
  the account are 20002, parameter errors 10001;
- `throttle(n)` answers the next n calls with 10029 (HTTP 200, no Retry-After, as the API does);
  `throttle_http(n, retry_after)` with HTTP 429 + Retry-After (a gateway in front of it);
- `encrypted` devices answer 60019 to a playback address request (the device's video encryption).
Playback URLs serve the recordings in the range through the shared HLS server.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from aiohttp import web

from tests.fakes.hls import HlsServer, make_ts_segments
from tests.fakes.oauth import serve

WALL = "%Y-%m-%d %H:%M:%S"


@dataclass
class EzvizRecord:
    serial: str
    channel: str
    begin: datetime
    end: datetime
    segments: tuple[bytes, ...]
    file_id: str = field(default_factory=lambda: secrets.token_hex(8))


@dataclass
class EzvizDevice:
    serial: str
    name: str
    channels: dict[str, str]
    encrypted: bool = False


class FakeEzviz:
    def __init__(
        self,
        app_key: str = "ezviz-test-key",
        app_secret: str = "ezviz-test-secret",  # noqa: S107
        *,
        token_ttl: float = 7 * 86400,
        zone: tzinfo = UTC,
        regional: bool = False,
    ) -> None:
        self.app_key, self.app_secret = app_key, app_secret
        self.token_ttl = token_ttl
        self.zone = zone
        self.regional = regional
        self.devices: dict[str, EzvizDevice] = {}
        self.records: list[EzvizRecord] = []
        self.tokens: dict[str, float] = {}
        self.calls: list[tuple[str, str]] = []  # (host, path) of every call answered
        self.refused: list[str] = []
        self.hls = HlsServer()
        self.urls: dict[str, str] = {}
        self.area_domain = ""
        self._throttle = 0
        self._throttle_http: list[float] = []
        self._runners: list[web.AppRunner] = []

    async def __aenter__(self) -> FakeEzviz:
        app = web.Application()
        app.add_routes([web.post("/api/lapp/{path:.+}", self.handle), *self.hls.routes("/hls")])
        runner, base = await serve(app)
        self._runners.append(runner)
        self.urls = {"api": base}
        self.area_domain = base
        if self.regional:
            area = web.Application()
            area.add_routes([web.post("/api/lapp/{path:.+}", self.handle), *self.hls.routes("/hls")])
            runner, self.area_domain = await serve(area, host="127.0.0.2")
            self._runners.append(runner)
        return self

    async def __aexit__(self, *exc: object) -> None:
        for runner in self._runners:
            await runner.cleanup()

    # -- what tests call ---------------------------------------------------------------------------

    def add_device(
        self, serial: str, name: str, channels: dict[str, str] | None = None, *, encrypted: bool = False
    ) -> EzvizDevice:
        device = EzvizDevice(
            serial, name, channels if channels is not None else {"1": f"{name} camera"}, encrypted
        )
        self.devices[serial] = device
        return device

    def add_record(
        self,
        serial: str,
        channel: str,
        begin: datetime,
        seconds: int = 3,
        segments: tuple[bytes, ...] | None = None,
    ) -> EzvizRecord:
        data = segments if segments is not None else make_ts_segments(seconds=seconds)
        record = EzvizRecord(serial, channel, begin, begin + timedelta(seconds=seconds), data)
        self.records.append(record)
        return record

    def expire_tokens(self) -> None:
        for token in self.tokens:
            self.tokens[token] = 0.0

    def throttle(self, count: int) -> None:
        self._throttle += count

    def throttle_http(self, count: int, retry_after: float = 0) -> None:
        self._throttle_http += [retry_after] * count

    @property
    def token_requests(self) -> int:
        return sum(1 for _, path in self.calls if path == "token/get")

    # -- the API -----------------------------------------------------------------------------------

    def _answer(self, code: str, message: str, data: Any = None, **extra: Any) -> web.Response:
        if code != "200":
            self.refused.append(code)
        body: dict[str, Any] = {"code": code, "msg": message, **extra}
        if data is not None:
            body["data"] = data
        return web.json_response(body)

    async def handle(self, request: web.Request) -> web.Response:
        if self._throttle_http:
            wait = self._throttle_http.pop(0)
            return web.Response(status=429, text="Too Many Requests", headers={"Retry-After": f"{wait:g}"})
        form = await request.post()
        path = request.match_info["path"]
        base = f"{request.scheme}://{request.host}"
        if path == "token/get":
            self.calls.append((request.host, path))
            if form.get("appKey") != self.app_key:
                return self._answer("10017", "appKey does not exist.")
            if form.get("appSecret") != self.app_secret:
                return self._answer("10030", "appkey and appSecret mismatched.")
            token = "at." + secrets.token_hex(20)
            self.tokens[token] = time.monotonic() + self.token_ttl
            expire_ms = int((time.time() + self.token_ttl) * 1000)
            return self._answer(
                "200",
                "Operating succeeded!",
                {"accessToken": token, "expireTime": expire_ms, "areaDomain": self.area_domain},
            )
        if self._throttle:
            self._throttle -= 1
            return self._answer("10029", "The API calling frequency exceeds the limit.")
        expiry = self.tokens.get(str(form.get("accessToken", "")))
        in_region = not self.regional or base == self.area_domain
        if expiry is None or expiry <= time.monotonic() or not in_region:
            return self._answer("10002", "accessToken exception or expired.")
        handler = {
            "device/list": self._devices,
            "device/camera/list": self._cameras,
            "video/by/time": self._videos,
            "v2/live/address/get": self._address,
        }.get(path)
        if handler is None:
            return web.Response(status=404)
        self.calls.append((request.host, path))
        try:
            return handler({k: str(v) for k, v in form.items()}, base)
        except (KeyError, ValueError) as exc:
            return self._answer("10001", f"The parameter is empty or incorrect format: {exc}")

    def _device(self, form: dict[str, str]) -> EzvizDevice | None:
        return self.devices.get(form["deviceSerial"])

    def _devices(self, form: dict[str, str], base: str) -> web.Response:
        start, size = int(form.get("pageStart", 0)), int(form.get("pageSize", 10))
        if size > 50 or size < 1:
            raise ValueError("pageSize is 1 to 50")
        listed = list(self.devices.values())
        data = [
            {"deviceSerial": d.serial, "deviceName": d.name, "deviceType": "CS-C6", "status": 1, "defence": 0,
             "deviceVersion": "V5.3.0 build 220101", "updateTime": "2026-01-01 00:00:00"}
            for d in listed[start * size : (start + 1) * size]
        ]  # fmt: skip
        page = {"total": len(listed), "page": start, "size": size}
        return self._answer("200", "Operating succeeded!", data, page=page)

    def _cameras(self, form: dict[str, str], base: str) -> web.Response:
        device = self._device(form)
        if device is None:
            return self._answer("20002", "The device does not exist.")
        data = [
            {"deviceSerial": device.serial, "ipcSerial": device.serial, "channelNo": int(no),
             "channelName": name, "status": 1, "isShared": "0", "picUrl": "",
             "isEncrypt": int(device.encrypted), "videoLevel": 2}
            for no, name in device.channels.items()
        ]  # fmt: skip
        return self._answer("200", "Operating succeeded!", data)

    def _channel_records(self, form: dict[str, str], begin: datetime, end: datetime) -> list[EzvizRecord]:
        serial, channel = form["deviceSerial"], form.get("channelNo", "1")
        found = [r for r in self.records if r.serial == serial and r.channel == channel and r.end > begin]
        return sorted((r for r in found if r.begin <= end), key=lambda r: r.begin)

    def _videos(self, form: dict[str, str], base: str) -> web.Response:
        if self._device(form) is None:
            return self._answer("20002", "The device does not exist.")
        if form.get("recType") != "1" or form.get("version") != "2.0":
            raise ValueError("this fake answers recType=1 (cloud) with version=2.0")
        size = int(form["pageSize"])
        if not 1 <= size <= 1000:
            raise ValueError("pageSize is 1 to 1000 for cloud storage")
        begin = datetime.fromtimestamp(int(form["startTime"]) / 1000, UTC)
        end = datetime.fromtimestamp(int(form["endTime"]) / 1000, UTC)
        found = self._channel_records(form, begin, end)
        page, rest = found[:size], found[size:]
        files = [
            {"id": n, "fileId": r.file_id, "recType": 1, "deviceSerial": r.serial,
             "channelNo": int(r.channel), "startTime": int(r.begin.timestamp() * 1000),
             "endTime": int(r.end.timestamp() * 1000), "coverPic": "", "fileIndex": r.file_id}
            for n, r in enumerate(page)
        ]  # fmt: skip
        data: dict[str, Any] = {"files": files, "isAll": not rest}
        if rest:
            data["nextFileTime"] = int(rest[0].begin.timestamp() * 1000)
        return self._answer("200", "Operating succeeded!", data)

    def _address(self, form: dict[str, str], base: str) -> web.Response:
        device = self._device(form)
        if device is None:
            return self._answer("20002", "The device does not exist.")
        if form.get("protocol") != "2" or form.get("type") != "3":
            raise ValueError("this fake serves protocol=2 (HLS) with type=3 (cloud playback)")
        if device.encrypted and not form.get("code"):
            return self._answer("60019", "Encryption is enabled.")
        begin = datetime.strptime(form["startTime"], WALL).replace(tzinfo=self.zone)
        end = datetime.strptime(form["stopTime"], WALL).replace(tzinfo=self.zone)
        found = [r for r in self._channel_records(form, begin, end) if r.begin >= begin and r.end <= end]
        if not found:
            return self._answer("10001", "No recording in this time range.")
        url = self.hls.publish(base, tuple(s for r in found for s in r.segments))
        expires = (datetime.now(self.zone) + timedelta(seconds=int(form.get("expireTime", 86400)))).strftime(
            WALL
        )
        return self._answer(
            "200", "Operating succeeded!", {"id": secrets.token_hex(9), "url": url, "expireTime": expires}
        )

"""The Imou Open API as its development specification and method pages describe it, on loopback.

Checked against open.imoulife.com/open.imou.com method pages (queryCloudRecords, deviceOpenList sample
envelopes), the Imou-OpenPlatform notes on signing (dev.to: time window, nonce reuse -> SN1005) and the
error codes Imou's own integrations handle (TK1002 token overdue, SN1001 bad sign, SN1004 bad app,
OP1009 no right, OP1013 call quota spent):
- every call is `POST /openapi/<method>` with `{"system": {ver, appId, sign, time, nonce}, "params", "id"}`;
  `sign` must be md5("time:<time>,nonce:<nonce>,appSecret:<secret>") (SN1001 otherwise), the app id
  known (SN1004), `time` within five minutes of the server's clock and the nonce unused for five minutes
  (SN1005 otherwise); answers are HTTP 200 `{"result": {"code", "msg", "data"}, "id"}`;
- `accessToken` issues `At_...` tokens valid `token_ttl` seconds; any other method needs a live one in
  `params.token` (TK1002 once expired, `expire_tokens()` expires them all now);
- `listDeviceDetailsByPage` (page from 1, pageSize), `queryCloudRecords` (queryRange "a-b", b-a <= 99,
  wall-clock times in `zone`), `createDeviceRecordHls` (recordType=cloudRecord, one day at most; the
  URL serves the recordings in the range through the shared HLS server).
Assumed where the pages found say nothing: a parameter error is OP1000 (`PARAM_ERROR`).
`throttle(n, retry_after)` makes the next n calls HTTP 429 with Retry-After; `exhaust_quota()` answers
OP1013 from then on.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from aiohttp import web

from tests.fakes.hls import HlsServer, make_ts_segments
from tests.fakes.oauth import serve

PARAM_ERROR = "OP1000"
WALL = "%Y-%m-%d %H:%M:%S"


@dataclass
class ImouRecord:
    serial: str
    channel: str
    begin: datetime
    end: datetime
    size: int
    segments: tuple[bytes, ...]
    record_id: str = field(default_factory=lambda: str(secrets.randbelow(10**12)))


@dataclass
class ImouDevice:
    serial: str
    name: str
    channels: dict[str, str]  # channel id -> name


class FakeImou:
    def __init__(
        self,
        app_id: str = "lc-test-app",
        app_secret: str = "imou-test-secret",  # noqa: S107
        *,
        token_ttl: float = 3 * 86400,
        zone: tzinfo = UTC,
    ) -> None:
        self.app_id, self.app_secret = app_id, app_secret
        self.token_ttl = token_ttl
        self.zone = zone
        self.clock_skew = 0.0  # seconds the server's clock is ahead of this machine's
        self.devices: dict[str, ImouDevice] = {}
        self.records: list[ImouRecord] = []
        self.tokens: dict[str, float] = {}  # token -> expiry (monotonic)
        self.nonces: dict[str, float] = {}
        self.calls: list[str] = []  # methods, in order, as the server accepted them
        self.refused: list[str] = []  # result codes other than "0"
        self.hls = HlsServer()
        self.urls: dict[str, str] = {}
        self._throttle: list[float] = []
        self._quota_spent = False
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> FakeImou:
        app = web.Application()
        app.add_routes([web.post("/openapi/{method}", self.handle), *self.hls.routes("/hls")])
        self._runner, base = await serve(app)
        self.urls = {"api": base}
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # -- what tests call ---------------------------------------------------------------------------

    def add_device(self, serial: str, name: str, channels: dict[str, str] | None = None) -> ImouDevice:
        device = ImouDevice(serial, name, channels if channels is not None else {"0": f"{name} channel"})
        self.devices[serial] = device
        return device

    def add_record(
        self,
        serial: str,
        channel: str,
        begin: datetime,
        seconds: int = 3,
        segments: tuple[bytes, ...] | None = None,
    ) -> ImouRecord:
        data = segments if segments is not None else make_ts_segments(seconds=seconds)
        record = ImouRecord(
            serial, channel, begin, begin + timedelta(seconds=seconds), sum(map(len, data)), data
        )
        self.records.append(record)
        return record

    def expire_tokens(self) -> None:
        for token in self.tokens:
            self.tokens[token] = 0.0

    def throttle(self, count: int, retry_after: float = 0) -> None:
        self._throttle += [retry_after] * count

    def exhaust_quota(self) -> None:
        self._quota_spent = True

    @property
    def token_requests(self) -> int:
        return self.calls.count("accessToken")

    # -- the API -----------------------------------------------------------------------------------

    def _result(self, request_id: str, code: str, message: str, data: Any = None) -> web.Response:
        if code != "0":
            self.refused.append(code)
        result: dict[str, Any] = {"code": code, "msg": message}
        if data is not None:
            result["data"] = data
        return web.json_response({"result": result, "id": request_id})

    def _check_envelope(self, body: dict[str, Any]) -> tuple[str, str] | None:
        system = body.get("system") or {}
        if system.get("ver") != "1.0" or not body.get("id"):
            return PARAM_ERROR, "system.ver 1.0 and a non-empty id are required"
        if system.get("appId") != self.app_id:
            return "SN1004", "Invalid appId."
        stamp, nonce = system.get("time"), str(system.get("nonce", ""))
        expected = hashlib.md5(
            f"time:{stamp},nonce:{nonce},appSecret:{self.app_secret}".encode(), usedforsecurity=False
        ).hexdigest()
        if system.get("sign") != expected:
            return "SN1001", "Invalid sign."
        now = time.time() + self.clock_skew
        if not isinstance(stamp, int) or abs(now - stamp) > 300:
            return "SN1005", "The time difference between client and platform exceeds five minutes."
        self.nonces = {n: t for n, t in self.nonces.items() if t > now - 300}
        if not nonce or nonce in self.nonces:
            return "SN1005", "Nonce repeated within five minutes."
        self.nonces[nonce] = now
        return None

    async def handle(self, request: web.Request) -> web.Response:
        if self._throttle:
            wait = self._throttle.pop(0)
            return web.json_response(
                {"error": "too many requests"}, status=429, headers={"Retry-After": f"{wait:g}"}
            )
        body = await request.json()
        request_id = str(body.get("id", ""))
        refused = self._check_envelope(body)
        if refused is not None:
            return self._result(request_id, *refused)
        if self._quota_spent:
            return self._result(request_id, "OP1013", "Call interface times exceed limit (total).")
        method = request.match_info["method"]
        params = body.get("params") or {}
        if method == "accessToken":
            self.calls.append(method)
            token = "At_" + secrets.token_hex(16)
            self.tokens[token] = time.monotonic() + self.token_ttl
            return self._result(
                request_id,
                "0",
                "Operation is successful.",
                {"accessToken": token, "expireTime": int(self.token_ttl)},
            )
        expiry = self.tokens.get(str(params.get("token", "")))
        if expiry is None or expiry <= time.monotonic():
            return self._result(request_id, "TK1002", "Token has expired.")
        handler = {
            "listDeviceDetailsByPage": self._devices,
            "queryCloudRecords": self._records,
            "createDeviceRecordHls": self._record_hls,
        }.get(method)
        if handler is None:
            return self._result(request_id, PARAM_ERROR, f"unknown method {method}")
        self.calls.append(method)
        try:
            code, message, data = handler(params, f"{request.scheme}://{request.host}")
        except (KeyError, ValueError) as exc:
            return self._result(request_id, PARAM_ERROR, f"parameter error: {exc}")
        return self._result(request_id, code, message, data)

    def _time(self, text: str) -> datetime:
        return datetime.strptime(text, WALL).replace(tzinfo=self.zone).astimezone(UTC)

    def _wall(self, when: datetime) -> str:
        return when.astimezone(self.zone).strftime(WALL)

    def _devices(self, params: dict[str, Any], base: str) -> tuple[str, str, Any]:
        page, size = int(params["page"]), int(params["pageSize"])
        listed = list(self.devices.values())[(page - 1) * size : page * size]
        devices = [
            {
                "deviceId": d.serial,
                "deviceName": d.name,
                "deviceStatus": "online",
                "channelNum": len(d.channels),
                "channelList": [
                    {"channelId": c, "channelName": n, "channelStatus": "online"}
                    for c, n in d.channels.items()
                ],
            }
            for d in listed
        ]
        return "0", "Operation is successful.", {"count": len(devices), "deviceList": devices}

    def _channel_records(self, params: dict[str, Any]) -> tuple[str, str, list[ImouRecord]]:
        serial, channel = str(params["deviceId"]), str(params["channelId"])
        if serial not in self.devices or channel not in self.devices[serial].channels:
            return "OP1009", "No right, cannot operate.", []
        begin, end = self._time(params["beginTime"]), self._time(params["endTime"])
        if end < begin:
            raise ValueError("endTime before beginTime")
        found = [
            r
            for r in self.records
            if r.serial == serial and r.channel == channel and r.end >= begin and r.begin <= end
        ]
        return "0", "", sorted(found, key=lambda r: r.begin)

    def _records(self, params: dict[str, Any], base: str) -> tuple[str, str, Any]:
        first, last = (int(n) for n in str(params["queryRange"]).split("-"))
        if first < 1 or last < first or last - first > 99:
            raise ValueError("queryRange must be a-b with 1 <= a <= b and b-a <= 99")
        code, message, found = self._channel_records(params)
        if code != "0":
            return code, message, None
        records = [
            {
                "recordId": r.record_id,
                "deviceId": r.serial,
                "channelId": r.channel,
                "beginTime": self._wall(r.begin),
                "endTime": self._wall(r.end),
                "size": str(r.size),
                "thumbUrl": "",
                "encryptMode": 0,
                "recordRegionId": "region-1",
            }
            for r in found[first - 1 : last]
        ]
        return "0", "Operation is successful.", {"records": records}

    def _record_hls(self, params: dict[str, Any], base: str) -> tuple[str, str, Any]:
        if params.get("recordType") != "cloudRecord":
            raise ValueError("recordType must be localRecord or cloudRecord (this fake serves cloudRecord)")
        if str(params["beginTime"])[:10] != str(params["endTime"])[:10]:
            raise ValueError("beginTime and endTime must be on the same day")
        code, message, found = self._channel_records(params)
        if code != "0" or not found:
            return code if code != "0" else PARAM_ERROR, message or "no cloud record in this range", None
        segments = tuple(s for r in found for s in r.segments)
        return "0", "Operation is successful.", {"url": self.hls.publish(base, segments)}

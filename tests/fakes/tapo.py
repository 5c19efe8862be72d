"""A TP-Link Tapo camera's local API on loopback: the HTTPS control port and the port-8800 media server.

What it implements, as pytapo (the only public description of the protocol) speaks it to real firmware:

Control port (HTTPS, self-signed like the cameras' own certificate):
- `POST /` `login` with `sub_method: discover`: error -40413 offering `encrypt_type ["3"]` (the secure login);
- the two-step secure login: a `cnonce` gets a camera `nonce` and `device_confirm` =
  SHA256(cnonce + H(password) + nonce) + nonce + cnonce (H: SHA256 hex upper), so the client checks the
  camera knows the password; then `digest_passwd` = SHA256(H(password) + cnonce + nonce) + cnonce + nonce
  gets a `stok`, `start_seq` and `user_group: root`. A wrong digest is -40401. Every first step counts
  as an attempt until a login completes (a client with the wrong password stops after the first step,
  as its device_confirm check fails), and past `lockout_after` attempts the camera answers only
  `sec_left` (the "Temporary Suspension");
- `POST /stok=<stok>/ds` `securePassthrough`: the request AES-128-CBC encrypted with lsk/ivb derived from
  both nonces, a `Seq` header that must equal the session's sequence (it then advances), and a `Tapo_tag`
  = SHA256(SHA256(H(password) + cnonce) + body + seq). An unknown or expired stok is -40401, a bad tag -1.
  Inside, `multipleRequest` runs getDeviceInfo, getUserID, getClockStatus, getAudioConfig,
  searchDateWithVideo and searchVideoOfDay (whose `id` must be the user id: -71103 otherwise); anything
  else is -40106, as on a camera without that feature.

Media port (plain TCP, HTTP/1.0-style then multipart both ways):
- `POST /stream` without credentials: 401 with a Digest challenge carrying `encrypt_type="3"`; the same
  connection then retries with Digest auth over the SHA256-hashed cloud password (MD5 when the camera is
  built with `media_hash="md5"`); wrong: 401 again;
- 200 with `Key-Exchange: username="admin" nonce="..."`: every payload the camera sends is AES-128-CBC with
  key MD5(nonce + ":" + H(password)) and IV MD5(username + ":" + nonce);
- a `download` request ({client_id, start_time, end_time, ...}) for a recording: a JSON response with the
  session id, the recording's MPEG-TS in 188-byte-aligned encrypted chunks (X-Data-Sequence 1, 2, ...),
  and a `stream_status: finished` notification. The camera sends at most `X-Data-Window-Size` chunks
  ahead of the client's last `stream_sequence` acknowledgement (X-Data-Received), so a client that never
  acknowledges stalls. A second stream while one runs is refused with -52405 (TOO_MANY_REQUEST), and a
  request for a time no recording holds, or from another client id, with -52402 (VOD_INVALID_REQUEST).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import secrets
import ssl
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.x509.oid import NameOID

USER = "admin"
REALM = "TP-LINK IP-CAM"
BUSY = -52405
NO_RECORDING = -52402
CLIENT_BOUNDARY = b"----client-stream-boundary--"
DEVICE_BOUNDARY = "--device-stream-boundary--"
TS_PACKET = 188


def sha256_upper(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest().upper()


def md5_upper(data: bytes) -> str:
    return hashlib.md5(data).hexdigest().upper()  # noqa: S324 - the camera's protocol, not our choice


def cbc(key: bytes, iv: bytes, data: bytes, *, encrypt: bool) -> bytes:
    cipher = Cipher(algorithms.AES(key), modes.CBC(iv))
    if encrypt:
        padder = padding.PKCS7(128).padder()
        encryptor = cipher.encryptor()
        return encryptor.update(padder.update(data) + padder.finalize()) + encryptor.finalize()
    decryptor = cipher.decryptor()
    unpadder = padding.PKCS7(128).unpadder()
    return unpadder.update(decryptor.update(data) + decryptor.finalize()) + unpadder.finalize()


@lru_cache(maxsize=1)
def certificate_files() -> tuple[str, str]:
    """A self-signed certificate, as the cameras' own (clients do not verify it)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tapo-camera")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    folder = Path(tempfile.mkdtemp(prefix="fake-tapo-"))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return str(cert_path), str(key_path)


@dataclass
class TapoRecording:
    start: int  # epoch seconds, the camera's clock
    end: int
    ts: bytes  # the recording's MPEG-TS
    kind: int = 1  # the camera's vedio_type: 1 continuous, 2 motion


@dataclass
class _Session:
    stok: str
    cnonce: str
    nonce: str
    seq: int
    lsk: bytes
    ivb: bytes


@dataclass
class FakeTapo:
    password: str = "cloud-secret"  # the TP-Link cloud password: control login and media stream
    host: str = "127.0.0.1"
    media_hash: str = "sha256"  # how port 8800 hashes the password: "sha256" (encrypt_type 3) or "md5"
    chunk_packets: int = 32  # TS packets per media chunk
    lockout_after: int = 5
    stall_after: int | None = None  # stop sending after this many chunks, without `finished`
    other_client: bool = False  # the Tapo app holds the camera's stream slot
    gate: asyncio.Event | None = None  # when set up, streams pause after their first chunk until it is set
    streaming: asyncio.Event = field(default_factory=asyncio.Event)  # set while a stream runs
    user_id: int = 5127
    name: str = "Front door"
    model: str = "C200"
    recordings: list[TapoRecording] = field(default_factory=list)
    # What happened, for tests to check.
    logins: int = 0
    requests: list[str] = field(default_factory=list)  # inner methods, in order
    media_requests: list[dict[str, Any]] = field(default_factory=list)
    acks: list[int] = field(default_factory=list)
    control_port: int = 0
    media_port: int = 0
    _sessions: dict[str, _Session] = field(default_factory=dict)
    _pending: dict[str, str] = field(default_factory=dict)  # cnonce -> nonce
    _failures: int = 0
    _streaming: bool = False
    _runner: web.AppRunner | None = None
    _media: asyncio.Server | None = None

    async def __aenter__(self) -> FakeTapo:
        app = web.Application()
        app.router.add_post("/", self._login)
        app.router.add_post("/stok={stok}/ds", self._passthrough)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*certificate_files())
        site = web.TCPSite(self._runner, self.host, 0, ssl_context=context)
        await site.start()
        self.control_port = self._runner.addresses[0][1]
        self._media = await asyncio.start_server(self._media_client, self.host, 0)
        self.media_port = self._media.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._media is not None:
            self._media.close()
            await self._media.wait_closed()
        if self._runner is not None:
            await self._runner.cleanup()

    def add_recording(self, start: datetime, seconds: int, ts: bytes, kind: int = 1) -> TapoRecording:
        begin = int(start.timestamp())
        recording = TapoRecording(begin, begin + seconds, ts, kind)
        self.recordings.append(recording)
        return recording

    def expire_sessions(self) -> None:
        self._sessions.clear()

    # Control port -----------------------------------------------------------------------------------

    def _hashed(self) -> str:
        return sha256_upper(self.password.encode())

    async def _login(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("method") != "login":
            return web.json_response({"error_code": -40210})
        params = body.get("params") or {}
        if params.get("sub_method") == "discover":
            return web.json_response(
                {"error_code": -40413, "result": {"data": {"code": -40413, "encrypt_type": ["3"]}}}
            )
        if params.get("encrypt_type") != "3" or params.get("username") != USER:
            return web.json_response({"error_code": -40210})  # only the secure login, as new firmware
        if self._failures > self.lockout_after:
            data = {"code": -40404, "time": 1800, "max_time": self.lockout_after, "sec_left": 1800}
            return web.json_response({"error_code": -40404, "result": {"data": data}})
        cnonce = str(params.get("cnonce", ""))
        digest = params.get("digest_passwd")
        if digest is None:
            self._failures += 1
            nonce = secrets.token_hex(8).upper()
            self._pending[cnonce] = nonce
            confirm = sha256_upper((cnonce + self._hashed() + nonce).encode()) + nonce + cnonce
            data = {"code": -40413, "encrypt_type": ["3"], "nonce": nonce, "device_confirm": confirm}
            return web.json_response({"error_code": -40413, "result": {"data": data}})
        nonce = self._pending.pop(cnonce, "")
        expected = sha256_upper((self._hashed() + cnonce + nonce).encode()) + cnonce + nonce
        if not nonce or not secrets.compare_digest(str(digest), expected):
            return web.json_response({"error_code": -40401, "result": {"data": {"code": -40401}}})
        self._failures = 0
        self.logins += 1
        session = _Session(
            stok=secrets.token_hex(16),
            cnonce=cnonce,
            nonce=nonce,
            seq=secrets.randbelow(1000) + 100,
            lsk=self._token(b"lsk", cnonce, nonce),
            ivb=self._token(b"ivb", cnonce, nonce),
        )
        self._sessions[session.stok] = session
        return web.json_response(
            {
                "error_code": 0,
                "result": {"stok": session.stok, "user_group": "root", "start_seq": session.seq},
            }
        )

    def _token(self, kind: bytes, cnonce: str, nonce: str) -> bytes:
        key = sha256_upper((cnonce + self._hashed() + nonce).encode())
        return hashlib.sha256(kind + cnonce.encode() + nonce.encode() + key.encode()).digest()[:16]

    async def _passthrough(self, request: web.Request) -> web.Response:
        session = self._sessions.get(request.match_info["stok"])
        if session is None:
            return web.json_response({"error_code": -40401})
        raw = await request.read()
        try:
            seq = int(request.headers.get("Seq", ""))
        except ValueError:
            return web.json_response({"error_code": -40210})
        inner = sha256_upper((self._hashed() + session.cnonce).encode())
        tag = sha256_upper(inner.encode() + raw + str(seq).encode())
        if seq != session.seq or not secrets.compare_digest(request.headers.get("Tapo_tag", ""), tag):
            return web.json_response({"error_code": -1})  # "Check tapo tag failed"
        session.seq += 1
        body = json.loads(raw)
        if body.get("method") != "securePassthrough":
            return web.json_response({"error_code": -40210})
        plain = cbc(session.lsk, session.ivb, base64.b64decode(body["params"]["request"]), encrypt=False)
        answer = self._dispatch(json.loads(plain))
        sealed = cbc(session.lsk, session.ivb, json.dumps(answer).encode(), encrypt=True)
        return web.json_response({"error_code": 0, "result": {"response": base64.b64encode(sealed).decode()}})

    def _dispatch(self, request: dict[str, Any]) -> dict[str, Any]:
        if request.get("method") != "multipleRequest":
            return {"error_code": -40210}
        responses = []
        for item in request.get("params", {}).get("requests", []):
            method = item.get("method", "")
            self.requests.append(method)
            code, result = self._method(method, item.get("params") or {})
            responses.append({"method": method, "result": result, "error_code": code})
        return {"error_code": 0, "result": {"responses": responses}}

    def _method(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if method == "getDeviceInfo":
            basic = {
                "device_type": "SMART.IPCAMERA",
                "device_model": self.model,
                "device_alias": self.name,
                "sw_version": "1.3.10 Build 231221 Rel.70567n",
                "hw_version": "3.0",
                "dev_id": "8021C2F0A1B2C3D4E5F60718293A4B5C6D7E8F90",
                "mac": "C0-06-C3-12-34-56",
            }
            return 0, {"device_info": {"basic_info": basic}}
        if method == "getUserID":
            return 0, {"user_id": self.user_id}
        if method == "getClockStatus":
            now = datetime.now(UTC)
            clock = {
                "seconds_from_1970": int(now.timestamp()),
                "local_time": now.strftime("%Y-%m-%d %H:%M:%S"),
            }
            return 0, {"system": {"clock_status": clock}}
        if method == "getAudioConfig":
            return 0, {"audio_config": {"microphone": {"sampling_rate": "8", "volume": "50"}}}
        if method == "searchDateWithVideo":
            query = params["playback"]["search_year_utility"]
            days = sorted({self._day(r.start) for r in self.recordings})
            found = [d for d in days if query["start_date"] <= d <= query["end_date"]]
            rows = [{f"search_results_{i + 1}": {"date": d}} for i, d in enumerate(found)]
            return 0, {"playback": {"search_results": rows}}
        if method == "searchVideoOfDay":
            query = params["playback"]["search_video_utility"]
            if query.get("id") != self.user_id:
                return -71103, {}
            of_day = [
                r
                for r in sorted(self.recordings, key=lambda r: r.start)
                if self._day(r.start) == query["date"]
            ]
            first, last = int(query.get("start_index", 0)), int(query.get("end_index", 99))
            rows = [
                {
                    f"search_video_results_{i + 1}": {
                        "startTime": r.start,
                        "endTime": r.end,
                        "vedio_type": r.kind,
                    }
                }
                for i, r in enumerate(of_day[first : last + 1])
            ]
            return 0, {"playback": {"search_video_results": rows}}
        return -40106, {}

    @staticmethod
    def _day(epoch: int) -> str:
        return datetime.fromtimestamp(epoch, UTC).strftime("%Y%m%d")  # the camera's zone is UTC here

    # Media port -------------------------------------------------------------------------------------

    def _media_password(self) -> str:
        data = self.password.encode()
        return sha256_upper(data) if self.media_hash == "sha256" else md5_upper(data)

    async def _media_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        streams: list[_MediaStream] = []
        try:
            await self._media_session(reader, writer, streams)
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            for stream in streams:
                await stream.stop()
            writer.close()

    async def _media_session(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, streams: list[_MediaStream]
    ) -> None:
        nonce, opaque = secrets.token_hex(16), secrets.token_hex(8)
        while True:
            head = (await reader.readuntil(b"\r\n\r\n")).decode()
            line, _, rest = head.partition("\r\n")
            headers = _headers(rest)
            if not line.startswith("POST /stream"):
                writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                return
            authorization = headers.get("Authorization")
            if authorization is not None and self._digest_ok(authorization, nonce):
                break
            challenge = (
                f'Digest realm="{REALM}", nonce="{nonce}", qop="auth", opaque="{opaque}", algorithm="MD5"'
            )
            if self.media_hash == "sha256":
                challenge += ', encrypt_type="3"'
            writer.write(f"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: {challenge}\r\n\r\n".encode())
            await writer.drain()
            if authorization is not None:
                return  # wrong credentials: the camera hangs up after the second 401
        key_nonce = secrets.token_hex(16)
        key = hashlib.md5(key_nonce.encode() + b":" + self._media_password().encode()).digest()  # noqa: S324
        iv = hashlib.md5(USER.encode() + b":" + key_nonce.encode()).digest()  # noqa: S324
        writer.write(
            (
                "HTTP/1.1 200 OK\r\n"
                f"Content-Type: multipart/mixed;boundary={DEVICE_BOUNDARY}\r\n"
                "Connection: close\r\n"
                f'Key-Exchange: username="{USER}" nonce="{key_nonce}"\r\n\r\n'
            ).encode()
        )
        await writer.drain()
        stream = _MediaStream(self, writer, key, iv)
        streams.append(stream)
        while True:
            await reader.readuntil(CLIENT_BOUNDARY)
            part = _headers((await reader.readuntil(b"\r\n\r\n")).decode())
            body = await reader.readexactly(int(part.get("Content-Length", "0")))
            if "X-Data-Received" in part:
                stream.acknowledge(int(part["X-Data-Received"]))
                continue
            message = json.loads(body)
            if message.get("type") == "request":
                window = int(part.get("X-Data-Window-Size", "500"))
                stream.start(message, window)

    def _digest_ok(self, authorization: str, nonce: str) -> bool:
        fields = {
            k.strip(): v.strip().strip('"')
            for k, _, v in (p.partition("=") for p in authorization.split(" ", 1)[1].split(","))
        }
        ha1 = hashlib.md5(f"{USER}:{REALM}:{self._media_password()}".encode()).hexdigest()  # noqa: S324
        ha2 = hashlib.md5(b"POST:/stream").hexdigest()  # noqa: S324
        expected = hashlib.md5(  # noqa: S324
            f"{ha1}:{nonce}:{fields.get('nc')}:{fields.get('cnonce')}:{fields.get('qop')}:{ha2}".encode()
        ).hexdigest()
        return fields.get("username") == USER and secrets.compare_digest(fields.get("response", ""), expected)


def _headers(block: str) -> dict[str, str]:
    pairs = (line.split(":", 1) for line in block.strip().split("\r\n") if ":" in line)
    return {name.strip(): value.strip() for name, value in pairs}


class _MediaStream:
    """One authenticated media connection: answers requests, streams recordings inside the client's window."""

    def __init__(self, camera: FakeTapo, writer: asyncio.StreamWriter, key: bytes, iv: bytes) -> None:
        self.camera = camera
        self.writer = writer
        self.key, self.iv = key, iv
        self.acked = 0
        self.acked_changed = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def acknowledge(self, received: int) -> None:
        self.camera.acks.append(received)
        self.acked = max(self.acked, received)
        self.acked_changed.set()

    def start(self, message: dict[str, Any], window: int) -> None:
        self.camera.media_requests.append(message)
        self.task = asyncio.get_running_loop().create_task(self._answer(message, window))

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)

    async def _send(self, content_type: str, payload: bytes, extra: dict[str, str]) -> None:
        sealed = cbc(self.key, self.iv, payload, encrypt=True)
        headers = {
            "Content-Type": content_type,
            "Content-Length": str(len(sealed)),
            "X-If-Encrypt": "1",
            **extra,
        }
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.writer.write(f"{DEVICE_BOUNDARY}\r\n{head}\r\n".encode() + sealed + b"\r\n")
        await self.writer.drain()

    async def _json(self, session: int, data: dict[str, Any]) -> None:
        await self._send("application/json", json.dumps(data).encode(), {"X-Session-Id": str(session)})

    async def _answer(self, message: dict[str, Any], window: int) -> None:
        camera, seq = self.camera, message.get("seq")
        session = secrets.randbelow(100) + 1
        wanted = (message.get("params") or {}).get("download") or {}
        recording = next(
            (
                r
                for r in camera.recordings
                if r.start <= int(wanted.get("start_time", -1)) < r.end
                and int(wanted.get("end_time", -1)) <= r.end
            ),
            None,
        )
        code = 0
        if camera.other_client or camera._streaming:
            code = BUSY
        elif wanted.get("client_id") != camera.user_id or recording is None:
            code = NO_RECORDING
        params = {"error_code": code, "session_id": str(session)}
        await self._json(session, {"type": "response", "seq": seq, "params": params})
        if code or recording is None:
            return
        camera._streaming = True  # no await since the check: one stream at a time
        camera.streaming.set()
        try:
            step = camera.chunk_packets * TS_PACKET
            for number, offset in enumerate(range(0, len(recording.ts), step), start=1):
                if camera.gate is not None and number == 2:
                    await camera.gate.wait()
                if camera.stall_after is not None and number > camera.stall_after:
                    await asyncio.Event().wait()  # silent until the client gives up and hangs up
                while number > self.acked + window:
                    self.acked_changed.clear()
                    await self.acked_changed.wait()
                chunk = recording.ts[offset : offset + step]
                headers = {"X-Session-Id": str(session), "X-Data-Sequence": str(number)}
                await self._send("video/mp2t", chunk, headers)
            notice = {"type": "notification", "params": {"event_type": "stream_status", "status": "finished"}}
            await self._json(session, notice)
        finally:
            camera._streaming = False
            camera.streaming.clear()

"""TP-Link Tapo cameras' own recordings (their SD card), through pytapo.

Tapo cameras have no ONVIF recording search and no HTTP file download: the app's local protocol is a
secure login on the HTTPS control port (443) and an encrypted multipart stream on the media port (8800).
pytapo speaks both; this module is the thin layer between it and step 4's sync engine:

- pytapo's control API is blocking (requests, plus an event loop of its own per call), so every control
  call runs in a worker thread, one at a time per camera;
- the media session is asyncio and runs on vtrack's loop. A recording is fetched with the app's
  `download` request (the camera sends it as fast as the link allows and says `finished` at its end),
  and the decrypted MPEG-TS goes straight to a file, in pieces, not into memory as pytapo's own
  Downloader keeps it (it also needs ffmpeg on PATH; vtrack remuxes with PyAV);
- the cameras' HTTPS certificates are self-signed and pytapo does not verify them: what authenticates
  the camera is its `device_confirm` in the secure login, a hash only a holder of the password can make;
- the camera lists a day's recordings by its local date, so the search asks the day before and after
  the window too and keeps what overlaps it; times are epoch seconds on the camera's clock.

pytapo is an optional extra (`pip install 'vtrack[tapo]'`): it depends on python-kasa, which is
GPL-3.0-or-later, and vtrack is Apache-2.0, so a default install stays free of it. Without it, a Tapo
source fails with a DeviceError that says what to install.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import aclosing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from vtrack.devices.errors import DeviceError

CONTROL_PORT = 443
STREAM_PORT = 8800
USER = "admin"  # the account that may use the control API and the media port
WINDOW = 200  # chunks the camera may send ahead of our acknowledgement (pytapo's Downloader default)
FLUSH_BYTES = 1 << 20
# Another client holds the camera's stream slot: TOO_MANY_REQUEST, TOO_MANY_CLIENT, VOD_SESSION_OCCUPIED,
# VOD_SESSION_FULL. Worth a retry later, unlike a refused request.
BUSY_CODES = frozenset({-52405, -52407, -52417, -52435})
INSTALL_HINT = "Tapo cameras need the tapo extra: pip install 'vtrack[tapo]'"
# A camera serves one recording stream at a time and refuses a second as busy, so this process never
# asks for two at once (the sync engine may run two chunks of a device together).
_STREAMS: dict[tuple[str, int], asyncio.Lock] = {}


@dataclass(frozen=True)
class TapoTarget:
    host: str
    password: str = field(repr=False)  # the TP-Link cloud password (the camera's admin account)
    control_port: int = CONTROL_PORT
    stream_port: int = STREAM_PORT
    timeout: float = 10.0

    @property
    def control(self) -> str:
        return f"{self.host}:{self.control_port}"

    @property
    def media(self) -> str:
        return f"{self.host}:{self.stream_port}"


@dataclass(frozen=True)
class TapoRecording:
    start: datetime  # aware UTC, the camera's clock
    end: datetime
    video_type: int  # 1: continuous, 2: motion (as the camera tags it)

    @property
    def remote_id(self) -> str:
        return f"{int(self.start.timestamp())}-{int(self.end.timestamp())}"


def _pytapo() -> Any:
    try:
        import pytapo
    except ImportError:
        raise DeviceError(INSTALL_HINT, "protocol") from None
    return pytapo


@contextmanager
def _device_errors(target: TapoTarget) -> Iterator[None]:
    """pytapo raises bare Exceptions with messages; the sync engine needs DeviceError kinds."""
    import requests

    where = target.control
    try:
        yield
    except DeviceError:
        raise
    except requests.Timeout:
        raise DeviceError(f"Tapo camera at {where} did not answer in time", "timeout") from None
    except requests.ConnectionError as error:
        raise DeviceError(f"Tapo camera at {where} is unreachable: {error}", "unreachable") from None
    except Exception as error:  # noqa: BLE001 - pytapo signals everything with Exception
        text = str(error)
        if "Invalid authentication data" in text:
            raise DeviceError(f"Tapo camera at {where} refused the password", "auth") from None
        if "Temporary Suspension" in text:
            raise DeviceError(
                f"Tapo camera at {where} locked logins after failures: {text}", "auth"
            ) from None
        raise DeviceError(f"Tapo camera at {where}: {text}", "protocol") from None


async def _reachable(target: TapoTarget) -> None:
    """Fail within our timeout when nothing listens: pytapo's probes would each wait 10 s, several times."""
    where = target.control
    try:
        async with asyncio.timeout(target.timeout):
            _, writer = await asyncio.open_connection(target.host, target.control_port)
    except TimeoutError:
        raise DeviceError(f"Tapo camera at {where} did not answer in time", "timeout") from None
    except OSError as error:
        raise DeviceError(f"Tapo camera at {where} is unreachable: {error}", "unreachable") from None
    writer.close()
    await writer.wait_closed()


def _epoch(value: Any) -> datetime:
    return datetime.fromtimestamp(int(value), UTC)


class TapoCamera:
    """One logged-in camera. Control calls run in a worker thread, one at a time (pytapo is not
    thread-safe); use `await TapoCamera.connect(target)`."""

    def __init__(self, target: TapoTarget, tapo: Any, user_id: Any) -> None:
        self.target = target
        self._tapo = tapo
        self._user_id = user_id
        self._lock = threading.Lock()

    @classmethod
    async def connect(cls, target: TapoTarget) -> TapoCamera:
        pytapo = _pytapo()
        await _reachable(target)

        def login() -> TapoCamera:
            with _device_errors(target):
                tapo = pytapo.Tapo(
                    target.host,
                    USER,
                    target.password,
                    target.password,
                    controlPort=target.control_port,
                    streamPort=target.stream_port,
                    printWarnInformation=False,
                )
                return cls(target, tapo, tapo.getUserID())

        return await asyncio.to_thread(login)

    async def _call(self, method: str, *args: Any) -> Any:
        def run() -> Any:
            with self._lock, _device_errors(self.target):
                return getattr(self._tapo, method)(*args)

        return await asyncio.to_thread(run)

    async def info(self) -> dict[str, Any]:
        """getDeviceInfo's basic_info: device_alias, device_model, sw_version, dev_id, mac, ..."""
        found = await self._call("getBasicInfo")
        basic: dict[str, Any] = found.get("device_info", {}).get("basic_info", {})
        return basic

    async def recordings(self, start: datetime, end: datetime) -> list[TapoRecording]:
        """Recordings overlapping [start, end), by start, each once."""
        first = (start - timedelta(days=1)).strftime("%Y%m%d")
        last = (end + timedelta(days=1)).strftime("%Y%m%d")
        dates = sorted(
            {
                str(entry["date"])
                for row in await self._call("getRecordingsList", first, last)
                for entry in row.values()
            }
        )
        found: dict[str, TapoRecording] = {}
        for date in dates:
            for row in await self._call("getRecordings", date):
                for entry in row.values():
                    recording = TapoRecording(
                        _epoch(entry["startTime"]), _epoch(entry["endTime"]), int(entry.get("vedio_type", 1))
                    )
                    if recording.start < end and recording.end > start and recording.end > recording.start:
                        found[recording.remote_id] = recording
        return sorted(found.values(), key=lambda r: r.start)

    async def download(
        self, start: datetime, end: datetime, dest: Path, progress: Callable[[int], Awaitable[None]]
    ) -> int:
        """The recording [start, end]'s MPEG-TS into `dest` (replaced); returns its size. DeviceError kind
        `busy` when another client holds the camera's stream, `timeout` when it stops before `finished`."""
        request = {
            "type": "request",
            "seq": 1,
            "params": {
                "download": {
                    "client_id": self._user_id,
                    "channels": [0],
                    "media_type": 0,
                    "start_time": str(int(start.timestamp())),
                    "end_time": str(int(end.timestamp())),
                    "player_id": self._tapo.playerID,
                },
                "method": "get",
            },
        }
        stream = _STREAMS.setdefault((self.target.host, self.target.stream_port), asyncio.Lock())
        async with stream:
            written, finished = await self._stream(request, dest, progress)
        if not finished:
            raise DeviceError(
                f"Tapo camera at {self.target.media} stopped sending before the recording ended", "timeout"
            )
        await progress(written)
        return written

    async def _stream(
        self, request: dict[str, Any], dest: Path, progress: Callable[[int], Awaitable[None]]
    ) -> tuple[int, bool]:
        session = _pytapo().HttpMediaSession(
            self.target.host,
            self.target.password,
            "",
            self._tapo.getEncryptionMethod(),
            window_size=WINDOW,
            port=self.target.stream_port,
        )
        where = self.target.media
        pending = bytearray()
        written = 0
        finished = False
        handle = await asyncio.to_thread(dest.open, "wb")
        try:
            async with (
                session,
                aclosing(
                    session.transceive(json.dumps(request), no_data_timeout=self.target.timeout)
                ) as replies,
            ):
                async for reply in replies:
                    if reply.mimetype == "video/mp2t":
                        pending += reply.plaintext
                        if len(pending) >= FLUSH_BYTES:
                            written += await asyncio.to_thread(handle.write, bytes(pending))
                            pending.clear()
                            await progress(written)
                    elif reply.mimetype == "application/json" and isinstance(reply.json_data, dict):
                        finished = _ended(reply.json_data, where)
                        if finished:
                            break
            written += await asyncio.to_thread(handle.write, bytes(pending))
        except DeviceError:
            raise
        except TimeoutError:
            raise DeviceError(f"Tapo media port {where} did not answer in time", "timeout") from None
        except OSError as error:
            raise DeviceError(f"Tapo media port {where} is unreachable: {error}", "unreachable") from None
        except Exception as error:  # noqa: BLE001 - pytapo's own exceptions carry no type to catch
            if getattr(error, "status_code", None) == 401:
                raise DeviceError(f"Tapo media port {where} refused the password", "auth") from None
            raise DeviceError(f"Tapo media port {where}: {error}", "protocol") from None
        finally:
            await asyncio.to_thread(handle.close)
        return written, finished

    async def close(self) -> None:
        await self._call("close")


def _ended(message: dict[str, Any], where: str) -> bool:
    """True on the `finished` notification; raises on a refused request."""
    params = message.get("params") or {}
    if message.get("type") == "response":
        code = params.get("error_code", 0)
        if code in BUSY_CODES:
            raise DeviceError(f"Tapo camera at {where} is busy with another stream ({code})", "busy")
        if code not in (0, None):
            raise DeviceError(f"Tapo camera at {where} refused the download ({code})", "protocol")
    return (
        message.get("type") == "notification"
        and params.get("event_type") == "stream_status"
        and params.get("status") == "finished"
    )

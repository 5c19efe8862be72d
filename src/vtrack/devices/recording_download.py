"""A recorded file over HTTP into a partial file, resumed where an earlier attempt stopped.

NVR downloads are long and LANs drop them. When `dest` already holds N bytes the request asks for
`Range: bytes=N-`: a 206 whose Content-Range starts at N is appended; a 200 (firmware without ranges) means
the device sends the whole file again, so `dest` is started over; a 416 whose Content-Range says the file is
N bytes long means it was already complete. A body cut short leaves what arrived in `dest` for the next try.
Refused credentials raise at once (kind auth) and are never retried: devices lock a user out after a few
wrong passwords. Writes go through a worker thread so a slow disk never stalls the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

import httpx

from vtrack.devices.http import CameraAuth, VendorAuthError, VendorError

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 3.0
_CONTENT_RANGE = re.compile(r"^bytes\s+(?:(\d+)-(\d+)|\*)/(\d+|\*)$", re.IGNORECASE)


class _Restart(Exception):
    """The device ignored or refused the range in a way that needs the whole file again."""


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _content_range(response: httpx.Response) -> tuple[int | None, int | None]:
    """(first byte, total length) of a Content-Range header; None for what it leaves out or garbles."""
    match = _CONTENT_RANGE.match(response.headers.get("Content-Range", "").strip())
    if match is None:
        return None, None
    first, _, total = match.groups()
    return (int(first) if first else None), (int(total) if total and total != "*" else None)


async def download(
    http: httpx.AsyncClient,
    url: str,
    dest: Path,
    *,
    username: str | None,
    password: str | None,
    request_timeout: float,
    body: bytes | None = None,
    progress: Callable[[int], Awaitable[None]] | None = None,
) -> int:
    """GET `url` (with `body`, for firmware that reads its request there) into `dest`; returns its size."""
    where = urlsplit(url).netloc
    auth = CameraAuth(username, password or "") if username else None
    held = await asyncio.to_thread(_size, dest)
    try:
        return await _attempt(http, url, dest, held, auth, request_timeout, body, progress, where)
    except _Restart:
        log.info("%s: range request not honoured; downloading %s again from the start", where, dest.name)
        return await _attempt(http, url, dest, 0, auth, request_timeout, body, progress, where)


async def _attempt(
    http: httpx.AsyncClient,
    url: str,
    dest: Path,
    held: int,
    auth: httpx.Auth | None,
    request_timeout: float,
    body: bytes | None,
    progress: Callable[[int], Awaitable[None]] | None,
    where: str,
) -> int:
    # Byte offsets only mean something in the file's own bytes: no compression, raw body.
    headers = {"Accept-Encoding": "identity", **({"Range": f"bytes={held}-"} if held else {})}
    limits = httpx.Timeout(request_timeout, connect=min(request_timeout, CONNECT_TIMEOUT))
    try:
        async with http.stream(
            "GET", url, headers=headers, content=body, auth=auth or httpx.USE_CLIENT_DEFAULT, timeout=limits
        ) as response:
            start = _start_at(response, held, where)
            if start is None:
                return held  # already complete
            return await _receive(response, dest, start, progress, where)
    except httpx.ConnectTimeout as error:
        raise VendorError(
            f"the device at {where} did not answer within {request_timeout:g} s", "timeout"
        ) from error
    except httpx.ConnectError as error:
        raise VendorError(f"the device at {where} cannot be reached: {error}", "unreachable") from error
    except httpx.TimeoutException as error:
        raise VendorError(f"the device at {where} stopped sending the file", "timeout") from error
    except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError) as error:
        # Reset or closed mid-body: what arrived is kept, the next attempt resumes from it.
        raise VendorError(f"the device at {where} dropped the download ({error})", "unreachable") from error
    except httpx.HTTPError as error:
        raise VendorError(
            f"the device at {where} sent something that is not HTTP ({error})", "protocol"
        ) from error


def _start_at(response: httpx.Response, held: int, where: str) -> int | None:
    """Where this response's body goes in the file; None when the file is already complete."""
    status = response.status_code
    if status == 401:
        raise VendorAuthError(f"the device at {where} refused the username and password for the download")
    if status == 404:
        raise VendorError(f"the device at {where} no longer holds the file", "not_found")
    if status == 416 and held:
        if _content_range(response)[1] == held:
            return None
        raise _Restart
    if status == 206 and held:
        if _content_range(response)[0] != held:
            raise _Restart
        return held
    if status == 200:
        return 0
    raise VendorError(f"the device at {where} answered the download with HTTP {status}", "protocol")


async def _receive(
    response: httpx.Response,
    dest: Path,
    start: int,
    progress: Callable[[int], Awaitable[None]] | None,
    where: str,
) -> int:
    length = response.headers.get("Content-Length")
    expected = int(length) if length and length.isdigit() else None
    received = 0
    handle: BinaryIO = await asyncio.to_thread(dest.open, "r+b" if start else "wb")
    try:
        if start:
            await asyncio.to_thread(handle.truncate, start)
            await asyncio.to_thread(handle.seek, start)
        async for chunk in response.aiter_raw():
            await asyncio.to_thread(handle.write, chunk)
            received += len(chunk)
            if progress is not None:
                await progress(start + received)
    finally:
        await asyncio.to_thread(handle.close)
    if expected is not None and received != expected:
        raise VendorError(
            f"the device at {where} sent {received} bytes of a {expected}-byte answer", "unreachable"
        )
    return start + received

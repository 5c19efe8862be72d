"""A recorded file's bytes as a device serves them: whole, or the one byte range a client asks for.

Clients resume a cut download with `Range: bytes=N-`; NVR firmware that supports it answers 206 with a
Content-Range, a range past the end gets 416 with `bytes */<length>`, and a Range header it cannot read is
ignored (RFC 9110 allows that), so the whole file comes back with 200. One range only: no multipart.
"""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web


def file_response(request: web.Request, data: bytes, headers: Mapping[str, str]) -> web.Response:
    length = len(data)
    headers = {**headers, "Accept-Ranges": "bytes"}
    if "Range" not in request.headers:
        return web.Response(body=data, headers=headers)
    try:
        wanted = request.http_range
    except ValueError:
        return web.Response(body=data, headers=headers)
    first, stop, _ = wanted.indices(length)
    if wanted.start is not None and wanted.start >= length or first >= stop:
        return web.Response(status=416, headers={**headers, "Content-Range": f"bytes */{length}"})
    return web.Response(
        status=206,
        body=data[first:stop],
        headers={**headers, "Content-Range": f"bytes {first}-{stop - 1}/{length}"},
    )

"""FFmpeg's errors, as PyAV raises them, to the kinds callers act on. Loopback cannot stage every
network failure (no route, host down), so the mapping itself is checked here with PyAV's own classes;
the stream tests check that real failures arrive as these classes."""

from __future__ import annotations

import errno

import av.error
import pytest

from vtrack.media.errors import from_ffmpeg

WHERE = "rtsp://10.0.0.5/live"
SECRET_URL = "rtsp://admin:hunter22@10.0.0.5/live"


def ffmpeg_error(code: int) -> av.error.FFmpegError:
    """The exception PyAV raises for FFmpeg's return code -code (its class is chosen by the code)."""
    with pytest.raises(av.error.FFmpegError) as raised:
        av.error.err_check(-code, filename=SECRET_URL)
    return raised.value


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (errno.ECONNREFUSED, "unreachable"),
        (errno.EHOSTUNREACH, "unreachable"),
        (errno.ENETUNREACH, "unreachable"),
        (errno.ECONNRESET, "unreachable"),
        (errno.EIO, "unreachable"),
        (errno.ETIMEDOUT, "timeout"),
    ],
)
def test_socket_errors(code: int, kind: str) -> None:
    error = from_ffmpeg(ffmpeg_error(code), WHERE, with_credentials=True)
    assert error.kind == kind
    assert "hunter22" not in error.message


@pytest.mark.parametrize(
    ("cls", "kind"),
    [
        (av.error.HTTPUnauthorizedError, "auth"),
        (av.error.HTTPForbiddenError, "auth"),
        (av.error.HTTPNotFoundError, "not_found"),
        (av.error.HTTPBadRequestError, "protocol"),
        (av.error.HTTPOtherClientError, "protocol"),
        (av.error.HTTPServerError, "protocol"),
        (av.error.ExitError, "timeout"),
        (av.error.DecoderNotFoundError, "codec"),
        (av.error.InvalidDataError, "protocol"),
        (av.error.EOFError, "protocol"),
        (av.error.ProtocolNotFoundError, "protocol"),
    ],
)
def test_ffmpeg_errors(cls: type[av.error.FFmpegError], kind: str) -> None:
    code = next(code for code, known in av.error.classes.items() if known is cls)
    raised = ffmpeg_error(code)
    assert type(raised) is cls
    error = from_ffmpeg(raised, WHERE, with_credentials=True)
    assert error.kind == kind
    assert "hunter22" not in error.message and WHERE in error.message

"""vtrack's SigV4 presigned GETs are byte for byte botocore's, for every shape of endpoint, bucket and key."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import botocore.auth  # type: ignore[import-untyped]
import botocore.session  # type: ignore[import-untyped]
import pytest
from botocore.config import Config  # type: ignore[import-untyped]

from vtrack.sources.s3_presign import Presigner

SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
AT = datetime(2026, 11, 22, 23, 59, 58, tzinfo=UTC)
KEYS = [
    "clip.mp4",
    "cam 01/2026-11-20/Cổng chính+1%&=?#.mp4",
    "x//y/./z~!*'()$,;:@.mkv",
    "/leading/slash.dav",
]


def client(endpoint: str | None, region: str | None, token: str | None = None) -> Any:
    return botocore.session.get_session().create_client(
        "s3",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key=SECRET,
        aws_session_token=token,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"} if endpoint else None),
    )


@pytest.fixture(autouse=True)
def frozen_botocore_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: AT.replace(tzinfo=None))


@pytest.mark.parametrize(
    ("endpoint", "region"),
    [
        (None, "eu-west-3"),  # AWS itself, virtual-hosted
        (None, "us-east-1"),
        ("http://127.0.0.1:9000", "us-east-1"),  # MinIO-style, path style, a port
        ("https://s3.example.test", "auto"),  # R2-style region
        ("https://s3.example.test:443", None),  # a default port, signed without it
        ("http://[::1]:8080", "us-east-1"),
    ],
)
@pytest.mark.parametrize("bucket", ["videos", "cam.exports.2026"])
def test_urls_equal_botocores(endpoint: str | None, region: str | None, bucket: str) -> None:
    s3 = client(endpoint, region)
    presigner = Presigner.probe(s3, bucket, SECRET)
    assert presigner is not None
    for key in KEYS:
        want = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=900)
        assert presigner.url(key, 900, AT) == want, key


def test_the_signing_key_follows_the_day() -> None:
    s3 = client("http://127.0.0.1:9000", "us-east-1")
    presigner = Presigner.probe(s3, "videos", SECRET)
    assert presigner is not None
    today = presigner.url("a.mp4", 900, AT)
    tomorrow = presigner.url("a.mp4", 900, AT.replace(day=23, hour=0, second=2))
    assert "20261122%2Fus-east-1" in today and "20261123%2Fus-east-1" in tomorrow
    assert today.rsplit("=", 1)[1] != tomorrow.rsplit("=", 1)[1]


def test_temporary_credentials_are_left_to_botocore() -> None:
    s3 = client("http://127.0.0.1:9000", "us-east-1", token="session-token")
    assert Presigner.probe(s3, "videos", SECRET) is None  # the token is signed too: not this shape

"""Signed, expiring links: genuine ones open until their time, anything altered never does."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from vtrack.security.encryption import Keyring
from vtrack.security.signed_urls import (
    SignatureExpiredError,
    SignatureInvalidError,
    SignedUrlError,
    UrlSigner,
)

NOW = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)
PATH = "/api/v1/snapshots/42/image"


def signer() -> UrlSigner:
    return UrlSigner(Keyring(current=secrets.token_bytes(32)).derive("signed-urls"))


def split(url: str) -> tuple[str, str, str]:
    parts = urlsplit(url)
    query = parse_qs(parts.query, strict_parsing=True)
    assert sorted(query) == ["expires", "sig"]
    return unquote(parts.path), query["expires"][0], query["sig"][0]


def test_a_signed_link_verifies_until_it_expires() -> None:
    urls = signer()
    url = urls.sign(PATH, NOW + timedelta(minutes=5))
    path, expires, sig = split(url)
    assert path == PATH and expires == str(int((NOW + timedelta(minutes=5)).timestamp()))
    assert "=" not in sig and "+" not in sig and "/" not in sig  # URL-safe, unpadded
    urls.verify(path, expires, sig, NOW)
    urls.verify(path, expires, sig, NOW + timedelta(minutes=4, seconds=59))
    with pytest.raises(SignatureExpiredError):
        urls.verify(path, expires, sig, NOW + timedelta(minutes=5))


def test_expired_and_forged_are_told_apart() -> None:
    urls = signer()
    path, expires, sig = split(urls.sign(PATH, NOW - timedelta(seconds=1)))
    with pytest.raises(SignatureExpiredError, match="expired"):
        urls.verify(path, expires, sig, NOW)
    # Pushing the expiry of an expired link forward breaks the signature: invalid, never "expired".
    with pytest.raises(SignatureInvalidError, match="signature"):
        urls.verify(path, str(int(expires) + 3600), sig, NOW)
    assert issubclass(SignatureExpiredError, SignedUrlError) and issubclass(
        SignatureInvalidError, SignedUrlError
    )


Parts = tuple[str, str, str]
TAMPERING: dict[str, Callable[[str, str, str], Parts]] = {
    "other-path": lambda p, e, s: ("/api/v1/snapshots/43/image", e, s),
    "trailing-slash": lambda p, e, s: (p + "/", e, s),
    "short-sig": lambda p, e, s: (p, e, s[:-1]),
    # The last character of unpadded base64 carries spare bits: compared as text, no variant passes.
    "flipped-sig": lambda p, e, s: (p, e, s[:-1] + ("A" if s[-1] != "A" else "B")),
    "no-sig": lambda p, e, s: (p, e, ""),
    "non-ascii-sig": lambda p, e, s: (p, e, "é" * len(s)),
    "expiry": lambda p, e, s: (p, e + "0", s),
    "negative": lambda p, e, s: (p, "-1", s),
    "unicode-digits": lambda p, e, s: (p, "１２３", s),  # full-width digits pass str.isdigit()
    "no-expiry": lambda p, e, s: (p, "", s),
}


@pytest.mark.parametrize("change", TAMPERING)
def test_any_change_is_invalid(change: str) -> None:
    urls = signer()
    path, expires, sig = split(urls.sign(PATH, NOW + timedelta(hours=1)))
    with pytest.raises(SignatureInvalidError):
        urls.verify(*TAMPERING[change](path, expires, sig), NOW)


def test_another_key_does_not_verify() -> None:
    path, expires, sig = split(signer().sign(PATH, NOW + timedelta(hours=1)))
    with pytest.raises(SignatureInvalidError):
        signer().verify(path, expires, sig, NOW)


def test_paths_are_percent_encoded_in_the_link_and_verified_decoded() -> None:
    urls = signer()
    path = "/api/v1/snapshots/Cổng trước/1.jpg"
    url = urls.sign(path, NOW + timedelta(hours=1))
    assert " " not in url and url.isascii()
    urls.verify(*split(url), NOW)


@pytest.mark.parametrize("path", ["relative/path", "/a?b=c", "/a#frag", "/a\nb"])
def test_only_plain_absolute_paths_are_signed(path: str) -> None:
    with pytest.raises(ValueError):
        signer().sign(path, NOW)


def test_naive_times_and_short_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        signer().sign(PATH, datetime(2024, 5, 1, 9, 30))  # noqa: DTZ001
    urls = signer()
    path, expires, sig = split(urls.sign(PATH, NOW + timedelta(hours=1)))
    with pytest.raises(ValueError, match="timezone"):
        urls.verify(path, expires, sig, datetime(2024, 5, 1, 9, 30))  # noqa: DTZ001
    with pytest.raises(ValueError, match="32 bytes"):
        UrlSigner(b"short")

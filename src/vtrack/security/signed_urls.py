"""Links that open one path until a given time, without a bearer token: for <img src> of snapshots.

A browser cannot add an Authorization header to an image request, so the API hands out the image's
path with `?expires=<unix seconds>&sig=<HMAC-SHA256>` instead. The MAC covers the path and the expiry
together (separated by a newline, which a URL path cannot contain), so neither can be changed alone.
The key is its own (`Keyring.derive("signed-urls")`), never the encryption key itself; links signed
before a key rotation stop working, which for links that live minutes is the right trade.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime
from urllib.parse import quote

_MIN_KEY_BYTES = 32
# What quote() may leave as it is in a path: RFC 3986 pchar plus '/'.
_PATH_SAFE = "/:@!$&'()*+,;=-._~"


class SignedUrlError(Exception):
    """The link cannot be used."""


class SignatureInvalidError(SignedUrlError):
    """The signature does not match the path and expiry: tampered with, truncated, or from another key."""


class SignatureExpiredError(SignedUrlError):
    """The signature is genuine but its time has passed."""


def _unix(when: datetime) -> int:
    if when.tzinfo is None:
        raise ValueError("expiry times must be timezone-aware (UTC)")
    return int(when.timestamp())


class UrlSigner:
    def __init__(self, key: bytes) -> None:
        if len(key) < _MIN_KEY_BYTES:
            raise ValueError(f"a URL signing key must be at least {_MIN_KEY_BYTES} bytes")
        self._key = key

    def _mac(self, path: str, expires: str) -> str:
        message = f"{path}\n{expires}".encode("utf-8", "surrogatepass")
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    def sign(self, path: str, expires_at: datetime) -> str:
        """`path?expires=..&sig=..`, the path percent-encoded for the URL.

        `path` is the decoded path a request for it will carry (Starlette's `request.url.path`), so
        `verify` gets the same string back from the router.
        """
        if not path.startswith("/"):
            raise ValueError(f"only absolute paths are signed, got {path!r}")
        if any(c in path for c in "?#\n\r"):
            raise ValueError("a signed path may not contain '?', '#' or line breaks")
        expires = str(_unix(expires_at))
        return f"{quote(path, safe=_PATH_SAFE)}?expires={expires}&sig={self._mac(path, expires)}"

    def verify(self, path: str, expires: str, sig: str, now: datetime) -> None:
        """Return if the link is genuine and unexpired, else raise SignatureInvalidError or
        SignatureExpiredError (only for a genuine link, so "expired" never answers a forged one)."""
        if not (expires.isascii() and expires.isdigit()) or len(expires) > 12:
            raise SignatureInvalidError("the link's expiry is not a unix time")
        expected = self._mac(path, expires).encode("ascii")
        if not hmac.compare_digest(expected, sig.encode("utf-8", "surrogatepass")):
            raise SignatureInvalidError("the link's signature does not match")
        if _unix(now) >= int(expires):
            raise SignatureExpiredError("the link has expired")

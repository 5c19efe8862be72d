"""Putting credentials into a stream URL for FFmpeg, and keeping them out of everything we show or log.

FFmpeg takes RTSP credentials only from the URL's userinfo and percent-decodes them before Digest or
Basic auth (libavformat/httpauth.c), so a password with '@', ':' or '/' must be percent-encoded. FFmpeg
also echoes the URL it was given in its errors (PyAV puts it in the exception's filename), so every text
that leaves this package is built from `redact_url` and passed through `scrub` as a second line of defence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote, urlsplit, urlunsplit

# Greedy up to the authority's last '@': an unencoded '@' in a password must not leave half of it behind.
_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/?#\s]*@")
REDACTED = "***"
# Shorter secrets are not searched for in text: replacing every "1" in a message protects nothing.
_MIN_SCRUB = 4


def _hostport(netloc: str) -> str:
    return netloc.rpartition("@")[2]


def with_credentials(url: str, username: str | None, password: str | None) -> str:
    """The URL with `username`/`password` as its userinfo (replacing any there); unchanged without a username.

    Credentials already in the URL are kept when no username is given, so a registry row that still
    carries them keeps working.
    """
    if not username:
        return url
    parts = urlsplit(url)
    userinfo = quote(username, safe="")
    if password is not None:
        userinfo += ":" + quote(password, safe="")
    return urlunsplit(parts._replace(netloc=f"{userinfo}@{_hostport(parts.netloc)}"))


def redact_url(url: str) -> str:
    """The URL without its userinfo: what messages and logs may show."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=_hostport(parts.netloc)))


def secrets_of(url: str, password: str | None) -> list[str]:
    """Every spelling of the secrets in play (as given, percent-encoded, inside the URL), for `scrub`."""
    found: list[str] = []
    if password:
        found += [password, quote(password, safe="")]
    userinfo = urlsplit(url).netloc.rpartition("@")[0]
    if ":" in userinfo:
        found.append(userinfo.partition(":")[2])
    return [s for s in found if s]


def scrub(text: str, secrets: Iterable[str]) -> str:
    """`text` with each secret and any URL userinfo removed; longest secret first so no fragment survives."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        if len(secret) >= _MIN_SCRUB:
            text = text.replace(secret, REDACTED)
    return _USERINFO.sub(lambda m: m.group("scheme"), text)

"""WS-Security UsernameToken checks, the way ONVIF devices authenticate SOAP calls.

PasswordDigest is Base64(SHA1(nonce + created + password)) with the raw (Base64-decoded) nonce; PasswordText
carries the password itself. Devices also reject a token whose Created time is far from their own clock,
which is why clients call GetSystemDateAndTime first and sign with the device's time: the clock_skew fault
makes that visible.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from datetime import datetime, timedelta

from vtrack.simulator.onvif.xmlns import WSSE, WSSE_PASSWORD_TEXT, WSU, Element

# How far a token's Created may be from the device clock. Cameras differ (seconds to minutes); five minutes
# lets clients with ordinary NTP drift in while a device whose clock is an hour off still refuses them.
CREATED_TOLERANCE = timedelta(minutes=5)


def password_digest(nonce: bytes, created: str, password: str) -> str:
    """The PasswordDigest value a client sends for this nonce, Created string and password."""
    digest = hashlib.sha1(nonce + created.encode() + password.encode()).digest()  # noqa: S324 (the spec's hash)
    return base64.b64encode(digest).decode()


def _parse_created(value: str) -> datetime | None:
    try:
        created = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return created if created.tzinfo is not None else None


def has_username_token(header: Element | None) -> bool:
    return header is not None and header.find(f"{{{WSSE}}}Security/{{{WSSE}}}UsernameToken") is not None


def check_username_token(header: Element | None, username: str, password: str, device_now: datetime) -> bool:
    """True when the header's UsernameToken names this user and proves this password, freshly."""
    if header is None:
        return False
    token = header.find(f"{{{WSSE}}}Security/{{{WSSE}}}UsernameToken")
    if token is None:
        return False
    user = token.findtext(f"{{{WSSE}}}Username")
    password_el = token.find(f"{{{WSSE}}}Password")
    if user is None or password_el is None or not hmac.compare_digest(user.strip(), username):
        return False
    given = (password_el.text or "").strip()
    if password_el.get("Type", WSSE_PASSWORD_TEXT) == WSSE_PASSWORD_TEXT:
        return hmac.compare_digest(given.encode(), password.encode())
    nonce_text = token.findtext(f"{{{WSSE}}}Nonce")
    created_text = token.findtext(f"{{{WSU}}}Created")
    if nonce_text is None or created_text is None:
        return False
    try:
        nonce = base64.b64decode(nonce_text.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    created = _parse_created(created_text)
    if created is None or abs(created - device_now) > CREATED_TOLERANCE:
        return False
    return hmac.compare_digest(given, password_digest(nonce, created_text.strip(), password))

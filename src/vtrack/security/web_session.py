"""The dashboard's cookie session and its CSRF guard, shared by the API (which accepts the cookie) and the
pages (which set it).

The browser keeps one HttpOnly session token so that <img>, <video> and EventSource requests, which cannot
carry a bearer header, are authenticated too. A cookie is sent on cross-site requests as well, so every
state-changing request authenticated by it must also echo the CSRF cookie in a header (double submit):
another site can make the browser send the cookie, but cannot read it to copy it into the header.
"""

from __future__ import annotations

import hmac
import secrets

SESSION_COOKIE = "vtrack_session"
CSRF_COOKIE = "vtrack_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FORM_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def new_csrf_token() -> str:
    return secrets.token_urlsafe(24)


def csrf_matches(cookie_value: str | None, sent: str | None) -> bool:
    if not cookie_value or not sent:
        return False
    return hmac.compare_digest(cookie_value.encode(), sent.encode())

"""RTSP authentication as cameras do it: HTTP Digest (RFC 2617, MD5) and, when enabled, Basic.

Nonces are stateless: a timestamp and its HMAC under a per-server secret, so any number of clients can
authenticate without the server keeping a table, and an expired nonce gets `stale=true` (the client
retries silently). Clients differ in what they send back: FFmpeg answers qop=auth with nc/cnonce,
GStreamer answers RFC 2069 style without qop, so both forms are accepted. MD5 is what the protocol and
every camera use; it is not used here for anything else.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

NONCE_LIFETIME = 300.0
_PARAM = re.compile(r'(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def parse_auth_params(text: str) -> dict[str, str]:
    """`key=value, key="quoted value"` pairs of an Authorization header, keys lower-cased."""
    return {
        m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3)
        for m in _PARAM.finditer(text)
    }


def digest_response(
    *,
    username: str,
    password: str,
    realm: str,
    method: str,
    uri: str,
    nonce: str,
    qop: str | None = None,
    nc: str = "",
    cnonce: str = "",
) -> str:
    """The `response` value RFC 2617 3.2.2.1 defines (RFC 2069 form when qop is absent)."""
    ha1 = _md5(f"{username}:{realm}:{password}")
    ha2 = _md5(f"{method}:{uri}")
    if qop:
        return _md5(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
    return _md5(f"{ha1}:{nonce}:{ha2}")


@dataclass(frozen=True)
class AuthResult:
    ok: bool
    stale: bool = False


class Authenticator:
    def __init__(
        self,
        realm: str = "vtrack",
        *,
        allow_basic: bool = False,
        clock: Callable[[], float] = time.time,
        nonce_lifetime: float = NONCE_LIFETIME,
    ) -> None:
        self.realm = realm
        self.allow_basic = allow_basic
        self._clock = clock
        self._lifetime = nonce_lifetime
        self._secret = secrets.token_bytes(32)

    def make_nonce(self) -> str:
        stamp = f"{int(self._clock() * 1000):x}"
        mac = hmac.new(self._secret, stamp.encode(), hashlib.sha256).hexdigest()[:24]
        return f"{stamp}{mac}"

    def _nonce_state(self, nonce: str) -> str:
        """ "valid", "stale" or "bad"."""
        stamp, mac = nonce[:-24], nonce[-24:]
        expected = hmac.new(self._secret, stamp.encode(), hashlib.sha256).hexdigest()[:24]
        if not stamp or not hmac.compare_digest(mac, expected):
            return "bad"
        try:
            issued = int(stamp, 16) / 1000
        except ValueError:
            return "bad"
        return "valid" if self._clock() - issued <= self._lifetime else "stale"

    def challenges(self, stale: bool = False) -> list[str]:
        """WWW-Authenticate values for a 401, strongest first."""
        digest = f'Digest realm="{self.realm}", nonce="{self.make_nonce()}", algorithm=MD5, qop="auth"'
        if stale:
            digest += ", stale=true"
        values = [digest]
        if self.allow_basic:
            values.append(f'Basic realm="{self.realm}"')
        return values

    def check(self, authorization: str, method: str, username: str, password: str | None) -> AuthResult:
        """Does `authorization` prove `username`/`password`? A None password (fault switch) never matches."""
        scheme, _, rest = authorization.strip().partition(" ")
        if password is None:
            return AuthResult(False)
        if scheme.lower() == "basic" and self.allow_basic:
            try:
                decoded = base64.b64decode(rest.strip(), validate=True).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                return AuthResult(False)
            user, _, given = decoded.partition(":")
            ok = hmac.compare_digest(user, username) and hmac.compare_digest(given, password)
            return AuthResult(ok)
        if scheme.lower() != "digest":
            return AuthResult(False)
        params = parse_auth_params(rest)
        nonce = params.get("nonce", "")
        if params.get("username") != username or params.get("realm") != self.realm or not nonce:
            return AuthResult(False)
        algorithm = params.get("algorithm", "MD5")
        if algorithm.upper() != "MD5":
            return AuthResult(False)
        qop = params.get("qop")
        if qop not in (None, "auth"):
            return AuthResult(False)
        expected = digest_response(
            username=username,
            password=password,
            realm=self.realm,
            method=method,
            uri=params.get("uri", ""),
            nonce=nonce,
            qop=qop,
            nc=params.get("nc", ""),
            cnonce=params.get("cnonce", ""),
        )
        if not hmac.compare_digest(expected, params.get("response", "").lower()):
            return AuthResult(False)
        state = self._nonce_state(nonce)
        if state == "stale":
            return AuthResult(False, stale=True)
        return AuthResult(state == "valid")

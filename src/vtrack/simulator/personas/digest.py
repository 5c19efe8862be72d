"""Server side of HTTP Digest access authentication (RFC 7616 / 2617: MD5, qop=auth), as cameras do it.

Hikvision and Dahua devices refuse Basic auth on their HTTP APIs and answer every request without a
valid Digest `Authorization` with 401 and a challenge. aiohttp has no server-side Digest, so it lives
here, free of aiohttp types: the guard module wires it to requests and to the fault switches.

Nonces are remembered server-side with the time they were issued and the nonce-counts already used, so
an expired nonce is answered with `stale=true` (the client retries without asking the user again) and a
replayed nonce-count is refused. Counts may arrive out of order (a client with concurrent requests on one
nonce), so the store keeps the set of counts seen rather than only the highest.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

_PARAM = re.compile(r'\s*([A-Za-z][A-Za-z0-9_-]*)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)\s*(?:,|$)')
_REQUIRED = ("username", "realm", "nonce", "uri", "response", "qop", "nc", "cnonce")
_MAX_COUNTS_PER_NONCE = 4096  # then the client is sent a new nonce (stale), which bounds the memory per nonce


class Verdict(enum.Enum):
    """What the device answers: the request goes through, a fresh challenge, or the request is malformed."""

    OK = "ok"
    CHALLENGE = "challenge"  # no, malformed or wrong credentials: 401 with a new nonce
    STALE = "stale"  # right credentials on an expired or unknown nonce: 401 with stale=true
    BAD_REQUEST = "bad_request"  # the digest names another URI than the one requested (RFC 7616 3.4.6)


def parse_authorization(value: str) -> dict[str, str] | None:
    """The parameters of a `Digest ...` Authorization header, unquoted; None if not Digest or garbled."""
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "digest" or not rest.strip():
        return None
    params: dict[str, str] = {}
    position = 0
    rest = rest.strip()
    while position < len(rest):
        match = _PARAM.match(rest, position)
        if match is None or match.end() == position:
            return None
        name, raw = match.group(1).lower(), match.group(2)
        if raw.startswith('"'):
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        params[name] = raw
        position = match.end()
    return params


def _md5_hex(*parts: str) -> str:
    return hashlib.md5(":".join(parts).encode(), usedforsecurity=False).hexdigest()


@dataclass
class _NonceState:
    issued_at: float
    counts_seen: set[int] = field(default_factory=set)


class NonceStore:
    """Nonces this server issued, when, and which nonce-counts each has already been used with."""

    def __init__(self, lifetime: float, clock: Callable[[], float], capacity: int = 4096) -> None:
        self._lifetime = lifetime
        self._clock = clock
        self._capacity = capacity
        self._nonces: OrderedDict[str, _NonceState] = OrderedDict()

    def issue(self) -> str:
        now = self._clock()
        # Oldest first: drop expired ones, then the oldest live ones if a flood of challenges filled it.
        while self._nonces:
            oldest, state = next(iter(self._nonces.items()))
            if now - state.issued_at <= self._lifetime and len(self._nonces) < self._capacity:
                break
            del self._nonces[oldest]
        nonce = secrets.token_hex(16)
        self._nonces[nonce] = _NonceState(issued_at=now)
        return nonce

    def is_fresh(self, nonce: str) -> bool:
        state = self._nonces.get(nonce)
        return (
            state is not None
            and self._clock() - state.issued_at <= self._lifetime
            and len(state.counts_seen) < _MAX_COUNTS_PER_NONCE
        )

    def use(self, nonce: str, count: int) -> bool:
        """Record a nonce-count; False when this count was already used with this nonce (a replay)."""
        state = self._nonces[nonce]
        if count in state.counts_seen:
            return False
        state.counts_seen.add(count)
        return True


class DigestAuthenticator:
    """Issues challenges and checks Digest responses for one device (one realm, one user)."""

    def __init__(
        self,
        realm: str,
        *,
        nonce_lifetime: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.realm = realm
        self._opaque = secrets.token_hex(16)
        self._nonces = NonceStore(nonce_lifetime, clock)

    def challenge(self, *, stale: bool = False) -> str:
        """A `WWW-Authenticate` value with a new nonce."""
        value = (
            f'Digest realm="{self.realm}", qop="auth", nonce="{self._nonces.issue()}", '
            f'opaque="{self._opaque}", algorithm=MD5'
        )
        return value + (", stale=true" if stale else "")

    def verify(
        self, method: str, request_uri: str, authorization: str | None, username: str, password: str | None
    ) -> Verdict:
        """Judge one request. `password` None: no password is accepted (the device's password changed)."""
        params = parse_authorization(authorization) if authorization else None
        if params is None or any(name not in params for name in _REQUIRED):
            return Verdict.CHALLENGE
        if params.get("algorithm", "MD5").upper() != "MD5" or params["qop"].lower() != "auth":
            return Verdict.CHALLENGE
        if params["realm"] != self.realm or params.get("opaque", self._opaque) != self._opaque:
            return Verdict.CHALLENGE
        if params["uri"] != request_uri:
            return Verdict.BAD_REQUEST
        try:
            count = int(params["nc"], 16)
        except ValueError:
            return Verdict.CHALLENGE
        if password is None or not hmac.compare_digest(params["username"].encode(), username.encode()):
            return Verdict.CHALLENGE
        ha1 = _md5_hex(username, self.realm, password)
        ha2 = _md5_hex(method, params["uri"])
        expected = _md5_hex(ha1, params["nonce"], params["nc"], params["cnonce"], params["qop"], ha2)
        if not hmac.compare_digest(expected.encode(), params["response"].lower().encode()):
            return Verdict.CHALLENGE
        # The client knows the password; only the nonce can still be wrong.
        if not self._nonces.is_fresh(params["nonce"]):
            return Verdict.STALE
        if not self._nonces.use(params["nonce"], count):
            return Verdict.CHALLENGE
        return Verdict.OK

"""RTSP authentication as cameras expect it: HTTP Digest (RFC 2617 / RFC 7616) and Basic.

Cameras differ in what they challenge with: Hikvision and Dahua send Digest with qop="auth" (answered
with nc/cnonce), older firmware and live555 Digest without qop (RFC 2069 form), a few only Basic. A
camera may offer several challenges; Digest wins over Basic, SHA-256 over MD5, because the password
then never crosses the wire. `stale=true` means the nonce expired but the password was right: the
client retries with the new nonce instead of reporting wrong credentials.

MD5 here is the protocol's, not a security choice of ours.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

_PARAM = re.compile(r'([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')
_HASHES = {"MD5": "md5", "MD5-SESS": "md5", "SHA-256": "sha256", "SHA-256-SESS": "sha256"}
_STRENGTH = {"SHA-256": 2, "SHA-256-SESS": 2, "MD5": 1, "MD5-SESS": 1}


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)


def split_credentials(
    url: str, username: str | None = None, password: str | None = None
) -> tuple[str, Credentials | None]:
    """The URL without userinfo (what goes on the wire) and the credentials to use.

    Explicit arguments win over the URL's userinfo, which is percent-decoded (`p%40ss` is `p@ss`).
    """
    try:
        parts = urlsplit(url)
    except ValueError:  # connecting will report the bad URL
        user = username or None
        return url, Credentials(user, password or "") if user else None
    userinfo, at, _hostport = parts.netloc.rpartition("@")
    clean = url.replace(f"//{userinfo}@", "//", 1) if at else url  # the rest exactly as given
    url_user, _, url_password = userinfo.partition(":")
    user = username if username is not None else unquote(url_user) if at else None
    if not user:
        return clean, None
    if password is None:
        password = unquote(url_password) if at else ""
    return clean, Credentials(user, password)


@dataclass(frozen=True)
class Challenge:
    scheme: str  # lower-case: "digest", "basic"
    params: dict[str, str]

    @property
    def stale(self) -> bool:
        return self.params.get("stale", "").lower() == "true"

    @property
    def algorithm(self) -> str:
        return self.params.get("algorithm", "MD5").upper()


def parse_auth_params(text: str) -> dict[str, str]:
    """`key=token, key="quoted \\"value\\""` pairs, keys lower-cased, quoted values unescaped."""
    return {
        m.group(1).lower(): re.sub(r"\\(.)", r"\1", m.group(2)) if m.group(2) is not None else m.group(3)
        for m in _PARAM.finditer(text)
    }


def parse_challenges(values: list[str]) -> list[Challenge]:
    """WWW-Authenticate values; one header may hold several challenges (`Digest ..., Basic ...`)."""
    out: list[Challenge] = []
    for value in values:
        for chunk in re.split(r",\s*(?=(?:Digest|Basic)\s)", value.strip(), flags=re.IGNORECASE):
            scheme, _, rest = chunk.strip().partition(" ")
            out.append(Challenge(scheme.lower(), parse_auth_params(rest)))
    return out


def choose(challenges: list[Challenge]) -> Challenge | None:
    """The strongest challenge we can answer."""
    digests = [
        c for c in challenges if c.scheme == "digest" and c.algorithm in _HASHES and "nonce" in c.params
    ]
    if digests:
        return max(digests, key=lambda c: _STRENGTH[c.algorithm])
    return next((c for c in challenges if c.scheme == "basic"), None)


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Authenticator:
    """Answers the challenge last received, for every request of the connection (nonce reuse with nc)."""

    def __init__(self, credentials: Credentials, *, cnonce: Callable[[int], str] = secrets.token_hex) -> None:
        self.credentials = credentials
        self.challenge: Challenge | None = None
        self._nc = 0
        self._cnonce = cnonce  # tests pin it to reproduce RFC examples

    def accept(self, challenge: Challenge) -> None:
        if self.challenge is None or challenge.params.get("nonce") != self.challenge.params.get("nonce"):
            self._nc = 0
        self.challenge = challenge

    def on_unauthorized(self, challenges: list[str], sent: Challenge | None, attempts: int) -> str:
        """After a 401 to a request sent with `sent` (None: no Authorization) and retried `attempts` times:
        "retry" (a fresh challenge is adopted), "refused" (wrong credentials) or "unsupported".

        A new nonce after an answered challenge is retried once (the old one expired on a camera that
        does not say stale); `stale=true` up to twice; the same nonce refused again means the password.
        """
        challenge = choose(parse_challenges(challenges))
        if challenge is None:
            return "unsupported"
        previous = self.challenge
        new_nonce = previous is None or challenge.params.get("nonce") != previous.params.get("nonce")
        if sent is None or (challenge.stale and attempts < 2) or (new_nonce and attempts == 0):
            self.accept(challenge)
            return "retry"
        return "refused"

    def header(self, method: str, uri: str) -> str | None:
        """The Authorization value for `method` on `uri` (exactly the request line's URI), if challenged."""
        challenge = self.challenge
        if challenge is None:
            return None
        user, password = self.credentials.username, self.credentials.password
        if challenge.scheme == "basic":
            token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
            return f"Basic {token}"
        params = challenge.params
        algorithm = challenge.algorithm
        realm, nonce = params.get("realm", ""), params["nonce"]

        def h(text: str) -> str:
            return hashlib.new(_HASHES[algorithm], text.encode("utf-8"), usedforsecurity=False).hexdigest()

        qops = [q.strip().lower() for q in params.get("qop", "").split(",") if q.strip()]
        qop = "auth" if "auth" in qops else "auth-int" if "auth-int" in qops else None
        cnonce = self._cnonce(8)
        ha1 = h(f"{user}:{realm}:{password}")
        if algorithm.endswith("-SESS"):
            ha1 = h(f"{ha1}:{nonce}:{cnonce}")
        ha2 = h(f"{method}:{uri}:{h('')}") if qop == "auth-int" else h(f"{method}:{uri}")
        fields = [
            f"username={_quote(user)}",
            f"realm={_quote(realm)}",
            f"nonce={_quote(nonce)}",
            f"uri={_quote(uri)}",
        ]
        if qop is not None:
            self._nc += 1
            nc = f"{self._nc:08x}"
            response = h(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
            fields += [f"response={_quote(response)}", f"qop={qop}", f"nc={nc}", f"cnonce={_quote(cnonce)}"]
        else:
            fields.append(f"response={_quote(h(f'{ha1}:{nonce}:{ha2}'))}")
            if algorithm.endswith("-SESS"):
                fields.append(f"cnonce={_quote(cnonce)}")
        if "algorithm" in params:
            fields.append(f"algorithm={params['algorithm']}")
        if "opaque" in params:
            fields.append(f"opaque={_quote(params['opaque'])}")
        return "Digest " + ", ".join(fields)

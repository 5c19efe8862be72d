"""Digest authentication against RFC 2617's own worked example, plus the simulator's nonce rules."""

from __future__ import annotations

import base64

from vtrack.simulator.rtsp.auth import Authenticator, digest_response, parse_auth_params

RFC_EXAMPLE = (
    'Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", '
    'uri="/dir/index.html", qop=auth, nc=00000001, cnonce="0a4f113b", '
    'response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41"'
)


def test_rfc2617_section_3_5_example() -> None:
    params = parse_auth_params(RFC_EXAMPLE.removeprefix("Digest "))
    assert params["username"] == "Mufasa" and params["qop"] == "auth" and params["nc"] == "00000001"
    response = digest_response(
        username="Mufasa",
        password="Circle Of Life",
        realm="testrealm@host.com",
        method="GET",
        uri="/dir/index.html",
        nonce=params["nonce"],
        qop="auth",
        nc="00000001",
        cnonce="0a4f113b",
    )
    assert response == params["response"]


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def _answer(auth: Authenticator, password: str, *, qop: bool = True, nonce: str | None = None) -> str:
    nonce = nonce or auth.make_nonce()
    extra = {"qop": "auth", "nc": "00000001", "cnonce": "abc"} if qop else {}
    response = digest_response(
        username="admin",
        password=password,
        realm=auth.realm,
        method="DESCRIBE",
        uri="rtsp://h/live/1",
        nonce=nonce,
        **extra,
    )
    fields = (
        f'username="admin", realm="{auth.realm}", nonce="{nonce}", uri="rtsp://h/live/1", '
        f'response="{response}"'
    )
    if qop:
        fields += ', qop=auth, nc=00000001, cnonce="abc"'
    return "Digest " + fields


def test_digest_with_and_without_qop() -> None:
    auth = Authenticator()
    assert auth.check(_answer(auth, "pw"), "DESCRIBE", "admin", "pw").ok  # FFmpeg style
    assert auth.check(_answer(auth, "pw", qop=False), "DESCRIBE", "admin", "pw").ok  # GStreamer style
    assert not auth.check(_answer(auth, "bad"), "DESCRIBE", "admin", "pw").ok
    assert not auth.check(_answer(auth, "pw"), "SETUP", "admin", "pw").ok  # the method is signed
    assert not auth.check(_answer(auth, "pw"), "DESCRIBE", "admin", None).ok  # the wrong_password fault


def test_forged_and_expired_nonces() -> None:
    clock = Clock()
    auth = Authenticator(clock=clock, nonce_lifetime=60)
    forged = _answer(auth, "pw", nonce="18f0a0b0c0" + "0" * 24)
    assert not auth.check(forged, "DESCRIBE", "admin", "pw").ok
    old = _answer(auth, "pw")
    clock.now += 61
    result = auth.check(old, "DESCRIBE", "admin", "pw")
    assert not result.ok and result.stale
    assert "stale=true" in auth.challenges(stale=True)[0]
    other_server = Authenticator(clock=clock)
    assert not other_server.check(_answer(auth, "pw"), "DESCRIBE", "admin", "pw").ok


def test_basic_only_when_allowed() -> None:
    header = "Basic " + base64.b64encode(b"admin:pw").decode()
    assert not Authenticator().check(header, "DESCRIBE", "admin", "pw").ok
    allowing = Authenticator(allow_basic=True)
    assert allowing.check(header, "DESCRIBE", "admin", "pw").ok
    assert not allowing.check(header, "DESCRIBE", "admin", "other").ok
    assert [c.split()[0] for c in allowing.challenges()] == ["Digest", "Basic"]

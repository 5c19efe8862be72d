"""Digest and Basic answers checked against the RFCs' own examples and the simulator's independent checker."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest

from vtrack.devices.rtsp.auth import (
    Authenticator,
    Credentials,
    parse_auth_params,
    parse_challenges,
    split_credentials,
)
from vtrack.devices.rtsp.errors import safe_url
from vtrack.simulator.rtsp.auth import Authenticator as ServerAuthenticator


def _fixed(value: str) -> Callable[[int], str]:
    return lambda _size: value


def _answer(
    challenge: str, credentials: Credentials, method: str, uri: str, cnonce: str = "0a4f113b"
) -> dict[str, str]:
    auth = Authenticator(credentials, cnonce=_fixed(cnonce))
    assert auth.on_unauthorized([challenge], None, 0) == "retry"
    header = auth.header(method, uri)
    assert header is not None and header.startswith("Digest ")
    return parse_auth_params(header[len("Digest ") :])


def test_rfc2617_example_md5_qop_auth() -> None:
    challenge = (
        'Digest realm="testrealm@host.com", qop="auth,auth-int", '
        'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"'
    )
    fields = _answer(challenge, Credentials("Mufasa", "Circle Of Life"), "GET", "/dir/index.html")
    assert fields["response"] == "6629fae49393a05397450978507c4ef1"
    assert (fields["qop"], fields["nc"], fields["cnonce"]) == ("auth", "00000001", "0a4f113b")
    assert fields["opaque"] == "5ccc069c403ebaf9f0171e9517f40e41"


@pytest.mark.parametrize(
    ("algorithm", "response"),
    [
        ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
        ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
    ],
)
def test_rfc7616_examples(algorithm: str, response: str) -> None:
    challenge = (
        f'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm={algorithm}, '
        'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", '
        'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"'
    )
    fields = _answer(
        challenge,
        Credentials("Mufasa", "Circle of Life"),
        "GET",
        "/dir/index.html",
        cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
    )
    assert fields["response"] == response
    assert fields["algorithm"] == algorithm


def test_answers_pass_the_simulators_checker_with_and_without_qop() -> None:
    server = ServerAuthenticator("vtrack")
    uri = "rtsp://127.0.0.1:8554/live/1"
    for challenge in server.challenges() + [f'Digest realm="vtrack", nonce="{server.make_nonce()}"']:
        auth = Authenticator(Credentials("admin", "admin123"))
        assert auth.on_unauthorized([challenge], None, 0) == "retry"
        for _ in range(3):  # the nonce is reused with nc counting up
            header = auth.header("DESCRIBE", uri)
            assert header is not None
            assert server.check(header, "DESCRIBE", "admin", "admin123").ok
            assert not server.check(header, "DESCRIBE", "admin", "other").ok


def test_digest_wins_over_basic_and_sha256_over_md5() -> None:
    challenges = parse_challenges(
        [
            'Basic realm="cam"',
            'Digest realm="cam", nonce="n1", algorithm=MD5, '
            'Digest realm="cam", nonce="n2", algorithm=SHA-256',
        ]
    )
    assert [(c.scheme, c.params.get("nonce")) for c in challenges] == [
        ("basic", None),
        ("digest", "n1"),
        ("digest", "n2"),
    ]
    auth = Authenticator(Credentials("u", "p"))
    auth.on_unauthorized(['Basic realm="cam"', 'Digest realm="cam", nonce="n1", algorithm=MD5'], None, 0)
    assert auth.challenge is not None and auth.challenge.scheme == "digest"


def test_basic() -> None:
    auth = Authenticator(Credentials("admin", "p:ss"))
    assert auth.on_unauthorized(['Basic realm="IPCam"'], None, 0) == "retry"
    assert auth.header("DESCRIBE", "rtsp://h/") == "Basic " + base64.b64encode(b"admin:p:ss").decode()


def test_retry_rules_after_401() -> None:
    auth = Authenticator(Credentials("admin", "wrong"))
    first = 'Digest realm="r", nonce="n1", qop="auth"'
    assert auth.on_unauthorized([first], None, 0) == "retry"  # no Authorization was sent yet
    sent = auth.challenge
    # the same nonce refused again: the password is wrong
    assert auth.on_unauthorized([first], sent, 1) == "refused"
    # a new nonce on the first retry: the old one expired (cameras that do not say stale)
    assert auth.on_unauthorized(['Digest realm="r", nonce="n2"'], sent, 0) == "retry"
    # a new nonce after a retry already failed: refused, not an endless loop
    assert auth.on_unauthorized(['Digest realm="r", nonce="n3"'], auth.challenge, 1) == "refused"
    # stale=true: the password was right, retry with the new nonce
    assert auth.on_unauthorized(['Digest realm="r", nonce="n4", stale=TRUE'], auth.challenge, 1) == "retry"
    assert auth.on_unauthorized(['Digest realm="r", nonce="n5", stale=true'], auth.challenge, 2) == "refused"
    assert auth.on_unauthorized(["Negotiate abc", "NTLM"], None, 0) == "unsupported"


def test_quotes_and_backslashes_in_username_are_escaped() -> None:
    auth = Authenticator(Credentials('a"b\\c', "pw"))
    auth.on_unauthorized(['Digest realm="r", nonce="n"'], None, 0)
    header = auth.header("OPTIONS", "rtsp://h/")
    assert header is not None and 'username="a\\"b\\\\c"' in header
    assert parse_auth_params(header[7:])["username"] == 'a"b\\c'  # one quoted value, unescaped back


def test_credentials_from_url_and_arguments() -> None:
    clean, creds = split_credentials("rtsp://admin:p%40ss%3Aword@192.168.1.64:554/Streaming/Channels/101")
    assert clean == "rtsp://192.168.1.64:554/Streaming/Channels/101"
    assert creds == Credentials("admin", "p@ss:word")
    assert "p@ss" not in repr(creds)
    clean, creds = split_credentials("rtsp://admin:x@cam/live", "operator", "secret")
    assert (clean, creds) == ("rtsp://cam/live", Credentials("operator", "secret"))
    assert split_credentials("rtsp://cam/live") == ("rtsp://cam/live", None)
    assert split_credentials("rtsp://cam/live", "viewer", None) == (
        "rtsp://cam/live",
        Credentials("viewer", ""),
    )


def test_safe_url_masks_userinfo_and_password_parameters() -> None:
    url = "rtsp://admin:hunter2@cam:554/live?channel=1&password=hunter2&user=admin"
    text = safe_url(url)
    assert "hunter2" not in text and text.startswith("rtsp://cam:554/live?channel=1")

"""Credentials into URLs for FFmpeg, and out of every text shown."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

import pytest

from vtrack.media.urls import redact_url, scrub, secrets_of, with_credentials


def test_credentials_are_percent_encoded_into_userinfo() -> None:
    url = with_credentials("rtsp://10.0.0.5:554/Streaming/Channels/101", "ad min", "p@ss:w/rd%?#")
    parts = urlsplit(url)
    assert parts.hostname == "10.0.0.5" and parts.port == 554 and parts.path == "/Streaming/Channels/101"
    assert (unquote(parts.username or ""), unquote(parts.password or "")) == ("ad min", "p@ss:w/rd%?#")


def test_given_credentials_replace_those_in_the_url() -> None:
    url = with_credentials("rtsp://old:secret@cam.local/live?channel=1", "admin", "new")
    assert url == "rtsp://admin:new@cam.local/live?channel=1"


def test_without_a_username_the_url_is_left_alone() -> None:
    assert with_credentials("rtsp://u:p@cam/x", None, "ignored") == "rtsp://u:p@cam/x"
    assert with_credentials("rtsp://cam/x", "", None) == "rtsp://cam/x"


def test_username_without_password() -> None:
    assert with_credentials("rtsp://[fe80::1]:8554/x", "viewer", None) == "rtsp://viewer@[fe80::1]:8554/x"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("rtsp://admin:pw@10.0.0.5:554/live", "rtsp://10.0.0.5:554/live"),
        ("rtsp://admin:p@ss@10.0.0.5/live", "rtsp://10.0.0.5/live"),  # an unencoded '@' in the password
        ("rtsp://10.0.0.5/live", "rtsp://10.0.0.5/live"),
        ("rtsp://user@[::1]:554/a?b=c", "rtsp://[::1]:554/a?b=c"),
    ],
)
def test_redact_url_drops_userinfo(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_scrub_removes_secrets_and_userinfo_from_any_text() -> None:
    url = with_credentials("rtsp://10.0.0.5/live", "admin", "p@ss word")
    text = f"Server returned 401: '{url}' (password p@ss word, encoded p%40ss%20word)"
    cleaned = scrub(text, secrets_of(url, "p@ss word"))
    assert "p@ss word" not in cleaned and "p%40ss%20word" not in cleaned
    assert "rtsp://10.0.0.5/live" in cleaned


def test_scrub_leaves_short_secrets_alone_rather_than_mangle_text() -> None:
    assert scrub("port 554 answered", ["554"]) == "port 554 answered"

"""Unit tests of camera URL parsing, the SSRF guard and putting credentials back into a URL."""

from __future__ import annotations

import pytest

from vtrack.media.urls import with_credentials
from vtrack.registry.urls import (
    HTTP_SCHEMES,
    RTSP_SCHEMES,
    AddressError,
    check_host,
    parse_camera_url,
)


def test_parse_splits_credentials_and_keeps_path_and_query() -> None:
    parsed = parse_camera_url(
        "rtsp://user1:cam12345@192.168.1.64:554/cam/realmonitor?channel=1&subtype=0", RTSP_SCHEMES
    )
    assert parsed.url == "rtsp://192.168.1.64:554/cam/realmonitor?channel=1&subtype=0"
    assert (parsed.scheme, parsed.host, parsed.port) == ("rtsp", "192.168.1.64", 554)
    assert (parsed.username, parsed.password) == ("user1", "cam12345")


def test_parse_decodes_percent_encoded_credentials_and_drops_fragment() -> None:
    parsed = parse_camera_url("RTSP://ad%40min:p%3Ass%2Fw@Cam.Local/live#frag", RTSP_SCHEMES)
    assert parsed.url == "rtsp://cam.local/live"
    assert (parsed.username, parsed.password) == ("ad@min", "p:ss/w")
    assert parsed.port == 554


def test_parse_defaults_and_empty_password() -> None:
    assert parse_camera_url("rtsps://10.0.0.5/x", RTSP_SCHEMES).port == 322
    assert parse_camera_url("http://10.0.0.5/onvif", HTTP_SCHEMES).port == 80
    assert parse_camera_url("https://10.0.0.5/onvif", HTTP_SCHEMES).port == 443
    no_password = parse_camera_url("rtsp://admin@10.0.0.5/", RTSP_SCHEMES)
    assert (no_password.username, no_password.password) == ("admin", None)
    empty_password = parse_camera_url("rtsp://admin:@10.0.0.5/", RTSP_SCHEMES)
    assert (empty_password.username, empty_password.password) == ("admin", "")
    assert no_password.url == empty_password.url == "rtsp://10.0.0.5/"


def test_parse_keeps_ipv6_brackets() -> None:
    parsed = parse_camera_url("rtsp://u:p@[fd00::10]:8554/s", RTSP_SCHEMES)
    assert parsed.url == "rtsp://[fd00::10]:8554/s"
    assert (parsed.host, parsed.port) == ("fd00::10", 8554)


@pytest.mark.parametrize(
    "url",
    [
        "rtsp://192.168.1.10/s",
        "rtsp://10.1.2.3:554/s",
        "rtsp://172.16.0.9/s",
        "rtsp://127.0.0.2:8554/s",
        "rtsp://localhost/s",
        "rtsp://nvr-01.shop.lan/s",
        "rtsp://[fd12:3456::1]/s",
        "rtsp://[::1]/s",
        "rtsp://100.64.0.1/s",
        "rtsp://8.8.8.8/s",
    ],
)
def test_private_loopback_and_public_hosts_allowed(url: str) -> None:
    assert parse_camera_url(url, RTSP_SCHEMES).url == url


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("http://10.0.0.1/s", "scheme"),
        ("10.0.0.1/s", "scheme"),
        ("file:///etc/passwd", "scheme"),
        ("rtsp:///stream", "host"),
        ("rtsp://:554/stream", "host"),
        ("rtsp://10.0.0.1:0/s", "port"),
        ("rtsp://10.0.0.1:70000/s", "(?i)port"),
        ("rtsp://10.0.0.1:abc/s", "(?i)port"),
        ("rtsp://169.254.169.254/latest", "link-local"),
        ("rtsp://169.254.1.1/s", "link-local"),
        ("rtsp://[fe80::1]/s", "link-local"),
        ("rtsp://[fe80::1%25eth0]/s", "link-local"),
        ("rtsp://[::ffff:169.254.169.254]/s", "link-local"),
        ("rtsp://[fd00:ec2::254]/s", "metadata"),
        ("rtsp://metadata.google.internal/s", "metadata"),
        ("rtsp://METADATA.google.internal./s", "metadata"),
        ("rtsp://0.0.0.0/s", "unspecified"),
        ("rtsp://[::]/s", "unspecified"),
        ("rtsp://224.0.0.1/s", "multicast"),
        ("rtsp://255.255.255.255/s", "broadcast"),
        ("rtsp://10.0.0.1/a b", "spaces"),
        ("rtsp://10.0.0.1/a\nb", "control"),
        ("rtsp://bad_host!/s", "hostname"),
        ("rtsp://-bad.lan/s", "hostname"),
        ("rtsp://a..b/s", "hostname"),
        ("rtsp://" + "a" * 64 + ".lan/s", "hostname"),
        ("rtsp://10.0.0.1/" + "x" * 2100, "longer"),
        # Numeric host forms that resolvers read as IPv4 addresses (inet_aton), i.e. 169.254.169.254.
        ("rtsp://2852039166/s", "link-local"),
        ("rtsp://0xa9fea9fe/s", "link-local"),
        ("rtsp://169.254.43518/s", "link-local"),
        ("rtsp://0251.0376.0251.0376/s", "link-local"),
        ("rtsp://0/s", "unspecified"),
        ("rtsp://08.1.2.3/s", "valid address"),
        ("rtsp://1.2.3.256/s", "valid address"),
        ("rtsp://1.2.3.4.5/s", "valid address"),
    ],
)
def test_refused_urls(url: str, fragment: str) -> None:
    with pytest.raises(AddressError, match=fragment):
        parse_camera_url(url, RTSP_SCHEMES)


def test_numeric_shorthand_for_a_private_address_is_allowed_as_that_address() -> None:
    # 10.1 is 10.0.0.1 to inet_aton: private, hence allowed (the check follows what a resolver would use).
    parse_camera_url("rtsp://10.1/s", RTSP_SCHEMES)


@pytest.mark.parametrize(
    "host",
    ["", "metadata", "instance-data", "169.254.169.254", "fe80::abcd", "0.0.0.0"],  # noqa: S104
)
def test_check_host_refuses(host: str) -> None:
    with pytest.raises(AddressError):
        check_host(host)


@pytest.mark.parametrize(
    "host", ["cam1", "cam1.local", "192.168.0.1", "fd00::1", "127.0.0.1", "xn--cm-0ja.lan", "1.2.3"]
)
def test_check_host_accepts(host: str) -> None:
    check_host(host)


@pytest.mark.parametrize(
    ("url", "username", "password", "expected"),
    [
        (
            "rtsp://10.0.0.1:554/s?x=1",
            "admin",
            "p@ss:w/rd",
            "rtsp://admin:p%40ss%3Aw%2Frd@10.0.0.1:554/s?x=1",
        ),
        ("rtsp://10.0.0.1/s", "admin", None, "rtsp://admin@10.0.0.1/s"),
        ("rtsp://10.0.0.1/s", "admin", "", "rtsp://admin:@10.0.0.1/s"),
        ("rtsp://10.0.0.1/s", None, "secret", "rtsp://10.0.0.1/s"),
        ("rtsp://[fd00::1]:8554/s", "u", "p", "rtsp://u:p@[fd00::1]:8554/s"),
    ],
)
def test_with_credentials(url: str, username: str | None, password: str | None, expected: str) -> None:
    assert with_credentials(url, username, password) == expected


@pytest.mark.parametrize(
    ("username", "password"),
    [("admin", "cam12345"), ("ad@min", "p:ss/w#?%"), ("user", ""), ("us er", "päss")],
)
def test_with_credentials_round_trips_through_parse(username: str, password: str) -> None:
    full = with_credentials("rtsp://192.168.1.64:554/Streaming/Channels/101", username, password)
    parsed = parse_camera_url(full, RTSP_SCHEMES)
    assert (parsed.username, parsed.password) == (username, password)
    assert parsed.url == "rtsp://192.168.1.64:554/Streaming/Channels/101"

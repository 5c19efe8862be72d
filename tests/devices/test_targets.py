"""What a user types for --hosts and --ports: expanded, de-duplicated, capped; errors name the item."""

from __future__ import annotations

import time

import pytest

from vtrack.devices.targets import MAX_TARGETS, TargetError, parse_hosts, parse_ports


def test_ports_lists_and_ranges_in_order_without_repeats() -> None:
    assert parse_ports("80,1000-1002,8000,8080,8899") == [80, 1000, 1001, 1002, 8000, 8080, 8899]
    assert parse_ports(" 8080 , 80,80, 79-81 ,") == [8080, 80, 79, 81]
    assert parse_ports("554-554") == [554]


def test_the_whole_port_range_is_quick() -> None:
    started = time.monotonic()
    assert len(parse_ports("1-65535,80")) == 65535
    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("80,abc", "'abc'"),
        ("80,1000-", "'1000-'"),
        ("-5", "'-5'"),
        ("0", "'0'"),
        ("65536", "'65536'"),
        ("1002-1000", "'1002-1000'"),
        ("80,8.5", "'8.5'"),
        ("1-2-3", "'1-2-3'"),
    ],
)
def test_bad_ports_name_the_item(text: str, named: str) -> None:
    with pytest.raises(TargetError) as caught:
        parse_ports(text)
    assert str(caught.value).startswith("ports: ") and named in str(caught.value)


def test_no_ports_at_all() -> None:
    with pytest.raises(TargetError, match="at least one port"):
        parse_ports(" , ,")


def test_hosts_addresses_names_and_ranges() -> None:
    assert parse_hosts("127.0.0.1, nvr.local,cam-01,127.0.0.0/30,127.0.0.2") == [
        "127.0.0.1",
        "nvr.local",
        "cam-01",
        "127.0.0.2",
    ]
    assert parse_hosts("::1,[fe80::1]") == ["::1", "fe80::1"]
    assert parse_hosts("127.0.0.5/32,127.0.0.8/31") == ["127.0.0.5", "127.0.0.8", "127.0.0.9"]
    assert len(parse_hosts("127.0.0.0/24")) == 254
    assert parse_hosts("127.0.0.7/24")[0] == "127.0.0.1"  # host bits set: the network it is in


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("127.0.0.1,127.0.0.1:8080", "'127.0.0.1:8080'"),
        ("cam one", "'cam one'"),
        ("-rf", "'-rf'"),
        ("foo_bar", "'foo_bar'"),
        ("a..b", "'a..b'"),
        ("999.1.1.1", "'999.1.1.1'"),
        ("127.0.0.0/33", "'127.0.0.0/33'"),
        ("nvr/24", "'nvr/24'"),
        ("http://cam", "'http://cam'"),
    ],
)
def test_bad_hosts_name_the_item(text: str, named: str) -> None:
    with pytest.raises(TargetError) as caught:
        parse_hosts(text)
    assert str(caught.value).startswith("hosts: ") and named in str(caught.value)


def test_host_with_a_port_points_at_ports() -> None:
    with pytest.raises(TargetError, match="--ports"):
        parse_hosts("cam.lan:8000")


def test_ranges_are_capped_before_they_fill_memory() -> None:
    with pytest.raises(TargetError, match="'10.0.0.0/8' has 16777216 addresses"):
        parse_hosts("10.0.0.0/8")
    # Many ranges that each pass the cap fail as soon as the total passes it, naming where.
    started = time.monotonic()
    with pytest.raises(TargetError, match=f"more than {MAX_TARGETS} hosts \\(at '10.1.0.0/16'\\)"):
        parse_hosts(",".join(f"10.{i}.0.0/16" for i in range(200)))
    assert time.monotonic() - started < 2.0


def test_no_hosts_at_all() -> None:
    with pytest.raises(TargetError, match="at least one host"):
        parse_hosts(",")

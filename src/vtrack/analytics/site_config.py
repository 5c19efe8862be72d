"""Seed 002's per-site file (one NVR: host, port, credentials; its channels) read into live-channel configs.

Pure parsing, no database, so the API import and the command line read a file the same way and give the
same errors. Every problem is collected before failing, each named by its place in the file
("channels[2].rtsp_path"): a forty-channel file gets fixed in one pass, not one error per attempt.
Credentials never stay inside a URL; they are split out so the stored URL can be shown and logged.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from vtrack.analytics.counting.specs import LineSpec, ZoneSpec
from vtrack.analytics.errors import AnalyticsConfigError
from vtrack.registry.urls import RTSP_SCHEMES, AddressError, parse_camera_url

MAX_CHANNELS = 1000
_TEXT_MAX = 255
_SpecT = TypeVar("_SpecT", LineSpec, ZoneSpec)
# Stand-ins used to find which key of a bad line/zone is at fault: valid everywhere, so a failure with
# them and the user's value of one key blames that key.
_NEUTRAL_POINTS = {LineSpec: [[0.1, 0.1], [0.9, 0.9]], ZoneSpec: [[0.1, 0.1], [0.9, 0.1], [0.5, 0.9]]}
_OPTIONAL_KEYS = {LineSpec: ("name", "hysteresis"), ZoneSpec: ("name", "min_frames")}


@dataclass(frozen=True)
class FieldProblem:
    field: str
    message: str


class SiteConfigError(AnalyticsConfigError):
    """All problems of one file or request; `field`/`message` are the first, for one-line reports."""

    def __init__(self, problems: Sequence[FieldProblem]) -> None:
        first = problems[0]
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        super().__init__(first.field, first.message + more)
        self.problems = list(problems)


@dataclass(frozen=True)
class ChannelConfig:
    """None for lines, zones or enabled means the file does not say: an import keeps what is stored."""

    external_id: str
    name: str
    url: str
    username: str | None
    password: str | None = field(repr=False)
    lines: tuple[LineSpec, ...] | None = None
    zones: tuple[ZoneSpec, ...] | None = None
    enabled: bool | None = None


@dataclass(frozen=True)
class SiteConfig:
    site: str
    channels: list[ChannelConfig]


def parse_lines(raw: object, where: str = "lines") -> tuple[list[LineSpec], list[FieldProblem]]:
    return _parse_specs(raw, where, LineSpec)


def parse_zones(raw: object, where: str = "zones") -> tuple[list[ZoneSpec], list[FieldProblem]]:
    return _parse_specs(raw, where, ZoneSpec)


def _parse_specs(raw: object, where: str, kind: type[_SpecT]) -> tuple[list[_SpecT], list[FieldProblem]]:
    if not isinstance(raw, list):
        return [], [FieldProblem(where, "must be a list of objects")]
    factory: Callable[[Mapping[str, Any], int], _SpecT] = kind.from_dict
    specs: list[_SpecT] = []
    problems: list[FieldProblem] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(raw):
        at = f"{where}[{index}]"
        if not isinstance(item, Mapping):
            problems.append(FieldProblem(at, "must be an object"))
            continue
        unknown = sorted(str(key) for key in item if key not in {"points", *_OPTIONAL_KEYS[kind]})
        shape = _points_shape(item.get("points"))
        if unknown:
            allowed = ", ".join(["points", *_OPTIONAL_KEYS[kind]])
            problems.append(
                FieldProblem(at, f"unknown key(s) {', '.join(unknown)} (allowed: {allowed})"[:300])
            )
            continue
        if shape is not None:
            problems.append(FieldProblem(f"{at}.points", shape))
            continue
        try:
            spec = factory(item, index)
        except AnalyticsConfigError as exc:
            problems.append(FieldProblem(_blame(kind, item, index, at), exc.message))
            continue
        key = spec.name.lower()
        if key in seen:
            problems.append(FieldProblem(f"{at}.name", f"{spec.name!r} is also {where}[{seen[key]}]'s name"))
            continue
        seen[key] = index
        specs.append(spec)
    return specs, problems


def _points_shape(points: object) -> str | None:
    """The structure from_dict assumes; checked first so any value gives a named error, never a crash."""
    if not isinstance(points, list):
        return "must be a list of [x, y] pairs"
    for point in points:
        if not isinstance(point, list) or len(point) != 2:
            return f"a point must be an [x, y] pair, got {point!r}"[:200]
    return None


def _blame(kind: type[_SpecT], item: Mapping[str, Any], index: int, at: str) -> str:
    for key in _OPTIONAL_KEYS[kind]:
        if key in item:
            try:
                kind.from_dict({key: item[key], "points": _NEUTRAL_POINTS[kind]}, index)
            except AnalyticsConfigError:
                return f"{at}.{key}"
    return f"{at}.points"


def load_site(path: Path) -> SiteConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AnalyticsConfigError("site", f"cannot read {path}: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AnalyticsConfigError(
            "site", f"{path} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    return parse_site(data)


def parse_site(data: object) -> SiteConfig:
    if not isinstance(data, Mapping):
        raise SiteConfigError([FieldProblem("site", "the site file must be a JSON object")])
    problems: list[FieldProblem] = []
    server_raw = data.get("server")
    server: Mapping[str, Any] = server_raw if isinstance(server_raw, Mapping) else data
    at = "server." if server is not data else ""
    site = _text(data.get("site", data.get("name")), "site", problems, required=True)
    host = _host(server.get("host"), f"{at}host", problems)
    port = _port(server.get("port", 554), f"{at}port", problems)
    site_user, site_password = _credentials(server, at, problems)
    channels_raw = data.get("channels")
    channels: list[ChannelConfig] = []
    if not isinstance(channels_raw, list) or not channels_raw:
        problems.append(FieldProblem("channels", "must be a non-empty list of channel objects"))
    elif len(channels_raw) > MAX_CHANNELS:
        problems.append(FieldProblem("channels", f"more than {MAX_CHANNELS} channels; split the file"))
    else:
        base = _Server(f"{at}host", host, server.get("host") is None, port, site_user, site_password)
        channels = _channels(channels_raw, site, base, problems)
    if problems or site is None:  # a missing site is one of the problems
        raise SiteConfigError(problems)
    return SiteConfig(site, channels)


@dataclass(frozen=True)
class _Server:
    host_field: str
    host: str | None  # None: missing, or invalid and reported
    host_missing: bool
    port: int | None
    username: str | None
    password: str | None = field(repr=False)


def _channels(
    items: list[Any], site: str | None, server: _Server, problems: list[FieldProblem]
) -> list[ChannelConfig]:
    out: list[ChannelConfig] = []
    ids: dict[str, int] = {}
    names: dict[str, int] = {}
    missing_host = False
    for index, item in enumerate(items):
        at = f"channels[{index}]"
        if not isinstance(item, Mapping):
            problems.append(FieldProblem(at, "must be an object"))
            continue
        before = len(problems)
        raw_id = item.get("id")
        external_id = _text(str(raw_id) if isinstance(raw_id, int) else raw_id, f"{at}.id", problems, True)
        # Channel names are unique server-wide and ids like "channel_1" repeat in every site's file.
        default_name = f"{site}/{external_id}" if site and external_id else external_id
        name = _text(item.get("name", default_name), f"{at}.name", problems, required=True)
        for value, seen, key in ((external_id, ids, "id"), (name, names, "name")):
            if value is not None and value.lower() in seen:
                other = seen[value.lower()]
                problems.append(FieldProblem(f"{at}.{key}", f"{value!r} is also channels[{other}]'s {key}"))
            elif value is not None:
                seen[value.lower()] = index
        if server.host_missing and "rtsp_url" not in item and not missing_host:
            missing_host = True
            problems.append(
                FieldProblem(server.host_field, f"missing, and {at} has no rtsp_url to use instead")
            )
        url, url_user, url_password = _channel_url(item, index, at, server, problems)
        user, password = _credentials(item, f"{at}.", problems)
        lines: tuple[LineSpec, ...] | None = None
        zones: tuple[ZoneSpec, ...] | None = None
        if "lines" in item:
            line_list, line_problems = parse_lines(item["lines"], f"{at}.lines")
            lines = tuple(line_list)
            problems.extend(line_problems)
        if "zones" in item:
            zone_list, zone_problems = parse_zones(item["zones"], f"{at}.zones")
            zones = tuple(zone_list)
            problems.extend(zone_problems)
        enabled = item.get("enabled")
        if enabled is not None and not isinstance(enabled, bool):
            problems.append(FieldProblem(f"{at}.enabled", "must be true or false"))
        if len(problems) > before or external_id is None or name is None or url is None:
            continue
        out.append(
            ChannelConfig(
                external_id=external_id,
                name=name,
                url=url,
                username=_first(user, url_user, server.username),
                password=_first(password, url_password, server.password),
                lines=lines,
                zones=zones,
                enabled=enabled,
            )
        )
    return out


def _channel_url(
    item: Mapping[str, Any], index: int, at: str, server: _Server, problems: list[FieldProblem]
) -> tuple[str | None, str | None, str | None]:
    """(URL without credentials, user and password that were in it); a path is joined to the server."""
    if "rtsp_url" in item and "rtsp_path" in item:
        problems.append(FieldProblem(f"{at}.rtsp_path", "give rtsp_url or rtsp_path, not both"))
        return None, None, None
    if "rtsp_url" in item:
        where, raw = f"{at}.rtsp_url", item["rtsp_url"]
        if not isinstance(raw, str):
            problems.append(FieldProblem(where, "must be a string"))
            return None, None, None
        text = raw
    else:
        where = f"{at}.rtsp_path"
        path = item.get("rtsp_path", _realmonitor_path(item, index))
        if not isinstance(path, str) or not path.startswith("/"):
            problems.append(
                FieldProblem(where, "must be a path starting with '/' (e.g. /cam/realmonitor?...)")
            )
            return None, None, None
        if server.host is None or server.port is None:
            return None, None, None  # reported once, at host or port
        host = f"[{server.host}]" if ":" in server.host else server.host
        text = f"rtsp://{host}:{server.port}{path}"
    try:
        parsed = parse_camera_url(text, RTSP_SCHEMES)
    except AddressError as exc:
        problems.append(FieldProblem(where, str(exc)))
        return None, None, None
    return parsed.url, parsed.username, parsed.password


def _realmonitor_path(item: Mapping[str, Any], index: int) -> str:
    """The Dahua/seed-002 main-stream path, as the camera importer builds it for channels without one."""
    number = next(
        (item[k] for k in ("channel", "channel_no", "number") if isinstance(item.get(k), int)), None
    )
    if number is None:
        match = re.search(r"(\d+)$", str(item.get("id", "")))
        number = int(match.group(1)) if match else index + 1
    subtype = item.get("subtype", 0)
    return f"/cam/realmonitor?channel={number}&subtype={subtype if isinstance(subtype, int) else 0}"


def _credentials(
    holder: Mapping[str, Any], at: str, problems: list[FieldProblem]
) -> tuple[str | None, str | None]:
    """username/password keys, or "credentials" as {"username", "password"} or "user:pass"."""
    raw = holder.get("credentials")
    user: object = holder.get("username")
    password: object = holder.get("password")
    if isinstance(raw, Mapping):
        user, password = raw.get("username", user), raw.get("password", password)
    elif isinstance(raw, str):
        name, sep, secret = raw.partition(":")
        if not sep or not name:
            problems.append(FieldProblem(f"{at}credentials", 'a string must be "user:password"'))
        user, password = name, secret
    elif raw is not None:
        problems.append(
            FieldProblem(f"{at}credentials", 'must be {"username", "password"} or "user:password"')
        )
    return (
        _text(user, f"{at}username", problems, required=False),
        _secret(password, f"{at}password", problems),
    )


def _text(value: object, where: str, problems: list[FieldProblem], required: bool) -> str | None:
    if value is None:
        if required:
            problems.append(FieldProblem(where, "missing"))
        return None
    if not isinstance(value, str):
        problems.append(FieldProblem(where, "must be a string"))
        return None
    text = value.strip()
    if not text and required:
        problems.append(FieldProblem(where, "must not be blank"))
        return None
    if len(text) > _TEXT_MAX or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text):
        problems.append(FieldProblem(where, f"at most {_TEXT_MAX} characters, no control characters"))
        return None
    return text or None


def _secret(value: object, where: str, problems: list[FieldProblem]) -> str | None:
    # Taken as is: spaces can be part of a password.
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > _TEXT_MAX:
        problems.append(FieldProblem(where, f"must be a string of at most {_TEXT_MAX} characters"))
        return None
    return value


def _host(value: object, where: str, problems: list[FieldProblem]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        problems.append(FieldProblem(where, "must be a host name or address"))
        return None
    host = value.strip().removeprefix("[").removesuffix("]").lower()
    try:
        parse_camera_url(f"rtsp://{f'[{host}]' if ':' in host else host}/", RTSP_SCHEMES)
    except AddressError as exc:
        problems.append(FieldProblem(where, str(exc)))
        return None
    return host


def _port(value: object, where: str, problems: list[FieldProblem]) -> int | None:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        problems.append(FieldProblem(where, "must be a whole number from 1 to 65535"))
        return None
    return value


def _first(*values: str | None) -> str | None:
    return next((v for v in values if v is not None), None)

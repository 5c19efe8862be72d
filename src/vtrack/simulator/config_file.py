"""`vtrack simulate --config FILE.json`: a whole simulated site (cameras, persona, faults) from one JSON file.

    {"host": "127.0.0.2", "persona": "hikvision", "nvr": false, "username": "admin", "password": "...",
     "cameras": [{"name": "Gate", "width": 1280, "height": 720, "codec": "h264", "fps": 25,
                  "faults": {"slow_seconds": 2.0}}]}

Every key is optional; a camera's missing fields take the default camera's for its position (so
{"cameras": [{"faults": {"offline": true}}]} is the usual first camera, offline), and without "cameras" the
three default cameras are simulated. Unknown keys and wrong types are errors that name the field and, for
cameras, the index: a silently ignored typo in a fault file makes a test pass for the wrong reason.
"""

from __future__ import annotations

import ipaddress
import json
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from vtrack.simulator.config import (
    CameraSpec,
    Codec,
    Faults,
    Persona,
    SimulatorConfig,
    default_cameras,
)
from vtrack.simulator.fault_fields import FieldError, apply_fault_updates, parse_fault_updates

_TOP_LEVEL = frozenset(
    {"host", "onvif_port_base", "rtsp_port", "username", "password", "persona", "nvr", "video", "cameras"}
)
_CAMERA_KEYS = frozenset(
    {"name", "width", "height", "codec", "fps", "manufacturer", "model", "serial", "location", "faults"}
)
_CODECS: tuple[str, ...] = typing.get_args(Codec)
_PERSONAS: tuple[str, ...] = typing.get_args(Persona)
DEFAULT_CAMERA_COUNT = 3  # without "cameras": the three cameras of seed 000
MAX_CAMERAS = 254  # one per address of a /24, the most a simulated subnet holds


class ConfigError(ValueError):
    """The config file cannot be used; `field` is the dotted path of the offending value, if there is one."""

    def __init__(self, source: str, message: str, field: str | None = None) -> None:
        super().__init__(f"{source}: {field}: {message}" if field else f"{source}: {message}")
        self.field = field


def load_config(path: Path | str) -> SimulatorConfig:
    """Read and check a simulator config file; ConfigError says what is wrong and where."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(str(path), f"cannot read: {error}") from error
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(
            str(path), f"not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from error
    try:
        return parse_config(data, base_dir=path.parent)
    except FieldError as error:
        raise ConfigError(str(path), error.message, error.field) from error


def parse_config(data: object, base_dir: Path | None = None) -> SimulatorConfig:
    """A SimulatorConfig from parsed JSON; FieldError names the first bad field. Relative video paths are
    taken from `base_dir` (the config file's folder), as a reader of the file would expect."""
    top = _object(data, "", _TOP_LEVEL)
    fields = _Reader(top, "")
    config = SimulatorConfig(cameras=[])
    config.host = fields.text("host", config.host, check=_check_ip)
    config.onvif_port_base = fields.integer("onvif_port_base", config.onvif_port_base, 1, 65535)
    config.rtsp_port = fields.integer("rtsp_port", config.rtsp_port, 1, 65535)
    config.username = fields.text("username", config.username)
    config.password = fields.text("password", config.password)
    config.persona = typing.cast(Persona, fields.choice("persona", config.persona, _PERSONAS))
    config.nvr = fields.boolean("nvr", config.nvr)
    if top.get("video") is not None:
        video = Path(fields.text("video", ""))
        if not video.is_absolute() and base_dir is not None:
            video = base_dir / video
        if not video.is_file():
            raise FieldError("video", f"no such file: {video}")
        config.video = video
    config.cameras = _cameras(top.get("cameras"))
    last_port = config.onvif_port_base + (0 if config.nvr else len(config.cameras) - 1)
    if last_port > 65535:
        raise FieldError("onvif_port_base", f"camera {len(config.cameras)} would need port {last_port}")
    return config


def _cameras(data: object) -> list[CameraSpec]:
    if data is None:
        return default_cameras(DEFAULT_CAMERA_COUNT)
    if not isinstance(data, list) or not data:
        raise FieldError("cameras", "expected a non-empty list of camera objects")
    if len(data) > MAX_CAMERAS:
        raise FieldError("cameras", f"at most {MAX_CAMERAS} cameras, got {len(data)}")
    defaults = default_cameras(len(data))
    cameras = []
    for index, (item, camera) in enumerate(zip(data, defaults, strict=True)):
        where = f"cameras[{index}]."
        fields = _Reader(_object(item, where, _CAMERA_KEYS), where)
        camera.name = fields.text("name", camera.name)
        camera.width = fields.integer("width", camera.width, 16, 7680, even=True)
        camera.height = fields.integer("height", camera.height, 16, 4320, even=True)
        camera.codec = typing.cast(Codec, fields.choice("codec", camera.codec, _CODECS))
        camera.fps = fields.integer("fps", camera.fps, 1, 60)
        camera.manufacturer = fields.text("manufacturer", camera.manufacturer)
        camera.model = fields.text("model", camera.model)
        camera.serial = fields.text("serial", camera.serial)
        camera.location = fields.text("location", camera.location)
        faults = fields.raw("faults")
        camera.faults = Faults()
        if faults is not None:
            apply_fault_updates(camera.faults, parse_fault_updates(faults, f"{where}faults."))
        cameras.append(camera)
    return cameras


def _object(data: object, where: str, allowed: frozenset[str]) -> Mapping[str, object]:
    if not isinstance(data, dict):
        raise FieldError(where.rstrip(".") or "(top level)", "expected a JSON object")
    for key in data:
        if key not in allowed:
            raise FieldError(f"{where}{key}", f"unknown key; known: {', '.join(sorted(allowed))}")
    return typing.cast(Mapping[str, object], data)


def _check_ip(value: str) -> str | None:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return "expected an IP address such as 127.0.0.2"
    return None


@dataclass
class _Reader:
    """Typed reads of one JSON object's fields, each falling back to a default when absent."""

    data: Mapping[str, object]
    where: str

    def raw(self, key: str) -> object:
        return self.data.get(key)

    def text(self, key: str, default: str, check: Callable[[str], str | None] | None = None) -> str:
        value = self.data.get(key, default)
        if not isinstance(value, str) or not value.strip():
            raise FieldError(self.where + key, f"expected a non-empty string, got {value!r}")
        problem = check(value) if check else None
        if problem:
            raise FieldError(self.where + key, f"{problem}, got {value!r}")
        return value

    def integer(self, key: str, default: int, low: int, high: int, *, even: bool = False) -> int:
        value = self.data.get(key, default)
        kind = "an even integer" if even else "an integer"
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not low <= value <= high
            or (even and value % 2)
        ):
            raise FieldError(self.where + key, f"expected {kind} from {low} to {high}, got {value!r}")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            raise FieldError(self.where + key, f"expected true or false, got {value!r}")
        return value

    def choice(self, key: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.data.get(key, default)
        if value not in choices:
            raise FieldError(self.where + key, f"expected one of {', '.join(choices)}, got {value!r}")
        return value

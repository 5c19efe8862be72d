"""Import file formats: CSV, JSON, and seed 002's per-site channel list, each read into numbered rows.

Parsing only checks the shape of the file; every row's fields are validated by the importer, so all
formats give the same per-row errors.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from typing import Any

from vtrack.errors import InvalidInputError
from vtrack.registry.transfer_format import COLUMNS, unprotect_cell

MAX_ROWS = 50_000


@dataclass
class ImportRow:
    number: int
    data: dict[str, Any]
    line: int | None = None
    group_name: str | None = None


def invalid_input(message: str, field_name: str = "data") -> InvalidInputError:
    return InvalidInputError(message, [{"field": field_name, "message": message}])


def _cell(column: str, value: str) -> str:
    # Spaces around a password are part of it (an export with credentials must import back unchanged);
    # every other cell is trimmed.
    return value if column == "password" else value.strip()


def parse_csv(text: str) -> list[ImportRow]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in reader.fieldnames or []]
    if not header:
        raise invalid_input("the CSV is empty; its first line must name the columns")
    unknown = [h for h in header if h not in COLUMNS and h != "group_id"]
    if unknown:
        raise invalid_input(f"unknown CSV column(s): {', '.join(unknown)}; known: {', '.join(COLUMNS)}")
    if "name" not in header or "rtsp_url" not in header:
        raise invalid_input("the CSV needs at least the columns name and rtsp_url")
    reader.fieldnames = header
    rows = []
    for number, record in enumerate(reader, start=1):
        if None in record:
            raise InvalidInputError(
                f"row {number} has more cells than the header",
                [{"row": number, "line": reader.line_num, "field": None, "message": "too many cells"}],
            )
        data = {
            k: unprotect_cell(_cell(k, v)) for k, v in record.items() if v is not None and v.strip() != ""
        }
        if not data:
            continue
        rows.append(
            ImportRow(number=number, line=reader.line_num, data=data, group_name=data.pop("group", None))
        )
        if len(rows) > MAX_ROWS:
            raise invalid_input(f"more than {MAX_ROWS} rows; split the file")
    return rows


def _channel_number(channel: dict[str, Any], index: int) -> int:
    for key in ("channel", "channel_no", "number"):
        if isinstance(channel.get(key), int):
            return int(channel[key])
    match = re.search(r"(\d+)$", str(channel.get("id", "")))
    return int(match.group(1)) if match else index


def _channel_list_rows(doc: dict[str, Any]) -> list[ImportRow]:
    """Seed 002's per-site config: one server (host, port, credentials) and its channels."""
    server: dict[str, Any] = doc["server"] if isinstance(doc.get("server"), dict) else doc
    host = server.get("host")
    port = server.get("port", 554)
    channels = doc["channels"]
    if not isinstance(channels, list):
        raise invalid_input("channels must be a list", "channels")
    site = doc.get("name") or doc.get("site") or doc.get("store")
    rows = []
    for index, channel in enumerate(channels, start=1):
        if not isinstance(channel, dict):
            raise InvalidInputError(
                f"channel {index} is not an object",
                [{"row": index, "field": None, "message": "not an object"}],
            )
        url = channel.get("rtsp_url") or channel.get("url")
        if not url:
            if not host:
                raise InvalidInputError(
                    f"channel {index} has no rtsp_url and the server has no host",
                    [
                        {
                            "row": index,
                            "field": "rtsp_url",
                            "message": "missing, and no server host to build it",
                        }
                    ],
                )
            number = _channel_number(channel, index)
            subtype = channel.get("subtype", 0)
            netloc = f"[{host}]" if ":" in str(host) and not str(host).startswith("[") else host
            url = f"rtsp://{netloc}:{port}/cam/realmonitor?channel={number}&subtype={subtype}"
        data: dict[str, Any] = {
            "name": channel.get("name") or channel.get("id") or f"channel_{index}",
            "rtsp_url": url,
            "protocol": channel.get("protocol", server.get("protocol", "rtsp")),
        }
        for key in ("username", "password"):
            value = channel.get(key, server.get(key))
            if value is not None:
                data[key] = value
        for key in ("location", "description", "resolution", "fps", "codec", "is_active", "enable_detection"):
            if channel.get(key) is not None:
                data[key] = channel[key]
        rows.append(ImportRow(number=index, data=data, group_name=channel.get("group") or site))
    return rows


def parse_json(text: str) -> list[ImportRow]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise invalid_input(f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    if isinstance(doc, dict) and "channels" in doc:
        return _channel_list_rows(doc)
    items = doc.get("cameras") if isinstance(doc, dict) else doc
    if not isinstance(items, list):
        raise invalid_input(
            'JSON must be a list of cameras, {"cameras": [...]}, or a channel list with "channels"'
        )
    if len(items) > MAX_ROWS:
        raise invalid_input(f"more than {MAX_ROWS} cameras; split the file")
    rows = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise InvalidInputError(
                f"camera {number} is not an object",
                [{"row": number, "field": None, "message": "not an object"}],
            )
        data = dict(item)
        rows.append(ImportRow(number=number, data=data, group_name=data.pop("group", None)))
    return rows

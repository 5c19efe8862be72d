"""Camera export as CSV or JSON in the import format; passwords only when an admin asks."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from vtrack.db.models import Camera
from vtrack.registry.cameras import CameraService
from vtrack.registry.transfer_format import COLUMNS, protect_cell


def camera_record(camera: Camera, service: CameraService, include_credentials: bool) -> dict[str, Any]:
    record: dict[str, Any] = {
        "name": camera.name,
        "rtsp_url": camera.rtsp_url,
        "username": camera.username,
        "group": camera.group.name if camera.group else None,
        "location": camera.location,
        "description": camera.description,
        "protocol": camera.protocol,
        "onvif_url": camera.onvif_url,
        "manufacturer": camera.manufacturer,
        "model": camera.model,
        "resolution": camera.resolution,
        "fps": camera.fps,
        "codec": camera.codec,
        "is_active": camera.is_active,
        "enable_detection": camera.enable_detection,
        "detection_sensitivity": camera.detection_sensitivity,
    }
    if include_credentials:
        record["password"] = service.decrypt_password(camera)
    return record


def to_csv(records: Sequence[dict[str, Any]], include_credentials: bool) -> str:
    columns = [c for c in COLUMNS if include_credentials or c != "password"]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for record in records:
        row = {}
        for column in columns:
            value = record.get(column)
            if isinstance(value, bool):
                row[column] = "true" if value else "false"
            elif value is None:
                row[column] = ""
            else:
                row[column] = protect_cell(str(value))
        writer.writerow(row)
    return out.getvalue()


def to_json(records: Sequence[dict[str, Any]]) -> str:
    cleaned = [{k: v for k, v in r.items() if v is not None} for r in records]
    return json.dumps({"cameras": cleaned}, ensure_ascii=False, indent=1)

"""Sample import documents shared by the format and API tests."""

from __future__ import annotations

from typing import Any

# Seed 002's per-site channel list, on a loopback address.
SITE: dict[str, Any] = {
    "name": "kidsplaza_thanhxuan",
    "server": {"host": "127.0.0.2", "port": 554, "username": "user1", "password": "cam12345"},
    "channels": [
        {"id": "channel_1", "name": "ben_ngoai_cam_phai"},
        {"id": "channel_2", "name": "ben_ngoai_cam_giua"},
        {"id": "channel_3", "name": "ben_trong_thu_ngan"},
        {"id": "channel_4", "name": "ben_trong_cua_vao"},
    ],
}

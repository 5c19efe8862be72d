"""A first end-to-end pass on both databases: login, create, list."""

from __future__ import annotations

from tests.conftest import Clients


async def test_create_and_list_camera(clients: Clients) -> None:
    created = await clients.operator.post(
        "/api/v1/cameras", json={"name": "Front Door", "rtsp_url": "rtsp://u:p4ss@192.168.1.10:554/s1"}
    )
    assert created.status_code == 201, created.text
    body = created.json()["data"]
    assert body["rtspUrl"] == "rtsp://192.168.1.10:554/s1"
    assert body["username"] == "u" and body["hasPassword"] is True
    listed = await clients.viewer.get("/api/v1/cameras")
    assert listed.status_code == 200
    assert listed.json()["meta"] == {"page": 1, "pageSize": 20, "total": 1, "totalPages": 1}

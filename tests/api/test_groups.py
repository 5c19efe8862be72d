"""Camera groups: CRUD, duplicate names, camera counts, and what deleting a group does to its cameras."""

from __future__ import annotations

from tests.api.test_cameras import CAMERAS, data, error, fields, make_camera, make_group
from tests.conftest import Clients

GROUPS = f"{CAMERAS}/groups"


async def test_group_crud_counts_and_duplicates(clients: Clients) -> None:
    created = data(
        await clients.operator.post(
            GROUPS, json={"name": " North ", "location": "Hanoi", "description": "d"}
        ),
        201,
    )
    group_id = created["id"]
    assert (created["name"], created["location"], created["description"], created["cameraCount"]) == (
        "North",
        "Hanoi",
        "d",
        0,
    )
    assert created["createdAt"] and created["updatedAt"]
    err = error(await clients.operator.post(GROUPS, json={"name": "NORTH"}), 409, "conflict")
    assert fields(err) == {"name"}
    south = await make_group(clients.operator, "South")
    await make_group(clients.operator, "another")

    await make_camera(clients.operator, "a", group_id=group_id)
    await make_camera(clients.operator, "b", group_id=group_id)
    await make_camera(clients.operator, "c", group_id=south)
    await make_camera(clients.operator, "d")

    assert data(await clients.viewer.get(f"{GROUPS}/{group_id}"))["cameraCount"] == 2
    listed = await clients.viewer.get(GROUPS)
    assert listed.json()["meta"] == {"page": 1, "pageSize": 100, "total": 3, "totalPages": 1}
    assert [(g["name"], g["cameraCount"]) for g in data(listed)] == [
        ("another", 0),
        ("North", 2),
        ("South", 1),
    ]
    assert [g["name"] for g in data(await clients.viewer.get(GROUPS, params={"q": "OR"}))] == ["North"]
    paged = await clients.viewer.get(GROUPS, params={"page_size": 2, "page": 2})
    assert [g["name"] for g in data(paged)] == ["South"] and paged.json()["meta"]["totalPages"] == 2

    # Update: partial, rename to own name in another case is fine, to another group's name is not.
    updated = data(
        await clients.operator.put(f"{GROUPS}/{group_id}", json={"name": "NORTH", "location": None})
    )
    assert (updated["name"], updated["location"], updated["description"], updated["cameraCount"]) == (
        "NORTH",
        None,
        "d",
        2,
    )
    error(await clients.operator.put(f"{GROUPS}/{group_id}", json={"name": "south"}), 409, "conflict")
    assert "name" in fields(
        error(await clients.operator.put(f"{GROUPS}/{group_id}", json={"name": None}), 422)
    )
    for body in ({"name": ""}, {"name": "x" * 256}, {"name": "a\x07b"}, {"colour": "red"}):
        error(await clients.operator.post(GROUPS, json=body), 422, "validation_error")
    # Cameras show the new group name.
    assert {
        c["groupName"] for c in data(await clients.viewer.get(CAMERAS, params={"group_id": group_id}))
    } == {"NORTH"}

    error(await clients.viewer.get(f"{GROUPS}/missing"), 404, "not_found")
    error(await clients.operator.put(f"{GROUPS}/missing", json={"name": "x"}), 404, "not_found")
    error(await clients.operator.delete(f"{GROUPS}/missing"), 404, "not_found")
    error(await clients.viewer.put(f"{GROUPS}/{group_id}", json={"name": "x"}), 403, "forbidden")
    error(await clients.viewer.delete(f"{GROUPS}/{group_id}"), 403, "forbidden")
    error(await clients.anonymous.get(GROUPS), 401, "unauthorized")

    # Deleting a group ungroups its cameras; they stay.
    response = await clients.operator.delete(f"{GROUPS}/{group_id}")
    assert response.status_code == 204, response.text
    error(await clients.viewer.get(f"{GROUPS}/{group_id}"), 404)
    cameras = data(await clients.viewer.get(CAMERAS))
    assert {c["name"]: c["groupId"] for c in cameras} == {"a": None, "b": None, "c": south, "d": None}
    assert all(c["groupName"] is None for c in cameras if c["name"] != "c")
    assert data(await clients.viewer.get(CAMERAS, params={"group_id": group_id})) == []
    summary = data(await clients.viewer.get(f"{CAMERAS}/summary"))
    assert {g["groupId"]: g["count"] for g in summary["byGroup"]} == {None: 3, south: 1}
    # The name is free again.
    await make_group(clients.operator, "North")


async def test_deleting_a_group_whose_names_clash_with_ungrouped_cameras_is_refused(clients: Clients) -> None:
    group_id = await make_group(clients.operator, "Store")
    await make_camera(clients.operator, "Door", group_id=group_id)
    await make_camera(clients.operator, "Till", group_id=group_id)
    await make_camera(clients.operator, "Shelf", group_id=group_id)
    await make_camera(clients.operator, "door")
    await make_camera(clients.operator, "TILL")

    err = error(await clients.operator.delete(f"{GROUPS}/{group_id}"), 409, "conflict")
    assert sorted(n.lower() for n in err["details"]["names"]) == ["door", "till"]
    # Nothing was deleted or moved.
    assert data(await clients.viewer.get(f"{GROUPS}/{group_id}"))["cameraCount"] == 3
    assert len(data(await clients.viewer.get(CAMERAS, params={"group_id": group_id}))) == 3
    assert (await clients.viewer.get(CAMERAS)).json()["meta"]["total"] == 5

    # Once the clash is gone, it deletes.
    cameras = data(await clients.viewer.get(CAMERAS, params={"q": "till"}))
    ungrouped_till = next(c for c in cameras if c["groupId"] is None)
    await clients.operator.put(f"{CAMERAS}/{ungrouped_till['id']}", json={"name": "Till (old)"})
    door = next(
        c for c in data(await clients.viewer.get(CAMERAS, params={"q": "door"})) if c["groupId"] is None
    )
    assert (await clients.operator.delete(f"{CAMERAS}/{door['id']}")).status_code == 204
    assert (await clients.operator.delete(f"{GROUPS}/{group_id}")).status_code == 204
    names = sorted(c["name"] for c in data(await clients.viewer.get(CAMERAS)))
    assert names == ["Door", "Shelf", "Till", "Till (old)"]

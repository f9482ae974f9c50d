"""``maxRequestSeconds`` in ``GET|PUT /api/v1/buckets/{bucket}/limits`` (docs/decisions/0185):
a field left out keeps its value, ``null`` removes it, bad values and other tenants refused."""

from __future__ import annotations

from tests.unit.api.conftest import World, error


def test_request_duration_through_the_limits_endpoint(world: World) -> None:
    _, headers, _ = world.new_tenant("limits-duration")
    c = world.client
    assert c.post("/api/v1/buckets", json={"name": "lim-dur"}, headers=headers).status_code == 201
    url = "/api/v1/buckets/lim-dur/limits"
    assert c.put(url, json={"maxObjectBytes": 4096}, headers=headers).status_code == 200
    both = c.put(url, json={"maxRequestSeconds": 90}, headers=headers).json()
    assert (both["maxObjectBytes"], both["maxRequestSeconds"]) == (4096, 90)
    assert c.get(url, headers=headers).json()["maxRequestSeconds"] == 90
    cleared = c.put(url, json={"maxRequestSeconds": None}, headers=headers).json()
    assert (cleared["maxObjectBytes"], cleared["maxRequestSeconds"]) == (4096, None)
    for bad in (0, 604801):
        assert error(c.put(url, json={"maxRequestSeconds": bad}, headers=headers)) == (
            400,
            "InvalidArgument",
        )
    _, other, _ = world.new_tenant("limits-duration-other")
    assert error(c.put(url, json={"maxRequestSeconds": 1}, headers=other)) == (403, "AccessDenied")
    assert c.get(url, headers=headers).json()["maxRequestSeconds"] is None

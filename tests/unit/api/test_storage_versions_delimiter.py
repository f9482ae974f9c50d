"""ListObjectVersions with a delimiter through the HTTP API and ``lakevault versions
--delimiter``."""

from __future__ import annotations

from tests.unit.api.conftest import World, error
from tests.unit.api.test_storage_lock_cli import run, tenant  # noqa: F401 (a fixture)


def _tree(world: World, headers: dict[str, str], bucket: str) -> None:
    c = world.client
    assert c.post("/api/v1/buckets", json={"name": bucket}, headers=headers).status_code == 201
    versioning = c.put(
        f"/api/v1/buckets/{bucket}/versioning", json={"status": "Enabled"}, headers=headers
    )
    assert versioning.status_code == 200
    for key in ("logs/1", "logs/1", "logs/2", "top", "img/a/b"):
        assert c.put(f"/api/v1/buckets/{bucket}/objects/{key}", content=b"x", headers=headers)


def test_versions_with_a_delimiter_over_http(world: World) -> None:
    _, headers, _ = world.new_tenant("versions-delim")
    _tree(world, headers, "vd-http")
    page = world.client.get("/api/v1/buckets/vd-http/versions?delimiter=/", headers=headers).json()
    assert page["delimiter"] == "/"
    assert page["commonPrefixes"] == ["img/", "logs/"]
    assert [v["key"] for v in page["versions"]] == ["top"]
    first = world.client.get(
        "/api/v1/buckets/vd-http/versions?delimiter=/&max-keys=1", headers=headers
    ).json()
    assert first["isTruncated"] and first["nextKeyMarker"] == "img/"
    assert first["nextVersionIdMarker"] is None
    second = world.client.get(
        "/api/v1/buckets/vd-http/versions?delimiter=/&max-keys=1&key-marker=img/",
        headers=headers,
    ).json()
    assert second["commonPrefixes"] == ["logs/"]
    # Another tenant is refused, delimiter or not.
    _, other, _ = world.new_tenant("versions-delim-other")
    refused = world.client.get("/api/v1/buckets/vd-http/versions?delimiter=/", headers=other)
    assert error(refused) == (403, "AccessDenied")


def test_versions_delimiter_from_the_shell(world: World, tenant: dict[str, str]) -> None:  # noqa: F811
    _tree(world, tenant, "vd-cli")
    code, out = run("versions", "lv://vd-cli", "--delimiter", "/")
    assert code == 0, out
    assert "logs/" in out and "img/" in out and "(prefix)" in out
    assert "logs/1" not in out
    code, out = run("versions", "lv://vd-cli/logs/", "--delimiter", "/")
    assert code == 0, out
    assert out.count("logs/1") == 2 and "logs/2" in out

"""DeleteObjects through the HTTP API (``POST /api/v1/buckets/{bucket}/delete``) and
``lakevault rm`` with several keys or ``--recursive``, which use it."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest
from typer.testing import CliRunner

from lakevault.cli import _storage as cli_storage
from lakevault.cli import app
from tests.unit.api.conftest import World, error


def _body(objects: list[dict[str, Any]], **extra: Any) -> bytes:
    return json.dumps({"objects": objects, **extra}).encode()


def _sha256(body: bytes) -> dict[str, str]:
    return {"x-amz-checksum-sha256": base64.b64encode(hashlib.sha256(body).digest()).decode()}


def _md5(body: bytes) -> dict[str, str]:
    return {"content-md5": base64.b64encode(hashlib.md5(body).digest()).decode()}


def _bucket(world: World, name: str, keys: list[str]) -> dict[str, str]:
    _, headers, _ = world.new_tenant("batch-" + name)
    assert world.client.post("/api/v1/buckets", json={"name": name}, headers=headers).is_success
    for key in keys:
        put = world.client.put(
            f"/api/v1/buckets/{name}/objects/{key}", content=b"x", headers=headers
        )
        assert put.status_code == 200, put.text
    return headers


def _keys(world: World, bucket: str, headers: dict[str, str]) -> list[str]:
    page = world.client.get(f"/api/v1/buckets/{bucket}/objects", headers=headers).json()
    return [item["key"] for item in page["contents"]]


def _delete(world: World, bucket: str, body: bytes, headers: dict[str, str]) -> Any:
    return world.client.post(f"/api/v1/buckets/{bucket}/delete", content=body, headers=headers)


def test_delete_several_keys_with_either_digest(world: World) -> None:
    headers = _bucket(world, "bd-ok", ["a", "b", "c/d"])
    body = _body([{"key": "a"}, {"key": "c/d"}])
    answer = _delete(world, "bd-ok", body, headers | _sha256(body))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"deleted": [{"key": "a"}, {"key": "c/d"}], "errors": []}
    assert _keys(world, "bd-ok", headers) == ["b"]
    body = _body([{"key": "b"}], quiet=True)
    quiet = _delete(world, "bd-ok", body, headers | _md5(body))
    assert quiet.json() == {"deleted": [], "errors": []}
    assert _keys(world, "bd-ok", headers) == []


def test_a_denied_key_fails_alone(world: World) -> None:
    headers = _bucket(world, "bd-mixed", ["tmp/1", "keep/2", "tmp/3"])
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:DeleteObject",
                "Resource": "arn:aws:s3:::bd-mixed/keep/*",
            }
        ],
    }
    assert world.client.put(
        "/api/v1/buckets/bd-mixed/policy", content=json.dumps(policy), headers=headers
    ).is_success
    body = _body([{"key": "tmp/1"}, {"key": "keep/2"}, {"key": "tmp/3"}])
    answer = _delete(world, "bd-mixed", body, headers | _sha256(body)).json()
    assert [d["key"] for d in answer["deleted"]] == ["tmp/1", "tmp/3"]
    assert [(e["key"], e["code"]) for e in answer["errors"]] == [("keep/2", "AccessDenied")]
    assert answer["errors"][0]["message"]
    assert _keys(world, "bd-mixed", headers) == ["keep/2"]


def test_versions_markers_and_locks(world: World) -> None:
    _, headers, _ = world.new_tenant("batch-lock")
    created = world.client.post(
        "/api/v1/buckets", json={"name": "bd-vault", "objectLockEnabled": True}, headers=headers
    )
    assert created.status_code == 201
    base = "/api/v1/buckets/bd-vault"
    free = world.client.put(f"{base}/objects/free", content=b"f", headers=headers).json()
    assert world.client.put(
        f"{base}/object-lock",
        json={
            "objectLockEnabled": "Enabled",
            "rule": {"defaultRetention": {"mode": "GOVERNANCE", "days": 30}},
        },
        headers=headers,
    ).is_success
    locked = world.client.put(f"{base}/objects/locked", content=b"l", headers=headers).json()
    body = _body(
        [
            {"key": "locked", "versionId": locked["versionId"]},
            {"key": "free", "versionId": free["versionId"]},
            {"key": "locked"},
        ]
    )
    answer = _delete(world, "bd-vault", body, headers | _sha256(body)).json()
    assert answer["errors"] == [
        {
            "key": "locked",
            "versionId": locked["versionId"],
            "code": "AccessDenied",
            "message": answer["errors"][0]["message"],
        }
    ]
    assert answer["deleted"][0] == {"key": "free", "versionId": free["versionId"]}
    marker = answer["deleted"][1]
    assert marker["key"] == "locked" and marker["deleteMarker"] is True
    assert marker["deleteMarkerVersionId"]
    # With the governance bypass header the locked version goes too.
    body = _body([{"key": "locked", "versionId": locked["versionId"]}])
    bypass = {"x-amz-bypass-governance-retention": "true"}
    answer = _delete(world, "bd-vault", body, headers | bypass | _sha256(body)).json()
    assert answer == {
        "deleted": [{"key": "locked", "versionId": locked["versionId"]}],
        "errors": [],
    }


def test_another_tenant_deletes_nothing(world: World) -> None:
    headers = _bucket(world, "bd-owned", ["a"])
    _, other, _ = world.new_tenant("batch-other")
    body = _body([{"key": "a"}])
    answer = _delete(world, "bd-owned", body, other | _sha256(body)).json()
    assert [(e["key"], e["code"]) for e in answer["errors"]] == [("a", "AccessDenied")]
    assert _keys(world, "bd-owned", headers) == ["a"]
    anonymous = _delete(world, "bd-owned", body, _sha256(body)).json()
    assert anonymous["errors"][0]["code"] == "AccessDenied"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"not json", "MalformedXML"),
        (b"{}", "MalformedXML"),
        (b'{"objects": []}', "MalformedXML"),
        (b'{"objects": [{"key": 1}]}', "MalformedXML"),
        (b'{"objects": [{"key": "a", "extra": true}]}', "MalformedXML"),
        (_body([{"key": f"k{i}"} for i in range(1001)]), "MalformedXML"),
    ],
)
def test_malformed_bodies_delete_nothing(world: World, body: bytes, code: str) -> None:
    headers = _bucket(world, "bd-bad", ["a"])
    answer = _delete(world, "bd-bad", body, headers | _sha256(body))
    assert error(answer) == (400, code)
    assert _keys(world, "bd-bad", headers) == ["a"]


def test_the_body_digest_is_required_and_checked(world: World) -> None:
    headers = _bucket(world, "bd-digest", ["a"])
    body = _body([{"key": "a"}])
    assert error(_delete(world, "bd-digest", body, headers)) == (400, "InvalidRequest")
    other = _body([{"key": "b"}])
    assert error(_delete(world, "bd-digest", body, headers | _sha256(other))) == (
        400,
        "BadDigest",
    )
    assert error(_delete(world, "bd-digest", body, headers | _md5(other))) == (400, "BadDigest")
    bad = {"content-md5": "not base64!"}
    assert error(_delete(world, "bd-digest", body, headers | bad)) == (400, "InvalidDigest")
    assert _keys(world, "bd-digest", headers) == ["a"]
    missing = _delete(world, "bd-nowhere", body, headers | _sha256(body))
    assert error(missing) == (404, "NoSuchBucket")


# -- lakevault rm ------------------------------------------------------------------------------


@pytest.fixture
def calls(world: World, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """The CLI's storage client answered in process by the API, as tenant ``batch-cli``;
    returns the (method, path) of every call it makes."""
    _, admin, _ = world.new_tenant("batch-cli")
    made: list[tuple[str, str]] = []

    class InProcessStorage:
        base_url = "http://testserver/api/v1"

        def request(self, method: str, path: str, **options: Any) -> Any:
            made.append((method, path))
            headers = dict(admin) | dict(options.pop("headers", None) or {})
            return world.client.request(method, "/api/v1" + path, headers=headers, **options)

    monkeypatch.setattr(
        cli_storage.StorageClient,
        "__init__",
        lambda self: setattr(self, "_client", InProcessStorage()),
    )
    assert world.client.post("/api/v1/buckets", json={"name": "bd-cli"}, headers=admin).is_success
    for key in ["a", "b", "dir/1", "dir/2", "dir/sub/3", "other"]:
        world.client.put(f"/api/v1/buckets/bd-cli/objects/{key}", content=b"x", headers=admin)
    made.clear()
    return made


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_rm_several_keys_is_one_batch_call(world: World, calls: list[tuple[str, str]]) -> None:
    code, out = _run("rm", "lv://bd-cli/a", "lv://bd-cli/b")
    assert code == 0, out
    assert "delete: lv://bd-cli/a" in out and "delete: lv://bd-cli/b" in out
    assert calls == [("POST", "/buckets/bd-cli/delete")]


def test_rm_recursive_lists_then_deletes_in_one_batch(
    world: World, calls: list[tuple[str, str]]
) -> None:
    code, out = _run("rm", "--recursive", "lv://bd-cli/dir/")
    assert code == 0, out
    assert [method for method, _ in calls] == ["GET", "POST"]
    for key in ["dir/1", "dir/2", "dir/sub/3"]:
        assert f"delete: lv://bd-cli/{key}" in out
    calls.clear()
    code, out = _run("rm", "lv://bd-cli/other")  # one key: a plain DeleteObject
    assert code == 0, out
    assert calls == [("DELETE", "/buckets/bd-cli/objects/other")]


def test_rm_reports_each_refused_key_and_fails(world: World, calls: list[tuple[str, str]]) -> None:
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:DeleteObject",
                "Resource": "arn:aws:s3:::bd-cli/a",
            }
        ],
    }
    calls.clear()
    cli_storage.StorageClient().request("PUT", "/buckets/bd-cli/policy", content=json.dumps(policy))
    code, out = _run("rm", "lv://bd-cli/a", "lv://bd-cli/b")
    assert code == 1
    assert "delete: lv://bd-cli/b" in out
    assert "delete failed: lv://bd-cli/a: AccessDenied" in out
    code, out = _run("rm", "lv://bd-cli/x", "lv://bd-cli/y", "--version-id", "v")
    assert code != 0 and "one path" in out

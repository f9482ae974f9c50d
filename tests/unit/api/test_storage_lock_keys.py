"""A bucket with object lock keeps its KMS key usable: locked versions cannot be crypto-shredded.

Deleting or disabling a bucket's key makes every version unreadable, which would break object
lock's promise as surely as deleting the versions — for a tenant's audit bucket too. The key of
a bucket without object lock stays the tenant's to retire.
"""

from __future__ import annotations

from typing import Any

from tests.unit.api.conftest import World, error


def _bucket_key(world: World, headers: dict[str, str], name: str, *, locked: bool) -> str:
    body: dict[str, Any] = {"name": name}
    if locked:
        body["objectLockEnabled"] = True
    created = world.client.post("/api/v1/buckets", json=body, headers=headers)
    assert created.status_code == 201, created.text
    return str(created.json()["kmsKeyId"])


def _kms(world: World, headers: dict[str, str], operation: str, **body: Any) -> Any:
    return world.client.post(f"/api/v1/kms/{operation}", json=body, headers=headers)


def test_the_key_of_an_object_locked_bucket_cannot_be_disabled_or_deleted(world: World) -> None:
    _, admin, _ = world.new_tenant("locked-keys")
    key = _bucket_key(world, admin, "evidence", locked=True)
    put = world.client.put(
        "/api/v1/buckets/evidence/objects/record",
        content=b"kept",
        headers=admin
        | {
            "x-amz-object-lock-mode": "COMPLIANCE",
            "x-amz-object-lock-retain-until-date": "2031-01-01T00:00:00Z",
        },
    )
    assert put.status_code == 200, put.text

    disabled = _kms(world, admin, "disable-key", keyId=key)
    assert error(disabled) == (400, "KMSInvalidStateException")
    assert "object lock" in disabled.json()["error"]["message"]
    scheduled = _kms(world, admin, "schedule-key-deletion", keyId=key, pendingWindowInDays=7)
    assert error(scheduled) == (400, "KMSInvalidStateException")

    described = _kms(world, admin, "describe-key", keyId=key).json()["keyMetadata"]
    assert described["keyState"] == "Enabled"
    got = world.client.get("/api/v1/buckets/evidence/objects/record", headers=admin)
    assert got.status_code == 200 and got.content == b"kept"


def test_the_key_of_an_ordinary_bucket_is_still_the_tenants_to_retire(world: World) -> None:
    _, admin, _ = world.new_tenant("plain-keys")
    key = _bucket_key(world, admin, "scratch", locked=False)
    assert _kms(world, admin, "disable-key", keyId=key).status_code == 200
    scheduled = _kms(world, admin, "schedule-key-deletion", keyId=key, pendingWindowInDays=7)
    assert scheduled.status_code == 200, scheduled.text

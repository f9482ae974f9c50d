"""The cached bucket state never outlives a change (ADR 0177): the next request sees it.

Each test first makes PUTs into a bucket succeed twice (so the bucket's record and limit are
cached), then changes the bucket — through the API, or by another process writing the database
directly — and requires the very next request to meet the change.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap

from sqlalchemy import event, text

from tests.unit.api.conftest import World, error

DENY_PUTS = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": "arn:aws:s3:::{bucket}/*",
        }
    ],
}


def _bucket(world: World, name: str) -> dict[str, str]:
    _account, admin, _ = world.new_tenant(name)
    assert (
        world.client.post("/api/v1/buckets", json={"name": name}, headers=admin).status_code == 201
    )
    return admin


def _put(world: World, bucket: str, headers: dict[str, str], size: int = 4096) -> object:
    return world.client.put(
        f"/api/v1/buckets/{bucket}/objects/k", content=b"x" * size, headers=headers
    )


def _allowed_twice(world: World, bucket: str, headers: dict[str, str]) -> None:
    for _ in range(2):
        response = _put(world, bucket, headers)
        assert response.status_code == 200, response.text  # type: ignore[attr-defined]


def _deny_policy(bucket: str) -> str:
    return json.dumps(DENY_PUTS).replace("{bucket}", bucket)


def _other_process(world: World, sql: str) -> None:
    """Run ``sql`` in another process with its own connection (no shared memory)."""
    script = textwrap.dedent(
        """
        import sys
        from sqlalchemy import create_engine, text
        engine = create_engine(sys.argv[1])
        with engine.begin() as connection:
            connection.execute(text(sys.argv[2]))
        engine.dispose()
        """
    )
    subprocess.run([sys.executable, "-c", script, world.platform.database.url, sql], check=True)


def test_a_bucket_policy_denial_applies_to_the_next_put(world: World) -> None:
    admin = _bucket(world, "bc-policy")
    _allowed_twice(world, "bc-policy", admin)
    response = world.client.put(
        "/api/v1/buckets/bc-policy/policy", content=_deny_policy("bc-policy"), headers=admin
    )
    assert response.status_code == 204, response.text
    assert error(_put(world, "bc-policy", admin)) == (403, "AccessDenied")
    # Nothing changed: the object is still the one the allowed PUTs stored.
    assert world.client.get("/api/v1/buckets/bc-policy/objects/k", headers=admin).content == (
        b"x" * 4096
    )


def test_a_lowered_limit_applies_to_the_next_put(world: World) -> None:
    admin = _bucket(world, "bc-limit")
    _allowed_twice(world, "bc-limit", admin)
    response = world.client.put(
        "/api/v1/buckets/bc-limit/limits", json={"maxObjectBytes": 1024}, headers=admin
    )
    assert response.status_code == 200, response.text
    assert error(_put(world, "bc-limit", admin)) == (413, "EntityTooLarge")
    assert _put(world, "bc-limit", admin, size=1024).status_code == 200  # type: ignore[attr-defined]


def test_a_deleted_bucket_is_gone_for_the_next_put(world: World) -> None:
    admin = _bucket(world, "bc-deleted")
    _allowed_twice(world, "bc-deleted", admin)
    c = world.client
    assert c.delete("/api/v1/buckets/bc-deleted/objects/k", headers=admin).status_code == 204
    assert c.delete("/api/v1/buckets/bc-deleted", headers=admin).status_code == 204
    assert error(_put(world, "bc-deleted", admin)) == (404, "NoSuchBucket")


def test_a_policy_set_by_another_process_applies_to_the_next_put(world: World) -> None:
    admin = _bucket(world, "bc-other")
    _allowed_twice(world, "bc-other", admin)
    policy = _deny_policy("bc-other").replace("'", "''")
    _other_process(world, f"UPDATE storage_buckets SET policy = '{policy}' WHERE name = 'bc-other'")
    assert error(_put(world, "bc-other", admin)) == (403, "AccessDenied")


def test_a_limit_set_by_another_process_applies_to_the_next_put(world: World) -> None:
    admin = _bucket(world, "bc-other-limit")
    _allowed_twice(world, "bc-other-limit", admin)
    _other_process(
        world,
        "INSERT INTO storage_bucket_limits (bucket_name, max_object_bytes, updated_at) "
        "VALUES ('bc-other-limit', 100, '2026-11-29 00:00:00')",
    )
    assert error(_put(world, "bc-other-limit", admin)) == (413, "EntityTooLarge")


def test_a_multipart_completion_meets_a_limit_lowered_after_the_upload_began(
    world: World,
) -> None:
    admin = _bucket(world, "bc-multipart")
    c = world.client
    base = "/api/v1/buckets/bc-multipart"
    created = c.post(f"{base}/uploads", json={"key": "big"}, headers=admin)
    assert created.status_code in (200, 201), created.text
    upload = created.json()["uploadId"]
    part = c.put(f"{base}/uploads/{upload}/parts/1", content=b"y" * 4096, headers=admin)
    assert part.status_code == 200, part.text
    response = c.put(f"{base}/limits", json={"maxObjectBytes": 1000}, headers=admin)
    assert response.status_code == 200, response.text
    completed = c.post(
        f"{base}/uploads/{upload}/complete",
        json={"parts": [{"partNumber": 1, "etag": part.json()["etag"]}]},
        headers=admin,
    )
    assert error(completed) == (413, "EntityTooLarge")


def test_every_table_the_bucket_state_reads_advances_the_generation(world: World) -> None:
    """The statements of a bucket-state load name only watched tables, and each watched table
    carries the trigger (a table added to the loader fails this until it is watched)."""
    from lakevault.db.migrations.versions.z001_storage_generation import WATCHED_TABLES

    admin = _bucket(world, "bc-tables")
    del admin
    database = world.platform.database
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        statements.append(statement)

    event.listen(database.engine, "before_cursor_execute", seen)
    try:
        world.platform.storage._core._load_bucket_state("bc-tables")
    finally:
        event.remove(database.engine, "before_cursor_execute", seen)
    read = {
        name
        for statement in statements
        for name in re.findall(r"(?:FROM|JOIN)\s+\(?\s*([a-z_]+)", statement)
    } - {"storage_generation"}
    assert read, statements
    assert read <= set(WATCHED_TABLES), read - set(WATCHED_TABLES)
    with database.read_session() as session:
        if database.is_sqlite:
            triggered = set(
                session.execute(
                    text(
                        "SELECT tbl_name FROM sqlite_master WHERE type = 'trigger' "
                        "AND name LIKE 'storage_generation_%'"
                    )
                ).scalars()
            )
        else:
            triggered = set(
                session.execute(
                    text(
                        "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                        "WHERE t.tgname LIKE 'storage_generation_%'"
                    )
                ).scalars()
            )
    assert set(WATCHED_TABLES) <= triggered

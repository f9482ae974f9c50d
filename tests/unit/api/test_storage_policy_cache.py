"""The gate's cached policies never outlive a change (ADR 0168): the next request sees it.

Each test first makes the writer's PUTs succeed twice (so the answer is cached), then changes
what allows them — through the API, or by another process writing the database directly — and
requires the very next PUT to be denied.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap

from sqlalchemy import event, select, text

from lakevault import identity
from lakevault.audit import IdentityType
from lakevault.db import models
from tests.unit.api.conftest import World, error

WRITE = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}],
}
PASSWORD = "Correct horse battery staple 9!"


def _writer(world: World, name: str) -> tuple[str, dict[str, str], dict[str, str]]:
    account, admin, _ = world.new_tenant(name)
    c = world.client
    base = f"/api/v1/tenants/{account}"
    assert c.post("/api/v1/buckets", json={"name": name}, headers=admin).status_code == 201
    assert c.post(f"{base}/users", json={"userName": "writer"}, headers=admin).status_code == 201
    response = c.put(f"{base}/users/writer/password", json={"password": PASSWORD}, headers=admin)
    assert response.status_code == 204, response.text
    return account, admin, world.sign_in(account, "writer", PASSWORD)


def _put(world: World, bucket: str, headers: dict[str, str]) -> int:
    return world.client.put(
        f"/api/v1/buckets/{bucket}/objects/k", content=b"x" * 4096, headers=headers
    ).status_code


def _allowed_twice(world: World, bucket: str, headers: dict[str, str]) -> None:
    assert _put(world, bucket, headers) == 200
    assert _put(world, bucket, headers) == 200


def test_removing_an_inline_policy_denies_the_next_request(world: World) -> None:
    account, admin, writer = _writer(world, "cache-inline")
    base = f"/api/v1/tenants/{account}/users/writer/policies/w"
    assert world.client.put(base, json={"policyDocument": WRITE}, headers=admin).status_code == 204
    _allowed_twice(world, "cache-inline", writer)
    assert world.client.delete(base, headers=admin).status_code == 204
    denied = world.client.put(
        "/api/v1/buckets/cache-inline/objects/k", content=b"x", headers=writer
    )
    assert error(denied) == (403, "AccessDenied")


def test_leaving_a_group_denies_the_next_request(world: World) -> None:
    account, admin, writer = _writer(world, "cache-group")
    c = world.client
    base = f"/api/v1/tenants/{account}"
    assert c.post(f"{base}/groups", json={"groupName": "w"}, headers=admin).status_code == 201
    assert (
        c.put(f"{base}/groups/w/policies/w", json={"policyDocument": WRITE}, headers=admin)
    ).status_code == 204
    assert c.put(f"{base}/groups/w/members/writer", headers=admin).status_code == 204
    _allowed_twice(world, "cache-group", writer)
    assert c.delete(f"{base}/groups/w/members/writer", headers=admin).status_code == 204
    assert _put(world, "cache-group", writer) == 403


def test_a_revocation_by_another_process_applies_to_the_next_request(world: World) -> None:
    """Another process (no shared memory, its own connection) deletes the allowing policy."""
    account, admin, writer = _writer(world, "cache-other")
    base = f"/api/v1/tenants/{account}/users/writer/policies/w"
    assert world.client.put(base, json={"policyDocument": WRITE}, headers=admin).status_code == 204
    _allowed_twice(world, "cache-other", writer)
    script = textwrap.dedent(
        """
        import sys
        from sqlalchemy import create_engine, text
        engine = create_engine(sys.argv[1])
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM inline_policies WHERE name = 'w'"))
        engine.dispose()
        """
    )
    subprocess.run([sys.executable, "-c", script, world.platform.database.url], check=True)
    assert _put(world, "cache-other", writer) == 403


def test_every_table_the_policy_source_reads_advances_the_generation(world: World) -> None:
    """The statements ``policies_for`` runs (a user in a group, with a boundary, in a tenant)
    name only watched tables, and each watched table carries the trigger."""
    from lakevault.db.migrations.versions.y001_policy_generation import WATCHED_TABLES

    account, admin, writer = _writer(world, "cache-tables")
    c = world.client
    base = f"/api/v1/tenants/{account}"
    assert c.post(f"{base}/groups", json={"groupName": "g"}, headers=admin).status_code == 201
    assert c.put(f"{base}/groups/g/members/writer", headers=admin).status_code == 204
    assert (
        c.post(f"{base}/policies", json={"policyName": "b", "policyDocument": WRITE}, headers=admin)
    ).status_code == 201
    arn = f"arn:aws:iam::{account}:policy/b"
    response = c.put(
        f"{base}/users/writer/permissions-boundary", json={"policyArn": arn}, headers=admin
    )
    assert response.status_code == 204, response.text
    database = world.platform.database
    with database.read_session() as session:
        user = session.scalars(
            select(models.User).where(
                models.User.account_id == account, models.User.name == "writer"
            )
        ).one()
        principal = identity.Principal(
            arn=user.arn,
            account_id=account,
            principal_id=user.user_id,
            identity_type=IdentityType.IAM_USER,
            username="writer",
        )
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        statements.append(statement)

    event.listen(database.engine, "before_cursor_execute", seen)
    try:
        identity.DatabasePolicySource(database).policies_for(principal)
    finally:
        event.remove(database.engine, "before_cursor_execute", seen)
    read = {
        name
        for statement in statements
        for name in re.findall(r"(?:FROM|JOIN)\s+\(?\s*([a-z_]+)", statement)
    } - {"policy_generation", "select"}
    assert read, statements
    assert read <= set(WATCHED_TABLES), read - set(WATCHED_TABLES)
    with database.read_session() as session:
        if database.is_sqlite:
            triggered = set(
                session.execute(
                    text("SELECT tbl_name FROM sqlite_master WHERE type = 'trigger'")
                ).scalars()
            )
        else:
            triggered = set(
                session.execute(
                    text(
                        "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                        "WHERE t.tgname LIKE 'policy_generation_%'"
                    )
                ).scalars()
            )
    assert set(WATCHED_TABLES) <= triggered
    del writer


def test_replacing_an_inline_policy_in_the_same_instant_denies_the_next_request(
    world: World,
) -> None:
    """The clock does not move between the two writes (a FixedClock): the replacement has the
    same update time as the policy it replaces, and must still be the one in force."""
    account, admin, writer = _writer(world, "cache-same-tick")
    base = f"/api/v1/tenants/{account}/users/writer/policies/w"
    assert world.client.put(base, json={"policyDocument": WRITE}, headers=admin).status_code == 204
    _allowed_twice(world, "cache-same-tick", writer)
    read_only = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
    }
    assert (
        world.client.put(base, json={"policyDocument": read_only}, headers=admin).status_code == 204
    )
    assert _put(world, "cache-same-tick", writer) == 403

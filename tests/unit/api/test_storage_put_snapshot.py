"""The object PUT reads its token row and both cache generations in one statement (ADR 0241):
the token row is still read afresh for every PUT, so a user deleted or signed out everywhere by
another process cannot make the next PUT, and a bucket-policy change made between two PUTs by
another process applies to the second."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from tests.unit.api.conftest import World, error
from tests.unit.api.test_storage_policy_cache import WRITE, _allowed_twice, _put, _writer


def _other_process(world: World, statement: str) -> None:
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
    subprocess.run(
        [sys.executable, "-c", script, world.platform.database.url, statement], check=True
    )


def _writer_allowed(world: World, name: str) -> dict[str, str]:
    account, admin, writer = _writer(world, name)
    base = f"/api/v1/tenants/{account}/users/writer/policies/w"
    assert world.client.put(base, json={"policyDocument": WRITE}, headers=admin).status_code == 204
    _allowed_twice(world, name, writer)
    return writer


def test_a_signed_out_token_fails_at_the_next_put(world: World) -> None:
    writer = _writer_allowed(world, "snap-signout")
    _other_process(
        world,
        "UPDATE user_sign_in_states SET token_generation = token_generation + 1 "
        "WHERE user_id = (SELECT user_id FROM users WHERE name = 'writer' AND account_id = "
        "(SELECT account_id FROM tenants WHERE name = 'snap-signout'))",
    )
    response = world.client.put(
        "/api/v1/buckets/snap-signout/objects/k", content=b"x" * 4096, headers=writer
    )
    assert error(response) == (403, "InvalidToken")


def test_a_bucket_policy_set_by_another_process_applies_to_the_next_put(world: World) -> None:
    writer = _writer_allowed(world, "snap-policy")
    deny = (
        '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*",'
        '"Action":"s3:PutObject","Resource":"*"}]}'
    )
    _other_process(
        world, f"UPDATE storage_buckets SET policy = '{deny}' WHERE name = 'snap-policy'"
    )
    assert _put(world, "snap-policy", writer) == 403


def test_a_bucket_key_disabled_by_another_process_fails_the_next_put(world: World) -> None:
    """The key record is cached under the key generation (ADR 0243): the change advances it."""
    writer = _writer_allowed(world, "snap-key")
    _other_process(
        world,
        "UPDATE kms_keys SET state = 'Disabled' WHERE key_id = "
        "(SELECT kms_key_id FROM storage_buckets WHERE name = 'snap-key')",
    )
    response = world.client.put(
        "/api/v1/buckets/snap-key/objects/k", content=b"x" * 4096, headers=writer
    )
    assert error(response) == (400, "DisabledException")
    _other_process(
        world,
        "UPDATE kms_keys SET state = 'Enabled' WHERE key_id = "
        "(SELECT kms_key_id FROM storage_buckets WHERE name = 'snap-key')",
    )
    assert _put(world, "snap-key", writer) == 200

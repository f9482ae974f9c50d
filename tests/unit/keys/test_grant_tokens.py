"""Grant tokens: accepted and checked on cryptographic operations, never needed — a grant is
effective the moment ``CreateGrant`` returns (docs/keys.md, "Grants")."""

from __future__ import annotations

import pytest

from lakevault.core.errors import AccessDenied
from lakevault.keys import InvalidGrantTokenException, grant_token
from tests.unit.keys.conftest import BOB, KMSWorld, context

SECRET = b"payload"
CONTEXT = context(team="red")


def _grant(world: KMSWorld, key_id: str, *operations: str) -> str:
    grant = world.service.create_grant(
        world.call(), key_id, grantee_principal=BOB.arn, operations=list(operations)
    )
    return grant_token(key_id, grant.grant_id)


def test_a_fresh_grant_is_usable_at_once_with_or_without_its_token(world: KMSWorld) -> None:
    key_id = world.service.create_key(world.call()).key_id
    token = _grant(world, key_id, "Encrypt", "Decrypt", "GenerateDataKey")
    # At once, without the token: there is no propagation delay to bridge.
    blob = world.service.encrypt(world.call(BOB), key_id, SECRET, context=CONTEXT).blob
    # And with it, on each cryptographic operation.
    again = world.service.encrypt(
        world.call(BOB), key_id, SECRET, context=CONTEXT, grant_tokens=[token]
    )
    plaintext, _, _ = world.service.decrypt(
        world.call(BOB), again.blob, context=CONTEXT, grant_tokens=[token]
    )
    assert plaintext == SECRET
    assert world.service.decrypt(world.call(BOB), blob, context=CONTEXT)[0] == SECRET
    raw, _ = world.service.generate_data_key_for(
        world.call(BOB), key_id, context=CONTEXT, grant_tokens=[token]
    )
    assert raw is not None and len(raw) == 32


def test_a_token_grants_nothing_by_itself(world: KMSWorld) -> None:
    key_id = world.service.create_key(world.call()).key_id
    token = _grant(world, key_id, "Decrypt")
    # The grant allows Decrypt only: its token does not make Encrypt allowed.
    with pytest.raises(AccessDenied):
        world.service.encrypt(
            world.call(BOB), key_id, SECRET, context=CONTEXT, grant_tokens=[token]
        )


def test_bad_stale_and_foreign_tokens_are_refused(world: KMSWorld) -> None:
    key_id = world.service.create_key(world.call()).key_id
    other_key = world.service.create_key(world.call()).key_id
    token = _grant(world, key_id, "Encrypt", "Decrypt")
    foreign = _grant(world, other_key, "Encrypt")
    for bad in ("not-a-token", "lvgt1.!!!", foreign):
        with pytest.raises(InvalidGrantTokenException):
            world.service.encrypt(
                world.call(BOB), key_id, SECRET, context=CONTEXT, grant_tokens=[bad]
            )
    with pytest.raises(InvalidGrantTokenException, match="at most 10"):
        world.service.encrypt(
            world.call(BOB), key_id, SECRET, context=CONTEXT, grant_tokens=[token] * 11
        )
    grant_id = world.service.list_grants(world.call(), key_id)[0].grant_id
    world.service.revoke_grant(world.call(), key_id, grant_id)
    with pytest.raises(InvalidGrantTokenException):
        world.service.encrypt(
            world.call(BOB), key_id, SECRET, context=CONTEXT, grant_tokens=[token]
        )


def test_re_encrypt_takes_tokens_of_both_keys(world: KMSWorld) -> None:
    source = world.service.create_key(world.call()).key_id
    destination = world.service.create_key(world.call()).key_id
    from_token = _grant(world, source, "ReEncryptFrom")
    to_token = _grant(world, destination, "ReEncryptTo")
    blob = world.service.encrypt(world.call(), source, SECRET, context=CONTEXT).blob
    moved = world.service.re_encrypt(
        world.call(BOB),
        blob,
        source_context=CONTEXT,
        destination_key=destination,
        destination_context=CONTEXT,
        grant_tokens=[from_token, to_token],
    )
    assert moved.key_id == destination

"""The key service remembers only allows no request could change, and only per policy text.

A service's use of a key is decided on the key policy (ADR 0257): when no statement has a
condition or a policy variable, the answer depends on nothing the request brings, and the key
service remembers the allow for (key, policy text, service, operation). Each test first makes
the allow remembered (two uses), then changes what must change the answer: the key policy,
the key's state, the encryption context a condition reads, or the key itself.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from lakevault import iam, kms
from lakevault.core.errors import AccessDenied
from lakevault.keys import DataKey, DisabledException
from lakevault.keys._service_keys import _reads_request_context
from tests.unit.keys.conftest import ALICE, TENANT_A, KMSWorld
from tests.unit.keys.test_service_keys import (
    BUCKET,
    CONTEXT,
    OBJECT,
    bucket_key,
    get,
    put,
    roundtrip,
)

SERVICE_USE = {
    "Sid": "Allow use by the platform service",
    "Effect": "Allow",
    "Principal": {"Service": "s3.amazonaws.com"},
    "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
    "Resource": "*",
}


def _put_policy(world: KMSWorld, key_id: str, *service_statements: dict[str, Any]) -> None:
    policy = json.loads(world.service.get_key_policy(world.call(ALICE), key_id))
    policy["Statement"] = [policy["Statement"][0], *service_statements]
    world.service.put_key_policy(world.call(ALICE), key_id, json.dumps(policy))


def _put_in(world: KMSWorld, key_id: str, bucket: str) -> DataKey:
    context = kms.EncryptionContext.for_object(
        tenant=TENANT_A, bucket=bucket, key="report.csv", version_id="v1"
    )
    return world.service.generate_data_key(
        world.proof("s3:PutObject", OBJECT), key_id=key_id, context=context
    )


def test_a_remembered_allow_ends_with_the_key_policy_that_gave_it(world: KMSWorld) -> None:
    key_id = bucket_key(world)
    put(world, key_id)
    put(world, key_id)
    assert world.service.context_free_allows  # the default key policy's allow is remembered
    _put_policy(world, key_id, {**SERVICE_USE, "Effect": "Deny"})
    with pytest.raises(AccessDenied, match="key policy"):
        put(world, key_id)
    event = world.last_event()
    assert event["errorCode"] == "AccessDenied" and event["eventName"] == "GenerateDataKey"
    # Without the service's statement nothing allows it either (implicit denial).
    _put_policy(world, key_id)
    with pytest.raises(AccessDenied, match="key policy"):
        put(world, key_id)
    _put_policy(world, key_id, SERVICE_USE)
    assert put(world, key_id).key_id == key_id


def test_a_disabled_key_refuses_at_the_next_use_after_remembered_allows(world: KMSWorld) -> None:
    key_id = bucket_key(world)
    data_key = put(world, key_id)
    put(world, key_id)
    get(world, key_id, data_key)
    world.service.disable_key(world.call(ALICE), key_id)
    with pytest.raises(DisabledException):
        put(world, key_id)
    with pytest.raises(DisabledException):
        get(world, key_id, data_key)
    assert world.last_event()["errorCode"] == "DisabledException"


def test_a_condition_on_the_encryption_context_is_decided_on_every_use(world: KMSWorld) -> None:
    key_id = bucket_key(world)
    only_red = {
        **SERVICE_USE,
        "Condition": {"StringEquals": {"kms:EncryptionContext:bucket": "red-data"}},
    }
    _put_policy(world, key_id, only_red)
    for _ in range(3):
        assert _put_in(world, key_id, "red-data").key_id == key_id
        with pytest.raises(AccessDenied, match="key policy"):
            _put_in(world, key_id, "blue-data")
    assert not world.service.context_free_allows


def test_a_policy_variable_is_decided_on_every_use(world: KMSWorld) -> None:
    key_id = bucket_key(world)
    by_variable = {
        **SERVICE_USE,
        "Resource": f"arn:aws:kms:*:{TENANT_A}:key/${{kms:EncryptionContext:bucket}}",
    }
    _put_policy(world, key_id, by_variable)
    # The variable names a bucket, not the key id: nothing matches, every use is refused...
    for _ in range(2):
        with pytest.raises(AccessDenied, match="key policy"):
            put(world, key_id)
    assert not world.service.context_free_allows


def test_another_tenants_key_is_decided_on_its_own_policy(world: KMSWorld) -> None:
    allowed_key = bucket_key(world)
    put(world, allowed_key)
    put(world, allowed_key)
    other = world.service.create_service_key(
        world.proof("s3:CreateBucket", BUCKET), tenant_id=TENANT_A, description="second"
    )
    _put_policy(world, other, {**SERVICE_USE, "Effect": "Deny"})
    with pytest.raises(AccessDenied, match="key policy"):
        put(world, other)
    assert put(world, allowed_key).key_id == allowed_key


def test_every_use_still_gets_its_own_data_key_bound_to_its_context(world: KMSWorld) -> None:
    key_id = bucket_key(world)
    keys = [put(world, key_id) for _ in range(5)]
    assert len({k.wrapped for k in keys}) == 5
    for data_key in keys:
        assert roundtrip(world, data_key, get(world, key_id, data_key))
        with pytest.raises(kms.IntegrityError):  # another use's key does not open it
            roundtrip(world, data_key, get(world, key_id, keys[keys.index(data_key) - 1]))
        other = kms.EncryptionContext.from_mapping({**CONTEXT.as_dict(), "version-id": "v2"})
        with pytest.raises(kms.IntegrityError):
            get(world, key_id, data_key, context=other)


@pytest.mark.parametrize(
    ("statement", "reads"),
    [
        (SERVICE_USE, False),
        ({**SERVICE_USE, "Condition": {"Bool": {"aws:SecureTransport": "true"}}}, True),
        ({**SERVICE_USE, "Resource": "arn:aws:kms:*:*:key/${aws:username}"}, True),
        (
            {
                **{k: v for k, v in SERVICE_USE.items() if k != "Resource"},
                "NotResource": "arn:aws:kms:*:*:key/${aws:username}",
            },
            True,
        ),
        (
            {**SERVICE_USE, "Principal": {"AWS": "arn:aws:iam::111122223333:user/${aws:username}"}},
            True,
        ),
    ],
)
def test_what_counts_as_reading_the_request(statement: dict[str, Any], reads: bool) -> None:
    document = {"Version": "2012-10-17", "Statement": [statement]}
    policy = iam.parse_policy(document, kind=iam.PolicyKind.RESOURCE)
    assert _reads_request_context(policy) is reads
    # Under the 2008 version ``${...}`` is plain text: nothing is substituted.
    if "Condition" not in statement:
        old = iam.parse_policy({**document, "Version": "2008-10-17"}, kind=iam.PolicyKind.RESOURCE)
        assert _reads_request_context(old) is False

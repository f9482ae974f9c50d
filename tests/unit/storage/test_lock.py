"""Object lock: default retention, retention, legal hold, governance bypass — and every way to
break a lock (tenant root, a user with s3:*, a platform admin, bucket deletion, another
tenant, a forgotten check), on both backends and both databases."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from lakevault import iam
from lakevault.core.errors import AccessDenied, InvalidParameterValue, InvalidRequest, NoSuchKey
from lakevault.db import models
from lakevault.identity import Principal
from lakevault.storage import (
    BucketNotEmpty,
    DefaultRetention,
    InvalidBucketState,
    NoSuchObjectLockConfiguration,
    ObjectLockConfiguration,
    ObjectLockConfigurationNotFound,
    ObjectLocked,
    ObjectLockRequest,
    ObjectRetention,
    RetentionMode,
    Versioning,
    release_version_lock,
)
from tests.unit.storage.conftest import (
    ALICE,
    BOB,
    CAROL,
    TENANT_A,
    StaticPolicies,
    StorageWorld,
    allow,
    principal,
)

ROOT_A = principal(TENANT_A, "admin")  # the tenant's administrator: "*" on "*"
PLATFORM_ADMIN = principal("000000000000", "admin")
MALLORY = principal(TENANT_A, "mallory")  # s3:* but not s3:BypassGovernanceRetention
HOLDER = principal(TENANT_A, "holder")  # puts, reads and retention, but no legal hold


def _deny(*actions: str) -> iam.Policy:
    return iam.parse_policy(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
                {"Effect": "Deny", "Action": list(actions), "Resource": "*"},
            ],
        },
        policy_id="deny",
    )


@pytest.fixture
def lw(world: StorageWorld) -> StorageWorld:
    """The storage world with the extra principals of these tests."""
    policies: StaticPolicies = world.gate._policies  # type: ignore[attr-defined]
    policies.by_arn[PLATFORM_ADMIN.arn] = (allow("*", policy_id="admin"),)
    policies.by_arn[ROOT_A.arn] = (allow("*", policy_id="tenant-admin"),)
    policies.by_arn[MALLORY.arn] = (_deny("s3:BypassGovernanceRetention"),)
    policies.by_arn[HOLDER.arn] = (_deny("s3:PutObjectLegalHold", "s3:BypassGovernanceRetention"),)
    return world


def _locked_bucket(
    w: StorageWorld, name: str, *, mode: RetentionMode = RetentionMode.COMPLIANCE, days: int = 30
) -> None:
    w.storage.buckets.create_bucket(w.caller(), name, object_lock_enabled=True)
    w.storage.lock.put_object_lock_configuration(
        w.caller(),
        name,
        ObjectLockConfiguration(default_retention=DefaultRetention(mode=mode, days=days)),
    )


def _grant_everyone_in_policy(w: StorageWorld, bucket: str, who: Principal) -> None:
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": who.arn},
                "Action": "s3:*",
                "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
            }
        ],
    }
    w.storage.buckets.put_bucket_policy(w.caller(), bucket, json.dumps(document))


# -- the audit bucket's path: a locked bucket with a default COMPLIANCE retention ---------------


def test_bucket_with_object_lock_is_versioned_and_applies_default_retention(
    lw: StorageWorld,
) -> None:
    _locked_bucket(lw, "audit-a", days=30)
    info = lw.storage.buckets.head_bucket(lw.caller(), "audit-a")
    assert info.versioning is Versioning.ENABLED
    config = lw.storage.lock.get_object_lock_configuration(lw.caller(), "audit-a")
    assert config.default_retention == DefaultRetention(mode=RetentionMode.COMPLIANCE, days=30)
    put = lw.put("audit-a", "log/1", b"event")
    retention = lw.storage.lock.get_object_retention(lw.caller(), "audit-a", "log/1")
    assert retention.mode is RetentionMode.COMPLIANCE
    assert retention.retain_until == lw.clock.now() + timedelta(days=30)
    assert put.version_id is not None
    events = [e["eventName"] for e in lw.events()]
    assert "PutBucketObjectLockConfiguration" in events


def test_default_retention_in_years_and_versions_before_the_rule_are_free(
    lw: StorageWorld,
) -> None:
    lw.storage.buckets.create_bucket(lw.caller(), "yearly", object_lock_enabled=True)
    before = lw.put("yearly", "k", b"old")
    lw.storage.lock.put_object_lock_configuration(
        lw.caller(),
        "yearly",
        ObjectLockConfiguration(
            default_retention=DefaultRetention(mode=RetentionMode.GOVERNANCE, years=1)
        ),
    )
    lw.put("yearly", "k", b"new")
    with pytest.raises(NoSuchObjectLockConfiguration):
        lw.storage.lock.get_object_retention(
            lw.caller(), "yearly", "k", version_id=before.version_id
        )
    until = lw.storage.lock.get_object_retention(lw.caller(), "yearly", "k").retain_until
    now = lw.clock.now()
    assert until.year == now.year + 1 and until.month == now.month
    lw.storage.objects.delete_object(lw.caller(), "yearly", "k", version_id=before.version_id)


def test_lock_needs_versioning_and_versioning_cannot_then_be_suspended(lw: StorageWorld) -> None:
    buckets = lw.storage.buckets
    buckets.create_bucket(lw.caller(), "plain")
    with pytest.raises(InvalidBucketState):
        lw.storage.lock.put_object_lock_configuration(
            lw.caller(), "plain", ObjectLockConfiguration()
        )
    with pytest.raises(ObjectLockConfigurationNotFound):
        lw.storage.lock.get_object_lock_configuration(lw.caller(), "plain")
    buckets.put_bucket_versioning(lw.caller(), "plain", "Enabled")
    lw.storage.lock.put_object_lock_configuration(lw.caller(), "plain", ObjectLockConfiguration())
    with pytest.raises(InvalidBucketState):
        buckets.put_bucket_versioning(lw.caller(), "plain", "Suspended")
    with pytest.raises(AccessDenied):  # the gate first: no hint about the bucket to outsiders
        buckets.put_bucket_versioning(lw.caller(BOB), "plain", "Suspended")
    assert buckets.get_bucket_versioning(lw.caller(), "plain") is Versioning.ENABLED
    with pytest.raises(InvalidRequest):
        lw.storage.lock.put_object_lock_configuration(
            lw.caller(), "plain", ObjectLockConfiguration(enabled=False)
        )


def test_bad_default_rules_are_refused() -> None:
    with pytest.raises(InvalidParameterValue):
        DefaultRetention(mode=RetentionMode.COMPLIANCE)
    with pytest.raises(InvalidParameterValue):
        DefaultRetention(mode=RetentionMode.COMPLIANCE, days=1, years=1)
    with pytest.raises(InvalidParameterValue):
        DefaultRetention(mode=RetentionMode.COMPLIANCE, days=0)
    with pytest.raises(InvalidParameterValue):
        DefaultRetention(mode=RetentionMode.COMPLIANCE, years=101)


def test_creating_a_locked_bucket_needs_the_lock_permission(lw: StorageWorld) -> None:
    policies: StaticPolicies = lw.gate._policies  # type: ignore[attr-defined]
    policies.by_arn[BOB.arn] = (allow("s3:CreateBucket", policy_id="create-only"),)
    with pytest.raises(AccessDenied):
        lw.storage.buckets.create_bucket(lw.caller(BOB), "bobs", object_lock_enabled=True)
    lw.storage.buckets.create_bucket(lw.caller(BOB), "bobs")


# -- compliance: nobody deletes, nobody shortens -------------------------------------------------


def test_compliance_version_survives_root_admin_s3_star_and_bucket_deletion(
    lw: StorageWorld,
) -> None:
    _locked_bucket(lw, "vault")
    put = lw.put("vault", "doc", b"keep me")
    _grant_everyone_in_policy(lw, "vault", PLATFORM_ADMIN)
    objects = lw.storage.objects
    for who in (ALICE, ROOT_A, MALLORY, PLATFORM_ADMIN):
        for bypass in (False, True):
            with pytest.raises(ObjectLocked) as refused:
                objects.delete_object(
                    lw.caller(who),
                    "vault",
                    "doc",
                    version_id=put.version_id,
                    bypass_governance=bypass,
                )
            assert refused.value.code == "AccessDenied"
            assert "COMPLIANCE" in str(refused.value) and "WORM" in str(refused.value)
    with pytest.raises(BucketNotEmpty):
        lw.storage.buckets.delete_bucket(lw.caller(ROOT_A), "vault")
    refusals = [
        e
        for e in lw.events()
        if e["eventName"] == "DeleteObjectVersion"
        and e.get("errorCode") == "AccessDenied"
        and "WORM protected" in e.get("errorMessage", "")
    ]
    assert len(refusals) >= 6  # every refused attempt is in the log, with the reason
    assert lw.get("vault", "doc") == b"keep me"
    assert len(lw.blobs()) == 1


def test_delete_without_version_adds_a_marker_and_the_locked_version_stays(
    lw: StorageWorld,
) -> None:
    _locked_bucket(lw, "marked")
    put = lw.put("marked", "doc", b"data")
    result = lw.storage.objects.delete_object(lw.caller(), "marked", "doc")
    assert result.delete_marker
    with pytest.raises(NoSuchKey):
        lw.get("marked", "doc")
    assert lw.get("marked", "doc", version_id=put.version_id) == b"data"
    # The marker itself is not locked and can go.
    lw.storage.objects.delete_object(lw.caller(), "marked", "doc", version_id=result.version_id)
    assert lw.get("marked", "doc") == b"data"


def test_compliance_retention_can_only_be_extended(lw: StorageWorld) -> None:
    _locked_bucket(lw, "extend", days=10)
    lw.put("extend", "doc", b"x")
    lock = lw.storage.lock
    current = lock.get_object_retention(lw.caller(), "extend", "doc").retain_until
    for who in (ALICE, ROOT_A):
        with pytest.raises(ObjectLocked):
            lock.put_object_retention(
                lw.caller(who),
                "extend",
                "doc",
                ObjectRetention(
                    mode=RetentionMode.COMPLIANCE, retain_until=current - timedelta(days=1)
                ),
                bypass_governance=True,
            )
        with pytest.raises(ObjectLocked):
            lock.put_object_retention(lw.caller(who), "extend", "doc", None, bypass_governance=True)
        with pytest.raises(ObjectLocked):
            lock.put_object_retention(
                lw.caller(who),
                "extend",
                "doc",
                ObjectRetention(
                    mode=RetentionMode.GOVERNANCE, retain_until=current + timedelta(days=1)
                ),
                bypass_governance=True,
            )
    later = current + timedelta(days=5)
    state = lock.put_object_retention(
        lw.caller(),
        "extend",
        "doc",
        ObjectRetention(mode=RetentionMode.COMPLIANCE, retain_until=later),
    )
    assert state.retention is not None and state.retention.retain_until == later


def test_expired_compliance_retention_allows_deletion(lw: StorageWorld) -> None:
    _locked_bucket(lw, "expiring", days=1)
    put = lw.put("expiring", "doc", b"x")
    lw.clock.advance(seconds=86401)
    lw.storage.objects.delete_object(lw.caller(), "expiring", "doc", version_id=put.version_id)
    assert lw.rows("expiring") == []


# -- governance: bypass needs the permission and the flag ---------------------------------------


def test_governance_bypass_needs_permission_and_flag(lw: StorageWorld) -> None:
    _locked_bucket(lw, "gov", mode=RetentionMode.GOVERNANCE)
    objects = lw.storage.objects
    one = lw.put("gov", "doc", b"1")
    with pytest.raises(ObjectLocked) as no_flag:
        objects.delete_object(lw.caller(), "gov", "doc", version_id=one.version_id)
    assert "GOVERNANCE" in str(no_flag.value)
    with pytest.raises(ObjectLocked):
        objects.delete_object(
            lw.caller(MALLORY), "gov", "doc", version_id=one.version_id, bypass_governance=True
        )
    denials = [
        e
        for e in lw.events()
        if e["eventName"] == "BypassGovernanceRetention" and e.get("errorCode") == "AccessDenied"
    ]
    assert denials
    objects.delete_object(
        lw.caller(), "gov", "doc", version_id=one.version_id, bypass_governance=True
    )
    assert lw.rows("gov") == []


def test_governance_retention_shortening_needs_bypass(lw: StorageWorld) -> None:
    _locked_bucket(lw, "gov2", mode=RetentionMode.GOVERNANCE, days=10)
    lw.put("gov2", "doc", b"1")
    lock = lw.storage.lock
    shorter = ObjectRetention(
        mode=RetentionMode.GOVERNANCE, retain_until=lw.clock.now() + timedelta(days=2)
    )
    with pytest.raises(ObjectLocked):
        lock.put_object_retention(lw.caller(), "gov2", "doc", shorter)
    assert any(
        e["eventName"] == "PutObjectRetention" and e.get("errorCode") == "AccessDenied"
        for e in lw.events()
    )
    with pytest.raises(ObjectLocked):
        lock.put_object_retention(
            lw.caller(MALLORY), "gov2", "doc", shorter, bypass_governance=True
        )
    lock.put_object_retention(lw.caller(), "gov2", "doc", shorter, bypass_governance=True)
    # GOVERNANCE to COMPLIANCE (stricter) needs no bypass; afterwards nothing weakens it.
    stricter = ObjectRetention(
        mode=RetentionMode.COMPLIANCE, retain_until=lw.clock.now() + timedelta(days=3)
    )
    lock.put_object_retention(lw.caller(MALLORY), "gov2", "doc", stricter)
    with pytest.raises(ObjectLocked):
        lock.put_object_retention(lw.caller(), "gov2", "doc", None, bypass_governance=True)


# -- legal hold ----------------------------------------------------------------------------------


def test_legal_hold_blocks_deletion_even_without_retention(lw: StorageWorld) -> None:
    lw.storage.buckets.create_bucket(lw.caller(), "held", object_lock_enabled=True)
    put = lw.put("held", "doc", b"x")
    lock = lw.storage.lock
    assert lock.get_object_legal_hold(lw.caller(), "held", "doc") is False
    with pytest.raises(AccessDenied):
        lock.put_object_legal_hold(lw.caller(HOLDER), "held", "doc", True)
    lock.put_object_legal_hold(lw.caller(), "held", "doc", True)
    assert lock.get_object_legal_hold(lw.caller(), "held", "doc") is True
    for who in (ALICE, ROOT_A):
        with pytest.raises(ObjectLocked) as refused:
            lw.storage.objects.delete_object(
                lw.caller(who), "held", "doc", version_id=put.version_id, bypass_governance=True
            )
        assert "legal hold" in str(refused.value)
    with pytest.raises(AccessDenied):
        lock.put_object_legal_hold(lw.caller(HOLDER), "held", "doc", False)
    lock.put_object_legal_hold(lw.caller(), "held", "doc", False)
    lw.storage.objects.delete_object(lw.caller(), "held", "doc", version_id=put.version_id)
    assert lw.rows("held") == []
    events = [e["eventName"] for e in lw.events()]
    assert events.count("PutObjectLegalHold") >= 2


def test_lock_on_put_with_headers(lw: StorageWorld) -> None:
    lw.storage.buckets.create_bucket(lw.caller(), "headers", object_lock_enabled=True)
    until = lw.clock.now() + timedelta(days=3)
    lw.put(
        "headers",
        "doc",
        b"x",
        object_lock=ObjectLockRequest(
            mode=RetentionMode.GOVERNANCE, retain_until=until, legal_hold=True
        ),
    )
    state = lw.storage.lock.get_object_lock_state(lw.caller(), "headers", "doc")
    assert state.legal_hold
    assert state.retention == ObjectRetention(mode=RetentionMode.GOVERNANCE, retain_until=until)
    with pytest.raises(AccessDenied):
        lw.put("headers", "other", b"x", who=HOLDER, object_lock=ObjectLockRequest(legal_hold=True))
    with pytest.raises(InvalidParameterValue):
        lw.put(
            "headers",
            "past",
            b"x",
            object_lock=ObjectLockRequest(
                mode=RetentionMode.COMPLIANCE, retain_until=lw.clock.now() - timedelta(seconds=1)
            ),
        )
    with pytest.raises(InvalidRequest):
        ObjectLockRequest(mode=RetentionMode.COMPLIANCE)
    lw.storage.buckets.create_bucket(lw.caller(), "unlocked")
    with pytest.raises(InvalidRequest):
        lw.put("unlocked", "doc", b"x", object_lock=ObjectLockRequest(legal_hold=True))
    assert lw.rows("unlocked") == []


def test_retention_and_hold_need_object_lock_on_the_bucket(lw: StorageWorld) -> None:
    lw.storage.buckets.create_bucket(lw.caller(), "nolock")
    lw.put("nolock", "doc", b"x")
    until = datetime.now(UTC) + timedelta(days=1)
    with pytest.raises(InvalidRequest):
        lw.storage.lock.put_object_retention(
            lw.caller(),
            "nolock",
            "doc",
            ObjectRetention(mode=RetentionMode.GOVERNANCE, retain_until=until),
        )
    with pytest.raises(InvalidRequest):
        lw.storage.lock.put_object_legal_hold(lw.caller(), "nolock", "doc", True)


def test_another_tenant_cannot_touch_the_lock(lw: StorageWorld) -> None:
    _locked_bucket(lw, "tenant-a-vault", mode=RetentionMode.GOVERNANCE)
    put = lw.put("tenant-a-vault", "doc", b"x")
    with pytest.raises(AccessDenied):
        lw.storage.lock.put_object_legal_hold(lw.caller(CAROL), "tenant-a-vault", "doc", False)
    with pytest.raises(AccessDenied):
        lw.storage.lock.put_object_retention(
            lw.caller(CAROL), "tenant-a-vault", "doc", None, bypass_governance=True
        )
    with pytest.raises(AccessDenied):
        lw.storage.lock.get_object_retention(lw.caller(CAROL), "tenant-a-vault", "doc")
    with pytest.raises(AccessDenied):
        lw.storage.objects.delete_object(
            lw.caller(CAROL),
            "tenant-a-vault",
            "doc",
            version_id=put.version_id,
            bypass_governance=True,
        )
    assert lw.get("tenant-a-vault", "doc") == b"x"


def test_a_path_that_forgets_the_check_cannot_delete_a_locked_version(lw: StorageWorld) -> None:
    """The lock row references its version with ON DELETE RESTRICT."""
    _locked_bucket(lw, "safety")
    put = lw.put("safety", "doc", b"x")
    assert put.version_id is not None
    with pytest.raises(IntegrityError), lw.database.session() as session:
        row = session.get(models.ObjectVersion, put.version_id)
        session.delete(row)
    with pytest.raises(ObjectLocked), lw.database.session() as session:
        release_version_lock(
            session,
            bucket="safety",
            key="doc",
            version_id=put.version_id,
            now=lw.clock.now(),
        )
    assert lw.get("safety", "doc") == b"x"


def test_copy_takes_the_destination_default_or_the_requested_lock(lw: StorageWorld) -> None:
    _locked_bucket(lw, "copy-target", days=7)
    lw.storage.buckets.create_bucket(lw.caller(), "copy-source")
    lw.put("copy-source", "doc", b"copied")
    objects = lw.storage.objects
    objects.copy_object(
        lw.caller(), source_bucket="copy-source", source_key="doc", bucket="copy-target", key="a"
    )
    default = lw.storage.lock.get_object_retention(lw.caller(), "copy-target", "a")
    assert default.retain_until == lw.clock.now() + timedelta(days=7)
    until = lw.clock.now() + timedelta(days=70)
    objects.copy_object(
        lw.caller(),
        source_bucket="copy-source",
        source_key="doc",
        bucket="copy-target",
        key="b",
        object_lock=ObjectLockRequest(
            mode=RetentionMode.COMPLIANCE, retain_until=until, legal_hold=True
        ),
    )
    state = lw.storage.lock.get_object_lock_state(lw.caller(), "copy-target", "b")
    assert state.legal_hold and state.retention is not None
    assert state.retention.retain_until == until
    with pytest.raises(AccessDenied):
        objects.copy_object(
            lw.caller(HOLDER),
            source_bucket="copy-source",
            source_key="doc",
            bucket="copy-target",
            key="c",
            object_lock=ObjectLockRequest(legal_hold=True),
        )
    with pytest.raises(InvalidRequest):
        objects.copy_object(
            lw.caller(),
            source_bucket="copy-target",
            source_key="a",
            bucket="copy-source",
            key="d",
            object_lock=ObjectLockRequest(legal_hold=True),
        )

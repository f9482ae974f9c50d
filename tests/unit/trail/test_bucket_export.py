"""The audit log exported into the tenant's object-locked bucket: written incrementally,
readable by the tenant only, undeletable and unreplaceable before retention ends, resumable
after a crash, expiring whole segments, and verifiable offline at every step.

Everything is real: the gate, the audit log, the key service, storage with object lock, the
database (SQLite and PostgreSQL) and a local object backend.
"""

from __future__ import annotations

import io
import secrets
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from lakevault import iam, kms, storage
from lakevault.audit import (
    Checkpointer,
    DatabaseAuditLog,
    ExportVerificationFailed,
    IdentityType,
    NoteSigner,
    build_segment,
    segment_key,
    verify_log,
)
from lakevault.core import FixedClock, SystemRandom
from lakevault.core.errors import AccessDenied, InvalidParameterValue
from lakevault.db import Database, models
from lakevault.directory import CallContext
from lakevault.gate import Gate
from lakevault.identity import Principal, PrincipalPolicies
from lakevault.keys import KeyService
from lakevault.trail import (
    AuditExportSettings,
    BucketExporter,
    TrailCore,
    default_bucket_name,
    download_export,
    export_service_caller,
    log_root,
)
from tests.unit.storage.conftest import SeaweedFS, seaweedfs  # noqa: F401 - the fixture

TENANT = "111111111111"
OTHER = "222222222222"
PLATFORM = "000000000000"
ROOT_KEY = kms.PlatformRootKey(bytes(range(32)), source="test")
DAY = 86400.0


def _user(account: str, name: str) -> Principal:
    return Principal(
        arn=f"arn:aws:iam::{account}:user/{name}",
        account_id=account,
        principal_id=f"AIDA{name.upper():0<16}"[:20],
        identity_type=IdentityType.IAM_USER,
        username=name,
    )


ADMIN = _user(TENANT, "admin")  # everything in the tenant: s3:*, lakevault:*
BOB = _user(TENANT, "bob")  # no policy
CAROL = _user(OTHER, "carol")  # everything in the other tenant
OPERATOR = _user(PLATFORM, "admin")  # the platform administrator: "*" on "*"
TENANT_ROOT = Principal(
    arn=f"arn:aws:iam::{TENANT}:root",
    account_id=TENANT,
    principal_id=TENANT,
    identity_type=IdentityType.ROOT,
)


def _allow_all(policy_id: str) -> iam.Policy:
    return iam.parse_policy(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
        },
        policy_id=policy_id,
    )


@dataclass
class _Policies:
    by_arn: dict[str, tuple[iam.Policy, ...]]

    def policies_for(self, principal: Principal) -> PrincipalPolicies:
        return PrincipalPolicies(identity=self.by_arn.get(principal.arn, ()))


@dataclass
class World:
    database: Database
    clock: FixedClock
    storage: storage.ObjectStorage
    settings: AuditExportSettings
    exporter: BucketExporter
    checkpointer: Checkpointer

    def call(self, who: Principal = ADMIN) -> CallContext:
        return CallContext(principal=who, request_id="req-" + secrets.token_hex(4))

    def caller(self, who: Principal = ADMIN) -> storage.Caller:
        return storage.Caller(principal=who, request_id="req-" + secrets.token_hex(4))

    def activity(self, count: int) -> None:
        """``count`` uploads by the tenant's admin: each is a decision and a change event."""
        for number in range(count):
            self.storage.objects.put_object(
                self.caller(), "data", f"k{number}", io.BytesIO(b"x"), content_length=1
            )

    @property
    def bucket(self) -> str:
        return default_bucket_name(TENANT)

    @property
    def root(self) -> str:
        return log_root("audit/", TENANT)

    def names(self, who: Principal = ADMIN) -> list[str]:
        page = self.storage.list_objects(self.caller(who), self.bucket, prefix=self.root)
        return [info.key[len(self.root) :] for info in page.objects]

    def verify_as(self, who: Principal, tmp_path: Path) -> tuple[int, int]:
        target = tmp_path / secrets.token_hex(4)
        materialized = download_export(
            self.storage, self.caller(who), self.bucket, self.root, target
        )
        log = verify_log(materialized.directory)
        return log.first_sequence, log.tree_size

    def versions(self) -> Counter[str]:
        with self.database.read_session() as session:
            keys = session.scalars(
                select(models.ObjectVersion.key).where(
                    models.ObjectVersion.bucket_name == self.bucket
                )
            ).all()
        return Counter(keys)


def _world(
    database: Database, tmp_path: Path, backend: storage.ObjectBackend | None = None
) -> World:
    clock = FixedClock()
    random = SystemRandom()
    audit = DatabaseAuditLog(database)
    gate = Gate(
        engine=iam.Evaluator(),
        policies=_Policies(
            {
                ADMIN.arn: (_allow_all("tenant-admin"),),
                # The root may do anything in its account; only an explicit Deny stops it.
                TENANT_ROOT.arn: (_allow_all("tenant-root"),),
                CAROL.arn: (_allow_all("other-admin"),),
                OPERATOR.arn: (_allow_all("platform-admin"),),
            }
        ),
        audit=audit,
        clock=clock,
        random=random,
        region="local",
    )
    with database.session() as session:
        for account in (TENANT, OTHER, PLATFORM):
            session.add(
                models.Tenant(account_id=account, name=f"t{account}", created_at=clock.now())
            )
    keys = KeyService(
        database=database,
        gate=gate,
        audit=audit,
        wrapper=kms.PlatformTenantKeyWrapper(lambda: ROOT_KEY, random=random),
        clock=clock,
        random=random,
        region="local",
    )
    object_storage = storage.ObjectStorage(
        database=database,
        gate=gate,
        keys=keys,
        backend=backend or storage.LocalBackend(tmp_path / "objects"),
        clock=clock,
        random=random,
        region="local",
    )
    core = TrailCore(database=database, gate=gate, clock=clock, random=random, region="local")
    checkpointer = Checkpointer(database, NoteSigner.generate("test-audit"), clock)
    exporter = BucketExporter(
        database=database,
        object_storage=object_storage,
        checkpointer=checkpointer,
        clock=clock,
        random=random,
        segment_events=8,
    )
    world = World(
        database=database,
        clock=clock,
        storage=object_storage,
        settings=AuditExportSettings(core, object_storage),
        exporter=exporter,
        checkpointer=checkpointer,
    )
    object_storage.buckets.create_bucket(world.caller(), "data")
    return world


@pytest.fixture
def world(database: Database, tmp_path: Path) -> World:
    return _world(database, tmp_path)


@pytest.fixture
def exported(world: World) -> World:
    """A world whose tenant turned the export on (90 days) and whose log was exported once."""
    world.settings.put(world.call(), TENANT, retention_days=90)
    world.activity(10)
    world.exporter.export(TENANT)
    return world


# --- configuration -----------------------------------------------------------------------------


def test_turning_the_export_on_creates_a_locked_bucket_of_the_tenant(world: World) -> None:
    configuration = world.settings.put(world.call(), TENANT, retention_days=90)
    assert (configuration.bucket, configuration.retention_days) == (world.bucket, 90)
    info = world.storage.buckets.head_bucket(world.caller(), world.bucket)
    assert info.account_id == TENANT
    lock = world.storage.lock.get_object_lock_configuration(world.caller(), world.bucket)
    assert lock.default_retention is not None
    assert lock.default_retention.mode is storage.RetentionMode.COMPLIANCE
    assert world.settings.get(world.call(), TENANT).retention_days == 90


def test_retention_can_be_extended_but_never_shortened(world: World) -> None:
    world.settings.put(world.call(), TENANT, retention_days=90)
    with pytest.raises(InvalidParameterValue, match="can only be extended"):
        world.settings.put(world.call(), TENANT, retention_days=30)
    assert world.settings.put(world.call(), TENANT, retention_days=7 * 365).retention_days == 2555
    with pytest.raises(InvalidParameterValue, match="can only be extended"):
        world.settings.put(world.call(), TENANT, retention_days=90)
    assert world.settings.get(world.call(), TENANT).retention_days == 2555


@pytest.mark.parametrize("days", [0, -1, 2558, 100000])
def test_retention_outside_one_day_to_seven_years_is_refused(world: World, days: int) -> None:
    with pytest.raises(InvalidParameterValue, match="1 to 2557"):
        world.settings.put(world.call(), TENANT, retention_days=days)


def test_the_bucket_and_prefix_cannot_be_changed_once_chosen(world: World) -> None:
    world.settings.put(world.call(), TENANT, retention_days=90)
    with pytest.raises(InvalidParameterValue, match="cannot be changed"):
        world.settings.put(world.call(), TENANT, retention_days=90, bucket="elsewhere")
    with pytest.raises(InvalidParameterValue, match="cannot be changed"):
        world.settings.put(world.call(), TENANT, retention_days=90, prefix="other/")


def test_a_principal_without_permission_cannot_configure_or_read_the_export(world: World) -> None:
    with pytest.raises(AccessDenied):
        world.settings.put(world.call(BOB), TENANT, retention_days=1)
    world.settings.put(world.call(), TENANT, retention_days=90)
    with pytest.raises(AccessDenied):
        world.settings.get(world.call(BOB), TENANT)
    # Neither another tenant nor the platform administrator configures a tenant's export.
    for outsider in (CAROL, OPERATOR):
        with pytest.raises(AccessDenied):
            world.settings.put(world.call(outsider), TENANT, retention_days=300)
    assert world.settings.get(world.call(), TENANT).retention_days == 90


# --- export ------------------------------------------------------------------------------------


def test_the_export_is_locked_readable_by_the_tenant_and_verifies(
    exported: World, tmp_path: Path
) -> None:
    world = exported
    names = world.names()
    assert any(n.startswith("segments/") and n.endswith(".jsonl") for n in names)
    assert any(n.startswith("segments/") and n.endswith(".digest") for n in names)
    assert any(n.startswith("checkpoints/") for n in names)
    assert any(n.startswith("manifests/") for n in names)
    assert "keys/0001.pub" in names
    first, size = world.verify_as(ADMIN, tmp_path)
    assert first == 0 and size >= 20
    retention = world.storage.lock.get_object_retention(
        world.caller(), world.bucket, world.root + names[-1]
    )
    assert retention.mode is storage.RetentionMode.COMPLIANCE
    assert retention.retain_until == world.clock.now() + timedelta(days=90)


def test_runs_append_without_gaps_and_skip_when_only_the_exporter_acted(
    exported: World, tmp_path: Path
) -> None:
    world = exported
    # Only the exporter's own writes happened since the last run: nothing to do.
    quiet = world.exporter.export(TENANT)
    assert quiet.skipped
    _, size = world.verify_as(ADMIN, tmp_path)
    # The tenant's reads of its bucket are the tenant's events: they are exported next time.
    world.activity(5)
    run = world.exporter.export(TENANT)
    assert not run.skipped and run.segments_written >= 1 and run.tree_size > size
    _, grown = world.verify_as(ADMIN, tmp_path)
    assert grown == run.tree_size
    assert set(world.versions().values()) == {1}, "no object was written twice"


def test_another_tenant_and_the_platform_administrator_cannot_read_it(exported: World) -> None:
    world = exported
    name = world.root + world.names()[0]
    for outsider in (CAROL, OPERATOR):
        with pytest.raises(AccessDenied):
            world.storage.objects.open_object(world.caller(outsider), world.bucket, name)
        with pytest.raises(AccessDenied):
            world.storage.list_objects(world.caller(outsider), world.bucket, prefix=world.root)


# --- nobody deletes or replaces it before retention ends ---------------------------------------


@pytest.mark.parametrize("who", [ADMIN, TENANT_ROOT, OPERATOR, CAROL], ids=lambda p: p.arn)
def test_nobody_deletes_or_overwrites_a_segment_before_retention(
    exported: World, who: Principal, tmp_path: Path
) -> None:
    world = exported
    key = world.root + segment_key(0)
    version = world.storage.objects.head_object(world.caller(), world.bucket, key).version_id
    attempts = [
        lambda: world.storage.objects.delete_object(world.caller(who), world.bucket, key),
        lambda: world.storage.objects.delete_object(
            world.caller(who), world.bucket, key, version_id=version
        ),
        lambda: world.storage.objects.delete_object(
            world.caller(who), world.bucket, key, version_id=version, bypass_governance=True
        ),
        lambda: world.storage.objects.put_object(
            world.caller(who), world.bucket, key, io.BytesIO(b"forged\n"), content_length=7
        ),
        lambda: world.storage.buckets.delete_bucket_policy(world.caller(who), world.bucket),
        lambda: world.storage.buckets.delete_bucket(world.caller(who), world.bucket),
    ]
    for attempt in attempts:
        with pytest.raises(AccessDenied):
            attempt()
    assert world.versions()[key] == 1
    world.verify_as(ADMIN, tmp_path)


def test_the_compliance_lock_holds_even_for_the_exporter_itself(exported: World) -> None:
    world = exported
    key = world.root + segment_key(0)
    service = export_service_caller(TENANT, SystemRandom())
    version = world.storage.objects.head_object(service, world.bucket, key).version_id
    with pytest.raises(storage.ObjectLocked):
        world.storage.objects.delete_object(service, world.bucket, key, version_id=version)
    world.clock.advance(seconds=89 * DAY)
    with pytest.raises(storage.ObjectLocked):
        world.storage.objects.delete_object(service, world.bucket, key, version_id=version)


# --- tampering is found at its position --------------------------------------------------------


def test_a_replaced_segment_fails_verification_at_that_segment(
    exported: World, tmp_path: Path
) -> None:
    world = exported
    world.activity(10)
    world.exporter.export(TENANT)
    key = world.root + segment_key(8)
    service = export_service_caller(TENANT, SystemRandom())
    original = world.storage.objects.open_object(service, world.bucket, key).read_all()
    changed = original.replace(b'"eventName":"', b'"eventName":"X', 1)
    # A compromised exporter (the only principal the policy lets write) adds a new version.
    world.storage.objects.put_object(service, world.bucket, key, io.BytesIO(changed))
    with pytest.raises(ExportVerificationFailed) as failure:
        world.verify_as(ADMIN, tmp_path)
    assert failure.value.position == "segments/00000000000000000008.jsonl"
    assert "SHA-256" in failure.value.message
    # Expiry refuses to touch an export that does not verify.
    world.clock.advance(seconds=200 * DAY)
    with pytest.raises(ExportVerificationFailed):
        world.exporter.expire(TENANT)


def test_a_replaced_checkpoint_fails_verification_at_that_checkpoint(
    exported: World, tmp_path: Path
) -> None:
    world = exported
    name = next(n for n in world.names() if n.startswith("checkpoints/"))
    service = export_service_caller(TENANT, SystemRandom())
    note = world.storage.objects.open_object(service, world.bucket, world.root + name).read_all()
    text = note.decode("utf-8").split("\n\n")[0] + "\n"
    forged = NoteSigner.generate("test-audit").sign(text.encode("utf-8"))
    world.storage.objects.put_object(service, world.bucket, world.root + name, io.BytesIO(forged))
    with pytest.raises(ExportVerificationFailed) as failure:
        world.verify_as(ADMIN, tmp_path)
    assert failure.value.position == name


# --- a crash is resumed without gaps or duplicates ---------------------------------------------


def test_a_segment_left_by_a_crash_is_adopted_not_duplicated(world: World, tmp_path: Path) -> None:
    world.settings.put(world.call(), TENANT, retention_days=90)
    world.activity(3)
    end = world.checkpointer.checkpoint(TENANT).checkpoint.tree_size
    # The state a crash leaves: the segment stored, its digest not, the cursor not advanced.
    piece = build_segment(world.database, world.checkpointer, TENANT, 0, end)
    service = export_service_caller(TENANT, SystemRandom())
    world.storage.objects.put_object(
        service, world.bucket, world.root + segment_key(0), io.BytesIO(piece.data)
    )
    run = world.exporter.export(TENANT)
    assert run.segments_adopted == 1
    first, size = world.verify_as(ADMIN, tmp_path)
    assert (first, size) == (0, run.tree_size)
    assert set(world.versions().values()) == {1}


def test_a_lost_cursor_is_recovered_from_the_bucket(exported: World, tmp_path: Path) -> None:
    world = exported
    world.activity(12)
    world.exporter.export(TENANT)
    before = world.versions()
    # The database lost the cursor updates (restored from an older backup).
    with world.database.session() as session:
        row = session.get(models.AuditBucketExport, TENANT)
        assert row is not None
        row.next_sequence, row.tree_size, row.last_export_at = 0, 0, None
    world.activity(2)
    run = world.exporter.export(TENANT)
    assert run.segments_adopted >= 2
    assert set(world.versions().values()) == {1}
    assert set(before) <= set(world.versions())
    assert world.verify_as(ADMIN, tmp_path)[1] == run.tree_size


def test_a_foreign_object_in_the_way_stops_the_export(world: World) -> None:
    world.settings.put(world.call(), TENANT, retention_days=90)
    world.activity(2)
    service = export_service_caller(TENANT, SystemRandom())
    world.storage.objects.put_object(
        service,
        world.bucket,
        world.root + segment_key(0),
        io.BytesIO(b'{"sequence":0,"event":{"forged":true}}\n'),
    )
    with pytest.raises(ExportVerificationFailed, match="differs from the log"):
        world.exporter.export(TENANT)
    assert not any(n.endswith(".digest") for n in world.names())


# --- expiry ------------------------------------------------------------------------------------


def test_expiry_removes_whole_segments_after_retention_and_the_rest_verifies(
    exported: World, tmp_path: Path
) -> None:
    world = exported
    world.activity(6)
    world.exporter.export(TENANT)
    _, size = world.verify_as(ADMIN, tmp_path)
    # Before retention ends nothing goes.
    world.clock.advance(seconds=89 * DAY)
    assert world.exporter.expire(TENANT).expired_segments == 0
    world.clock.advance(seconds=2 * DAY)
    world.activity(4)
    world.exporter.export(TENANT)
    segments_before = [n for n in world.names() if n.endswith(".jsonl")]
    result = world.exporter.expire(TENANT)
    assert result.expired_segments >= 2
    assert result.first_sequence >= size
    segments_after = [n for n in world.names() if n.endswith(".jsonl")]
    assert len(segments_after) == len(segments_before) - result.expired_segments
    first, newest = world.verify_as(ADMIN, tmp_path)
    assert first == result.first_sequence and newest > size
    # Later runs still append to the moved start, and verify.
    world.activity(3)
    world.exporter.export(TENANT)
    assert world.verify_as(ADMIN, tmp_path)[0] == result.first_sequence


def test_expiry_waits_for_a_longer_retention(exported: World) -> None:
    world = exported
    world.settings.put(world.call(), TENANT, retention_days=365)
    world.clock.advance(seconds=100 * DAY)
    # The segments written under 90 days are unlocked, but the account now keeps 365 days.
    assert world.exporter.expire(TENANT).expired_segments == 0


def test_the_export_works_the_same_on_an_s3_object_store(
    database: Database,
    tmp_path: Path,
    seaweedfs: SeaweedFS,  # noqa: F811 - the storage tests' session fixture
) -> None:
    # Blobs in a real SeaweedFS; the lock, the policy and the verification are the same.
    world = _world(database, tmp_path, seaweedfs.backend("audit-" + secrets.token_hex(6)))
    world.settings.put(world.call(), TENANT, retention_days=1)
    world.activity(10)
    world.exporter.export(TENANT)
    assert world.verify_as(ADMIN, tmp_path)[0] == 0
    with pytest.raises(AccessDenied):
        world.storage.objects.delete_object(
            world.caller(), world.bucket, world.root + segment_key(0)
        )
    world.clock.advance(seconds=2 * DAY)
    world.activity(2)
    world.exporter.export(TENANT)
    result = world.exporter.expire(TENANT)
    assert result.expired_segments >= 1
    assert world.verify_as(ADMIN, tmp_path)[0] == result.first_sequence

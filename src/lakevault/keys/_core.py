"""What every key operation shares: material, versions, state checks, usage counts, events.

Material of a version is unwrapped by the tenant level (``kms.TenantKeyWrapper``) only when a
use needs it, and kept briefly in :class:`~lakevault.keys._material_cache.MaterialCache`. Before
any material is unwrapped the key service checks the tombstones: a key whose material was
destroyed and then came back (a restored old backup) is refused unless the operator sets
``allow_restored_destroyed_keys`` (docs/keys.md, "Backups").
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from lakevault import iam, kms
from lakevault.audit import AuditEvent, AuditSink, CompanionRow, append_in
from lakevault.core import Clock, RandomSource
from lakevault.core.errors import InternalFailure
from lakevault.db import Database, models
from lakevault.gate import Gate
from lakevault.keys._errors import DisabledException, KeyNotFound, KMSInvalidStateException
from lakevault.keys._events import EventWho, key_event
from lakevault.keys._material_cache import DEFAULT_MATERIAL_TTL_SECONDS, MaterialCache
from lakevault.keys._policy import with_grants
from lakevault.keys._record_cache import ServiceRecordCache
from lakevault.keys._records import KeyRecord
from lakevault.keys._rewrap import DataKeyRegistry
from lakevault.keys._tombstones import TombstoneJournal
from lakevault.keys._types import KeyState

#: Asked with a service key's resource ARN: why the key must not be retired, or ``None``.
RetirementGuard = Callable[[str], "str | None"]

T = TypeVar("T")

_POLICY_CACHE_ENTRIES = 4096


class KeyCore:
    """The key service's shared machinery (one instance per process)."""

    def __init__(
        self,
        *,
        database: Database,
        gate: Gate,
        audit: AuditSink,
        wrapper: kms.TenantKeyWrapper,
        clock: Clock,
        random: RandomSource,
        region: str,
        material_ttl_seconds: float = DEFAULT_MATERIAL_TTL_SECONDS,
        allow_restored_destroyed_keys: bool = False,
        data_key_registries: Callable[[], Sequence[DataKeyRegistry]] = tuple,
        tombstones: TombstoneJournal | None = None,
        retirement_guards: Callable[[], Sequence[RetirementGuard]] = tuple,
    ) -> None:
        """``data_key_registries`` lists where services store wrapped data keys (for rewrap);
        a callable, because those services are built after the key service. ``tombstones`` is
        the journal of destroyed keys outside the database (``_tombstones.py``).
        ``retirement_guards`` are asked before a service key is disabled or scheduled for
        deletion (:meth:`refuse_if_guarded`)."""
        self.database = database
        self.gate = gate
        self.audit = audit
        self.wrapper = wrapper
        self.clock = clock
        self.random = random
        self.region = region
        self.materials = MaterialCache(ttl_seconds=material_ttl_seconds)
        #: Service key records under the key generation (ADR 0243).
        self.service_records = ServiceRecordCache(database, region=region)
        self.allow_restored_destroyed_keys = allow_restored_destroyed_keys
        self.data_key_registries = data_key_registries
        self.tombstones = tombstones
        self.retirement_guards = retirement_guards
        self._usage: Counter[tuple[str, str, str]] = Counter()
        # Parsed key policies (with grants), and the evaluator for service principals.
        self.parsed_policies: dict[tuple[str, str, tuple[str, ...]], iam.Policy] = {}
        #: The key policy alone as a policy set, per (key, policy text) (ADR 0257).
        self.service_policy_sets: dict[tuple[str, str], iam.PolicySet] = {}
        #: Allows of a service's use that no request context can change (ADR 0257).
        self.context_free_allows: set[tuple[str, str, str, str, str]] = set()
        self.service_evaluator = iam.Evaluator()
        self._usage_lock = threading.Lock()

    # -- retirement guards -------------------------------------------------------------------

    def refuse_if_guarded(self, record: KeyRecord, operation: str) -> None:
        """Refuse to disable or delete a service key whose resource must stay readable.

        A service answers for the resource its key is bound to: storage refuses for the key of
        a bucket with object lock, whose versions nobody may make unreadable before their
        retention ends (ADR 0158). Keys that no guard claims are the tenant's to retire.
        """
        if record.service_resource is None:
            return
        for guard in self.retirement_guards():
            reason = guard(record.service_resource)
            if reason is not None:
                raise KMSInvalidStateException(
                    f"{operation} refused: {record.arn} {reason}; it can be retired only with "
                    "its resource"
                )

    # -- usage counts ------------------------------------------------------------------------

    def count_use(self, key_arn: str, principal_arn: str, operation: str) -> None:
        with self._usage_lock:
            self._usage[(key_arn, principal_arn, operation)] += 1

    def usage(self) -> Mapping[tuple[str, str, str], int]:
        """Uses since start, per (key ARN, principal ARN, operation): this process only.

        The durable count is the audit log (one event per use); this is the cheap live view.
        """
        with self._usage_lock:
            return dict(self._usage)

    # -- policies ----------------------------------------------------------------------------

    def parsed_policy(self, record: KeyRecord, *, with_grants_of: bool = True) -> iam.Policy:
        """The key policy (plus one statement per grant, ``_policy.py``), parsed once per
        (key, policy text, grants). Service principals are decided on the key policy alone:
        grants name IAM principals, never services."""
        grants = record.grants if with_grants_of else ()
        cache_key = (record.key_id, record.policy, tuple(g.grant_id for g in grants))
        policy = self.parsed_policies.get(cache_key)
        if policy is None:
            if len(self.parsed_policies) >= _POLICY_CACHE_ENTRIES:
                self.parsed_policies.clear()
            policy = iam.parse_policy(
                with_grants(record.policy, grants),
                policy_id=f"{record.arn}#key-policy",
                kind=iam.PolicyKind.RESOURCE,
            )
            self.parsed_policies[cache_key] = policy
        return policy

    def service_policy_set(self, record: KeyRecord) -> iam.PolicySet:
        """The key policy alone (no grants: service principals are decided on the key policy)
        as a policy set, built — and compiled, on its first evaluation — once per (key,
        policy text) rather than once per use. Keyed by the text itself, so a changed key
        policy is a new entry, never a stale one (ADR 0257)."""
        cache_key = (record.key_id, record.policy)
        policy_set = self.service_policy_sets.get(cache_key)
        if policy_set is None:
            if len(self.service_policy_sets) >= _POLICY_CACHE_ENTRIES:
                self.service_policy_sets.clear()
            policy_set = iam.PolicySet(resource=(self.parsed_policy(record, with_grants_of=False),))
            self.service_policy_sets[cache_key] = policy_set
        return policy_set

    # -- material ----------------------------------------------------------------------------

    def material(self, record: KeyRecord, version: int) -> kms.KMSKeyMaterial:
        """The unwrapped material of ``version`` (cached briefly).

        Raises ``KeyNotFound`` for a version that does not exist or was destroyed,
        ``kms.IntegrityError`` when the wrapped material does not open (another tenant level,
        tampering), and ``KMSInvalidStateException`` for a tombstoned key.
        """

        def load() -> kms.KMSKeyMaterial:
            with self.database.read_session() as session:
                self.refuse_tombstoned(session, record.key_id)
                row = session.get(models.KMSKeyVersion, (record.key_id, version))
                if row is None:
                    raise KeyNotFound(
                        f"version {version} of key {record.arn} does not exist (its material "
                        "was never made or has been destroyed)"
                    )
                wrapped = row.wrapped_material
            return kms.KMSKeyMaterial.unwrap(
                self.wrapper,
                tenant_id=record.account_id,
                key_arn=record.arn,
                key_version=version,
                wrapped=wrapped,
            )

        return self.materials.get(record.key_id, version, load)

    def refuse_tombstoned(self, session: Session, key_id: str) -> None:
        if self.allow_restored_destroyed_keys:
            return
        if self.tombstones is not None and key_id in self.tombstones.destroyed_keys():
            raise KMSInvalidStateException(
                f"the material of key {key_id} was destroyed (it is in the tombstone journal "
                f"{self.tombstones.path}); this copy comes from a database backup taken before "
                "that. Refusing to use it; an operator who must recover data under it sets "
                "kms_allow_restored_destroyed_keys (docs/keys.md, 'Backups')"
            )
        tombstone = session.get(models.KMSKeyTombstone, key_id)
        if tombstone is not None:
            raise KMSInvalidStateException(
                f"the material of key {tombstone.key_arn} was destroyed on "
                f"{tombstone.destroyed_at.isoformat()}; this copy comes from a backup taken "
                "before that. Refusing to use it; an operator who must recover data under it "
                "sets allow_restored_destroyed_keys (docs/keys.md, 'Backups')"
            )

    def add_version(self, session: Session, row: models.KMSKey, now: datetime) -> int:
        """Make, wrap and store the next version's material; it becomes the current one."""
        version = row.current_version + 1
        arn = f"arn:aws:kms:{self.region}:{row.account_id}:key/{row.key_id}"
        _, wrapped = kms.KMSKeyMaterial.create_wrapped(
            self.wrapper,
            tenant_id=row.account_id,
            key_arn=arn,
            key_version=version,
            random=self.random,
        )
        session.add(
            models.KMSKeyVersion(
                key_id=row.key_id, version=version, wrapped_material=wrapped, created_at=now
            )
        )
        row.current_version = version
        return version

    def destroyed_version_count(self, session: Session, key_id: str) -> int:
        return len(
            session.execute(
                select(models.KMSKeyVersion.version).where(models.KMSKeyVersion.key_id == key_id)
            ).all()
        )

    # -- state -------------------------------------------------------------------------------

    def require_enabled(
        self,
        who: EventWho,
        record: KeyRecord,
        *,
        operation: str,
        parameters: Mapping[str, Any] | None,
    ) -> None:
        """Raise (and record) ``DisabledException``/``KMSInvalidStateException`` unless enabled."""
        if record.state is KeyState.ENABLED:
            return
        error: KMSInvalidStateException
        if record.state is KeyState.DISABLED:
            error = DisabledException(
                f"{record.arn} is disabled; enable it (EnableKey) before using it for {operation}"
            )
        else:
            error = KMSInvalidStateException(
                f"{record.arn} is pending deletion (on {_date(record.deletion_date)}); cancel "
                f"the deletion (CancelKeyDeletion) and enable it to use it for {operation}"
            )
        self.record_refusal(who, record, operation=operation, parameters=parameters, error=error)
        raise error

    def _event(
        self,
        who: EventWho,
        *,
        operation: str,
        key_arn: str,
        account_id: str,
        read_only: bool,
        parameters: Mapping[str, Any] | None,
        elements: Mapping[str, Any] | None = None,
        error_code: str | None = None,
        error_message: str | None = None,
        state_change: bool = False,
    ) -> AuditEvent:
        """An event of ``operation`` on one key, at this service's clock, randomness and
        region: the one place the key service's uses, refusals and changes are made."""
        return key_event(
            who, name=operation, key_arn=key_arn, account_id=account_id, now=self.clock.now(),
            random=self.random, region=self.region, read_only=read_only, parameters=parameters,
            elements=elements, error_code=error_code, error_message=error_message,
            state_change=state_change,
        )  # fmt: skip

    def record_refusal(
        self,
        who: EventWho,
        record: KeyRecord,
        *,
        operation: str,
        parameters: Mapping[str, Any] | None,
        error: Exception,
    ) -> None:
        code = getattr(error, "code", type(error).__name__)
        message = getattr(error, "message", str(error))
        self.audit.append(
            self._event(
                who,
                operation=operation,
                key_arn=record.arn,
                account_id=record.account_id,
                read_only=True,
                parameters=parameters,
                error_code=code,
                error_message=message,
            )
        )

    def record_use(
        self,
        who: EventWho,
        record: KeyRecord,
        *,
        operation: str,
        parameters: Mapping[str, Any] | None,
        elements: Mapping[str, Any] | None = None,
        defer: bool = False,
        companion: CompanionRow | None = None,
    ) -> Callable[[], object]:
        """Audit one use of the key; return what waits until the event is durable.

        Without ``defer`` the event is durable on return. With it, the event is only queued
        (when the sink can queue), and the caller MUST call the returned function before it
        acts visibly on the use.

        ``companion``: a row of the caller's that must be durable no later than the event
        (storage's blob-journal row). It shares the event's transaction when the sink keeps
        its log in this service's database (ADR 0195); otherwise it is inserted in a
        transaction of its own once the event is durable. Either way it is durable once the
        returned function has returned.
        """
        event = self._event(
            who, operation=operation, key_arn=record.arn, account_id=record.account_id,
            read_only=True, parameters=parameters, elements=elements,
        )  # fmt: skip
        submit = getattr(self.audit, "submit", None) if defer or companion else None
        if companion is not None and getattr(self.audit, "database", None) is not self.database:
            submit = None  # A log kept elsewhere cannot carry this database's row.
        if submit is None:
            self.audit.append(event)
            if companion is not None:
                with self.database.transaction() as connection:
                    connection.execute(companion.table.insert(), dict(companion.values))
            return _durable
        if companion is None:
            wait: Callable[[], object] = submit(event).result
        else:
            wait = submit(event, companion=companion).result
        if not defer:
            wait()
            return _durable
        return wait

    def change(
        self,
        who: EventWho,
        *,
        operation: str,
        key_arn: str,
        account_id: str,
        parameters: Mapping[str, Any] | None,
        act: Callable[[Session], T],
        elements: Callable[[T], Mapping[str, Any]] | None = None,
    ) -> T:
        """Run ``act`` and record its change event in the same transaction."""
        with self.database.session() as session:
            result = act(session)
            append_in(
                session,
                self._event(
                    who,
                    operation=operation,
                    key_arn=key_arn,
                    account_id=account_id,
                    read_only=False,
                    parameters=parameters,
                    elements=elements(result) if elements is not None else None,
                    state_change=True,
                ),
            )
            return result


def _durable() -> None:
    """The wait of an event appended synchronously: it is durable already."""


def _date(value: datetime | None) -> str:
    if value is None:  # pragma: no cover - a pending-deletion key always has a date
        raise InternalFailure("a key pending deletion has no deletion date")
    return value.date().isoformat()

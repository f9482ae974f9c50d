"""What the keys, secrets and storage fixtures share: two tenants behind a real gate and KMS.

Principals' identity policies come from a small in-test source (the gate's ``PolicySource``
protocol); everything else — the engine, the audit log, the database, the key service — is the
product's own. Each area's conftest adds its service on top of :func:`tenant_services`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lakevault import iam, kms
from lakevault.audit import DatabaseAuditLog, IdentityType
from lakevault.core import FixedClock, SystemRandom
from lakevault.db import Database, models
from lakevault.gate import Gate
from lakevault.identity import Principal, PrincipalPolicies
from lakevault.keys import KeyService

TENANT_A = "111111111111"
TENANT_B = "222222222222"
ROOT_KEY = kms.PlatformRootKey(bytes(range(32)), source="test")


def principal(account: str, name: str) -> Principal:
    """An IAM user of ``account`` called ``name``."""
    return Principal(
        arn=f"arn:aws:iam::{account}:user/{name}",
        account_id=account,
        principal_id=f"AIDA{name.upper():0<16}"[:20],
        identity_type=IdentityType.IAM_USER,
        username=name,
    )


@dataclass
class StaticPolicies:
    """Identity policies per principal ARN (the gate's ``PolicySource``; the rest is real)."""

    by_arn: dict[str, tuple[iam.Policy, ...]] = field(default_factory=dict)

    def policies_for(self, principal: Principal) -> PrincipalPolicies:
        return PrincipalPolicies(identity=self.by_arn.get(principal.arn, ()))


@dataclass(frozen=True)
class TenantServices:
    """The real pieces every domain needs, built on one database."""

    clock: FixedClock
    random: SystemRandom
    audit: DatabaseAuditLog
    gate: Gate
    keys: KeyService
    policies: StaticPolicies


def tenant_services(
    database: Database, policies: StaticPolicies, **key_options: Any
) -> TenantServices:
    """Tenants A and B, a gate deciding with ``policies``, and a key service under ROOT_KEY."""
    clock = FixedClock()
    random = SystemRandom()
    audit = DatabaseAuditLog(database)
    gate = Gate(
        engine=iam.Evaluator(),
        policies=policies,
        audit=audit,
        clock=clock,
        random=random,
        region="local",
    )
    with database.session() as session:
        for account in (TENANT_A, TENANT_B):
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
        **key_options,
    )
    return TenantServices(
        clock=clock, random=random, audit=audit, gate=gate, keys=keys, policies=policies
    )

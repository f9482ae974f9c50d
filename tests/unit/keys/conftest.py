"""The ``kms`` fixture: a real key service on SQLite or PostgreSQL, with a real gate and log.

Principals' identity policies come from a small in-test source (the gate's ``PolicySource``
protocol); everything else — the engine, the audit log, the database — is the product's own.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from lakevault import iam, kms
from lakevault.audit import DatabaseAuditLog
from lakevault.core import FixedClock
from lakevault.db import Database
from lakevault.gate import Gate, Proof, Request
from lakevault.identity import Principal
from lakevault.keys import KeyCall, KeyService
from tests.unit.tenant_world import (
    ROOT_KEY,  # noqa: F401 (the tests import it from here)
    TENANT_A,
    TENANT_B,
    StaticPolicies,
    principal,
    tenant_services,
)

ALICE = principal(TENANT_A, "alice")  # kms:* in tenant A
BOB = principal(TENANT_A, "bob")  # no policies
CAROL = principal(TENANT_B, "carol")  # kms:* and s3:* in tenant B
STORE = principal(TENANT_A, "store")  # s3:* in tenant A (the storage caller)


def allow(*actions: str, resource: str = "*", policy_id: str = "p") -> iam.Policy:
    return iam.parse_policy(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": resource}],
        },
        policy_id=policy_id,
    )


@dataclass
class KMSWorld:
    database: Database
    audit: DatabaseAuditLog
    gate: Gate
    service: KeyService
    clock: FixedClock
    policies: StaticPolicies

    def call(self, who: Principal = ALICE) -> KeyCall:
        return KeyCall(principal=who, request_id="req-test")

    def proof(self, action: str, resource: str, who: Principal = STORE) -> Proof:
        return self.gate.require(
            Request(principal=who, action=action, resource=resource, request_id="req-store")
        )

    def events(self, account: str = TENANT_A) -> list[dict[str, Any]]:
        return [dict(event) for event in self.audit.read(account, limit=100000)]

    def last_event(self, account: str = TENANT_A) -> dict[str, Any]:
        return self.events(account)[-1]

    def audit_text(self, account: str = TENANT_A) -> str:
        return json.dumps(self.events(account))


def build_world(database: Database, **options: Any) -> KMSWorld:
    policies = StaticPolicies(
        {
            ALICE.arn: (allow("kms:*", policy_id="alice-kms"),),
            CAROL.arn: (allow("kms:*", "s3:*", policy_id="carol-all"),),
            STORE.arn: (allow("s3:*", policy_id="store-s3"),),
        }
    )
    base = tenant_services(database, policies, **options)
    return KMSWorld(database, base.audit, base.gate, base.keys, base.clock, policies)


@pytest.fixture
def world(database: Database) -> Iterator[KMSWorld]:
    yield build_world(database)


def context(**pairs: str) -> kms.EncryptionContext:
    return kms.EncryptionContext.from_mapping(pairs)


def errors_in(events: list[dict[str, Any]]) -> list[str | None]:
    return [event.get("errorCode") for event in events]


def parameters(event: Mapping[str, Any]) -> Mapping[str, Any]:
    return event.get("requestParameters") or {}

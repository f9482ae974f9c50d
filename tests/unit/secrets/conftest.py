"""The ``world`` fixture of the secrets tests: a real secrets manager on SQLite or PostgreSQL.

The gate, the policy engine, the audit log, the key service and the database are the
product's own; principals' identity policies come from a small in-test ``PolicySource``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from lakevault import iam
from lakevault.audit import DatabaseAuditLog
from lakevault.core import FixedClock
from lakevault.db import Database, models
from lakevault.gate import Gate
from lakevault.identity import Principal
from lakevault.keys import KeyCall, KeyService
from lakevault.secrets import (
    RANDOM_PASSWORD_HOOK,
    RandomPasswordHook,
    RotationHooks,
    RotationRequest,
    SecretsCall,
    SecretsManager,
    SecretValue,
)
from tests.unit.tenant_world import (
    ROOT_KEY,  # noqa: F401 (the tests import it from here)
    TENANT_A,
    TENANT_B,
    StaticPolicies,
    principal,
    tenant_services,
)

ALICE = principal(TENANT_A, "alice")  # secretsmanager:* and kms:* in tenant A
BOB = principal(TENANT_A, "bob")  # no policies
DAVE = principal(TENANT_A, "dave")  # secretsmanager:* but an explicit Deny of GetSecretValue
CAROL = principal(TENANT_B, "carol")  # secretsmanager:* and kms:* in tenant B


def policy(*statements: dict[str, Any], policy_id: str) -> iam.Policy:
    return iam.parse_policy(
        {"Version": "2012-10-17", "Statement": list(statements)}, policy_id=policy_id
    )


def allow(*actions: str) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": list(actions), "Resource": "*"}


class FlakyHook:
    """A rotation hook whose ``test_secret`` fails while ``failing`` is set."""

    def __init__(self) -> None:
        self.failing = True
        self.steps: list[str] = []

    def create_secret(self, request: RotationRequest) -> str:
        self.steps.append("createSecret")
        return f"rotated-{request.version_id}"

    def set_secret(self, request: RotationRequest, pending: SecretValue) -> None:
        self.steps.append("setSecret")

    def test_secret(self, request: RotationRequest, pending: SecretValue) -> None:
        self.steps.append("testSecret")
        if self.failing:
            # The message holds the value: it must never reach the caller or the log.
            raise RuntimeError(f"cannot log in with {pending.secret_string}")

    def finish_secret(self, request: RotationRequest) -> None:
        self.steps.append("finishSecret")


@dataclass
class SecretsWorld:
    database: Database
    audit: DatabaseAuditLog
    gate: Gate
    keys: KeyService
    secrets: SecretsManager
    clock: FixedClock
    policies: StaticPolicies
    flaky: FlakyHook

    def call(self, who: Principal = ALICE) -> SecretsCall:
        return SecretsCall(principal=who, request_id="req-test")

    def key_call(self, who: Principal = ALICE) -> KeyCall:
        return KeyCall(principal=who, request_id="req-test")

    def events(self, account: str = TENANT_A) -> list[dict[str, Any]]:
        return [dict(event) for event in self.audit.read(account, limit=100000)]

    def last_event(self, account: str = TENANT_A) -> dict[str, Any]:
        return self.events(account)[-1]

    def audit_text(self, account: str = TENANT_A) -> str:
        return json.dumps(self.events(account))


def build_world(database: Database) -> SecretsWorld:
    policies = StaticPolicies(
        {
            ALICE.arn: (policy(allow("secretsmanager:*", "kms:*"), policy_id="alice-all"),),
            DAVE.arn: (
                policy(
                    allow("secretsmanager:*"),
                    {
                        "Sid": "NoReads",
                        "Effect": "Deny",
                        "Action": "secretsmanager:GetSecretValue",
                        "Resource": "*",
                    },
                    policy_id="dave-no-reads",
                ),
            ),
            CAROL.arn: (policy(allow("secretsmanager:*", "kms:*"), policy_id="carol-all"),),
        }
    )
    base = tenant_services(database, policies)
    clock, random, audit, gate, keys = base.clock, base.random, base.audit, base.gate, base.keys
    flaky = FlakyHook()
    secrets = SecretsManager(
        database=database,
        gate=gate,
        audit=audit,
        keys=keys,
        clock=clock,
        random=random,
        region="local",
        rotation_hooks=RotationHooks(
            {RANDOM_PASSWORD_HOOK: RandomPasswordHook(random), "flaky": flaky}
        ),
    )
    return SecretsWorld(database, audit, gate, keys, secrets, clock, policies, flaky)


@pytest.fixture
def world(database: Database) -> Iterator[SecretsWorld]:
    yield build_world(database)


def table_counts(database: Database) -> tuple[int, int, int]:
    """How many secrets, versions and labels exist: a denial changes none of them."""
    from sqlalchemy import func, select

    with database.read_session() as session:
        return (
            session.scalar(select(func.count()).select_from(models.Secret)) or 0,
            session.scalar(select(func.count()).select_from(models.SecretVersion)) or 0,
            session.scalar(select(func.count()).select_from(models.SecretVersionStage)) or 0,
        )

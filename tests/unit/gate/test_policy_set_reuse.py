"""The gate builds a policy set once per set of policy objects, never a decision (ADR 0257).

What it reuses is the built (and compiled) policy set for the *same objects*; every request is
still evaluated with its own context, principal, action and resource. Each test makes the gate
reuse a set and then changes what must change the answer: the policies (in the database, or as
new objects), the caller, the tenant, or a condition key between two requests.
"""

from __future__ import annotations

import gc
from typing import Any

import pytest

from lakevault import iam
from lakevault.audit import DatabaseAuditLog, IdentityType
from lakevault.core import FixedClock, SystemRandom
from lakevault.db import Database
from lakevault.gate import Gate, Request
from lakevault.gate._gate import _POLICY_SET_ENTRIES
from lakevault.identity import (
    ANONYMOUS,
    DatabasePolicySource,
    EntityKind,
    Principal,
    PrincipalPolicies,
    create_tenant,
    create_user,
    delete_inline_policy,
    put_inline_policy,
)
from lakevault.identity._authenticate import user_principal
from tests.unit.gate.test_gate import ACCOUNT, ALICE, RecordingAudit, policy

OBJECT = "arn:aws:s3:::red-data/report.csv"
BOB = Principal(
    arn=f"arn:aws:iam::{ACCOUNT}:user/bob",
    account_id=ACCOUNT,
    principal_id="LVUSBOBBOBBOBBOBBOB2",
    identity_type=IdentityType.IAM_USER,
    username="bob",
)
OTHER_TENANT = "210987654321"
MALLORY = Principal(
    arn=f"arn:aws:iam::{OTHER_TENANT}:user/alice",
    account_id=OTHER_TENANT,
    principal_id="LVUSMALLORYMALLORY22",
    identity_type=IdentityType.IAM_USER,
    username="alice",
)


class SwappablePolicies:
    """Policies per principal ARN that a test replaces between requests."""

    def __init__(self) -> None:
        self.by_arn: dict[str, PrincipalPolicies] = {}

    def policies_for(self, principal: Principal) -> PrincipalPolicies:
        return self.by_arn.get(principal.arn, PrincipalPolicies())


def gate_with(source: Any, audit: Any = None) -> Gate:
    return Gate(
        engine=iam.Evaluator(),
        policies=source,
        audit=audit if audit is not None else RecordingAudit(),
        clock=FixedClock(),
        random=SystemRandom(),
        region="local",
    )


def request(principal: Principal = ALICE, **overrides: Any) -> Request:
    values: dict[str, Any] = {
        "principal": principal,
        "action": "s3:PutObject",
        "resource": OBJECT,
        "resource_account": ACCOUNT,
        "request_id": "req-1",
        "source_ip": "192.0.2.10",
        "read_only": False,
    }
    values.update(overrides)
    return Request(**values)


def allowed(gate: Gate, req: Request) -> bool:
    return gate.authorize(req).is_allowed


WRITE = {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}


def test_a_condition_on_the_source_ip_is_decided_on_every_request() -> None:
    only_office = policy(
        {**WRITE, "Condition": {"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}}}, policy_id="ip"
    )
    source = SwappablePolicies()
    source.by_arn[ALICE.arn] = PrincipalPolicies(identity=(only_office,))
    gate = gate_with(source)
    for _ in range(3):
        assert allowed(gate, request(source_ip="192.0.2.10"))
        assert not allowed(gate, request(source_ip="198.51.100.7"))
        assert not allowed(gate, request(source_ip=None))
    assert len(gate._policy_sets) == 1  # one set, reused: the answers differ by context alone


def test_a_condition_on_secure_transport_is_decided_on_every_request() -> None:
    deny_plain = {
        "Effect": "Deny",
        "Action": "s3:*",
        "Resource": "*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    source = SwappablePolicies()
    source.by_arn[ALICE.arn] = PrincipalPolicies(identity=(policy(WRITE, deny_plain),))
    gate = gate_with(source)
    for _ in range(3):
        assert allowed(gate, request(secure_transport=True))
        decision = gate.authorize(request(secure_transport=False))
        assert decision.effect is iam.DecisionKind.EXPLICITLY_DENIED


def test_a_resource_policy_condition_and_a_resource_tag_are_decided_on_every_request() -> None:
    bucket_policy = iam.parse_policy(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    **WRITE,
                    "Principal": {"AWS": BOB.arn},
                    "Condition": {"StringEquals": {"aws:ResourceTag/stage": "open"}},
                }
            ],
        },
        policy_id="bucket",
        kind=iam.PolicyKind.RESOURCE,
    )
    gate = gate_with(SwappablePolicies())
    for _ in range(2):
        open_tags = {"stage": "open"}
        assert allowed(gate, request(BOB, resource_policy=bucket_policy, resource_tags=open_tags))
        assert not allowed(
            gate, request(BOB, resource_policy=bucket_policy, resource_tags={"stage": "sealed"})
        )


def test_another_principal_with_the_same_resource_policy_is_not_given_the_first_ones_answer() -> (
    None
):
    source = SwappablePolicies()
    source.by_arn[ALICE.arn] = PrincipalPolicies(identity=(policy(WRITE),))
    gate = gate_with(source)
    assert allowed(gate, request(ALICE))
    assert allowed(gate, request(ALICE))
    assert not allowed(gate, request(BOB))
    # Another tenant's principal of the same user name: its own (empty) policies, denied.
    assert not allowed(gate, request(MALLORY))
    assert allowed(gate, request(ALICE))


def test_new_policy_objects_take_effect_at_the_next_request() -> None:
    source = SwappablePolicies()
    source.by_arn[ALICE.arn] = PrincipalPolicies(identity=(policy(WRITE),))
    gate = gate_with(source)
    assert allowed(gate, request())
    assert allowed(gate, request())
    source.by_arn[ALICE.arn] = PrincipalPolicies(
        identity=(policy(WRITE, {**WRITE, "Effect": "Deny"}, policy_id="p2"),)
    )
    assert gate.authorize(request()).effect is iam.DecisionKind.EXPLICITLY_DENIED
    source.by_arn[ALICE.arn] = PrincipalPolicies()
    assert gate.authorize(request()).effect is iam.DecisionKind.IMPLICITLY_DENIED


def test_a_changed_bucket_policy_takes_effect_at_the_next_request() -> None:
    def bucket_policy(effect: str) -> iam.Policy:
        statement = {**WRITE, "Effect": effect, "Principal": {"AWS": BOB.arn}}
        return iam.parse_policy(
            {"Version": "2012-10-17", "Statement": [statement]},
            policy_id="bucket",
            kind=iam.PolicyKind.RESOURCE,
        )

    gate = gate_with(SwappablePolicies())
    allowing = bucket_policy("Allow")
    assert allowed(gate, request(BOB, resource_policy=allowing))
    assert allowed(gate, request(BOB, resource_policy=allowing))
    assert not allowed(gate, request(BOB, resource_policy=bucket_policy("Deny")))
    assert not allowed(gate, request(BOB, resource_policy=None))


def test_freed_policy_objects_whose_ids_are_reused_never_get_an_older_set() -> None:
    """CPython reuses the memory (and so the id) of a freed object at once; a set keyed by ids
    alone would then hand a request the set of policies that no longer apply. Each request
    here gets a new tuple of policies, alternately allowing and denying, and nothing but the
    gate holds the tuple after the request."""
    allowing, denying = policy(WRITE, policy_id="a"), policy({**WRITE, "Effect": "Deny"})
    source = SwappablePolicies()
    gate = gate_with(source)
    for n in range(400):
        chosen = allowing if n % 2 == 0 else denying
        source.by_arn[ALICE.arn] = PrincipalPolicies(identity=tuple([chosen]))
        assert allowed(gate, request()) is (chosen is allowing), n
        del source.by_arn[ALICE.arn]
        if n % 7 == 0:
            gc.collect()


def test_the_sets_kept_are_bounded_and_decisions_stay_right_past_the_bound() -> None:
    source = SwappablePolicies()
    gate = gate_with(source)
    for n in range(_POLICY_SET_ENTRIES + 50):
        effect = "Allow" if n % 3 else "Deny"
        source.by_arn[ALICE.arn] = PrincipalPolicies(
            identity=(policy({**WRITE, "Effect": effect}, policy_id=f"p{n}"),)
        )
        assert allowed(gate, request()) is (effect == "Allow")
        assert len(gate._policy_sets) <= _POLICY_SET_ENTRIES


def test_anonymous_callers_share_one_set_and_are_decided_by_the_resource_policy() -> None:
    public = iam.parse_policy(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}
            ],
        },
        policy_id="bucket",
        kind=iam.PolicyKind.RESOURCE,
    )
    gate = gate_with(SwappablePolicies())
    for _ in range(3):
        assert allowed(gate, request(ANONYMOUS, action="s3:GetObject", resource_policy=public))
        assert not allowed(gate, request(ANONYMOUS, resource_policy=public))
    assert len(gate._policy_sets) == 1


@pytest.fixture
def tenant_user(database: Database) -> Principal:
    clock, random = FixedClock(), SystemRandom()
    with database.session() as session:
        tenant = create_tenant(
            session, name="reuse", organization_id=None, now=clock.now(), random=random
        )
        user = create_user(
            session, account_id=tenant.account_id, name="writer", now=clock.now(), random=random
        )
        return user_principal(user)


def test_a_policy_removed_in_the_database_denies_the_next_request(
    database: Database, tenant_user: Principal
) -> None:
    """The real policy source and audit log: the set reused while the policy generation stands
    still is dropped at the first request after the change."""
    document = {"Version": "2012-10-17", "Statement": [WRITE]}
    with database.session() as session:
        put_inline_policy(
            session,
            EntityKind.USER,
            tenant_user.account_id,
            "writer",
            policy_name="w",
            document=document,
            now=FixedClock().now(),
        )
    gate = gate_with(DatabasePolicySource(database), DatabaseAuditLog(database))
    account = tenant_user.account_id
    assert allowed(gate, request(tenant_user, resource_account=account))
    assert allowed(gate, request(tenant_user, resource_account=account))
    with database.session() as session:
        delete_inline_policy(session, EntityKind.USER, account, "writer", "w")
    decision = gate.authorize(request(tenant_user, resource_account=account))
    assert decision.effect is iam.DecisionKind.IMPLICITLY_DENIED

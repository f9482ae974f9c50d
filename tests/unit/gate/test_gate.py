"""The gate decides with the real policy engine, records every decision, and proves only allows.

Each denial test asserts the four things of STYLE.md §6: the denial and its code, that nothing
was issued, that the audit event names the deciding statement, and that no secret leaks.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest

from lakevault import iam
from lakevault.audit import AuditEvent, DatabaseAuditLog, IdentityType
from lakevault.core import FixedClock, SystemRandom
from lakevault.core.errors import AccessDenied, InvalidParameterValue, ServiceUnavailable
from lakevault.db import Database
from lakevault.gate import Gate, Request
from lakevault.identity import (
    ADMIN_USER_NAME,
    ANONYMOUS,
    DatabasePolicySource,
    Principal,
    PrincipalPolicies,
    authenticate_password,
    bootstrap_platform,
)

ACCOUNT = "123456789012"
ALICE = Principal(
    arn=f"arn:aws:iam::{ACCOUNT}:user/alice",
    account_id=ACCOUNT,
    principal_id="LVUSALICEALICEALICE2",
    identity_type=IdentityType.IAM_USER,
    username="alice",
    tags={"team": "red"},
)
OBJECT = "arn:aws:s3:::red-data/report.csv"


def policy(*statements: Mapping[str, Any], policy_id: str = "p1") -> iam.Policy:
    return iam.parse_policy(
        {"Version": "2012-10-17", "Statement": list(statements)}, policy_id=policy_id
    )


class StaticPolicies:
    """The policies a test gives a principal (the real source reads the database)."""

    def __init__(self, *policies: iam.Policy) -> None:
        self.found = PrincipalPolicies(identity=policies)

    def policies_for(self, principal: Principal) -> PrincipalPolicies:
        return self.found


class RecordingAudit:
    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    def append(self, event: AuditEvent) -> int:
        self.events.append(event)
        return len(self.events) - 1


class BrokenAudit:
    def append(self, event: AuditEvent) -> int:
        raise ServiceUnavailable("the audit log is unreachable")


def make_gate(*policies: iam.Policy, audit: Any = None) -> tuple[Gate, RecordingAudit]:
    recorder = audit if audit is not None else RecordingAudit()
    gate = Gate(
        engine=iam.Evaluator(),
        policies=StaticPolicies(*policies),
        audit=recorder,
        clock=FixedClock(),
        random=SystemRandom(),
        region="local",
    )
    return gate, recorder


def read_request(principal: Principal = ALICE, **overrides: Any) -> Request:
    values: dict[str, Any] = {
        "principal": principal,
        "action": "s3:GetObject",
        "resource": OBJECT,
        "resource_account": ACCOUNT,
        "request_id": "req-1",
        "source_ip": "192.0.2.10",
        "read_only": True,
    }
    values.update(overrides)
    return Request(**values)


ALLOW_READ = {"Sid": "ReadRed", "Effect": "Allow", "Action": "s3:GetObject", "Resource": OBJECT}


def test_allowed_request_gets_a_proof_for_exactly_that_action_and_resource() -> None:
    gate, audit = make_gate(policy(ALLOW_READ))
    decision = gate.authorize(read_request())
    assert decision.effect is iam.DecisionKind.ALLOWED
    proof = decision.require_proof()
    gate.verify(proof, action="s3:GetObject", resource=OBJECT)
    assert proof.event_id == decision.event_id
    record = audit.events[0].to_record()
    assert record["decision"]["effect"] == "Allowed"
    assert record["decision"]["statements"][0]["sid"] == "ReadRed"
    assert "errorCode" not in record


def test_implicit_denial_issues_no_proof_and_is_audited() -> None:
    gate, audit = make_gate()
    decision = gate.authorize(read_request())
    assert decision.effect is iam.DecisionKind.IMPLICITLY_DENIED
    assert decision.proof is None
    with pytest.raises(AccessDenied) as caught:
        decision.require_proof()
    assert caught.value.code == "AccessDenied"
    assert caught.value.message == (
        f"User: {ALICE.arn} is not authorized to perform: s3:GetObject on resource: {OBJECT} "
        "because no policy allows the s3:GetObject action"
    )
    record = audit.events[0].to_record()
    assert record["errorCode"] == "AccessDenied"
    assert record["decision"] == {"effect": "ImplicitlyDenied", "statements": []}


def test_explicit_deny_wins_and_the_event_names_the_deny_statement() -> None:
    deny = {
        "Sid": "NoReports",
        "Effect": "Deny",
        "Action": "s3:*",
        "Resource": "arn:aws:s3:::red-data/report*",
    }
    gate, audit = make_gate(policy(ALLOW_READ), policy(deny, policy_id="p2"))
    with pytest.raises(AccessDenied, match="explicit deny"):
        gate.require(read_request())
    statements = audit.events[0].to_record()["decision"]["statements"]
    assert [(s["policy"], s["sid"], s["effect"]) for s in statements] == [
        ("p2", "NoReports", "Deny")
    ]


def test_gate_fills_principal_tags_for_abac_conditions() -> None:
    abac = {
        "Sid": "TeamData",
        "Effect": "Allow",
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::${aws:PrincipalTag/team}-data/*",
    }
    gate, _ = make_gate(policy(abac))
    assert gate.authorize(read_request()).is_allowed
    blue = Principal(
        arn=f"arn:aws:iam::{ACCOUNT}:user/bob",
        account_id=ACCOUNT,
        principal_id="LVUSBOBBOBBOBBOBBOB2",
        identity_type=IdentityType.IAM_USER,
        username="bob",
        tags={"team": "blue"},
    )
    assert not gate.authorize(read_request(principal=blue)).is_allowed


def test_gate_fills_source_ip_from_the_connection() -> None:
    office_only = dict(ALLOW_READ, Condition={"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}})
    gate, _ = make_gate(policy(office_only))
    assert gate.authorize(read_request(source_ip="192.0.2.77")).is_allowed
    assert not gate.authorize(read_request(source_ip="198.51.100.1")).is_allowed


@pytest.mark.parametrize(
    "key",
    ["aws:PrincipalArn", "AWS:SOURCEIP", "aws:PrincipalTag/team", "aws:userid", "aws:CurrentTime"],
)
def test_callers_cannot_supply_the_keys_that_say_who_and_where(key: str) -> None:
    with pytest.raises(InvalidParameterValue, match="filled by the gate"):
        read_request(context={key: "spoofed"})


def test_a_decision_that_cannot_be_recorded_is_never_granted() -> None:
    gate, _ = make_gate(policy(ALLOW_READ), audit=BrokenAudit())
    with pytest.raises(ServiceUnavailable):
        gate.authorize(read_request())


def test_cross_account_decisions_are_recorded_in_both_accounts() -> None:
    gate, audit = make_gate()
    gate.authorize(read_request(resource_account="210987654321"))
    assert [e.recipient_account_id for e in audit.events] == ["210987654321", ACCOUNT]
    first, second = audit.events
    assert first.event_id != second.event_id
    assert first.additional["sharedEventID"] == second.additional["sharedEventID"] == first.event_id
    assert len(second.event_id) == 36


def test_anonymous_caller_has_no_identity_policies() -> None:
    gate, _ = make_gate(policy(ALLOW_READ))
    decision = gate.authorize(read_request(principal=ANONYMOUS))
    assert not decision.is_allowed
    assert decision.message.startswith("Anonymous caller is not authorized")


def test_public_resource_policy_allows_anonymous_reads() -> None:
    public = iam.parse_policy(
        {"Version": "2012-10-17", "Statement": [dict(ALLOW_READ, Principal="*")]},
        policy_id="bucket-policy",
        kind=iam.PolicyKind.RESOURCE,
    )
    gate, _ = make_gate()
    assert gate.authorize(read_request(principal=ANONYMOUS, resource_policy=public)).is_allowed


def test_malformed_action_is_refused_before_deciding() -> None:
    with pytest.raises(InvalidParameterValue, match="service:Action"):
        read_request(action="s3:GetObject ")


def test_administrator_policies_come_from_the_database(database: Database) -> None:
    credentials = bootstrap_platform(
        database, clock=FixedClock(), random=SystemRandom(), region="local"
    )
    assert credentials is not None
    admin = authenticate_password(
        database,
        account_id="000000000000",
        user_name=ADMIN_USER_NAME,
        password=credentials.password,
    )
    log = DatabaseAuditLog(database)
    gate = Gate(
        engine=iam.Evaluator(),
        policies=DatabasePolicySource(database),
        audit=log,
        clock=FixedClock(),
        random=SystemRandom(),
        region="local",
    )
    decision = gate.authorize(read_request(principal=admin, resource_account="000000000000"))
    assert decision.is_allowed
    events = log.read("000000000000")
    assert events[-1]["decision"]["statements"][0]["sid"] == "AllowEverything"
    assert credentials.password not in json.dumps(events)

"""Deferred decisions (ADR 0230): an allowed decision's event may be queued, never skipped.

``Gate.require(..., defer_audit=True)`` issues the proof while the decision's event is only
queued. These tests pin what keeps that safe: the proof's ``wait_recorded`` (and the gate's own
``verify``) return only once the event is durable and raise the log's error when it is not; a
denial is never deferred; a sink that cannot queue gets the ordinary, durable decision.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from lakevault import iam
from lakevault.audit import AuditEvent, DatabaseAuditLog
from lakevault.core import FixedClock, SystemRandom
from lakevault.core.errors import AccessDenied, LakevaultError, ServiceUnavailable
from lakevault.db import Database
from lakevault.gate import Gate, Proof
from tests.unit.gate.test_gate import (
    ACCOUNT,
    ALICE,
    ALLOW_READ,
    OBJECT,
    RecordingAudit,
    make_gate,
    policy,
    read_request,
)

OTHER_ACCOUNT = "210987654321"


class _Receipt:
    """A queued event's outcome, settled by the test (the writer's commit, or its failure)."""

    def __init__(self) -> None:
        self._done = threading.Event()
        self._error: LakevaultError | None = None

    def settle(self, error: LakevaultError | None = None) -> None:
        self._error = error
        self._done.set()

    def result(self, timeout: float | None = None) -> int:
        if not self._done.wait(timeout):
            raise TimeoutError("not durable yet")
        if self._error is not None:
            raise self._error
        return 0


class QueueingAudit(RecordingAudit):
    """A sink that can queue: ``submit`` returns a receipt the test settles."""

    def __init__(self) -> None:
        super().__init__()
        self.queued: list[tuple[AuditEvent, _Receipt]] = []

    def submit(self, event: AuditEvent) -> _Receipt:
        receipt = _Receipt()
        self.queued.append((event, receipt))
        return receipt


def _in_thread(function: Any) -> tuple[threading.Thread, list[object]]:
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(function())
        except Exception as exc:  # noqa: BLE001 - handed to the test
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def test_a_deferred_proof_is_issued_while_its_event_is_queued_and_waits_for_it() -> None:
    audit = QueueingAudit()
    gate, _ = make_gate(policy(ALLOW_READ), audit=audit)
    proof = gate.require(read_request(), defer_audit=True)
    assert not proof.is_recorded
    assert audit.events == []  # nothing was appended synchronously
    ((event, receipt),) = audit.queued
    assert event.event_id == proof.event_id
    assert event.to_record()["decision"]["effect"] == "Allowed"
    # Any consumer that verifies the proof waits for the decision to be durable.
    thread, outcome = _in_thread(lambda: gate.verify(proof, action="s3:GetObject", resource=OBJECT))
    thread.join(0.2)
    assert thread.is_alive() and outcome == []
    receipt.settle()
    thread.join(5)
    assert outcome == [None]
    proof.wait_recorded()  # settled: returns at once


def test_a_deferred_decision_that_could_not_be_recorded_is_never_acted_on() -> None:
    audit = QueueingAudit()
    gate, _ = make_gate(policy(ALLOW_READ), audit=audit)
    proof = gate.require(read_request(), defer_audit=True)
    failure = ServiceUnavailable("the audit log is unreachable")
    audit.queued[0][1].settle(failure)
    with pytest.raises(ServiceUnavailable):
        proof.wait_recorded()
    with pytest.raises(ServiceUnavailable):
        gate.verify(proof, action="s3:GetObject", resource=OBJECT)
    # ``verify_pending`` checks the proof alone; its user must still wait (the key service
    # chains the wait into the data key's).
    gate.verify_pending(proof, action="s3:GetObject", resource=OBJECT)


def test_verify_pending_refuses_what_verify_refuses() -> None:
    audit = QueueingAudit()
    gate, _ = make_gate(policy(ALLOW_READ), audit=audit)
    proof = gate.require(read_request(), defer_audit=True)
    other_gate, _ = make_gate(policy(ALLOW_READ), audit=QueueingAudit())
    with pytest.raises(AccessDenied):
        gate.verify_pending(proof, action="s3:PutObject", resource=OBJECT)
    with pytest.raises(AccessDenied):
        other_gate.verify_pending(proof, action="s3:GetObject", resource=OBJECT)
    with pytest.raises(TypeError):
        Proof()


def test_a_denial_is_never_deferred() -> None:
    audit = QueueingAudit()
    gate, _ = make_gate(audit=audit)
    with pytest.raises(AccessDenied):
        gate.require(read_request(), defer_audit=True)
    assert audit.queued == []  # appended, so durable before the refusal is raised
    (event,) = audit.events
    assert event.to_record()["errorCode"] == "AccessDenied"


def test_a_sink_that_cannot_queue_records_the_decision_before_the_proof() -> None:
    gate, audit = make_gate(policy(ALLOW_READ))  # RecordingAudit: append only
    proof = gate.require(read_request(), defer_audit=True)
    assert proof.is_recorded
    assert [event.event_id for event in audit.events] == [proof.event_id]


def test_a_deferred_cross_account_decision_waits_for_both_logs() -> None:
    audit = QueueingAudit()
    bucket_policy = iam.parse_policy(
        {
            "Version": "2012-10-17",
            "Statement": [dict(ALLOW_READ, Principal={"AWS": ALICE.arn})],
        },
        policy_id="bucket-policy",
        kind=iam.PolicyKind.RESOURCE,
    )
    gate, _ = make_gate(policy(ALLOW_READ), audit=audit)
    proof = gate.require(
        read_request(resource_account=OTHER_ACCOUNT, resource_policy=bucket_policy),
        defer_audit=True,
    )
    first, second = (receipt for _, receipt in audit.queued)
    assert {event.recipient_account_id for event, _ in audit.queued} == {ACCOUNT, OTHER_ACCOUNT}
    first.settle()
    with pytest.raises(TimeoutError):
        second.result(timeout=0)
    thread, outcome = _in_thread(proof.wait_recorded)
    thread.join(0.2)
    assert thread.is_alive()
    second.settle(ServiceUnavailable("the second log failed"))
    thread.join(5)
    assert isinstance(outcome[0], ServiceUnavailable)


def test_with_the_real_log_the_deferred_decision_is_durable_once_waited(
    database: Database,
) -> None:
    log = DatabaseAuditLog(database)
    try:
        gate = Gate(
            engine=iam.Evaluator(),
            policies=make_gate(policy(ALLOW_READ))[0]._policies,
            audit=log,
            clock=FixedClock(),
            random=SystemRandom(),
            region="local",
        )
        proof = gate.require(read_request(), defer_audit=True)
        proof.wait_recorded()
        (record,) = log.read(ACCOUNT)
        assert record["eventID"] == proof.event_id
        assert record["decision"] == {
            "effect": "Allowed",
            "statements": [{"policy": "p1", "sid": "ReadRed", "index": 0, "effect": "Allow"}],
        }
    finally:
        log.close()


def test_a_principal_of_the_proof_is_the_requests() -> None:
    gate, _ = make_gate(policy(ALLOW_READ), audit=QueueingAudit())
    proof = gate.require(read_request(), defer_audit=True)
    assert proof.principal_arn == ALICE.arn
    assert proof.action == "s3:GetObject" and proof.resource == OBJECT
